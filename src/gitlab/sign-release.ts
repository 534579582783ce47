/**
 * `/sign-release TAG` on GitLab: the same flow as on GitHub over GitLab's REST API. A release's
 * assets are links; signet's outputs become project uploads linked to the release. Downloads
 * carry the token only to the GitLab host itself, never to a link that points elsewhere.
 */
import { createWriteStream, openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { gitLabFileReader } from '../forge/gitlab-api.ts';
import { gitLabMaySign } from '../release/command.ts';
import { policyReleaseImages, RELEASE_IMAGES_ENV, releaseImageRefs } from '../release/images.ts';
import { loadReleaseSigners } from '../release/keys.ts';
import { oneLine, releaseFailed, renderReleaseComment, renderRefusal } from '../release/render.ts';
import { signRelease, type ReleaseAsset, type ReleaseHost } from '../release/run.ts';
import { DEFAULT_BUILDER_ID, type ReleaseSettings, type SignReleaseOutcome } from '../app/sign-release.ts';
import { GITLAB_POLICY_PATHS, type GitLabSignRelease } from './plan.ts';
import { audit, projectKey, type GitLabDependencies } from './run-check.ts';

class GitLabHttpError extends Error {
  constructor(readonly status: number, what: string) {
    super(`${what}: HTTP ${status}`);
  }
}

/** `timeoutMs` bounds the whole exchange, body included (transfers of large assets get longer). */
type Fetch = (path: string, init?: RequestInit & { timeoutMs?: number }) => Promise<Response>;

/** What a release asset transfer may take, body included. */
const TRANSFER_TIMEOUT_MS = 30 * 60_000;
const MAX_REDIRECTS = 5;

/**
 * Fetch against the GitLab host with the token; a non-2xx answer is a GitLabHttpError. Redirects
 * are followed here, not by fetch (which would carry PRIVATE-TOKEN along to any host): each hop
 * gets the token only when it is on the GitLab host itself.
 */
export function gitLabFetch(baseUrl: string, token: string, defaultTimeoutMs = 60_000): Fetch {
  return async (path, { timeoutMs = defaultTimeoutMs, ...init } = {}) => {
    let url = path.startsWith('http') ? path : `${baseUrl}/api/v4${path}`;
    const signal = AbortSignal.timeout(timeoutMs);
    const method = init.method ?? 'GET';
    let response: Response;
    let sameHost: boolean;
    for (let hops = 0; ; hops++) {
      sameHost = new URL(url).origin === new URL(baseUrl).origin;
      const headers = new Headers(init.headers);
      if (sameHost) headers.set('private-token', token);
      response = await fetch(url, { ...init, headers, signal, redirect: 'manual' });
      const location = response.headers.get('location');
      if (!(response.status >= 300 && response.status < 400 && location && (method === 'GET' || method === 'HEAD') && hops < MAX_REDIRECTS)) break;
      await response.body?.cancel();
      url = new URL(location, url).href;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new GitLabHttpError(response.status, `${method} ${sameHost ? new URL(url).pathname : new URL(url).origin}`);
    }
    return response;
  };
}

export function gitLabReleaseHost(call: Fetch, deps: GitLabDependencies, baseUrl: string, projectId: number, tag: string): ReleaseHost {
  const release = `/projects/${projectId}/releases/${encodeURIComponent(tag)}`;
  const urls = new Map<string, string>();
  return {
    async listAssets() {
      const links = (await (await call(`${release}/assets/links?per_page=100`)).json()) as Array<{ id: number; name: string; url: string; direct_asset_url?: string }>;
      for (const link of links) urls.set(String(link.id), link.direct_asset_url ?? link.url);
      return links.map((link): ReleaseAsset => ({ id: String(link.id), name: link.name }));
    },
    async download(asset, path) {
      const url = urls.get(asset.id);
      if (!url) throw new Error(`no URL for ${asset.name}`);
      const response = await call(url, { timeoutMs: TRANSFER_TIMEOUT_MS });
      if (!response.body) throw new Error(`no content for ${asset.name}`);
      // Straight to the file: memory stays flat however large the asset.
      await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(path));
    },
    async upload(name, path, contentType) {
      const form = new FormData();
      // A file-backed Blob: the multipart body is read from the file as it is sent.
      form.append('file', await openAsBlob(path, { type: contentType }), basename(name));
      const uploaded = (await (await call(`/projects/${projectId}/uploads`, { method: 'POST', body: form, timeoutMs: TRANSFER_TIMEOUT_MS })).json()) as { full_path?: string; url?: string };
      const fullPath = uploaded.full_path ?? `/-/project/${projectId}${uploaded.url ?? ''}`;
      await call(`${release}/assets/links`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name, url: `${baseUrl}${fullPath}`, link_type: 'other' }),
      });
    },
    async remove(asset) {
      await call(`${release}/assets/links/${asset.id}`, { method: 'DELETE' });
    },
    readRepositoryFile: gitLabFileReader(deps.api, projectId, tag),
  };
}

