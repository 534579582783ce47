/**
 * `/sign-release TAG`, written once for every forge: claim the comment (a redelivery signs
 * nothing twice), react, check the commenter's permission, find the release, sign it through
 * the forge's ReleaseHost and answer with one comment. Every run leaves an audit record and
 * completes its claim; errors become the answer. What differs per forge (how to react, reply,
 * ask for permission, find a release) is a ReleaseForge: src/app/sign-release.ts for GitHub,
 * src/gitlab/sign-release.ts for GitLab.
 */
import type { Logger } from 'pino';
import { auditEvent } from '../checks/check-flow.ts';
import type { DefaultBranchReader } from '../forge/policy-source.ts';
import type { SignetStore } from '../store/store.ts';
import { policyReleaseImages, RELEASE_IMAGES_ENV, releaseImageRefs } from './images.ts';
import { loadReleaseSigners } from './keys.ts';
import { releaseLimitsFromEnv } from './limits.ts';
import { oneLine, releaseFailed, renderReleaseComment, renderRefusal } from './render.ts';
import { signRelease, type ReleaseHost } from './run.ts';

export interface ReleaseSettings {
  /** Where the signing keys and release limits are configured (process.env in production). */
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export const DEFAULT_BUILDER_ID = 'https://signet.invalid/sign-release';

export interface SignReleaseOutcome {
  status: 'signed' | 'failed' | 'refused' | 'duplicate' | 'error';
  comment?: string;
}

/** A release the forge found for the tag. */
export interface FoundRelease {
  host: ReleaseHost;
  commitSha?: string;
  releaseUrl?: string;
}

/** What one forge does for the flow; nothing in here decides anything. */
export interface ReleaseForge {
  forge: 'github' | 'gitlab';
  /** The audit event, e.g. `issue_comment./sign-release`. */
  event: string;
  /** The store's repository key (`github:o/r`, `gitlab:g/p`). */
  repositoryKey: string;
  /** `owner/name` or `group/project`, for the answer. */
  fullName: string;
  /** e.g. https://github.com/o/r (the provenance's source). */
  repositoryUrl: string;
  /** Who gave the command (the audit record and the refusal name them). */
  commenter: string;
  /** Which comment or note: the audit record of a duplicate names it. */
  commandId: string;
  react(): Promise<void>;
  reply(body: string): Promise<void>;
  /** Whether the commenter may sign (maintain/admin, Maintainer/Owner); unknown users may not. */
  maySign(): Promise<boolean>;
  /** undefined when there is no release with that tag. */
  findRelease(tag: string): Promise<FoundRelease | undefined>;
  /** Reads the policy on the default branch (release.images). */
  defaultBranchReader: DefaultBranchReader;
  policyPaths: readonly string[];
}

export interface ReleaseFlowDependencies {
  store: SignetStore;
  log: Logger;
  instanceId: string;
  leaseMs: number;
  now: () => Date;
}

export interface ReleaseCommand {
  /** undefined when the command was malformed. */
  tag?: string;
  /** Claims the run: `sign-release:<comment or note id>`. */
  trigger: string;
  /** The webhook delivery (the provenance's invocation id). */
  delivery: string;
}

export async function runSignRelease(forge: ReleaseForge, deps: ReleaseFlowDependencies, command: ReleaseCommand, settings: ReleaseSettings): Promise<SignReleaseOutcome> {
  const tag = command.tag ?? '?';
  const subject = `release:${tag}`;
  const audit = (outcome: string, detail: Record<string, unknown>) =>
    auditEvent(deps, { forge: forge.forge, repositoryKey: forge.repositoryKey, event: forge.event, delivery: command.delivery }, outcome, detail);
  if (!(await deps.store.claimCheck({ repository: forge.repositoryKey, headSha: subject, trigger: command.trigger, owner: deps.instanceId, leaseMs: deps.leaseMs, now: deps.now() }))) {
    await audit('skipped', { reason: `${forge.commandId} already handled`, tag });
    return { status: 'duplicate' };
  }
  const finish = async (outcome: SignReleaseOutcome, detail: Record<string, unknown>): Promise<SignReleaseOutcome> => {
    await deps.store.completeCheck(forge.repositoryKey, subject, command.trigger, { conclusion: outcome.status });
    await audit(outcome.status, { tag, commenter: forge.commenter, ...detail });
    return outcome;
  };
  await forge.react().catch((error: unknown) => {
    deps.log.warn({ err: error }, 'could not react to the /sign-release command');
  });
  let body = '';
  try {
    if (!command.tag) {
      body = 'signet: `/sign-release` needs the tag of an existing release, e.g. `/sign-release v1.2.0`.\n';
      await forge.reply(body);
      return await finish({ status: 'error', comment: body }, { reason: 'no tag' });
    }
    if (!(await forge.maySign())) {
      body = renderRefusal(forge.commenter, command.tag);
      await forge.reply(body);
      return await finish({ status: 'refused', comment: body }, {});
    }
    const release = await forge.findRelease(command.tag);
    if (!release) {
      body = `signet: there is no release tagged \`${command.tag}\` in ${forge.fullName}. Create the release first, then comment again.\n`;
      await forge.reply(body);
      return await finish({ status: 'error', comment: body }, { reason: 'no such release' });
    }
    const limits = releaseLimitsFromEnv(settings.env);
    const signers = await loadReleaseSigners(settings.env, settings.cwd);
    // Images come from the policy on the default branch, as every other rule does.
    const policyImages = await policyReleaseImages(forge.defaultBranchReader, forge.policyPaths);
    const summary = await signRelease(release.host, signers, {
      tag: command.tag, repositoryUrl: forge.repositoryUrl,
      ...(release.commitSha ? { commitSha: release.commitSha } : {}), ...(release.releaseUrl ? { releaseUrl: release.releaseUrl } : {}),
      invocationId: command.delivery, builderId: settings.env.SIGNET_RELEASE_BUILDER_ID || DEFAULT_BUILDER_ID, now: deps.now,
      images: releaseImageRefs(settings.env[RELEASE_IMAGES_ENV], command.tag, policyImages.images), registryEnv: settings.env,
      ...(policyImages.problem ? { imageNotes: [policyImages.problem] } : {}),
    }, { limits });
    body = renderReleaseComment(summary);
    await forge.reply(body);
    const counts: Record<string, number> = {};
    for (const row of summary.rows) counts[row.status] = (counts[row.status] ?? 0) + 1;
    return await finish({ status: releaseFailed(summary) ? 'failed' : 'signed', comment: body }, { counts, assets: summary.inputs.length });
  } catch (error) {
    deps.log.error({ err: error, repository: forge.fullName, tag }, '/sign-release failed');
    body = `signet could not sign release \`${tag}\`: ${oneLine(error)}\n`;
    await forge.reply(body).catch((e: unknown) => deps.log.warn({ err: e }, 'could not post the /sign-release answer'));
    return await finish({ status: 'error', comment: body }, { error: oneLine(error) });
  }
}
