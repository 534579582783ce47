import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import pino from 'pino';
import { errorCodeOf, kindOfCode, SignetError, type SignetErrorCode } from '../core/errors.ts';
import { parsePolicy, type Policy } from '../core/policy/index.ts';
import type { CliIO } from '../cli/io.ts';
import { evaluatePush, type PushEvaluation, type RefUpdate } from '../git/evaluate-push.ts';
import { configValue, readGitConfig } from '../git/git-config.ts';
import { parseMaxObjectBytes } from '../git/object-size-limit.ts';
import { openRepository, type Repository } from '../git/repository.ts';
import { keylessIdentitiesOf, loadRegistries } from '../keys/load-registries.ts';
import { RefRuleRecords } from '../store/ref-rule-records.ts';
import { VerdictRecords } from '../store/verdict-records.ts';
import { detectHookContext, forPusher, withCertifiedPusher, type HookContext } from './hook-host.ts';
import { readPushCertificate } from './push-certificate.ts';
import { renderRejection, summarizeAccepted } from './render-rejection.ts';

const UPDATE_LINE = /^([0-9a-f]{40}|[0-9a-f]{64}) ([0-9a-f]{40}|[0-9a-f]{64}) (refs\/\S+|HEAD)$/;

async function readStdin(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks).toString('utf8');
}

export function parseUpdates(text: string): RefUpdate[] {
  const updates: RefUpdate[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const match = UPDATE_LINE.exec(line.trim());
    if (!match) throw new SignetError('USAGE', `unexpected pre-receive input line: '${line.slice(0, 120)}'`);
    updates.push({ oldOid: match[1]!, newOid: match[2]!, ref: match[3]! });
  }
  return updates;
}

function resolvePolicyPath(repo: Repository, env: NodeJS.ProcessEnv): string {
  const configured = env.SIGNET_POLICY ?? configValue(readGitConfig(join(repo.commonDir, 'config')), 'signet.policy');
  if (!configured) throw new SignetError('CONFIG_INVALID', "no policy configured: set 'git config signet.policy /path/to/policy.yml' on the server");
  return isAbsolute(configured) ? configured : resolve(repo.commonDir, configured);
}

function readPolicy(path: string): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SignetError('CONFIG_INVALID', `${path}: cannot read the policy (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return parsePolicy(text, path);
}

/**
 * The pre-receive hook: every ref update of the push is judged by the policy over the
 * commits it brings; one refusal rejects the whole push (git's pre-receive is
 * all-or-nothing, so no ref moves). Any internal error rejects too: the hook fails closed.
 */
export async function runPreReceive(io: CliIO): Promise<number> {
  const started = Date.now();
  let context: HookContext = detectHookContext(io.env);
  let audit: pino.Logger | undefined;
  let updates: RefUpdate[] = [];
  try {
    const repo = openRepository({ cwd: io.cwd, env: io.env });
    const config = readGitConfig(join(repo.commonDir, 'config'));
    // Symbolic refs and the refs before the push decide what counts as judged: read from a
    // backend signet does not read, they would look absent and an alias would pass unresolved.
    const refStorage = (configValue(config, 'extensions.refstorage') ?? 'files').toLowerCase();
    if (refStorage !== 'files')
      throw new SignetError(
        'REPOSITORY_INVALID',
        `${repo.commonDir}: refs are stored as '${refStorage}'; signet's hook reads the files backend only (git refs migrate --ref-format=files)`,
      );
    const maxCommits = maxPushCommits(configValue(config, 'signet.maxPushCommits'));
    // The server's own config (the pusher cannot write it), under the environment's setting.
    if (io.env.SIGNET_MAX_OBJECT_BYTES === undefined)
      repo.objects.maxObjectBytes = parseMaxObjectBytes(configValue(config, 'signet.maxObjectBytes'), 'git config signet.maxObjectBytes');
    const budget = Number(configValue(config, 'signet.timeoutMs') ?? NaN);
    context = detectHookContext(io.env, Number.isFinite(budget) && budget > 0 ? budget : undefined, configValue(config, 'signet.repository') ?? repo.commonDir);
    const auditPath = configValue(config, 'signet.auditLog') ?? join(repo.commonDir, 'signet', 'audit.log');
    audit = pino(
      { base: { component: 'pre-receive' }, timestamp: pino.stdTimeFunctions.isoTime },
      pino.destination({ dest: auditPath, sync: true, mkdir: true }),
    );

    updates = parseUpdates(await readStdin(io.stdin));
    const policyPath = resolvePolicyPath(repo, io.env);
    const policy = readPolicy(policyPath);
    const base = dirname(policyPath);
    const registries = await loadRegistries({
      keyrings: policy.keys.openpgp.map((file) => resolve(base, file)),
      allowedSigners: policy.keys.sshAllowedSigners ? resolve(base, policy.keys.sshAllowedSigners) : undefined,
      revokedKeys: policy.keys.sshRevokedKeys ? resolve(base, policy.keys.sshRevokedKeys) : undefined,
      x509Roots: policy.keys.x509Roots?.map((file) => resolve(base, file)),
      crls: policy.keys.x509Crls?.map((file) => resolve(base, file)),
      trustedRoot: policy.keys.trustedRoot ? resolve(base, policy.keys.trustedRoot) : undefined,
      keylessIdentities: keylessIdentitiesOf(policy.keys.keyless),
    });
    // Keys the policy lists that signet cannot use: said once per push, with the verdicts.
    const keyringWarnings = registries.openpgp.warnings.map((warning) => `signet: warning: ${warning}`);
    const now = new Date(started);
    const pushCertificate = await readPushCertificate(repo, io.env, registries, now);
    context = withCertifiedPusher(context, pushCertificate);
    const records = new VerdictRecords(join(repo.commonDir, 'signet', 'verdicts'));
    const refRules = new RefRuleRecords(join(repo.commonDir, 'signet', 'ref-rules.jsonl'));
    const evaluation = await evaluatePush(repo, registries, policy, updates, {
      now,
      // The server knows when the push arrived; the committer date is the pusher's claim.
      sshVerifyTime: now,
      ...(pushCertificate ? { pushCertificate } : {}),
      recordedVerdict: (oid) => records.lookup(oid)?.verdict,
      ruleHistory: (ref) => refRules.setsFor(ref),
      deadline: started + context.budgetMs,
      maxCommits,
    });
    writeAudit(audit, context, updates, evaluation, Date.now() - started);
    if (!evaluation.allowed) {
      io.stderr.write(forPusher(context.host, [...keyringWarnings, ...renderRejection(evaluation)]));
      return 1;
    }
    records.recordAllFirst(
      evaluation.decisions.flatMap((decision) =>
        decision.commits.flatMap((commit) => {
          const result = evaluation.commits.get(commit.oid);
          return result ? [{ commit: commit.oid, verdict: result.verdict, acceptedAt: now.toISOString(), ref: decision.ref, pusher: context.pusher }] : [];
        }),
      ),
    );
    refRules.recordAll(evaluation.judgedUnder);
    // GitLab shows hook output only on a refusal (every line is a GL-HOOK-ERR): nothing on success.
    const summary = [...keyringWarnings, ...summarizeAccepted(evaluation.decisions)];
    if (summary.length > 0 && context.host !== 'gitlab') io.stderr.write(forPusher(context.host, summary));
    return 0;
  } catch (error) {
    const code = errorCodeOf(error);
    const message = error instanceof SignetError ? error.message : `internal error: ${(error as Error)?.message ?? String(error)}`;
    audit?.error(
      {
        event: 'push-error',
        pusher: context.pusher,
        pusherSource: context.pusherSource,
        host: context.host,
        repository: context.repository,
        updates,
        code,
        error: message,
      },
      kindOfCode(code) === 'outage' ? 'push rejected: the server could not check' : 'push rejected: internal error',
    );
    io.stderr.write(forPusher(context.host, pusherLinesOfError(code, message)));
    return 1;
  }
}

