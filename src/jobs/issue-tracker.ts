/**
 * Where findings become issues: one per finding, created once, updated rather than duplicated,
 * closed when the finding goes away. A tracker is the few REST calls a forge needs for that;
 * which calls to make is decided by core/report/issue-sync.ts.
 */
import { planIssueSync, type DesiredIssue, type ExistingIssue, type IssueAction } from '../core/report/issue-sync.ts';

export interface IssueTracker {
  /** `github:owner/name`, `gitlab:group/project`: for logs and the audit trail. */
  readonly target: string;
  /** Every issue (open and closed) carrying the label. */
  listIssues(label: string): Promise<ExistingIssue[]>;
  createIssue(issue: { title: string; body: string; labels: string[] }): Promise<number>;
  updateIssue(number: number, change: { title: string; body: string; state?: 'open' | 'closed' }): Promise<void>;
  closeIssue(number: number, comment: string): Promise<void>;
}

export interface SyncResult {
  created: number[];
  updated: number[];
  closed: number[];
  unchanged: number;
}

/** Brings the tracker's issues of one kind in line with the findings. */
export async function syncIssues(
  tracker: IssueTracker,
  kind: string,
  label: string,
  desired: DesiredIssue[],
  closeComment: (issue: ExistingIssue) => string,
): Promise<SyncResult & { actions: IssueAction[] }> {
  const existing = await tracker.listIssues(label);
  const actions = planIssueSync(kind, existing, desired, closeComment);
  const result: SyncResult = { created: [], updated: [], closed: [], unchanged: desired.length };
  for (const action of actions) {
    if (action.kind === 'create') {
      result.created.push(await tracker.createIssue({ title: action.desired.title, body: action.body, labels: [label] }));
      result.unchanged--;
    } else if (action.kind === 'update') {
      await tracker.updateIssue(action.issue.number, { title: action.desired.title, body: action.body, ...(action.reopen ? { state: 'open' as const } : {}) });
      result.updated.push(action.issue.number);
      result.unchanged--;
    } else {
      await tracker.closeIssue(action.issue.number, action.comment);
      result.closed.push(action.issue.number);
    }
  }
  return { ...result, actions };
}
