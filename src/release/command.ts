/**
 * `/sign-release <tag>` in a comment or note, and who may give it. Pure: the forges' answers
 * (a GitHub role name, a GitLab access level) come in as values.
 */

export interface SignReleaseCommand {
  tag: string;
}

/** Tags as git allows them in practice, bounded; anything else is not a command (no injection into URLs or comments). */
const TAG = /^[A-Za-z0-9][A-Za-z0-9._+/-]{0,127}$/;

/** The first line that is exactly `/sign-release TAG` (surrounding spaces allowed). */
export function parseSignReleaseCommand(body: string): SignReleaseCommand | undefined {
  for (const line of body.split(/\r?\n/)) {
    const match = /^\/sign-release\s+(\S+)$/.exec(line.trim());
    if (!match) continue;
    const tag = match[1]!;
    if (TAG.test(tag) && !tag.includes('..') && !tag.endsWith('/') && !tag.endsWith('.lock')) return { tag };
  }
  return undefined;
}

/** True when the body mentions the command at all (a malformed tag gets an answer, not silence). */
export function mentionsSignRelease(body: string): boolean {
  return body.split(/\r?\n/).some((line) => /^\/sign-release(\s|$)/.test(line.trim()));
}

/**
 * GitHub: `GET /repos/{o}/{r}/collaborators/{u}/permission` answers `permission` (admin, write,
 * read, none — maintain is folded into write) and `role_name` (admin, maintain, write, triage,
 * read or a custom role). Only admin and maintain may sign.
 */
export function gitHubMaySign(permission: { permission?: unknown; role_name?: unknown }): boolean {
  return permission.permission === 'admin' || permission.role_name === 'admin' || permission.role_name === 'maintain';
}

/** GitLab's Maintainer access level; Owner is 50. */
export const GITLAB_MAINTAINER_ACCESS = 40;

export function gitLabMaySign(accessLevel: unknown): boolean {
  return typeof accessLevel === 'number' && accessLevel >= GITLAB_MAINTAINER_ACCESS;
}
