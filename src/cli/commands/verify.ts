import { parseArgs } from 'node:util';
import { holdYoungGeneration, optimiseNow } from '../../../bin/process-tuning.js';
import { SignetError } from '../../core/errors.ts';
import type { SignatureVerdict, StatusLetter } from '../../core/verdict.ts';
import { terminalText } from '../../core/render/terminal-text.ts';
import type { CommitResult } from '../../core/verify-object.ts';
import { openRepository } from '../../git/repository.ts';
import { parseRevisions } from '../../git/revisions.ts';
import { verifyCommitBatches, verifyTags } from '../../git/verify-range.ts';
import { buildRegistries, readRegistrySources, type RegistrySources } from '../../keys/load-registries.ts';
import { anchoredRegexp, type KeylessIdentity } from '../../core/sigstore/identity.ts';
import { join, resolve } from 'node:path';
import { cacheSecret, VerdictCache, verdictKey } from '../../store/verdict-cache.ts';
import { WalkMemo } from '../../store/walk-memo.ts';
import { LineWriter } from '../line-writer.ts';
import { EXIT_OK, EXIT_POLICY_FAILED, EXIT_USAGE, type CliIO } from '../io.ts';
import { commitJson, commitJsonLine, commitRow, idColumnWidth, summaryLine, tagJson, tagRow } from '../render/verify-output.ts';

const HELP = `usage: signet verify [--repo DIR] [--keyring FILE.asc]… [--allowed-signers FILE]
                     [--revoked-keys FILE] [--x509-roots FILE.pem]… [--crl FILE]…
                     [--trusted-root FILE] [--certificate-identity[-regexp] ID
                     --certificate-oidc-issuer[-regexp] URL]
                     [--policy FILE [--ref REF]]
                     [--format text|json|jsonl] [--jobs N] [-q] [--now TIME]
                     [--no-cache | --cache DIR] REVISION…

Verifies the signature of every commit in the revisions (as git takes them: A..B, A...B,
^A B, B, X^!, X^@, --all) and of every annotated tag named, against the given key registries;
with no key option, against the keys git uses (gpg.ssh.allowedSignersFile, gpg --export).

  --repo DIR             repository (work tree or bare); default: the current one
  --keyring FILE         armored OpenPGP keyring (repeatable)
  --allowed-signers FILE SSH allowed signers file, as git's gpg.ssh.allowedSignersFile
  --revoked-keys FILE    SSH revoked keys (plain list or KRL), as gpg.ssh.revocationFile
  --x509-roots FILE.pem  CA certificates X.509 (gpgsm) signatures must chain to (repeatable)
  --crl FILE             certificate revocation list of such a CA, DER or PEM (repeatable)
  --trusted-root FILE    Sigstore trusted_root.json for gitsign (keyless) commits; default:
                         the public-good root shipped with signet
  --certificate-identity ID, --certificate-identity-regexp RE
                         the gitsign signer (certificate SAN) to trust, as cosign names it;
                         a regexp must be anchored (^…$)
  --certificate-oidc-issuer URL, --certificate-oidc-issuer-regexp RE
                         the OIDC issuer Fulcio recorded for that signer (required with an identity)
  --format FORMAT        text (default), json, or jsonl (one object a commit, newest first)
  --policy FILE          judge the range as a push to REF under this policy (its key files
                         join the registries), exactly as the hook and the app do
  --ref REF              the ref the range would update, read as git reads it (main is
                         refs/heads/main; ambiguous or unknown short names are errors; a
                         full refs/… name may not exist yet). Default: the branch or tag
                         named by the revision, e.g. main in origin/main..main
  --jobs N               commits in flight at once, their signature checks on Node's thread
                         pool (one thread per core, 2 to 16; UV_THREADPOOL_SIZE overrides) while
                         this thread reads the next ones (default 256; 1 = one at a time)
  -q, --quiet            print only what is not G, and the summary (text and jsonl)
  --now TIME             judge key and signature expiry at TIME (ISO 8601) instead of now
  --cache DIR            keep verdicts in DIR (default: <git dir>/signet/verify-cache), so a
                         repeated run verifies only new commits; keyed by the key files'
                         content and names, --now and (with --policy) the policy's bytes.
                         Without --now, OpenPGP and X.509 verdicts (expiry is judged at
                         the clock) are verified every time; SSH and unsigned ones are reused
  --no-cache             neither read nor write the verdict cache

Exit status: 0 every commit is G (with --policy: the policy allows the update); 1 not;
2 usage or configuration error.
`;

