import { SignetError } from '../core/errors.ts';
import {
  commitRulesForRef,
  evaluateRefUpdate,
  ruleCovers,
  rulesForRef,
  type CommitInput,
  type Policy,
  type PolicyRule,
  type PushCertificateInput,
  type RefDecision,
  type TagInput,
} from '../core/policy/index.ts';
import type { SignatureVerdict } from '../core/verdict.ts';
import { runOnThreadPool } from '../core/native-verify.ts';
import { verifyAhead } from './verify-ahead.ts';
import { verifyCommitObject, verifyTagObject, type CommitResult, type KeyRegistries, type TagResult, type VerifyObjectOptions } from '../core/verify-object.ts';
import { isZeroId } from './hash-algorithm.ts';
import type { Repository } from './repository.ts';
import { peelToCommit } from './peel.ts';
import { listCommitsWithin } from './limited-walk.ts';
import { listCommits } from './rev-walk.ts';
import { commitChangedPaths } from './commit-changed-paths.ts';
import type { CommitVerdictCache } from './verify-range.ts';

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
   * Tips that count as "already judged" for every ref: commits reachable from them are not
   * checked again (the app's and the CLI's explicit base). Default, as the pre-receive hook
   * needs it: per ref, only the ref's own value before the push and the refs under
   * refs/heads/ and refs/tags/ (before the push) whose commit rules cover every commit rule of
   * that ref; see JudgedSources.
   */
  existingTips?: string[];
  /**
   * A verdict recorded earlier for a commit (first-verdict store): it stands in for today's
   * verdict, so a key that expired or left the registry since does not undo an acceptance.
   * A revocation does undo it: a commit parked on some ref while its key was trusted must not
   * reach another ref after the key was revoked (compromised).
   */
  recordedVerdict?: (oid: string) => SignatureVerdict | undefined;
  /**
   * The commit rule sets a ref was judged under before (RefRuleRecords), oldest first; a
   * source ref counts only if each of them covers the updated ref's rules. Undefined: the
   * ref's current rules (history from before recording began).
   */
  ruleHistory?: (ref: string) => PolicyRule[][] | undefined;
  /** Stop before this instant (the host's hook deadline): fail closed instead of hanging. */
  deadline?: number;
  /**
   * Most new commits one push may bring, all refs together (the hook's signet.maxPushCommits):
   * each is kept with its verdict until the push is decided (~5 KB), so a pusher could otherwise
   * make the server hold gigabytes with one synthetic history. Past it the push is refused.
   */
  maxCommits?: number;
  /**
   * Verdicts of earlier runs (`signet verify --policy`'s verdict cache): a hit is not verified
   * again. Its key must cover every input of a verdict: the registries, `now`, `sshVerifyTime`.
   * It holds verdicts as verified, before `recordedVerdict` stands in for any.
   */
  cache?: CommitVerdictCache;
}

export interface PushEvaluation {
  allowed: boolean;
  decisions: RefDecision[];
  /** Per decision (same order): the ref actually updated (symbolic refs resolved) and the commit rules it was judged under. */
  judgedUnder: Array<{ ref: string; rules: PolicyRule[] }>;
  commits: Map<string, CommitResult>;
  tags: Map<string, TagResult>;
}

/**
 * The one decision procedure behind the pre-receive hook, the app and `signet verify
 * --policy`: for each ref update, find the commits it brings, verify them against the
 * registries, and let the policy decide.
 */
