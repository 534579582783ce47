/**
 * `/sign-release TAG` on GitHub: claim the comment (a redelivery signs nothing twice), react
 * with eyes, check the commenter's permission, sign the release through its assets API and
 * answer with one comment. Every run leaves an audit record; errors become the answer.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { gitHubFileReader, type GitHubRequest } from '../forge/github-api.ts';
import { gitHubMaySign } from '../release/command.ts';
import { policyReleaseImages, RELEASE_IMAGES_ENV, releaseImageRefs } from '../release/images.ts';
import { loadReleaseSigners } from '../release/keys.ts';
import { oneLine, releaseFailed, renderReleaseComment, renderRefusal } from '../release/render.ts';
import { signRelease, type ReleaseAsset, type ReleaseHost } from '../release/run.ts';
import { POLICY_PATH, type GitHubPlan } from './plan.ts';
import { audit, repositoryKey, type CheckDependencies, type GitHubInstallation } from './run-check.ts';

export type SignReleasePlan = Extract<GitHubPlan, { kind: 'sign-release' }>;

export interface ReleaseSettings {
  /** Where the signing keys are configured (process.env in production). */
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export const DEFAULT_BUILDER_ID = 'https://signet.invalid/sign-release';

export interface SignReleaseOutcome {
  status: 'signed' | 'failed' | 'refused' | 'duplicate' | 'error';
  comment?: string;
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown })?.status;
  return typeof status === 'number' ? status : undefined;
}

/**
 * The release's assets through the REST API; uploads go to the release's upload_url. Both
 * directions stream: a download's body goes straight to the file, an upload is read from the
 * file as it is sent (with its Content-Length, which GitHub requires).
 */
export function gitHubReleaseHost(request: GitHubRequest, deps: CheckDependencies, owner: string, repo: string, release: { id: number; upload_url: string }, tag: string): ReleaseHost {
  const readFileAtTag = gitHubFileReader(request, deps.caches, owner, repo, tag);
  return {
    async listAssets() {
      const assets: ReleaseAsset[] = [];
      for (let page = 1; ; page++) {
        const { data } = await request('GET /repos/{owner}/{repo}/releases/{release_id}/assets', { owner, repo, release_id: release.id, per_page: 100, page });
        const list = data as Array<{ id: number; name: string }>;
        assets.push(...list.map((a) => ({ id: String(a.id), name: a.name })));
        if (list.length < 100) return assets;
      }
    },
    async download(asset, path) {
      const { data } = await request('GET /repos/{owner}/{repo}/releases/assets/{asset_id}', {
        owner, repo, asset_id: Number(asset.id), headers: { accept: 'application/octet-stream' }, request: { parseSuccessResponseBody: false },
      });
      if (!data) throw new Error(`GitHub sent no content for ${asset.name}`);
      await pipeline(Readable.fromWeb(data as WebReadableStream<Uint8Array>), createWriteStream(path));
    },
    async upload(name, path, contentType) {
      const { size } = await stat(path);
      const body = createReadStream(path, { highWaterMark: 256 << 10 });
      // An upload is not retried: a half-received one may leave an asset in GitHub's "starter" state.
      try {
        await request(`POST ${release.upload_url}`, { name, data: Readable.toWeb(body), headers: { 'content-type': contentType, 'content-length': size }, request: { retries: 0 } });
      } finally {
        body.destroy();
      }
    },
    async remove(asset) {
      await request('DELETE /repos/{owner}/{repo}/releases/assets/{asset_id}', { owner, repo, asset_id: Number(asset.id) });
    },
    readRepositoryFile: readFileAtTag,
  };
}

