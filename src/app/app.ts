/**
 * The Probot app: subscribes to the events that ask for a signature check and wires each to
 * the plain functions (plan → run the check → check run). Every valid delivery gets a 2xx, and
 * what went wrong is in the check run, the log and the audit trail — except an outage that left
 * nothing posted (the store or GitHub down): that is a 503 with Retry-After, so the delivery can
 * be redelivered (src/forge/webhook-answer.ts).
 */
import { auditEvent } from '../checks/check-flow.ts';
import type { ApplicationFunction, Context, Probot } from 'probot';
import { planGitHubEvent, type GitHubPlan } from './plan.ts';
import { recheckPull, repositoryKey, runCheck, type CheckDependencies, type CheckOutcome, type GitHubInstallation } from './run-check.ts';
import type { GitHubRequest } from '../forge/github-api.ts';
import { githubWriteLanes } from '../forge/github-write-lanes.ts';
import type { WriteSpacing } from '../forge/write-spacing.ts';
import { runGitHubSignRelease, type ReleaseSettings } from './sign-release.ts';
import type { HttpHandler } from '../forge/http-handler.ts';
import { outageAnswerOfError, outageAnswerOfFailure, type OutageAnswer } from '../forge/webhook-answer.ts';

export type { HttpHandler };

export const GITHUB_EVENTS = [
  'push',
  'pull_request.opened',
  'pull_request.synchronize',
  'pull_request.reopened',
  'check_suite.requested',
  'check_suite.rerequested',
  'check_run.rerequested',
  'merge_group.checks_requested',
  'issue_comment.created',
  'installation',
] as const;

export interface SignetAppOptions {
  deps: CheckDependencies;
  /** More HTTP handlers on the same server (the GitLab webhook, health). */
  handlers?: HttpHandler[];
  /** Called with every outcome (tests and the benchmark wait on it). */
  onOutcome?: (delivery: string, plan: GitHubPlan, outcome: CheckOutcome | undefined) => void;
  /** Where `/sign-release` finds its keys (default: the process environment). */
  release?: ReleaseSettings;
  /** Spacing of content-creating requests, one lane per installation (absent: not spaced). */
  writes?: WriteSpacing;
}

function installationOf(context: Context, writes: WriteSpacing | undefined): GitHubInstallation {
  const octokit = context.octokit as unknown as { request: GitHubRequest; auth: (options: { type: 'installation' }) => Promise<unknown> };
  const request: GitHubRequest = (route, parameters) => octokit.request(route, parameters);
  // GitHub's spacing and secondary limits are per installation token: one lane each.
  const installation = (context.payload as { installation?: { id?: unknown } }).installation?.id;
  return {
    request: writes ? githubWriteLanes(request, writes, `github-installation:${String(installation ?? 'none')}`) : request,
    token: async () => {
      const auth = (await octokit.auth({ type: 'installation' })) as { token?: string };
      if (!auth.token) throw new Error('the installation has no token');
      return auth.token;
    },
  };
}

export function signetApp(options: SignetAppOptions): ApplicationFunction {
  const { deps } = options;
  return (app: Probot, { addHandler }) => {
    for (const handler of options.handlers ?? []) addHandler(handler);
    app.on([...GITHUB_EVENTS], async (context) => {
      let plan: GitHubPlan = { kind: 'ignore', reason: 'not planned' };
      let outcome: CheckOutcome | undefined;
      let outage: OutageAnswer | undefined;
      try {
        plan = planGitHubEvent(context.name, context.payload, context.id);
        outcome = await execute(plan, context, deps, options.release ?? { env: process.env, cwd: process.cwd() }, options.writes);
        outage = outageAnswerOfFailure(outcome?.failure);
      } catch (error) {
        // Last line of defence; runCheck already turns its own failures into check runs.
        deps.log.error({ err: error, delivery: context.id, event: context.name }, 'unexpected error handling a delivery');
        outage = outageAnswerOfError(error);
      } finally {
        options.onOutcome?.(context.id, plan, outcome);
      }
      // Probot's middleware answers a thrown error with its `status` (the server adds Retry-After).
      if (outage) throw Object.assign(new Error(`${outage.body.error} (${outage.body.code})`), { status: outage.status });
    });
  };
}

async function execute(
  plan: GitHubPlan,
  context: Context,
  deps: CheckDependencies,
  release: ReleaseSettings,
  writes: WriteSpacing | undefined,
): Promise<CheckOutcome | undefined> {
  switch (plan.kind) {
    case 'sign-release':
      await runGitHubSignRelease(installationOf(context, writes), deps, plan, context.id, release);
      return undefined;
    case 'check':
      return runCheck(installationOf(context, writes), deps, plan.target, context.id);
    case 'recheck-pull':
      return recheckPull(installationOf(context, writes), deps, plan.repository, plan.number, plan.trigger, plan.event, context.id, plan.commentId);
    case 'installation':
      deps.log.info({ action: plan.action, installation: plan.installationId, repositories: plan.repositories }, 'installation event');
      for (const fullName of plan.repositories) {
        if (plan.action === 'deleted') await deps.gitCache.forget(`github:${fullName}`);
        await deps.store.appendAudit({
          at: deps.now().toISOString(),
          forge: 'github',
          repository: `github:${fullName}`,
          event: `installation.${plan.action}`,
          delivery: context.id,
          outcome: 'recorded',
        });
      }
      return undefined;
    case 'ignore':
      deps.log.debug({ delivery: context.id, reason: plan.reason }, 'delivery ignored');
      if (plan.repository)
        await auditEvent(deps, { forge: 'github', repositoryKey: repositoryKey(plan.repository), event: context.name, delivery: context.id }, 'skipped', {
          reason: plan.reason,
        });
      return undefined;
  }
}