/** Revision options git takes among revisions; kept in place because --not flips what follows. */
const REVISION_FLAGS = new Set(['--all', '--branches', '--tags', '--remotes', '--not']);
const FLAG_MARK = '\u0000';
/** Commits after which a run counts as long (bin/process-tuning.js; 2,000 commits stay below). */
const OPTIMISE_AFTER_COMMITS = 2_500;

export async function runVerify(argv: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs({
    args: argv.map((arg) => (REVISION_FLAGS.has(arg) ? `${FLAG_MARK}${arg}` : arg)),
    allowPositionals: true,
    options: {
      repo: { type: 'string' },
      keyring: { type: 'string', multiple: true },
      'allowed-signers': { type: 'string' },
      'revoked-keys': { type: 'string' },
      'x509-roots': { type: 'string', multiple: true },
      crl: { type: 'string', multiple: true },
      'trusted-root': { type: 'string' },
      'certificate-identity': { type: 'string' },
      'certificate-identity-regexp': { type: 'string' },
      'certificate-oidc-issuer': { type: 'string' },
      'certificate-oidc-issuer-regexp': { type: 'string' },
      format: { type: 'string', default: 'text' },
      now: { type: 'string' },
      jobs: { type: 'string' },
      policy: { type: 'string' },
      ref: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      cache: { type: 'string' },
      'no-cache': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    tokens: false,
  });
  const values = parsed.values;
  const positionals = parsed.positionals.map((arg) => (arg.startsWith(FLAG_MARK) ? arg.slice(1) : arg));
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  const format = values.format;
  if (format !== 'text' && format !== 'json' && format !== 'jsonl') throw new SignetError('USAGE', `--format must be text, json or jsonl, not '${format}'`);
  const now = values.now ? parseTime(values.now) : new Date();
  const revisionArgs = positionals.length > 0 ? positionals : ['HEAD'];

  const repo = openRepository({ ...(values.repo ? { path: values.repo } : {}), cwd: io.cwd, env: io.env });
  if (values.policy) {
    // The policy engine (and its YAML parser) loads only when asked for: a plain verify starts faster.
    const { runPolicyVerification } = await import('./verify-policy.ts');
    return runPolicyVerification(repo, { ...values, policy: values.policy, format, keylessIdentities: identitiesFromFlags(values) }, revisionArgs, now, io);
  }
  const { sources, note } = await registrySources(values, repo.gitDir, io);
  const registries = await buildRegistries(sources);
  for (const warning of registries.openpgp.warnings) io.stderr.write(`${terminalText(`signet: warning: ${warning}`)}\n`);
  const revisions = parseRevisions(repo, revisionArgs);
  if (values['no-cache'] && values.cache !== undefined) throw new SignetError('USAGE', 'give --cache DIR or --no-cache, not both');
  const secret = values['no-cache'] ? undefined : cacheSecret(io.env);
  const cacheDirectory = values.cache !== undefined ? resolve(io.cwd, values.cache) : join(repo.commonDir, 'signet', 'verify-cache');
  const key = secret ? verdictKey({ sources, verifier: signetVersion(), ...(values.now ? { now } : {}) }) : '';
  const cache = secret ? new VerdictCache(cacheDirectory, key, values.now !== undefined, secret) : undefined;
  // The whole range's answer, for a repeated run over the same tips: read instead of walked.
  const memo = secret
    ? new WalkMemo(cacheDirectory, key, { ...revisions, shallow: repo.objects.shallow, hashAlgorithm: repo.hashAlgorithm }, values.now !== undefined, secret)
    : undefined;
  // Said once the revisions are known good, so that a usage error stays one line.
  if (note) io.stderr.write(note);

  // Progress goes to a terminal's stderr, unless the table is being drawn on that terminal too.
  const progress =
    io.stderr.isTTY && !(format === 'text' && io.stdout.isTTY)
      ? (done: number, total: number | undefined) => {
          if (done === total) {
            if (total >= 1000) io.stderr.write('\r\x1b[K');
          } else if (done >= 1000 || (total ?? 0) >= 1000) {
            io.stderr.write(`\rverifying ${done.toLocaleString('en-US')}${total === undefined ? '' : `/${total.toLocaleString('en-US')}`} commits`);
          }
        }
      : undefined;

  const tags = await verifyTags(repo, revisions.tags, registries, { now });
  const counts = new Map<StatusLetter, number>();
  let total = 0;
  /** Shallow boundary commits met (.git/shallow): the history below them was not there to check. */
  let cutAt = 0;
  let allGood = tags.every((tag) => tag.verdict.status === 'G');
  const collected: CommitResult[] = [];
  const verdictParts = new WeakMap<SignatureVerdict, string>();

  const out = new LineWriter(io.stdout);
  // --quiet (CI on a long range): only what needs reading, then the summary.
  const quiet = values.quiet === true;
  const shown = tags.filter((tag) => !quiet || tag.verdict.status !== 'G');
  if (format === 'jsonl') for (const tag of shown) await out.line(JSON.stringify(tagJson(tag)));
  // Column widths from the data: the first column fits the longest tag name shown.
  const idWidth = idColumnWidth(shown);
  if (format === 'text') for (const tag of shown) await out.line(tagRow(tag, idWidth));

  const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1)) throw new SignetError('USAGE', `--jobs must be a whole number ≥ 1, not '${values.jobs}'`);
  for await (const batch of verifyCommitBatches(repo, revisions, registries, {
    now,
    ...(jobs ? { inFlight: jobs } : {}),
    ...(cache ? { cache, memo } : {}),
    ...(progress ? { onProgress: progress } : {}),
  })) {
    for (const result of batch) {
      // A range this long repays V8's optimising compiler, delayed at start-up for short runs.
      if (++total === OPTIMISE_AFTER_COMMITS) optimiseNow();
      // A replay never lets the event loop turn, where the young generation's watcher runs.
      if ((total & 1023) === 0) holdYoungGeneration();
      counts.set(result.verdict.status, (counts.get(result.verdict.status) ?? 0) + 1);
      if (repo.objects.shallow.has(result.commit)) cutAt++;
      if (result.verdict.status !== 'G') allGood = false;
      let written: Promise<void> | undefined;
      if (quiet && result.verdict.status === 'G' && format !== 'json') continue;
      if (format === 'jsonl') written = out.line(commitJsonLine(result, verdictParts));
      else if (format === 'text') written = out.line(commitRow(result, idWidth));
      else collected.push(result);
      // Awaited only when the buffer went out: one promise per 64 KiB, not per line.
      if (written) await written;
    }
  }
  repo.objects.close();
  await out.flush();
  if (memo?.ignoredReason) io.stderr.write(`signet: warning: ${memo.ignoredReason}\n`);
  if (memo && io.env.SIGNET_CACHE_STATS === '1') io.stderr.write(`signet: walk memo: ${memoUse(memo.reused)}\n`);
  if (memo?.writeProblem) io.stderr.write(`signet: warning: cannot write the walk memo in ${memo.directory} (${memo.writeProblem})\n`);
  // Read only if a verdict was needed: a run answered from the memo never opens the cache file.
  if (cache?.used && cache.ignoredReason) io.stderr.write(`signet: warning: ${cache.ignoredReason}\n`);
  if (cache) {
    try {
      cache.save();
    } catch (error) {
      // The verdicts stand without their memo: say so, and the next run verifies again.
      io.stderr.write(`signet: warning: cannot write the verdict cache in ${cache.directory} (${(error as Error).message})\n`);
    }
  }

  if (format === 'json') {
    io.stdout.write(
      `${JSON.stringify({ commits: collected.map(commitJson), tags: tags.map(tagJson), summary: { total, statuses: Object.fromEntries(counts), ok: allGood, ...(cutAt ? { shallowBoundary: cutAt } : {}) } }, null, 2)}\n`,
    );
  } else if (format === 'text') {
    const verdict = allGood ? 'every commit is signed by a registry key' : 'some commits are not signed by a registry key (G)';
    const cut = cutAt ? `; history cut at ${cutAt} shallow commit${cutAt === 1 ? '' : 's'} (shallow clone: older commits not checked)` : '';
    io.stdout.write(`${summaryLine(counts, total)}${tags.length ? `; ${tags.length} tag${tags.length === 1 ? '' : 's'}` : ''}${cut} — ${verdict}\n`);
  } else if (cutAt) {
    // JSON lines have no summary line; the cut still must not pass unseen in a CI log.
    io.stderr.write(`signet: note: history cut at ${cutAt} shallow commit${cutAt === 1 ? '' : 's'} (shallow clone: older commits not checked)\n`);
  }
  return allGood ? EXIT_OK : EXIT_POLICY_FAILED;
}

