import { SignetError } from '../core/errors.ts';
import { parseCommit } from '../core/git/signed-object.ts';
import { evaluateRefUpdate, rulesForRef, type CommitInput, type Policy, type PushCertificateInput, type RefDecision, type TagInput } from '../core/policy/index.ts';
import type { SignatureVerdict } from '../core/verdict.ts';
import { runOnThreadPool } from '../core/native-verify.ts';
import { verifyCommitObject, verifyTagObject, type CommitResult, type KeyRegistries, type TagResult, type VerifyObjectOptions } from '../core/verify-object.ts';
import { isZeroId } from './hash-algorithm.ts';
import type { Repository } from './repository.ts';
import { peelToCommit } from './peel.ts';
import { listCommits } from './rev-walk.ts';
import { changedPaths } from './tree-diff.ts';

export interface RefUpdate {
  ref: string;
  /** The all-zero id (or null) when the ref is created. */
  oldOid: string | null;
  /** The all-zero id (or null) when the ref is deleted. */
  newOid: string | null;
}

export interface EvaluatePushOptions {
  now: Date;
  /** When SSH keys must have been valid; default each commit's committer time (as git). */
  sshVerifyTime?: Date;
  pushCertificate?: PushCertificateInput;
  /**
   * Tips that count as "already on the server": commits reachable from them are not checked
   * again. Default: every ref of the repository (inside pre-receive: the refs before the push).
   */
  existingTips?: string[];
  /** A verdict recorded earlier for a commit (first-verdict store); it replaces re-verifying. */
  recordedVerdict?: (oid: string) => SignatureVerdict | undefined;
  /** Stop before this instant (the host's hook deadline): fail closed instead of hanging. */
  deadline?: number;
}

export interface PushEvaluation {
  allowed: boolean;
  decisions: RefDecision[];
  commits: Map<string, CommitResult>;
  tags: Map<string, TagResult>;
}

/**
 * The one decision procedure behind the pre-receive hook, the app and `signet verify
 * --policy`: for each ref update, find the commits it brings, verify them against the
 * registries, and let the policy decide.
 */
export async function evaluatePush(repo: Repository, registries: KeyRegistries, policy: Policy, updates: RefUpdate[], options: EvaluatePushOptions): Promise<PushEvaluation> {
  const commits = new Map<string, CommitResult>();
  const tags = new Map<string, TagResult>();
  const changed = new Map<string, string[]>();
  const exclude = options.existingTips ?? [...new Set(repo.refs.list('refs/').values())].flatMap((oid) => peelToCommit(repo, oid) ?? []);
  // Signature checks on libuv's thread pool, several commits ahead (verifyAhead): a long push is
  // verified on every core.
  const objectOptions: VerifyObjectOptions = { hash: repo.hashAlgorithm, now: options.now, runner: runOnThreadPool, ...(options.sshVerifyTime ? { sshVerifyTime: options.sshVerifyTime } : {}) };
  const checkDeadline = (): void => {
    if (options.deadline !== undefined && Date.now() > options.deadline) throw new SignetError('INTERNAL', 'verification did not finish within the hook time limit');
  };

  const decisions: RefDecision[] = [];
  for (const update of updates) {
    const oldOid = update.oldOid && !isZeroId(update.oldOid) ? update.oldOid : null;
    const newOid = update.newOid && !isZeroId(update.newOid) ? update.newOid : null;
    const rules = rulesForRef(policy, update.ref);
    const needPaths = rules.some((rule) => rule.paths.length > 0);

    let tag: TagInput | undefined;
    let newCommit: string | undefined;
    if (newOid) {
      const object = repo.objects.read(newOid);
      if (object.type === 'tag') {
        const result = tags.get(newOid) ?? (await verifyTagObject(newOid, object.data, registries, objectOptions));
        tags.set(newOid, result);
        tag = { oid: newOid, name: result.name, taggerEmail: result.tagger?.email ?? '', verdict: result.verdict };
      }
      newCommit = peelToCommit(repo, newOid);
    }

    const brought = newCommit && rules.length > 0 ? listCommits(repo.objects, [newCommit], exclude) : [];
    const verified = verifyAhead(brought.filter((oid) => !commits.has(oid)), (oid) => verifyCommitObject(oid, repo.objects.read(oid).data, registries, objectOptions));
    const inputs: CommitInput[] = [];
    for (const oid of brought) {
      checkDeadline();
      let result = commits.get(oid);
      if (!result) {
        result = await verified(oid);
        const recorded = options.recordedVerdict?.(oid);
        if (recorded) result = { ...result, verdict: recorded };
        commits.set(oid, result);
      }
      let paths: string[] = [];
      if (needPaths) {
        paths = changed.get(oid) ?? commitChangedPaths(repo, oid);
        changed.set(oid, paths);
      }
      inputs.push({
        oid,
        subject: result.subject,
        committerEmail: result.committer?.email ?? '',
        authorEmail: result.author?.email ?? '',
        verdict: result.verdict,
        mergetags: result.mergetags.map((mergetag) => mergetag.verdict),
        changedPaths: paths,
      });
    }

    const oldCommit = oldOid ? peelToCommit(repo, oldOid) : undefined;
    const isForcePush = Boolean(oldCommit && newCommit && listCommits(repo.objects, [oldCommit], [newCommit]).length > 0);
    decisions.push(
      evaluateRefUpdate(policy, {
        ref: update.ref,
        oldOid,
        newOid,
        isForcePush,
        commits: inputs,
        ...(tag ? { tag } : {}),
        ...(options.pushCertificate ? { pushCertificate: options.pushCertificate } : {}),
      }),
    );
  }
  return { allowed: decisions.every((decision) => decision.allowed), decisions, commits, tags };
}

const IN_FLIGHT = 256;

/**
 * Verifies `oids` up to IN_FLIGHT ahead of the one asked for; ask in their order. A failure is
 * thrown when its commit is asked for, never before.
 */
function verifyAhead(oids: string[], verify: (oid: string) => Promise<CommitResult>): (oid: string) => Promise<CommitResult> {
  const started = new Map<string, Promise<CommitResult>>();
  const attempt = (oid: string): Promise<CommitResult> => {
    try {
      return verify(oid);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  };
  let next = 0;
  return (oid) => {
    while (next < oids.length && started.size < IN_FLIGHT) {
      const ahead = oids[next++]!;
      const result = attempt(ahead);
      result.catch(() => undefined); // awaited when asked for
      started.set(ahead, result);
    }
    const result = started.get(oid) ?? attempt(oid);
    started.delete(oid);
    return result;
  };
}

function commitChangedPaths(repo: Repository, oid: string): string[] {
  const commit = parseCommit(repo.objects.read(oid).data, repo.hashAlgorithm, `commit ${oid}`);
  const parent = commit.parents[0];
  const parentTree = parent ? parseCommit(repo.objects.read(parent).data, repo.hashAlgorithm, `commit ${parent}`).tree : undefined;
  return changedPaths(repo.objects, parentTree, commit.tree);
}