export async function runGitHubSignRelease(installation: GitHubInstallation, deps: CheckDependencies, plan: SignReleasePlan, delivery: string, settings: ReleaseSettings): Promise<SignReleaseOutcome> {
  const { repository } = plan;
  const { owner, name: repo } = repository;
  const request = installation.request;
  const key = repositoryKey(repository);
  const tag = plan.tag ?? '?';
  const subject = `release:${tag}`;
  const event = 'issue_comment./sign-release';
  if (!(await deps.store.claimCheck({ repository: key, headSha: subject, trigger: plan.trigger, owner: deps.instanceId, leaseMs: deps.leaseMs, now: deps.now() }))) {
    await audit(deps, repository, event, delivery, undefined, 'skipped', { reason: `comment ${plan.commentId} already handled`, tag });
    return { status: 'duplicate' };
  }
  const comment = async (body: string): Promise<void> => {
    await request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', { owner, repo, issue_number: plan.issueNumber, body });
  };
  const finish = async (outcome: SignReleaseOutcome, detail: Record<string, unknown>): Promise<SignReleaseOutcome> => {
    await deps.store.completeCheck(key, subject, plan.trigger, { conclusion: outcome.status });
    await audit(deps, repository, event, delivery, undefined, outcome.status, { tag, commenter: plan.commenter, ...detail });
    return outcome;
  };

  await request('POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions', { owner, repo, comment_id: plan.commentId, content: 'eyes' }).catch((error: unknown) => {
    deps.log.warn({ err: error }, 'could not react to the /sign-release comment');
  });
  let body = '';
  try {
    if (!plan.tag) {
      body = 'signet: `/sign-release` needs the tag of an existing release, e.g. `/sign-release v1.2.0`.\n';
      await comment(body);
      return await finish({ status: 'error', comment: body }, { reason: 'no tag' });
    }
    let maySign = false;
    try {
      const { data } = await request('GET /repos/{owner}/{repo}/collaborators/{username}/permission', { owner, repo, username: plan.commenter });
      maySign = gitHubMaySign(data as { permission?: unknown; role_name?: unknown });
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
    if (!maySign) {
      body = renderRefusal(plan.commenter, plan.tag);
      await comment(body);
      return await finish({ status: 'refused', comment: body }, {});
    }
    let release: { id: number; upload_url: string; html_url?: string; target_commitish?: string };
    try {
      release = (await request('GET /repos/{owner}/{repo}/releases/tags/{tag}', { owner, repo, tag: plan.tag })).data as typeof release;
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      body = `signet: there is no release tagged \`${plan.tag}\` in ${repository.fullName}. Create the release first, then comment again.\n`;
      await comment(body);
      return await finish({ status: 'error', comment: body }, { reason: 'no such release' });
    }
    const signers = await loadReleaseSigners(settings.env, settings.cwd);
    let commitSha: string | undefined;
    try {
      commitSha = ((await request('GET /repos/{owner}/{repo}/commits/{ref}', { owner, repo, ref: `refs/tags/${plan.tag}` })).data as { sha?: string }).sha;
    } catch {
      commitSha = undefined; // The provenance then names the tag only.
    }
    // Images come from the policy on the default branch, as every other rule does.
    const policyImages = await policyReleaseImages(gitHubFileReader(request, deps.caches, owner, repo, repository.defaultBranch), [POLICY_PATH]);
    const summary = await signRelease(gitHubReleaseHost(request, deps, owner, repo, release, plan.tag), signers, {
      tag: plan.tag, repositoryUrl: repository.cloneUrl.replace(/\.git$/, ''), ...(commitSha ? { commitSha } : {}),
      ...(release.html_url ? { releaseUrl: release.html_url } : {}), invocationId: delivery,
      builderId: settings.env.SIGNET_RELEASE_BUILDER_ID || DEFAULT_BUILDER_ID, now: deps.now,
      images: releaseImageRefs(settings.env[RELEASE_IMAGES_ENV], plan.tag, policyImages.images), registryEnv: settings.env,
      ...(policyImages.problem ? { imageNotes: [policyImages.problem] } : {}),
    });
    body = renderReleaseComment(summary);
    await comment(body);
    const counts: Record<string, number> = {};
    for (const row of summary.rows) counts[row.status] = (counts[row.status] ?? 0) + 1;
    return await finish({ status: releaseFailed(summary) ? 'failed' : 'signed', comment: body }, { counts, assets: summary.inputs.length });
  } catch (error) {
    deps.log.error({ err: error, repository: repository.fullName, tag }, '/sign-release failed');
    body = `signet could not sign release \`${tag}\`: ${oneLine(error)}\n`;
    await comment(body).catch((e: unknown) => deps.log.warn({ err: e }, 'could not post the /sign-release answer'));
    return await finish({ status: 'error', comment: body }, { error: oneLine(error) });
  }
}
