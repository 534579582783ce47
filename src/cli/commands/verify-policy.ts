import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SignetError } from '../../core/errors.ts';
import { parsePolicy } from '../../core/policy/index.ts';
import { evaluatePush } from '../../git/evaluate-push.ts';
import type { Repository } from '../../git/repository.ts';
import { refCandidates } from '../../git/refs.ts';
import { parseRevisions } from '../../git/revisions.ts';
import { buildRegistries, keylessIdentitiesOf, readRegistrySources } from '../../keys/load-registries.ts';
import { cacheSecret, VerdictCache, verdictKey } from '../../store/verdict-cache.ts';
import type { CommitVerdictCache } from '../../git/verify-range.ts';
import type { KeylessIdentity } from '../../core/sigstore/identity.ts';
import { EXIT_OK, EXIT_POLICY_FAILED, type CliIO } from '../io.ts';
import { commitJson, commitRow } from '../render/verify-output.ts';
import { terminalText } from '../../core/render/terminal-text.ts';

/** `signet verify --policy FILE`: the range judged as a push to a ref, as the hook and the app judge it. */
export async function runPolicyVerification(
  repo: Repository,
  values: {
    policy: string;
    ref?: string | undefined;
    keyring?: string[] | undefined;
    'allowed-signers'?: string | undefined;
    'revoked-keys'?: string | undefined;
    'x509-roots'?: string[] | undefined;
    crl?: string[] | undefined;
    'trusted-root'?: string | undefined;
    keylessIdentities?: KeylessIdentity[] | undefined;
    format: 'text' | 'json' | 'jsonl';
    /** As given: an explicit --now goes into the cache key and lets clock-judged verdicts be reused. */
    now?: string | undefined;
    cache?: string | undefined;
    'no-cache'?: boolean | undefined;
  },
  revisionArgs: string[],
  now: Date,
  io: CliIO,
): Promise<number> {
  const policyPath = resolve(io.cwd, values.policy);
  const policyBytes = readPolicyFile(policyPath);
  const policy = parsePolicy(policyBytes.toString('utf8'), policyPath);
  const base = dirname(policyPath);
  const sources = readRegistrySources({
    keyrings: [...policy.keys.openpgp.map((file) => resolve(base, file)), ...(values.keyring ?? [])],
    allowedSigners: values['allowed-signers'] ?? (policy.keys.sshAllowedSigners ? resolve(base, policy.keys.sshAllowedSigners) : undefined),
    revokedKeys: values['revoked-keys'] ?? (policy.keys.sshRevokedKeys ? resolve(base, policy.keys.sshRevokedKeys) : undefined),
    x509Roots: [...(policy.keys.x509Roots ?? []).map((file) => resolve(base, file)), ...(values['x509-roots'] ?? [])],
    crls: [...(policy.keys.x509Crls ?? []).map((file) => resolve(base, file)), ...(values.crl ?? [])],
    trustedRoot: values['trusted-root'] ?? (policy.keys.trustedRoot ? resolve(base, policy.keys.trustedRoot) : undefined),
    keylessIdentities: [...(keylessIdentitiesOf(policy.keys.keyless) ?? []), ...(values.keylessIdentities ?? [])],
  });
  const registries = await buildRegistries(sources);
  const revisions = parseRevisions(repo, revisionArgs);
  if (revisions.include.length !== 1)
    throw new SignetError('USAGE', '--policy judges one update: give exactly one revision to include (e.g. origin/main..main)');
  const ref = values.ref !== undefined ? fullRefName(repo, values.ref) : refNamedBy(repo, revisionArgs);
  if (!ref) throw new SignetError('USAGE', '--policy needs --ref REF: the revision does not name a branch or tag');
  const tip = revisions.tags.find((tag) => tag.ref === ref)?.oid ?? revisions.include[0]!;
  // The same verdict cache as a plain `signet verify`, keyed by the policy's bytes as well.
  if (values['no-cache'] && values.cache !== undefined) throw new SignetError('USAGE', 'give --cache DIR or --no-cache, not both');
  const secret = values['no-cache'] ? undefined : cacheSecret(io.env);
  const store = secret
    ? new VerdictCache(
        values.cache !== undefined ? resolve(io.cwd, values.cache) : join(repo.commonDir, 'signet', 'verify-cache'),
        verdictKey({ sources, policy: policyBytes, verifier: signetVersion(), ...(values.now !== undefined ? { now } : {}) }),
        values.now !== undefined,
        secret,
      )
    : undefined;
  if (store?.ignoredReason) io.stderr.write(`signet: warning: ${store.ignoredReason}\n`);
  const counted = { reused: 0, verified: 0 };
  const cache: CommitVerdictCache | undefined = store && {
    get(oid) {
      const hit = store.get(oid);
      if (hit) counted.reused++;
      return hit;
    },
    put(result) {
      counted.verified++;
      store.put(result);
    },
  };
  const evaluation = await evaluatePush(
    repo,
    registries,
    policy,
    [{ ref, oldOid: revisions.exclude.length === 1 ? revisions.exclude[0]! : null, newOid: tip }],
    {
      now,
      existingTips: revisions.exclude,
      ...(cache ? { cache } : {}),
    },
  );
  repo.objects.close();
  if (store) {
    try {
      store.save();
    } catch (error) {
      // The verdicts stand without their memo: say so, and the next run verifies again.
      io.stderr.write(`signet: warning: cannot write the verdict cache in ${store.directory} (${(error as Error).message})\n`);
    }
  }
  // A debug counter (tests and benchmarks): how many signatures this run checked.
  if (store && io.env.SIGNET_CACHE_STATS === '1') io.stderr.write(`signet: verdict cache: ${counted.reused} reused, ${counted.verified} verified\n`);
  const decision = evaluation.decisions[0]!;
  // A gate that requires nothing passes everything: say so where a reviewer of the CI log looks.
  if (decision.noPolicy)
    io.stderr.write(`signet: WARNING: no rule of ${policyPath} applies to ${ref}; nothing was required and this check passes whatever the commits are\n`);
  const accepted = new Map(decision.commits.map((commit) => [commit.oid, commit]));
  const ordered = [...evaluation.commits.values()];
  if (values.format === 'jsonl') {
    for (const result of ordered) io.stdout.write(`${JSON.stringify({ ...commitJson(result), accepted: accepted.get(result.commit)?.accepted ?? true })}\n`);
  } else if (values.format === 'json') {
    io.stdout.write(
      `${JSON.stringify({ ref, allowed: decision.allowed, noPolicy: decision.noPolicy, commits: ordered.map((result) => ({ ...commitJson(result), accepted: accepted.get(result.commit)?.accepted ?? true })), violations: decision.violations }, null, 2)}\n`,
    );
  } else {
    for (const result of ordered) io.stdout.write(`${commitRow(result)}\n`);
    if (decision.noPolicy) io.stdout.write(`no rule of ${policyPath} applies to ${terminalText(ref)}: nothing is required\n`);
    // Messages quote subjects and ref names: one visible line each on the CI log or terminal.
    for (const violation of decision.violations) io.stdout.write(`✗ ${terminalText(violation.message)}\n`);
    const fixes = [...new Set(decision.violations.flatMap((violation) => (violation.fix ? [violation.fix] : [])))];
    if (fixes.length > 0) io.stdout.write(`to fix:\n${fixes.map((fix) => `  - ${terminalText(fix)}`).join('\n')}\n`);
    io.stdout.write(
      `${ordered.length} commit${ordered.length === 1 ? '' : 's'} for ${ref}: ${decision.allowed ? 'the policy allows this update' : 'the policy rejects this update'}\n`,
    );
  }
  return decision.allowed ? EXIT_OK : EXIT_POLICY_FAILED;
}

