import type { CommitResult, TagResult } from '../../core/verify-object.ts';
import type { SignatureVerdict, StatusLetter } from '../../core/verdict.ts';

/** The `--format jsonl` line of DESIGN.md's contract: fixed keys, null where nothing applies. */
export function commitJson(result: CommitResult): Record<string, unknown> {
  const verdict = result.verdict;
  // Spelled out rather than spread from verdictJson: this runs once per commit of a range.
  const json: Record<string, unknown> = {
    commit: result.commit,
    status: verdict.status,
    format: verdict.format,
    key: verdict.key ?? null,
    signer: verdict.signer ?? null,
    reason: verdict.reason,
    email_match: verdict.emailMatches ?? null,
  };
  if (result.mergetags.length > 0) json.mergetags = result.mergetags.map((tag) => ({ tag: tag.name, object: tag.target, ...verdictJson(tag.verdict) }));
  return json;
}

export function tagJson(result: TagResult & { ref?: string }): Record<string, unknown> {
  return { tag: result.tag, name: result.name, ref: result.ref ?? null, object: result.target, ...verdictJson(result.verdict) };
}

function verdictJson(verdict: SignatureVerdict): Record<string, unknown> {
  return {
    status: verdict.status,
    format: verdict.format,
    key: verdict.key ?? null,
    signer: verdict.signer ?? null,
    reason: verdict.reason,
    // Whether the committer's (tagger's) e-mail is one of the signing key's identities.
    email_match: verdict.emailMatches ?? null,
  };
}

function fit(text: string, width: number): string {
  const flat = text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat.padEnd(width);
}

/** One row a person reads at a glance: short id, letter, signer, subject, reason. */
export function commitRow(result: CommitResult): string {
  const verdict = result.verdict;
  const signer = verdict.signer ?? (verdict.key ? verdict.key : '-');
  const reason = verdict.detail && verdict.status !== 'G' ? `${verdict.reason}: ${verdict.detail}` : verdict.reason;
  const tags = result.mergetags.map((tag) => ` [mergetag ${tag.name}: ${tag.verdict.status} ${tag.verdict.reason}]`).join('');
  return `${result.commit.slice(0, 10)}  ${verdict.status}  ${fit(signer, 34)}  ${fit(result.subject, 48)}  ${reason}${tags}`;
}

export function tagRow(result: TagResult & { ref?: string }): string {
  const verdict = result.verdict;
  const signer = verdict.signer ?? verdict.key ?? '-';
  return `${fit(result.name, 10)}  ${verdict.status}  ${fit(signer, 34)}  ${fit(`(tag) ${result.subject}`, 48)}  ${verdict.reason}`;
}

export function summaryLine(counts: Map<StatusLetter, number>, total: number, what = 'commit'): string {
  const parts = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([letter, count]) => `${count.toLocaleString('en-US')} ${letter}`);
  const noun = total === 1 ? what : `${what}s`;
  return `${total.toLocaleString('en-US')} ${noun}${parts.length ? `: ${parts.join(', ')}` : ''}`;
}