/** What the walk memo answered, for SIGNET_CACHE_STATS=1. */
function memoUse(reused: WalkMemo['reused']): string {
  if (!reused) return 'none used, the range walked';
  if (reused.from === 'range') return "this range's replayed";
  return `${reused.newCommits} new commit${reused.newCommits === 1 ? '' : 's'} walked, then ${reused.earlierCommits} replayed from an earlier range's`;
}

/** The key options given, or else what git itself would trust (said on stderr in one line). */
async function registrySources(
  values: {
    keyring?: string[];
    'allowed-signers'?: string;
    'revoked-keys'?: string;
    'x509-roots'?: string[];
    crl?: string[];
    'trusted-root'?: string;
    'certificate-identity'?: string;
    'certificate-identity-regexp'?: string;
    'certificate-oidc-issuer'?: string;
    'certificate-oidc-issuer-regexp'?: string;
  },
  gitDir: string,
  io: CliIO,
): Promise<{ sources: RegistrySources; note?: string }> {
  const keylessIdentities = identitiesFromFlags(values);
  if (
    values.keyring?.length ||
    values['allowed-signers'] ||
    values['revoked-keys'] ||
    values['x509-roots']?.length ||
    values.crl?.length ||
    values['trusted-root'] ||
    keylessIdentities
  ) {
    return {
      sources: readRegistrySources({
        keyrings: values.keyring ?? [],
        allowedSigners: values['allowed-signers'],
        revokedKeys: values['revoked-keys'],
        x509Roots: values['x509-roots'],
        crls: values.crl,
        trustedRoot: values['trusted-root'],
        keylessIdentities,
      }),
    };
  }
  const { gitRegistries } = await import('../../keys/git-registries.ts');
  const found = gitRegistries(gitDir, io.env);
  return { sources: found.sources, note: `signet verify: ${found.description}\n` };
}