/**
 * `--ref` as git reads a ref name: a full name (refs/…) as given, even when it does not exist
 * yet (a gate may check the creation of a branch); a short name by git's rules (refCandidates),
 * refused when it names no ref or more than one.
 */
function fullRefName(repo: Repository, name: string): string {
  if (name.startsWith('refs/')) {
    if (!VALID_FULL_REF.test(name) || name.includes('..') || name.includes('@{') || name.endsWith('.lock') || name.endsWith('/')) {
      throw new SignetError('USAGE', `--ref ${JSON.stringify(name)}: not a valid ref name`);
    }
    return name;
  }
  return onlyCandidate(repo, name, '--ref') ?? unknownRef(name);
}

const VALID_FULL_REF = /^refs\/[^\0-\x20\x7f~^:?*[\\]+$/;

function unknownRef(name: string): never {
  throw new SignetError('USAGE', `--ref ${name}: no such ref (give the full name, e.g. refs/heads/${name}, for a ref that does not exist yet)`);
}

function onlyCandidate(repo: Repository, name: string, what: string): string | undefined {
  const candidates = refCandidates(repo.refs, name);
  if (candidates.length > 1) throw new SignetError('USAGE', `${what} ${name} is ambiguous: it names ${candidates.join(' and ')}; give the full name`);
  return candidates[0];
}

/** The branch or tag a revision like `main` or `origin/main..main` names, if it names one. */
function refNamedBy(repo: Repository, revisionArgs: string[]): string | undefined {
  const positive = revisionArgs
    .filter((arg) => !arg.startsWith('^') && !arg.startsWith('-'))
    .map((arg) => (arg.includes('..') ? arg.slice(arg.indexOf('..') + 2) : arg))[0];
  if (!positive) return undefined;
  const ref = onlyCandidate(repo, positive, 'the revision');
  // Only a branch or tag is a ref a push updates; origin/main or HEAD need --ref.
  return ref?.startsWith('refs/heads/') || ref?.startsWith('refs/tags/') ? ref : undefined;
}

function readPolicyFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new SignetError('CONFIG_INVALID', `${path}: cannot read the policy (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** Defined by the bundle (scripts/bundle.mjs); a run from source names itself so. */
declare const SIGNET_VERSION: string;
function signetVersion(): string {
  return typeof SIGNET_VERSION === 'string' ? SIGNET_VERSION : 'source';
}
