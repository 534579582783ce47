/**
 * Decides one ref update against the policy. Every face (pre-receive hook, GitHub App,
 * `signet verify --policy`) calls this with the same input, so a push gets one verdict
 * everywhere. All rules whose `refs` match apply, and all must pass: the strictest wins.
 */
import type { SignatureVerdict } from '../verdict.ts';
import { anyGlobMatches } from './glob.ts';
import { describeEntry, describeSigner, hasEmail, matchingEntry, verdictEmails } from './signers.ts';
import type { CommitInput, Policy, PolicyRule, RefDecision, RefUpdateInput, SignerEntry, Violation, ViolationCode } from './types.ts';

/** Every rule whose `refs` patterns match `ref` (or any of `aliases`), in policy order. */
export function rulesForRef(policy: Policy, ref: string, aliases: readonly string[] = []): PolicyRule[] {
  const names = [ref, ...aliases];
  return policy.rules.filter((rule) => names.some((name) => anyGlobMatches(rule.refs, 'ref', name)));
}

/** The rules that judge commits reaching `ref` (empty: no commit is judged there). */
export function commitRulesForRef(policy: Policy, ref: string, aliases: readonly string[] = []): PolicyRule[] {
  return rulesForRef(policy, ref, aliases).filter((rule) => rule.requireSignedCommits);
}

/**
 * Whether every commit `strict` accepts is one `lenient` accepts too: `strict` accepts no more
 * letters, allows no signer `lenient` does not (the same entries, as written after groups are
 * expanded), asks the e-mail match and refuses SHA-1 whenever `lenient` does, and holds every
 * path rule of `lenient` unchanged. Deliberately conservative: a rule that is stricter in a way
 * this does not see counts as not covering.
 */
export function ruleCovers(strict: PolicyRule, lenient: PolicyRule): boolean {
  if (!strict.requireSignedCommits || !lenient.requireSignedCommits) return false;
  if (!strict.accept.every((letter) => lenient.accept.includes(letter))) return false;
  if (lenient.allowedSigners) {
    if (!strict.allowedSigners) return false;
    const allowed = new Set(lenient.allowedSigners.map(entryKey));
    if (!strict.allowedSigners.every((entry) => allowed.has(entryKey(entry)))) return false;
  }
  if (lenient.requireEmailMatch && !strict.requireEmailMatch) return false;
  if (lenient.refuseSha1 && !strict.refuseSha1) return false;
  const strictPaths = new Set(strict.paths.map(pathKey));
  return lenient.paths.every((path) => strictPaths.has(pathKey(path)));
}

function entryKey(entry: SignerEntry): string {
  // `via` only says which group brought the entry in; it does not change who matches.
  const { via: _via, ...who } = entry;
  return JSON.stringify(who, Object.keys(who).sort());
}

function pathKey(path: PolicyRule['paths'][number]): string {
  return JSON.stringify([path.match, path.allowedSigners?.map(entryKey) ?? null, path.threshold]);
}

/** Namespaces where a replacement changes what `git log` and `git show` display for another object. */
const REPLACE_PREFIX = 'refs/replace/';

type Subject = 'commit' | 'tag' | 'push';

interface Finding {
  code: ViolationCode;
  reason: string;
  fix?: string;
}

const CODES: Record<Subject, { unsigned: ViolationCode; notAccepted: ViolationCode; signer: ViolationCode; email?: ViolationCode; weak?: ViolationCode }> = {
  commit: {
    unsigned: 'UNSIGNED_COMMIT',
    notAccepted: 'COMMIT_SIGNATURE_NOT_ACCEPTED',
    signer: 'COMMIT_SIGNER_NOT_ALLOWED',
    email: 'COMMIT_EMAIL_MISMATCH',
    weak: 'COMMIT_WEAK_HASH',
  },
  tag: {
    unsigned: 'UNSIGNED_TAG',
    notAccepted: 'TAG_SIGNATURE_NOT_ACCEPTED',
    signer: 'TAG_SIGNER_NOT_ALLOWED',
    email: 'TAG_EMAIL_MISMATCH',
    weak: 'TAG_WEAK_HASH',
  },
  push: { unsigned: 'PUSH_NOT_SIGNED', notAccepted: 'PUSH_SIGNATURE_NOT_ACCEPTED', signer: 'PUSH_SIGNER_NOT_ALLOWED' },
};

/** Nonce states git sets when the certificate answers this push's challenge (SLOP: within receive.certNonceSlop). */
const FRESH_NONCE = new Set(['OK', 'SLOP']);

