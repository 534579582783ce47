import type { CommitResult, TagResult } from '../../core/verify-object.ts';
import type { SignatureVerdict, StatusLetter } from '../../core/verdict.ts';
import { terminalText } from '../../core/render/terminal-text.ts';

/** The `--format jsonl` line of DESIGN.md's contract: fixed keys, null where nothing applies. */
export function commitJson(result: CommitResult): Record<string, unknown> {
  const json = withVerdict({ commit: result.commit }, result.verdict);
  if (result.mergetags.length > 0) json.mergetags = result.mergetags.map((tag) => withVerdict({ tag: tag.name, object: tag.target }, tag.verdict));
  return json;
}

/**
 * JSON.stringify(commitJson(result)), with the verdict's part made once per verdict object:
 * the commits of a memoised range (src/store/walk-memo.ts) share theirs, and a 100,000-commit
 * replay spent a third of its time rendering the same few verdicts.
 */
export function commitJsonLine(result: CommitResult, verdictParts: WeakMap<SignatureVerdict, string>): string {
  if (result.mergetags.length > 0) return JSON.stringify(commitJson(result));
  let part = verdictParts.get(result.verdict);
  if (part === undefined) {
    part = JSON.stringify(withVerdict({}, result.verdict)).slice(1);
    verdictParts.set(result.verdict, part);
  }
  return `{"commit":${JSON.stringify(result.commit)},${part}`;
}

export function tagJson(result: TagResult & { ref?: string }): Record<string, unknown> {
  return withVerdict({ tag: result.tag, name: result.name, ref: result.ref ?? null, object: result.target }, result.verdict);
}

/** Adds the verdict's keys after the ones given (assigned, not spread: this runs once per commit). */
function withVerdict(json: Record<string, unknown>, verdict: SignatureVerdict): Record<string, unknown> {
  json.status = verdict.status;
  json.format = verdict.format;
  json.key = verdict.key ?? null;
  json.signer = verdict.signer ?? null;
  json.reason = verdict.reason;
  // Whether the committer's (tagger's) e-mail is one of the signing key's identities.
  json.email_match = verdict.emailMatches ?? null;
  return json;
}

function fit(text: string, width: number): string {
  const flat = terminalText(text);
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat.padEnd(width);
}

/** The reason as both commit and tag rows say it: the code, and the detail when not G. */
function reasonText(verdict: SignatureVerdict): string {
  return verdict.detail && verdict.status !== 'G' ? `${verdict.reason}: ${verdict.detail}` : verdict.reason;
}

/** The first column's width: a short commit id, or the longest tag name shown above the commits. */
export function idColumnWidth(tags: Array<{ name: string }>): number {
  return Math.max(10, ...tags.map((tag) => terminalText(tag.name).length));
}

/**
 * One row a person reads at a glance: short id, letter, signer, subject, reason. The whole row
 * goes through terminalText: the reason's detail and mergetag names come from the objects too.
 */
export function commitRow(result: CommitResult, idWidth = 10): string {
  const verdict = result.verdict;
  const signer = verdict.signer ?? (verdict.key ? verdict.key : '-');
  const tags = result.mergetags.map((tag) => ` [mergetag ${tag.name}: ${tag.verdict.status} ${tag.verdict.reason}]`).join('');
  return terminalText(
    `${result.commit.slice(0, 10).padEnd(idWidth)}  ${verdict.status}  ${fit(signer, 34)}  ${fit(result.subject, 48)}  ${reasonText(verdict)}${tags}`,
  );
}

/** A tag row: the full tag name (never cut: two tags may share a prefix), then as a commit row. */
export function tagRow(result: TagResult & { ref?: string }, idWidth = idColumnWidth([result])): string {
  const verdict = result.verdict;
  const signer = verdict.signer ?? verdict.key ?? '-';
  return terminalText(
    `${fit(result.name, Math.max(idWidth, terminalText(result.name).length))}  ${verdict.status}  ${fit(signer, 34)}  ${fit(`(tag) ${result.subject}`, 48)}  ${reasonText(verdict)}`,
  );
}

export function summaryLine(counts: Map<StatusLetter, number>, total: number, what = 'commit'): string {
  const parts = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([letter, count]) => `${count.toLocaleString('en-US')} ${letter}`);
  const noun = total === 1 ? what : `${what}s`;
  return `${total.toLocaleString('en-US')} ${noun}${parts.length ? `: ${parts.join(', ')}` : ''}`;
}
