import { parseArgs } from 'node:util';
import { SignetError } from '../../core/errors.ts';
import type { StatusLetter } from '../../core/verdict.ts';
import type { CommitResult } from '../../core/verify-object.ts';
import { openRepository } from '../../git/repository.ts';
import { parseRevisions } from '../../git/revisions.ts';
import { verifyCommits, verifyTags } from '../../git/verify-range.ts';
import { loadRegistries } from '../../keys/load-registries.ts';
import { EXIT_OK, EXIT_POLICY_FAILED, EXIT_USAGE, type CliIO } from '../io.ts';
import { commitJson, commitRow, summaryLine, tagJson, tagRow } from '../render/verify-output.ts';

const HELP = `usage: signet verify [--repo DIR] [--keyring FILE.asc]… [--allowed-signers FILE]
                     [--revoked-keys FILE] [--format text|json|jsonl] [--now TIME] REVISION…

Verifies the signature of every commit in the revisions (as git takes them: A..B, ^A B, B,
--all) and of every annotated tag named, against the given key registries.

  --repo DIR             repository (work tree or bare); default: the current one
  --keyring FILE         armored OpenPGP keyring (repeatable)
  --allowed-signers FILE SSH allowed signers file, as git's gpg.ssh.allowedSignersFile
  --revoked-keys FILE    SSH revoked keys (plain list or KRL), as gpg.ssh.revocationFile
  --format FORMAT        text (default), json, or jsonl (one object a commit, newest first)
  --now TIME             judge key and signature expiry at TIME (ISO 8601) instead of now

Exit status: 0 every commit is G; 1 some commit is not; 2 usage or configuration error.
`;

export async function runVerify(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      repo: { type: 'string' },
      keyring: { type: 'string', multiple: true },
      'allowed-signers': { type: 'string' },
      'revoked-keys': { type: 'string' },
      format: { type: 'string', default: 'text' },
      now: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    tokens: false,
  });
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  const format = values.format;
  if (format !== 'text' && format !== 'json' && format !== 'jsonl') throw new SignetError('USAGE', `--format must be text, json or jsonl, not '${format}'`);
  const now = values.now ? parseTime(values.now) : new Date();
  const revisionArgs = positionals.length > 0 ? positionals : ['HEAD'];

  const repo = openRepository({ ...(values.repo ? { path: values.repo } : {}), cwd: io.cwd, env: io.env });
  const registries = await loadRegistries({ keyrings: values.keyring ?? [], allowedSigners: values['allowed-signers'], revokedKeys: values['revoked-keys'] });
  const revisions = parseRevisions(repo, revisionArgs);

  const progress = io.stderr.isTTY && format !== 'text' ? (done: number, total: number) => {
    if (total >= 1000) io.stderr.write(done === total ? `\r\x1b[K` : `\rverifying ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} commits`);
  } : undefined;

  const tags = await verifyTags(repo, revisions.tags, registries, { now });
  const counts = new Map<StatusLetter, number>();
  let total = 0;
  let allGood = tags.every((tag) => tag.verdict.status === 'G');
  const collected: CommitResult[] = [];

  if (format === 'jsonl') for (const tag of tags) io.stdout.write(`${JSON.stringify(tagJson(tag))}\n`);
  if (format === 'text') for (const tag of tags) io.stdout.write(`${tagRow(tag)}\n`);

  for await (const result of verifyCommits(repo, revisions, registries, { now, ...(progress ? { onProgress: progress } : {}) })) {
    total++;
    counts.set(result.verdict.status, (counts.get(result.verdict.status) ?? 0) + 1);
    if (result.verdict.status !== 'G') allGood = false;
    if (format === 'jsonl') io.stdout.write(`${JSON.stringify(commitJson(result))}\n`);
    else if (format === 'text') io.stdout.write(`${commitRow(result)}\n`);
    else collected.push(result);
  }
  repo.objects.close();

  if (format === 'json') {
    io.stdout.write(`${JSON.stringify({ commits: collected.map(commitJson), tags: tags.map(tagJson), summary: { total, statuses: Object.fromEntries(counts), ok: allGood } }, null, 2)}\n`);
  } else if (format === 'text') {
    const verdict = allGood ? 'every commit is signed by a registry key' : 'some commits are not signed by a registry key (G)';
    io.stdout.write(`${summaryLine(counts, total)}${tags.length ? `; ${tags.length} tag${tags.length === 1 ? '' : 's'}` : ''} — ${verdict}\n`);
  }
  return allGood ? EXIT_OK : EXIT_POLICY_FAILED;
}

function parseTime(text: string): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new SignetError('USAGE', `--now: '${text}' is not a date (use ISO 8601, e.g. 2026-01-31T12:00:00Z)`);
  return date;
}

export { EXIT_USAGE };
