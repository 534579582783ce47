/**
 * `/sign-release TAG` on GitHub: the forge's part of the one flow in src/release/flow.ts —
 * react with eyes, comment, ask for the commenter's permission, find the release, and the
 * release's assets through the REST API of the event's own repository. Every call goes through
 * the installation's client (Probot's Octokit: retries, rate limits, the token only to the API).
 */
import { unlessNotFound } from '../forge/forge-http.ts';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { gitHubFileReader, listAll, type GitHubRequest } from '../forge/github-api.ts';
import { gitHubMaySign } from '../release/command.ts';
import { runSignRelease, type ReleaseForge, type ReleaseSettings, type SignReleaseOutcome } from '../release/flow.ts';
import type { ReleaseAsset, ReleaseHost } from '../release/run.ts';
import { POLICY_PATH, type GitHubPlan } from './plan.ts';
import { repositoryKey, type CheckDependencies, type GitHubInstallation } from './run-check.ts';

export { DEFAULT_BUILDER_ID, type ReleaseSettings, type SignReleaseOutcome } from '../release/flow.ts';

export type SignReleasePlan = Extract<GitHubPlan, { kind: 'sign-release' }>;

function lengthOf(headers: Record<string, unknown>): number | undefined {
  const value = Number(headers['content-length']);
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * The release's assets through the REST API; uploads go to the release's upload_url. Both
 * directions stream: a download's body is handed on as it arrives, an upload is read from the
 * file as it is sent (with its Content-Length, which GitHub requires). Assets are addressed by
 * id under the event's own repository: the token goes to no other URL (GitHub answers an asset
 * download with a redirect to signed storage; fetch drops Authorization on that cross-origin hop).
 */
export function gitHubReleaseHost(
  request: GitHubRequest,
  deps: Pick<CheckDependencies, 'caches'>,
  owner: string,
  repo: string,
  release: { id: number; upload_url: string },
  tag: string,
): ReleaseHost {
  return {
    async listAssets() {
      // GitHub allows 1000 assets per release: 10 full pages, an 11th that says there are no more; a longer list is an error, not a cut.
      const list = (await listAll(request, 'GET /repos/{owner}/{repo}/releases/{release_id}/assets', { owner, repo, release_id: release.id }, 11)) as Array<{
        id: number;
        name: string;
      }>;
      return list.map((a): ReleaseAsset => ({ id: String(a.id), name: a.name }));
    },
    async open(asset) {
      const { data, headers } = await request('GET /repos/{owner}/{repo}/releases/assets/{asset_id}', {
        owner,
        repo,
        asset_id: Number(asset.id),
        headers: { accept: 'application/octet-stream' },
        request: { parseSuccessResponseBody: false },
      });
      if (!data) throw new Error(`GitHub sent no content for ${asset.name}`);
      const length = lengthOf(headers);
      return { body: data as WebReadableStream<Uint8Array>, ...(length !== undefined ? { length } : {}) };
    },
    async upload(name, path, contentType) {
      const { size } = await stat(path);
      const body = createReadStream(path, { highWaterMark: 256 << 10 });
      // An upload is not retried: a half-received one may leave an asset in GitHub's "starter" state.
      try {
        await request(`POST ${release.upload_url}`, {
          name,
          data: Readable.toWeb(body),
          headers: { 'content-type': contentType, 'content-length': size },
          request: { retries: 0 },
        });
      } finally {
        body.destroy();
      }
    },
    async remove(asset) {
      await request('DELETE /repos/{owner}/{repo}/releases/assets/{asset_id}', { owner, repo, asset_id: Number(asset.id) });
    },
    readRepositoryFile: gitHubFileReader(request, deps.caches, owner, repo, tag),
  };
}

/** GitHub's part of the flow for one `/sign-release` comment. */
export function gitHubReleaseForge(installation: GitHubInstallation, deps: CheckDependencies, plan: SignReleasePlan): ReleaseForge {
  const { repository } = plan;
  const { owner, name: repo } = repository;
  const request = installation.request;
  return {
    forge: 'github',
    event: 'issue_comment./sign-release',
    repositoryKey: repositoryKey(repository),
    fullName: repository.fullName,
    repositoryUrl: repository.cloneUrl.replace(/\.git$/, ''),
    commenter: plan.commenter,
    commandId: `comment ${plan.commentId}`,
    async react() {
      await request('POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions', { owner, repo, comment_id: plan.commentId, content: 'eyes' });
    },
    async reply(body) {
      await request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', { owner, repo, issue_number: plan.issueNumber, body });
    },
    async maySign() {
      const permission = await unlessNotFound(
        async () => (await request('GET /repos/{owner}/{repo}/collaborators/{username}/permission', { owner, repo, username: plan.commenter })).data,
        undefined,
      );
      return permission !== undefined && gitHubMaySign(permission as { permission?: unknown; role_name?: unknown });
    },
    async findRelease(tag) {
      type Release = { id: number; upload_url: string; html_url?: string };
      const release = await unlessNotFound(
        async () => (await request('GET /repos/{owner}/{repo}/releases/tags/{tag}', { owner, repo, tag })).data as Release,
        undefined,
      );
      if (!release) return undefined;
      let commitSha: string | undefined;
      try {
        commitSha = ((await request('GET /repos/{owner}/{repo}/commits/{ref}', { owner, repo, ref: `refs/tags/${tag}` })).data as { sha?: string }).sha;
      } catch {
        commitSha = undefined; // The provenance then names the tag only.
      }
      return {
        host: gitHubReleaseHost(request, deps, owner, repo, release, tag),
        ...(commitSha ? { commitSha } : {}),
        ...(release.html_url ? { releaseUrl: release.html_url } : {}),
      };
    },
    defaultBranchReader: gitHubFileReader(request, deps.caches, owner, repo, repository.defaultBranch),
    policyPaths: [POLICY_PATH],
  };
}

export async function runGitHubSignRelease(
  installation: GitHubInstallation,
  deps: CheckDependencies,
  plan: SignReleasePlan,
  delivery: string,
  settings: ReleaseSettings,
): Promise<SignReleaseOutcome> {
  return runSignRelease(
    gitHubReleaseForge(installation, deps, plan),
    deps,
    { ...(plan.tag ? { tag: plan.tag } : {}), trigger: plan.trigger, delivery },
    settings,
  );
}
