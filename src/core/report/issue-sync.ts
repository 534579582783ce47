/**
 * One forge issue per finding, kept in step with the findings: created once, updated (and
 * reopened) when the finding changes, closed when it goes away. Issues are recognised by a
 * marker in their body (an HTML comment, invisible when rendered), never by title, so people
 * may retitle them freely.
 */

export interface DesiredIssue {
  /** Stable identity of the finding, e.g. `key-expiry:0123…`; becomes the marker. */
  id: string;
  title: string;
  /** The body without the marker; the marker is added by `issueBody`. */
  body: string;
}

export interface ExistingIssue {
  /** The forge's number for the issue (GitHub `number`, GitLab `iid`). */
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
}

export type IssueAction =
  | { kind: 'create'; desired: DesiredIssue; body: string }
  | { kind: 'update'; issue: ExistingIssue; desired: DesiredIssue; body: string; reopen: boolean }
  | { kind: 'close'; issue: ExistingIssue; comment: string };

const MARKER = /<!-- signet:([a-z-]+:[^\s>]+) -->/;

export function markerFor(id: string): string {
  return `<!-- signet:${id} -->`;
}

export function issueBody(desired: DesiredIssue): string {
  return `${desired.body.trimEnd()}\n\n${markerFor(desired.id)}\n`;
}

/** The finding id an issue body carries, if it is one of ours. */
export function markerOf(body: string | null | undefined): string | undefined {
  return body ? MARKER.exec(body)?.[1] : undefined;
}

/**
 * What to do so the forge's issues of one kind (`kind:` prefix of the ids) match the findings.
 * Several issues with one marker (say, a copy) leave all but the oldest alone.
 */
export function planIssueSync(
  kind: string,
  existing: readonly ExistingIssue[],
  desired: readonly DesiredIssue[],
  closeComment: (issue: ExistingIssue) => string,
): IssueAction[] {
  const ours = new Map<string, ExistingIssue>();
  for (const issue of [...existing].sort((a, b) => a.number - b.number)) {
    const id = markerOf(issue.body);
    if (id?.startsWith(`${kind}:`) && !ours.has(id)) ours.set(id, issue);
  }
  const actions: IssueAction[] = [];
  const wanted = new Set<string>();
  for (const finding of desired) {
    wanted.add(finding.id);
    const body = issueBody(finding);
    const issue = ours.get(finding.id);
    if (!issue) actions.push({ kind: 'create', desired: finding, body });
    else if (issue.state === 'closed' || normalise(issue.body) !== normalise(body) || issue.title !== finding.title) {
      actions.push({ kind: 'update', issue, desired: finding, body, reopen: issue.state === 'closed' });
    }
  }
  for (const [id, issue] of ours) if (!wanted.has(id) && issue.state === 'open') actions.push({ kind: 'close', issue, comment: closeComment(issue) });
  return actions;
}

/** Forges may hand bodies back with CRLF line ends or without the final newline. */
function normalise(text: string): string {
  return text.replace(/\r\n/g, '\n').trimEnd();
}