/**
 * Most new commits one push may bring (git config signet.maxPushCommits). Each is held with its
 * verdict until the push is decided, ~5 KB: 100,000 commits peaked at 477 MiB. A larger initial
 * push goes in parts (`git push origin <commit>:refs/heads/main`, oldest part first).
 */
export const DEFAULT_MAX_PUSH_COMMITS = 100_000;

function maxPushCommits(configured: string | undefined): number {
  if (configured === undefined) return DEFAULT_MAX_PUSH_COMMITS;
  const value = Number(configured);
  if (!/^\d+$/.test(configured.trim()) || !Number.isSafeInteger(value) || value < 1) {
    throw new SignetError('CONFIG_INVALID', `git config signet.maxPushCommits: '${configured}' is not a positive whole number`);
  }
  return value;
}

/**
 * What the pusher reads when the hook could not judge the push; it is refused either way (fail
 * closed). An outage (the server's records unreadable, the time limit) says to try again; any
 * other error is the server's configuration, for its admin.
 */
export function pusherLinesOfError(code: SignetErrorCode, message: string): string[] {
  if (kindOfCode(code) === 'outage')
    return [
      `signet: push rejected: the server could not check: ${message}`,
      'signet: nothing was changed (no ref was updated); try again. If it keeps failing, tell the server admin.',
    ];
  return [`signet: push rejected: ${message}`, 'signet fails closed on errors: No ref was updated. Ask the server admin to check the hook configuration.'];
}

function writeAudit(audit: pino.Logger, context: HookContext, updates: RefUpdate[], evaluation: PushEvaluation, elapsedMs: number): void {
  for (const decision of evaluation.decisions) {
    const update = updates.find((u) => u.ref === decision.ref);
    audit.info(
      {
        event: 'push',
        pusher: context.pusher,
        pusherSource: context.pusherSource,
        host: context.host,
        via: context.via,
        repository: context.repository,
        pullRequest: context.pullRequest,
        ref: decision.ref,
        old: update?.oldOid,
        new: update?.newOid,
        allowed: decision.allowed,
        commits: decision.commits.map((c) => {
          const verdict = evaluation.commits.get(c.oid)?.verdict;
          return { oid: c.oid, accepted: c.accepted, status: verdict?.status, reason: verdict?.reason, key: verdict?.key };
        }),
        violations: decision.violations.map((v) => ({ code: v.code, commit: v.commit, rule: v.rule })),
        elapsedMs,
      },
      decision.allowed ? 'ref update accepted' : 'ref update rejected',
    );
  }
}