export async function evaluatePush(
  repo: Repository,
  registries: KeyRegistries,
  policy: Policy,
  updates: RefUpdate[],
  options: EvaluatePushOptions,
): Promise<PushEvaluation> {
  const commits = new Map<string, CommitResult>();
  const tags = new Map<string, TagResult>();
  const changed = new Map<string, string[]>();
  // Signature checks on libuv's thread pool, several commits ahead (verifyAhead): a long push is
  // verified on every core.
  const objectOptions: VerifyObjectOptions = {
    hash: repo.hashAlgorithm,
    now: options.now,
    runner: runOnThreadPool,
    ...(options.sshVerifyTime ? { sshVerifyTime: options.sshVerifyTime } : {}),
  };
  const checkDeadline = (): void => {
    if (options.deadline !== undefined && Date.now() > options.deadline)
      throw new SignetError('TIMEOUT', 'verification did not finish within the hook time limit');
  };

  const maxCommits = options.maxCommits ?? Number.POSITIVE_INFINITY;
  // Distinct commits brought so far: two refs pushed to the same new history count it once.
  const broughtSoFar = new Set<string>();
  const bringCommits = (tip: string, exclude: string[], ref: string): string[] => {
    // Found commits can outnumber the answer (one found before an exclusion's mark reaches
    // it): the walk stops at twice the limit, the answer is held to the limit exactly.
    const found = listCommitsWithin(repo.objects, [tip], exclude, 2 * maxCommits);
    if (found && Number.isFinite(maxCommits)) for (const oid of found) broughtSoFar.add(oid);
    if (!found || broughtSoFar.size > maxCommits) {
      throw new SignetError(
        'LIMIT_EXCEEDED',
        `${ref}: the push brings more than ${maxCommits} new commits (signet.maxPushCommits); push the history in parts of at most ${maxCommits} commits, or ask the server admin to raise the limit`,
      );
    }
    return found;
  };
  const decisions: RefDecision[] = [];
  const sources = options.existingTips ? undefined : new JudgedSources(repo, policy, options.ruleHistory);
  const judgedUnder: Array<{ ref: string; rules: PolicyRule[] }> = [];
  let symbolicRefs: Map<string, string> | undefined;
  for (const update of updates) {
    // A push through a symbolic ref (refs/heads/master → refs/heads/main) moves its target:
    // the target is judged, under its rules and the alias's together.
    const { target, aliases } = resolveAlias(repo, update.ref, (symbolicRefs ??= listSymbolicRefs(repo)));
    const stdinOld = update.oldOid && !isZeroId(update.oldOid) ? update.oldOid : null;
    const oldOid = aliases.length > 0 ? (repo.refs.resolve(target) ?? null) : stdinOld;
    const newOid = update.newOid && !isZeroId(update.newOid) ? update.newOid : null;
    const rules = rulesForRef(policy, target, aliases);
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

    const exclude = options.existingTips ?? sources!.judgedTips(target, aliases, oldOid);
    const brought = newCommit && rules.length > 0 ? bringCommits(newCommit, exclude, update.ref) : [];
    const verified = verifyAhead(
      brought.filter((oid) => !commits.has(oid)),
      (oid) => {
        const cached = options.cache?.get(oid);
        if (cached) return Promise.resolve(cached);
        const result = verifyCommitObject(oid, repo.objects.read(oid).data, registries, objectOptions);
        const cache = options.cache;
        return cache ? result.then((verified) => (cache.put(verified), verified)) : result;
      },
    );
    const inputs: CommitInput[] = [];
    for (const oid of brought) {
      checkDeadline();
      let result = commits.get(oid);
      if (!result) {
        result = await verified(oid);
        const recorded = options.recordedVerdict?.(oid);
        if (recorded && result.verdict.status !== 'R') result = { ...result, verdict: recorded };
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
    // Outside refs/heads git lets a ref name a blob or tree: moving from or to one is no
    // fast-forward either (a commit to a blob throws the ref's history away).
    const isForcePush = Boolean(
      oldOid && newOid && oldOid !== newOid && (!oldCommit || !newCommit || listCommits(repo.objects, [oldCommit], [newCommit]).length > 0),
    );
    const decision = evaluateRefUpdate(policy, {
      ref: target,
      oldOid,
      newOid,
      isForcePush,
      commits: inputs,
      ...(aliases.length > 0 ? { aliases } : {}),
      ...(tag ? { tag } : {}),
      ...(options.pushCertificate ? { pushCertificate: options.pushCertificate } : {}),
    });
    // Reported under the name the pusher used; the messages name the target.
    decisions.push(aliases.length > 0 ? { ...decision, ref: update.ref } : decision);
    judgedUnder.push({ ref: target, rules: newOid ? commitRulesForRef(policy, target, aliases) : [] });
  }
  return { allowed: decisions.every((decision) => decision.allowed), decisions, judgedUnder, commits, tags };
}

const MAX_ALIAS_DEPTH = 5;

/**
 * The ref a name finally stands for, and its aliases: the symbolic names passed on the way
 * (first: `ref`), then every other symbolic ref that stands for the same target. A push
 * straight to refs/heads/main moves what refs/heads/master → main shows too, so master's rules
 * judge it as well.
 */
function resolveAlias(repo: Repository, ref: string, symbolicRefs: Map<string, string>): { target: string; aliases: string[] } {
  const aliases: string[] = [];
  let target = ref;
  for (let depth = 0; depth <= MAX_ALIAS_DEPTH; depth++) {
    const next = repo.refs.symbolicTarget(target);
    if (next === undefined) {
      for (const [name, final] of symbolicRefs) if (final === target && !aliases.includes(name)) aliases.push(name);
      return { target, aliases };
    }
    aliases.push(target);
    target = next;
  }
  throw new SignetError('REPOSITORY_INVALID', `symbolic ref ${ref} nests too deeply`);
}

/**
 * Every symbolic ref under refs/ (before the push), name → the ref it finally stands for;
 * dangling ones too (master → main before main is created).
 */
function listSymbolicRefs(repo: Repository): Map<string, string> {
  const found = new Map<string, string>();
  for (const name of repo.refs.names('refs/')) {
    let target = repo.refs.symbolicTarget(name);
    if (target === undefined) continue;
    for (let depth = 0; depth < MAX_ALIAS_DEPTH; depth++) {
      const next = repo.refs.symbolicTarget(target);
      if (next === undefined) break;
      target = next;
    }
    found.set(name, target);
  }
  return found;
}

/**
 * Only a push moves these refs, and every push runs pre-receive. What the forge writes itself
 * (refs/pull/*, refs/merge-requests/*, refs/keep-around/*, refs/environments/*, …), notes and
 * replace refs were never judged for any rule.
 */
const JUDGED_NAMESPACES = ['refs/heads/', 'refs/tags/'];

/**
 * The refs before the push whose history counts as judged: a commit reachable from ref B was
 * judged under B's commit rules when it reached B (or was history B started with). For ref A
 * that counts only if each commit rule of A is covered by one of B's (ruleCovers: no more
 * letters, no other signers, no fewer checks), so a commit never reaches A on a weaker
 * judgement. Refs updated by the same push count with their value before it.
 */
class JudgedSources {
  private tips: Array<{ name: string; commit: string; ruleSets: PolicyRule[][] }> | undefined;
  private everything: string[] | undefined;

  constructor(
    private readonly repo: Repository,
    private readonly policy: Policy,
    private readonly ruleHistory: ((ref: string) => PolicyRule[][] | undefined) | undefined,
  ) {}

  judgedTips(target: string, aliases: string[], oldOid: string | null): string[] {
    const wanted = commitRulesForRef(this.policy, target, aliases);
    // No rule judges commits here: nothing is checked, so what counts as judged does not matter.
    if (wanted.length === 0)
      return (this.everything ??= [...new Set(this.repo.refs.list('refs/').values())].flatMap((oid) => peelToCommit(this.repo, oid) ?? []));
    const own = oldOid ? peelToCommit(this.repo, oldOid) : undefined;
    const tips = own ? [own] : [];
    for (const source of this.sources()) {
      if (source.name === target) continue;
      const covered = source.ruleSets.every((set) => wanted.every((rule) => set.some((strict) => strict === rule || ruleCovers(strict, rule))));
      if (covered) tips.push(source.commit);
    }
    return tips;
  }

  private sources(): Array<{ name: string; commit: string; ruleSets: PolicyRule[][] }> {
    if (this.tips) return this.tips;
    this.tips = [];
    for (const [name, oid] of this.repo.refs.list('refs/')) {
      if (!JUDGED_NAMESPACES.some((prefix) => name.startsWith(prefix))) continue;
      // An alias was never judged under its own name's rules; its target counts under its own.
      if (this.repo.refs.symbolicTarget(name) !== undefined) continue;
      const rules = commitRulesForRef(this.policy, name);
      if (rules.length === 0) continue;
      // Its history was judged under each rule set recorded for it, and its current rules decide
      // what it takes from now on.
      const ruleSets = [...(this.ruleHistory?.(name) ?? []), rules];
      const commit = peelToCommit(this.repo, oid);
      if (commit) this.tips.push({ name, commit, ruleSets });
    }
    return this.tips;
  }
}