/** The one keyless identity cosign's four flags name; both halves or neither. */
export function identitiesFromFlags(values: {
  'certificate-identity'?: string | undefined;
  'certificate-identity-regexp'?: string | undefined;
  'certificate-oidc-issuer'?: string | undefined;
  'certificate-oidc-issuer-regexp'?: string | undefined;
}): KeylessIdentity[] | undefined {
  const subject = values['certificate-identity'];
  const subjectRegexp = values['certificate-identity-regexp'];
  const issuer = values['certificate-oidc-issuer'];
  const issuerRegexp = values['certificate-oidc-issuer-regexp'];
  if (subject === undefined && subjectRegexp === undefined && issuer === undefined && issuerRegexp === undefined) return undefined;
  if (subject !== undefined && subjectRegexp !== undefined)
    throw new SignetError('USAGE', 'give --certificate-identity or --certificate-identity-regexp, not both');
  if (issuer !== undefined && issuerRegexp !== undefined)
    throw new SignetError('USAGE', 'give --certificate-oidc-issuer or --certificate-oidc-issuer-regexp, not both');
  if (subject === undefined && subjectRegexp === undefined)
    throw new SignetError('USAGE', '--certificate-oidc-issuer needs --certificate-identity or --certificate-identity-regexp (whom to trust from that issuer)');
  if (issuer === undefined && issuerRegexp === undefined)
    throw new SignetError(
      'USAGE',
      '--certificate-identity needs --certificate-oidc-issuer or --certificate-oidc-issuer-regexp (an identity means nothing without its issuer)',
    );
  return [
    {
      ...(subject !== undefined ? { subject } : { subjectRegexp: anchoredRegexp(subjectRegexp!, '--certificate-identity-regexp') }),
      ...(issuer !== undefined ? { issuer } : { issuerRegexp: anchoredRegexp(issuerRegexp!, '--certificate-oidc-issuer-regexp') }),
    },
  ];
}

/** Defined by the bundle (scripts/bundle.mjs); a run from source names itself so. */
declare const SIGNET_VERSION: string;
function signetVersion(): string {
  return typeof SIGNET_VERSION === 'string' ? SIGNET_VERSION : 'source';
}

function parseTime(text: string): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new SignetError('USAGE', `--now: '${text}' is not a date (use ISO 8601, e.g. 2026-01-31T12:00:00Z)`);
  return date;
}

export { EXIT_USAGE };
