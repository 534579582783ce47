import type { RefDecision } from '../core/policy/index.ts';
import type { CommitResult, TagResult } from '../core/verify-object.ts';
import type { PushEvaluation } from '../git/evaluate-push.ts';

function short(oid: string): string {
  return oid.slice(0, 10);
}

function clip(text: string, width: number): string {
  const flat = text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

/**
 * The text a rejected pusher reads: per refused ref, each offending commit with short id,
 * letter, subject and why, then what to do about it (each distinct fix once).
 */
export function renderRejection(evaluation: PushEvaluation): string[] {
  const lines: string[] = [];
  const fixes = new Set<string>();
  for (const decision of evaluation.decisions.filter((d) => !d.allowed)) {
    lines.push(`signet: push to ${decision.ref} rejected (${decision.violations.length} problem${decision.violations.length === 1 ? '' : 's'})`);
    for (const violation of decision.violations) {
      const subject = describeObject(violation.commit, evaluation.commits, evaluation.tags);
      // The prefix already names the commit (id, letter, subject): drop the message's own
      // "commit 3d23453ff32f ("add feature"): " rather than say it twice.
      const message = subject && violation.commit ? violation.message.replace(/^commit [0-9a-f]{7,64} \(".*?"\): /, '') : violation.message;
      lines.push(`  ${subject}${message}`);
      if (violation.fix) fixes.add(forRootCommit(violation.fix, violation.commit ? evaluation.commits.get(violation.commit) : undefined));
    }
  }
  if (fixes.size > 0) {
    lines.push('', 'To fix:');
    for (const fix of fixes) lines.push(`  - ${fix}`);
  }
  lines.push('', 'No ref was updated.');
  return lines;
}

/**
 * A new branch's re-sign fix-it names "<the commit your branch starts from>"; for a root commit
 * there is none, and git's way is `git rebase --root`.
 */
function forRootCommit(fix: string, commit: CommitResult | undefined): string {
  if (!commit || commit.parents.length > 0) return fix;
  return fix.replace(/git rebase (--exec '[^']*') <the commit your branch starts from>/, 'git rebase --root $1');
}

function describeObject(oid: string | undefined, commits: Map<string, CommitResult>, tags: Map<string, TagResult>): string {
  if (!oid) return '';
  const commit = commits.get(oid);
  if (commit) return `${short(oid)} ${commit.verdict.status} "${clip(commit.subject, 50)}": `;
  const tag = tags.get(oid);
  if (tag) return `tag ${tag.name} ${tag.verdict.status}: `;
  return `${short(oid)}: `;
}

export function summarizeAccepted(decisions: RefDecision[]): string[] {
  return decisions.map((d) =>
    d.noPolicy
      ? `signet: ${d.ref}: no policy rule applies; not checked`
      : d.commits.length === 0
        ? // A tag, or a branch moved to commits the server has: "0 new commits verified" reads as nothing was checked.
          `signet: ${d.ref}: accepted; it brings no new commits${d.ref.startsWith('refs/tags/') ? ' (the tag itself was checked against the policy)' : ''}`
        : `signet: ${d.ref}: ${d.commits.length} new commit${d.commits.length === 1 ? '' : 's'} verified`,
  );
}
