/**
 * The GitLab webhook on the app's HTTP server: POST /gitlab/webhook, authenticated by the
 * X-Gitlab-Token header (compared in constant time). A wrong token is a 401 and changes
 * nothing; a valid delivery is answered 200 once handled, or 202 if it takes longer than
 * GitLab's webhook timeout allows (the work goes on); an outage that left nothing posted (the
 * store or GitLab down) is 503 with Retry-After (src/forge/webhook-answer.ts).
 */
import { randomUUID } from 'node:crypto';
import { sameSecret } from '../core/same-secret.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { auditEvent, type CheckSettings } from '../checks/check-flow.ts';
import type { GitCache } from '../forge/git-cache.ts';
import type { HttpHandler } from '../forge/http-handler.ts';
import { outageAnswerOfError, outageAnswerOfFailure, type OutageAnswer } from '../forge/webhook-answer.ts';
import type { GitLabConfig } from './config.ts';
import { createGitLabCaches } from '../forge/gitlab-api.ts';
import { gitLabClient } from '../forge/gitlab-client.ts';
import { planGitLabEvent, type GitLabPlan } from './plan.ts';
import { projectKey, runGitLabCheck, type GitLabDependencies, type GitLabOutcome } from './run-check.ts';
import { runGitLabSignRelease } from './sign-release.ts';
import type { ReleaseSettings } from '../app/sign-release.ts';

export const GITLAB_WEBHOOK_PATH = '/gitlab/webhook';
const BODY_LIMIT = 25 * 1024 * 1024;
const ANSWER_WITHIN_MS = 9_000;

export interface GitLabHandlerOptions {
  onOutcome?: (delivery: string, plan: GitLabPlan, outcome: GitLabOutcome | undefined) => void;
  /** Where `/sign-release` finds its keys (default: the process environment). */
  release?: ReleaseSettings;
}

/** The projects a token speaks for: those whose own secret it is, and (`shared`) every project without one. */
interface Speaker {
  projects: Set<string>;
  shared: boolean;
}

function speakerOf(token: string, config: GitLabConfig): Speaker | undefined {
  const projects = new Set<string>();
  // Every secret is compared (no early exit), so the time taken does not say which matched.
  for (const [project, secret] of config.projectSecrets ?? []) if (sameSecret(token, secret)) projects.add(project);
  const shared = config.webhookSecret !== undefined && sameSecret(token, config.webhookSecret);
  return projects.size > 0 || shared ? { projects, shared } : undefined;
}

function speaksFor(speaker: Speaker, project: { id: number; fullName: string }, config: GitLabConfig): boolean {
  const keys = [String(project.id), project.fullName.toLowerCase()];
  if (keys.some((key) => speaker.projects.has(key))) return true;
  // The shared secret speaks only for projects that have no secret of their own.
  return speaker.shared && !keys.some((key) => config.projectSecrets?.has(key));
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function answer(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

export function gitLabHandlers(config: GitLabConfig, base: CheckSettings & { gitCache: GitCache }, options: GitLabHandlerOptions = {}): HttpHandler[] {
  const deps: GitLabDependencies = {
    client: gitLabClient({ baseUrl: config.url, token: config.token }),
    token: config.token,
    caches: createGitLabCaches(),
    store: base.store,
    gitCache: base.gitCache,
    log: base.log.child({ forge: 'gitlab' }),
    instanceId: base.instanceId,
    leaseMs: base.leaseMs,
    checkTimeoutMs: base.checkTimeoutMs,
    ...(base.maxCommits !== undefined ? { maxCommits: base.maxCommits } : {}),
    now: base.now,
  };

  const handler: HttpHandler = async (req, res) => {
    if ((req.url ?? '').split('?')[0] !== GITLAB_WEBHOOK_PATH) return false;
    if (req.method !== 'POST') {
      answer(res, 405, { error: 'POST only' });
      return true;
    }
    const token = req.headers['x-gitlab-token'];
    const speaker = typeof token === 'string' ? speakerOf(token, config) : undefined;
    if (!speaker) {
      answer(res, 401, { error: 'X-Gitlab-Token does not match' });
      res.once('finish', () => req.destroy());
      return true;
    }
    const body = await readBody(req);
    if (!body) {
      answer(res, 413, { error: 'payload too large' });
      return true;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      answer(res, 400, { error: 'the body is not JSON' });
      return true;
    }
    const event = String(req.headers['x-gitlab-event'] ?? '');
    const delivery = String(req.headers['x-gitlab-event-uuid'] ?? req.headers['x-gitlab-webhook-uuid'] ?? randomUUID());
    const plan = planGitLabEvent(event, payload, delivery);
    const project = plan.kind === 'check' ? plan.target.project : plan.project;
    if (project && !speaksFor(speaker, project, config)) {
      deps.log.warn({ delivery, project: project.fullName, projectId: project.id }, 'a GitLab delivery for a project its secret does not belong to: refused');
      answer(res, 403, { error: `X-Gitlab-Token is not the webhook secret of project ${project.id}` });
      return true;
    }
    const work = (async (): Promise<OutageAnswer | undefined> => {
      let outcome: GitLabOutcome | undefined;
      try {
        if (plan.kind === 'check') outcome = await runGitLabCheck(deps, plan.target, delivery);
        else if (plan.kind === 'sign-release') await runGitLabSignRelease(deps, plan, delivery, options.release ?? { env: process.env, cwd: process.cwd() });
        else if (plan.project)
          await auditEvent(deps, { forge: 'gitlab', repositoryKey: projectKey(plan.project), event, delivery }, 'skipped', { reason: plan.reason });
        return outageAnswerOfFailure(outcome?.failure);
      } catch (error) {
        deps.log.error({ err: error, delivery }, 'unexpected error handling a GitLab delivery');
        return outageAnswerOfError(error);
      } finally {
        options.onOutcome?.(delivery, plan, outcome);
      }
    })();
    const timer = setTimeout(() => answer(res, 202, { status: 'still processing' }), ANSWER_WITHIN_MS);
    const outage = await work;
    clearTimeout(timer);
    if (outage) {
      answer(res, outage.status, outage.body, outage.headers);
      return true;
    }
    answer(res, 200, {
      status: plan.kind === 'check' ? 'checked' : plan.kind === 'sign-release' ? 'sign-release' : 'ignored',
      ...(plan.kind === 'ignore' ? { reason: plan.reason } : {}),
    });
    return true;
  };
  return [handler];
}
