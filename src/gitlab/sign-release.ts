/**
 * `/sign-release TAG` on GitLab: the forge's part of the one flow in src/release/flow.ts. A
 * release's assets are links; signet's outputs become project uploads linked to the release.
 * Every call goes through the one GitLab client (src/forge/gitlab-client.ts); a link is
 * downloaded with the token only when it is an upload or package of the event's own project.
 */
import { auditEvent } from '../checks/check-flow.ts';
import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { gitLabFileReader } from '../forge/gitlab-api.ts';
import { projectDownloadScope, type GitLabClient } from '../forge/gitlab-client.ts';
import { unlessNotFound } from '../forge/forge-http.ts';
import { ForgeError } from '../forge/forge-error.ts';
import { gitLabMaySign } from '../release/command.ts';
import { runSignRelease, type ReleaseForge, type ReleaseSettings, type SignReleaseOutcome } from '../release/flow.ts';
import type { ReleaseAsset, ReleaseHost } from '../release/run.ts';
import { confirmProject, type ConfirmedProject } from './confirm-project.ts';
import { GITLAB_POLICY_PATHS, type GitLabSignRelease } from './plan.ts';
import { projectKey, type GitLabDependencies } from './run-check.ts';

/** What a release asset transfer may take, body included. */
const TRANSFER_TIMEOUT_MS = 30 * 60_000;

export function gitLabReleaseHost(client: GitLabClient, project: { id: number; fullName: string }, tag: string): ReleaseHost {
  const release = `/projects/${project.id}/releases/${encodeURIComponent(tag)}`;
  const urls = new Map<string, string>();
  const tokenFor = projectDownloadScope(client.baseUrl, project.id, project.fullName);
  return {
    async listAssets() {
      const links = await client.list<{ id: number; name: string; url: string; direct_asset_url?: string }>(`${release}/assets/links`);
      // The link's own URL, not its permalink (direct_asset_url), which is a redirect to it.
      for (const link of links) urls.set(String(link.id), link.url);
      return links.map((link): ReleaseAsset => ({ id: String(link.id), name: link.name }));
    },
    async open(asset) {
      const url = urls.get(asset.id);
      if (!url) throw new Error(`no URL for ${asset.name}`);
      const response = await client.download(url, tokenFor, TRANSFER_TIMEOUT_MS);
      if (!response.body) throw new Error(`no content for ${asset.name}`);
      const length = Number(response.headers.get('content-length') ?? NaN);
      return { body: response.body as WebReadableStream<Uint8Array>, ...(Number.isSafeInteger(length) && length >= 0 ? { length } : {}) };
    },
    async upload(name, path, contentType) {
      const form = new FormData();
      // A file-backed Blob: the multipart body is read from the file as it is sent.
      form.append('file', await openAsBlob(path, { type: contentType }), basename(name));
      const uploaded = await client.json<{ full_path?: string; url?: string }>(`/projects/${project.id}/uploads`, {
        method: 'POST',
        form,
        timeoutMs: TRANSFER_TIMEOUT_MS,
      });
      const fullPath = uploaded.full_path ?? `/-/project/${project.id}${uploaded.url ?? ''}`;
      await client.request(`${release}/assets/links`, { method: 'POST', json: { name, url: `${client.baseUrl}${fullPath}`, link_type: 'other' } });
    },
    async remove(asset) {
      await client.request(`${release}/assets/links/${asset.id}`, { method: 'DELETE' });
    },
    readRepositoryFile: gitLabFileReader(client, project.id, tag),
  };
}

/** GitLab's part of the flow for one `/sign-release` note. */
export function gitLabReleaseForge(deps: GitLabDependencies, plan: GitLabSignRelease): ReleaseForge {
  const { project } = plan;
  const { client } = deps;
  const notes = `/projects/${project.id}/${plan.noteable}/${plan.iid}/notes`;
  return {
    forge: 'gitlab',
    event: 'note./sign-release',
    repositoryKey: projectKey(project),
    fullName: project.fullName,
    repositoryUrl: project.cloneUrl.replace(/\.git$/, ''),
    commenter: plan.username,
    commandId: `note ${plan.noteId}`,
    async react() {
      await client.request(`${notes}/${plan.noteId}/award_emoji`, { method: 'POST', json: { name: 'eyes' } });
    },
    async reply(body) {
      await client.request(notes, { method: 'POST', json: { body } });
    },
    async maySign() {
      const member = await unlessNotFound(() => client.json<{ access_level?: unknown }>(`/projects/${project.id}/members/all/${plan.userId}`), undefined);
      return member !== undefined && gitLabMaySign(member.access_level);
    },
    async findRelease(tag) {
      type Release = { commit?: { id?: string }; _links?: { self?: string } };
      const release = await unlessNotFound(() => client.json<Release>(`/projects/${project.id}/releases/${encodeURIComponent(tag)}`), undefined);
      if (!release) return undefined;
      return {
        host: gitLabReleaseHost(client, project, tag),
        ...(release.commit?.id ? { commitSha: release.commit.id } : {}),
        ...(release._links?.self ? { releaseUrl: release._links.self } : {}),
      };
    },
    defaultBranchReader: gitLabFileReader(client, project.id, project.defaultBranch),
    policyPaths: GITLAB_POLICY_PATHS,
  };
}

export async function runGitLabSignRelease(
  deps: GitLabDependencies,
  plan: GitLabSignRelease,
  delivery: string,
  settings: ReleaseSettings,
): Promise<SignReleaseOutcome> {
  // The payload's id and path are claims, and a per-project secret speaks for either: without
  // this, the holder of one project's secret named another project's id with her own path and
  // the bot read, signed and commented on that project's release (the check flow confirms too).
  let confirmed: ConfirmedProject;
  try {
    confirmed = await confirmProject(deps.client, plan.project);
  } catch (error) {
    const message = error instanceof ForgeError ? error.message : (error as Error).message;
    deps.log.warn({ delivery, projectId: plan.project.id, project: plan.project.fullName }, message);
    await auditEvent(deps, { forge: 'gitlab', repositoryKey: projectKey(plan.project), event: 'note./sign-release', delivery }, 'refused', { reason: message });
    return { status: 'refused' };
  }
  const project = { ...plan.project, ...confirmed };
  return runSignRelease(
    gitLabReleaseForge(deps, { ...plan, project }),
    deps,
    { ...(plan.tag ? { tag: plan.tag } : {}), trigger: plan.trigger, delivery },
    settings,
  );
}