export async function runGitLabSignRelease(deps: GitLabDependencies, baseUrl: string, plan: GitLabSignRelease, delivery: string, settings: ReleaseSettings): Promise<SignReleaseOutcome> {
  const { project } = plan;
  const call = gitLabFetch(baseUrl, deps.token);
  const key = projectKey(project);
  const tag = plan.tag ?? '?';
  const subject = `release:${tag}`;
  const event = 'note./sign-release';
  if (!(await deps.store.claimCheck({ repository: key, headSha: subject, trigger: plan.trigger, owner: deps.instanceId, leaseMs: deps.leaseMs, now: deps.now() }))) {
    await audit(deps, project, event, delivery, undefined, 'skipped', { reason: `note ${plan.noteId} already handled`, tag });
    return { status: 'duplicate' };
  }
  const notes = `/projects/${project.id}/${plan.noteable}/${plan.iid}/notes`;
  const reply = async (body: string): Promise<void> => {
    await call(notes, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ body }) });
  };
  const finish = async (outcome: SignReleaseOutcome, detail: Record<string, unknown>): Promise<SignReleaseOutcome> => {
    await deps.store.completeCheck(key, subject, plan.trigger, { conclusion: outcome.status });
    await audit(deps, project, event, delivery, undefined, outcome.status, { tag, commenter: plan.username, ...detail });
    return outcome;
  };
  await call(`${notes}/${plan.noteId}/award_emoji`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'eyes' }) }).catch((error: unknown) => {
    deps.log.warn({ err: error }, 'could not award an emoji to the /sign-release note');
  });
  let body = '';
  try {
    if (!plan.tag) {
      body = 'signet: `/sign-release` needs the tag of an existing release, e.g. `/sign-release v1.2.0`.\n';
      await reply(body);
      return await finish({ status: 'error', comment: body }, { reason: 'no tag' });
    }
    let maySign = false;
    try {
      const member = (await (await call(`/projects/${project.id}/members/all/${plan.userId}`)).json()) as { access_level?: unknown };
      maySign = gitLabMaySign(member.access_level);
    } catch (error) {
      if (!(error instanceof GitLabHttpError && error.status === 404)) throw error;
    }
    if (!maySign) {
      body = renderRefusal(plan.username, plan.tag);
      await reply(body);
      return await finish({ status: 'refused', comment: body }, {});
    }
    let release: { commit?: { id?: string }; _links?: { self?: string } };
    try {
      release = (await (await call(`/projects/${project.id}/releases/${encodeURIComponent(plan.tag)}`)).json()) as typeof release;
    } catch (error) {
      if (!(error instanceof GitLabHttpError && error.status === 404)) throw error;
      body = `signet: there is no release tagged \`${plan.tag}\` in ${project.fullName}. Create the release first, then comment again.\n`;
      await reply(body);
      return await finish({ status: 'error', comment: body }, { reason: 'no such release' });
    }
    const signers = await loadReleaseSigners(settings.env, settings.cwd);
    // Images come from the policy on the default branch, as every other rule does.
    const policyImages = await policyReleaseImages(gitLabFileReader(deps.api, project.id, project.defaultBranch), GITLAB_POLICY_PATHS);
    const summary = await signRelease(gitLabReleaseHost(call, deps, baseUrl, project.id, plan.tag), signers, {
      tag: plan.tag, repositoryUrl: project.cloneUrl.replace(/\.git$/, ''),
      ...(release.commit?.id ? { commitSha: release.commit.id } : {}), ...(release._links?.self ? { releaseUrl: release._links.self } : {}),
      invocationId: delivery, builderId: settings.env.SIGNET_RELEASE_BUILDER_ID || DEFAULT_BUILDER_ID, now: deps.now,
      images: releaseImageRefs(settings.env[RELEASE_IMAGES_ENV], plan.tag, policyImages.images), registryEnv: settings.env,
      ...(policyImages.problem ? { imageNotes: [policyImages.problem] } : {}),
    });
    body = renderReleaseComment(summary);
    await reply(body);
    const counts: Record<string, number> = {};
    for (const row of summary.rows) counts[row.status] = (counts[row.status] ?? 0) + 1;
    return await finish({ status: releaseFailed(summary) ? 'failed' : 'signed', comment: body }, { counts, assets: summary.inputs.length });
  } catch (error) {
    deps.log.error({ err: error, project: project.fullName, tag }, '/sign-release failed');
    body = `signet could not sign release \`${tag}\`: ${oneLine(error)}\n`;
    await reply(body).catch((e: unknown) => deps.log.warn({ err: e }, 'could not post the /sign-release answer'));
    return await finish({ status: 'error', comment: body }, { error: oneLine(error) });
  }
}