export function evaluateRefUpdate(policy: Policy, input: RefUpdateInput): RefDecision {
  const { ref } = input;
  const oldOid = nullIfZero(input.oldOid);
  const newOid = nullIfZero(input.newOid);
  const rules = rulesForRef(policy, ref, input.aliases);
  if (rules.length === 0 && ref.startsWith(REPLACE_PREFIX) && newOid !== null) {
    // git shows the replacement in place of the object it names (log, show, blame; signatures
    // too): a replace ref would let anyone who can push dress an unsigned commit as a signed one
    // for every reader who fetches refs/replace/*. Only a rule written for them lets them in.
    return {
      ref,
      allowed: false,
      noPolicy: false,
      violations: [
        {
          code: 'REPLACE_REF_FORBIDDEN',
          message: `${ref} would make git show another object in place of ${ref.slice(REPLACE_PREFIX.length, REPLACE_PREFIX.length + 12)}; replace refs need a policy rule that names them`,
          fix: `ask an admin to add a rule for refs/replace/* to ${policy.source} if replacements are really wanted`,
          rule: -1,
        },
      ],
      commits: input.commits.map((commit) => ({ oid: commit.oid, accepted: false, reasons: ['replace refs are refused without a rule'] })),
    };
  }
  if (rules.length === 0) {
    return {
      ref,
      allowed: true,
      noPolicy: true,
      violations: [],
      commits: input.commits.map((commit) => ({ oid: commit.oid, accepted: true, reasons: [`no policy rule matches ${ref}`] })),
    };
  }

  const violations: Violation[] = [];
  const seen = new Set<string>();
  const add = (rule: PolicyRule, violation: Omit<Violation, 'rule'>): void => {
    const key = `${violation.code}\0${violation.commit ?? ''}\0${violation.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    violations.push({ ...violation, rule: rule.index });
  };
  // Per-commit state lives in arrays by input position: pushes can bring 100 000 commits.
  const commitReasons: Array<string[] | undefined> = [];
  const violationPosition = new Map<Violation, number>();
  const rejectCommit = (rule: PolicyRule, index: number, finding: Finding): void => {
    const commit = input.commits[index] as CommitInput;
    const reasons = (commitReasons[index] ??= []);
    if (!reasons.includes(finding.reason)) reasons.push(finding.reason);
    const before = violations.length;
    add(rule, {
      code: finding.code,
      commit: commit.oid,
      message: `commit ${describeCommit(commit)}: ${finding.reason}`,
      ...(finding.fix ? { fix: finding.fix } : {}),
    });
    const added = violations[before];
    if (added) violationPosition.set(added, index);
  };

  const isTag = ref.startsWith('refs/tags/');
  const tagName = ref.slice('refs/tags/'.length);
  const resign = `git rebase --exec 'git commit --amend --no-edit -S' ${oldOid ?? '<the commit your branch starts from>'}`;

  for (const rule of rules) {
    if (newOid === null) {
      if (rule.forbidDeletion)
        add(rule, {
          code: 'DELETION_FORBIDDEN',
          message: `deleting ${ref} is forbidden by the policy`,
          fix: `ask an admin to delete ${ref} if it really must go`,
        });
      continue;
    }
    // Moving an existing tag rewrites history as much as a forced branch update does.
    if (rule.forbidForcePush && oldOid !== null && (input.isForcePush || (isTag && oldOid !== newOid))) {
      add(rule, {
        code: 'FORCE_PUSH_FORBIDDEN',
        message: isTag && !input.isForcePush ? `moving the existing tag ${ref} is forbidden by the policy` : `force-pushing ${ref} is forbidden by the policy`,
        fix: isTag ? `create a new tag instead of moving ${tagName}` : `fetch, then merge or rebase onto the current ${ref} instead of force-pushing`,
      });
    }

    if (rule.requireSignedPush) {
      for (const finding of checkPushCertificate(policy, rule, input))
        add(rule, { code: finding.code, message: finding.reason, ...(finding.fix ? { fix: finding.fix } : {}) });
    }

    const failedHere: boolean[] = [];
    if (rule.requireSignedCommits) {
      input.commits.forEach((commit, index) => {
        const findings = checkSignature(policy, rule, commit.verdict, commit.committerEmail, 'commit', resign);
        // A merged tag whose signature no longer verifies was altered: never let it in.
        if ((commit.mergetags ?? []).some((mergetag) => mergetag.status === 'B')) {
          findings.push({
            code: 'MERGETAG_BAD_SIGNATURE',
            reason: 'it merges a signed tag whose signature does not verify (the tag was altered)',
            fix: 'merge the tag again from a trusted copy (git merge <tag>)',
          });
        }
        for (const finding of findings) rejectCommit(rule, index, finding);
        if (findings.length > 0) failedHere[index] = true;
      });
      checkPathRules(policy, rule, input.commits, failedHere, rejectCommit, add);
    }

    if (rule.requireSignedTags && isTag) {
      if (!input.tag) {
        add(rule, {
          code: 'TAG_NOT_ANNOTATED',
          message: `${ref} is a lightweight tag; the policy requires signed annotated tags`,
          fix: `git tag -s -f ${tagName} ${tagName}^{} && git push origin ${ref}`,
        });
      } else {
        const tag = input.tag;
        const fix = `git tag -s -f ${tagName} ${tagName}^{} && git push origin ${ref}`;
        // The signature covers the tag object's own name, not the ref's: a signed v1.0-rc1
        // pushed as refs/tags/v1.0 would make v1.0 name the release candidate, "signed".
        if (tag.name !== tagName) {
          add(rule, {
            code: 'TAG_NAME_MISMATCH',
            commit: tag.oid,
            message: `${ref} points at the tag object named '${tag.name}': a signed tag must be pushed under its own name (refs/tags/${tag.name})`,
            fix: `push it as refs/tags/${tag.name}, or make a tag named ${tagName}: git tag -s ${tagName} ${tag.name}^{}`,
          });
        }
        for (const finding of checkSignature(policy, rule, tag.verdict, tag.taggerEmail, 'tag', fix)) {
          add(rule, { code: finding.code, commit: tag.oid, message: `tag ${tag.name}: ${finding.reason}`, ...(finding.fix ? { fix: finding.fix } : {}) });
        }
      }
    }
  }

  // Ref-level violations first, then the commits' in input order: one block per commit to read.
  violations.sort((a, b) => (violationPosition.get(a) ?? -1) - (violationPosition.get(b) ?? -1));
  const signedCommitsRequired = newOid !== null && rules.some((rule) => rule.requireSignedCommits);
  return {
    ref,
    allowed: violations.length === 0,
    noPolicy: false,
    violations,
    commits: input.commits.map((commit, index) => {
      const reasons = commitReasons[index];
      if (reasons) return { oid: commit.oid, accepted: false, reasons };
      const why = signedCommitsRequired
        ? `${commit.verdict.status} signature by ${describeSigner(commit.verdict)}`
        : newOid === null
          ? `${ref} is deleted`
          : `no rule requires signed commits on ${ref}`;
      return { oid: commit.oid, accepted: true, reasons: [why] };
    }),
  };
}

function checkSignature(policy: Policy, rule: PolicyRule, verdict: SignatureVerdict, email: string | undefined, subject: Subject, resign: string): Finding[] {
  const codes = CODES[subject];
  const status = verdict.status;
  if (status === 'N') {
    return [
      {
        code: codes.unsigned,
        reason: `not signed; the policy requires signed ${subject === 'push' ? 'pushes' : `${subject}s`}`,
        fix: subject === 'push' ? 'git push --signed' : resign,
      },
    ];
  }
  // A push is signed now, so an expired key or signature is never acceptable for it.
  const accepted: readonly string[] = subject === 'push' ? ['G'] : rule.accept;
  if (!accepted.includes(status)) {
    return [{ code: codes.notAccepted, ...statusFinding(policy, verdict, resign) }];
  }
  if (status === 'Y') {
    const { signedAt, keyExpiredAt } = verdict;
    if (signedAt === undefined || keyExpiredAt === undefined || signedAt >= keyExpiredAt) {
      const when =
        signedAt !== undefined && keyExpiredAt !== undefined
          ? ` (signed ${isoTime(signedAt)}, key expired ${isoTime(keyExpiredAt)})`
          : ' (the signature or the key carries no time to prove it)';
      return [
        {
          code: codes.notAccepted,
          reason: `signed by an expired key, and not before it expired${when}`,
          fix: `${expiredKeyFix(verdict)}, then re-sign: ${resign}`,
        },
      ];
    }
  }
  const findings: Finding[] = [];
  if (rule.allowedSigners && !matchingEntry(rule.allowedSigners, verdict)) {
    findings.push({
      code: codes.signer,
      reason: `signed by ${describeSigner(verdict)}, who is not an allowed signer (${(rule.signers ?? []).join(', ')})`,
      fix: `ask an admin to add you or your key to ${(rule.signers ?? []).filter((s) => s.startsWith('group:')).join(' or ') || `the signers of rules[${rule.index}]`} in ${policy.source}`,
    });
  }
  if (rule.requireEmailMatch && codes.email && email !== undefined) {
    const matches = verdict.emailMatches ?? hasEmail(verdict, email.toLowerCase());
    if (!matches) {
      const emails = verdictEmails(verdict);
      const who = subject === 'tag' ? 'tagger' : 'committer';
      findings.push({
        code: codes.email,
        reason: `${who} e-mail ${email} is not an identity of the signing key (${emails.size > 0 ? [...emails].join(', ') : 'the key names no e-mail'})`,
        fix: `${subject === 'tag' ? 'tag' : 'commit'} as an address of your key (git config user.email ADDRESS) or add ${email} to your key, then re-sign: ${resign}`,
      });
    }
  }
  if (rule.refuseSha1 && codes.weak && (verdict.hashAlgorithm?.toLowerCase() === 'sha1' || verdict.reason === 'weak_hash')) {
    findings.push({
      code: codes.weak,
      reason: 'the signature uses the SHA-1 digest, which the policy refuses',
      fix: `re-sign with SHA-256 or stronger (gpg: personal-digest-preferences SHA512 in gpg.conf): ${resign}`,
    });
  }
  return findings;
}

function statusFinding(policy: Policy, verdict: SignatureVerdict, resign: string): { reason: string; fix: string } {
  const key = verdict.primaryKey ?? verdict.key;
  const keyText = key ? ` (key ${key})` : '';
  const detail = verdict.detail ? `: ${verdict.detail}` : '';
  switch (verdict.status) {
    case 'B':
      return {
        reason: `bad signature${keyText}: the content was altered after signing, or the signature is not by the key it names`,
        fix: `re-sign: ${resign}`,
      };
    case 'U':
      return { reason: `signed by a key the registry does not know${keyText}`, fix: registerKeyFix(policy, verdict) };
    case 'E':
      if (verdict.reason === 'unknown_key') return { reason: `signed by a key the registry does not have${keyText}`, fix: registerKeyFix(policy, verdict) };
      if (verdict.reason === 'unsupported_algorithm') {
        return {
          reason: `the signature cannot be checked: unsupported algorithm${detail}`,
          fix: `sign with an RSA or Ed25519 (v4) key, then re-sign: ${resign}`,
        };
      }
      return { reason: `the signature cannot be checked (${verdict.reason})${detail}`, fix: `re-sign: ${resign}` };
    case 'R':
      return {
        reason: `signed by a revoked key${keyText}`,
        fix: `sign with a key that is not revoked (have it added to the registry), then re-sign: ${resign}`,
      };
    case 'X':
      return { reason: `the signature has expired${keyText}; this rule does not accept X`, fix: `re-sign: ${resign}` };
    case 'Y':
      return {
        reason: `signed by an expired key${keyText}; this rule does not accept Y`,
        fix: `${expiredKeyFix(verdict)}, or sign with a current key: ${resign}`,
      };
    default:
      return { reason: `signature status ${verdict.status} is not accepted`, fix: `re-sign: ${resign}` };
  }
}

/**
 * What to change for an expired key: an OpenPGP key carries its own expiry (gpg extends it); an
 * SSH key has none, its validity is the `valid-before` option of its allowed_signers line.
 */
function expiredKeyFix(verdict: SignatureVerdict): string {
  if (verdict.format === 'ssh') {
    return 'ask an admin to move the valid-before="…" date of your key\'s line in allowed_signers, or to add a new key (ssh-keygen -t ed25519)';
  }
  return "extend your key's expiry (gpg --quick-set-expire FINGERPRINT 1y) and have it updated in the registry";
}

function registerKeyFix(policy: Policy, verdict: SignatureVerdict): string {
  const files =
    verdict.format === 'ssh'
      ? [policy.keys.sshAllowedSigners]
      : verdict.format === 'openpgp'
        ? policy.keys.openpgp
        : [...policy.keys.openpgp, policy.keys.sshAllowedSigners];
  const named = files.filter((file): file is string => typeof file === 'string');
  const where = named.length > 0 ? named.join(' or ') : `the keys of ${policy.source}`;
  const forge = policy.keys.forgeAccounts ? ', or add it as a signing key to your GitHub / GitLab account' : '';
  return `ask an admin to add your key to ${where}${forge}`;
}

function checkPushCertificate(policy: Policy, rule: PolicyRule, input: RefUpdateInput): Finding[] {
  const cert = input.pushCertificate;
  if (!cert || cert.status === 'N') {
    return [{ code: 'PUSH_NOT_SIGNED', reason: `the push is not signed; the policy requires git push --signed for ${input.ref}`, fix: 'git push --signed' }];
  }
  const verdict: SignatureVerdict = cert.verdict ?? {
    status: cert.status,
    format: 'openpgp',
    reason: cert.status === 'G' ? 'valid' : 'invalid',
    ...(cert.key ? { key: cert.key } : {}),
    ...(cert.signer ? { signer: cert.signer } : {}),
  };
  const findings = checkSignature(policy, { ...rule, requireEmailMatch: false, refuseSha1: false }, verdict, undefined, 'push', 'git push --signed').map(
    (finding) => ({ ...finding, reason: `push certificate: ${finding.reason}` }),
  );
  if (cert.status === 'G' && !FRESH_NONCE.has(cert.nonceStatus ?? '')) {
    findings.push({
      code: 'PUSH_NONCE_NOT_VERIFIED',
      reason: `push certificate nonce is ${cert.nonceStatus ?? 'absent'}, so the certificate could be a replay`,
      fix: 'push again with git push --signed (the server needs receive.certNonceSeed set)',
    });
  }
  return findings;
}

function checkPathRules(
  policy: Policy,
  rule: PolicyRule,
  commits: CommitInput[],
  failed: boolean[],
  rejectCommit: (rule: PolicyRule, index: number, finding: Finding) => void,
  add: (rule: PolicyRule, violation: Omit<Violation, 'rule'>) => void,
): void {
  rule.paths.forEach((pathRule, pathIndex) => {
    const allowed: SignerEntry[] | undefined = pathRule.allowedSigners ?? rule.allowedSigners;
    const patterns = pathRule.match.join(', ');
    const counted: SignatureVerdict[] = [];
    let touched = false;
    commits.forEach((commit, index) => {
      const hit = commit.changedPaths.find((path) => anyGlobMatches(pathRule.match, 'path', path));
      if (hit === undefined) return;
      touched = true;
      if (failed[index]) return; // already refused; its signature cannot count
      if (allowed && !matchingEntry(allowed, commit.verdict)) {
        const names = pathRule.signers ?? rule.signers ?? [];
        rejectCommit(rule, index, {
          code: 'PATH_SIGNER_NOT_ALLOWED',
          reason: `it changes ${hit}, which only ${names.join(', ')} may sign (rules[${rule.index}].paths[${pathIndex}]); it is signed by ${describeSigner(commit.verdict)}`,
          fix: `have one of ${names.join(', ')} make (and sign) this change, or ask an admin to add you in ${policy.source}`,
        });
        return;
      }
      counted.push(commit.verdict);
    });
    if (!touched || pathRule.threshold <= 1) return;
    const distinct = distinctSigners(counted);
    if (distinct.length < pathRule.threshold) {
      add(rule, {
        code: 'PATH_THRESHOLD_NOT_MET',
        message: `changes to ${patterns} need commits signed by ${pathRule.threshold} different allowed signers (rules[${rule.index}].paths[${pathIndex}]); this push has ${distinct.length}${distinct.length > 0 ? ` (${distinct.join('; ')})` : ''}`,
        fix: `have ${pathRule.threshold - distinct.length} more allowed signer(s)${allowed ? ` (${allowed.map(describeEntry).join(', ')})` : ''} review and add a signed commit touching ${patterns}`,
      });
    }
  });
}

/**
 * Groups signatures by person: the same key, or keys sharing an e-mail identity, are one
 * signer, so one person with two keys cannot meet a threshold alone.
 */
function distinctSigners(verdicts: SignatureVerdict[]): string[] {
  const parent: number[] = [];
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i] as number] as number;
    return i;
  };
  const owner = new Map<string, number>();
  verdicts.forEach((verdict, i) => {
    parent[i] = i;
    const handles = [...verdictEmails(verdict)].map((email) => `e:${email}`);
    const key = verdict.primaryKey ?? verdict.key;
    if (key) handles.push(`k:${key.toUpperCase()}`);
    for (const handle of handles) {
      const other = owner.get(handle);
      if (other === undefined) owner.set(handle, i);
      else parent[find(i)] = find(other);
    }
  });
  const names = new Map<number, string>();
  verdicts.forEach((verdict, i) => {
    const root = find(i);
    if (!names.has(root)) names.set(root, describeSigner(verdict));
  });
  return [...names.values()];
}

function describeCommit(commit: CommitInput): string {
  const subject = commit.subject.length > 60 ? `${commit.subject.slice(0, 57)}...` : commit.subject;
  return `${commit.oid.slice(0, 12)} ("${subject}")`;
}

function nullIfZero(oid: string | null): string | null {
  return oid === null || /^0+$/.test(oid) ? null : oid;
}

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}
