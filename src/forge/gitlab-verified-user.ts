/**
 * The GitLab user a committer e-mail belongs to, counting only e-mails GitLab verified on that
 * account (issue 11 item 6). GitLab's user search (`GET /users?search=EMAIL`) shows
 * `public_email` and `commit_email`, which GitLab lets a user pick only among verified
 * addresses, and, to administrators, the primary `email` with `confirmed_at` (a primary e-mail
 * can be unconfirmed) and matches on secondary e-mails, listed with their own `confirmed_at`
 * by `GET /users/:id/emails`. An address GitLab has not confirmed never links a commit.
 */
import { gitLabCall, type GitLabApi, type GitLabCaches, type GitLabUser } from './gitlab-api.ts';

type Candidate = Record<string, unknown>;

const lower = (value: unknown): string | undefined => (typeof value === 'string' ? value.toLowerCase() : undefined);

export async function gitLabVerifiedUserOfEmail(api: GitLabApi, caches: GitLabCaches, email: string): Promise<GitLabUser | undefined> {
  const user = await caches.users.get(`verified\0${email}`, async () => {
    const users = (await gitLabCall(`looking up the user of ${email}`, () => api.Users.all({ search: email }))) as Candidate[];
    for (const candidate of users) {
      if (typeof candidate.id !== 'number' || typeof candidate.username !== 'string') continue;
      if (await verifiedOn(api, candidate, email)) return { id: candidate.id, username: candidate.username };
    }
    return null;
  });
  return user ?? undefined;
}

async function verifiedOn(api: GitLabApi, candidate: Candidate, email: string): Promise<boolean> {
  if (lower(candidate.public_email) === email || lower(candidate.commit_email) === email) return true;
  if (lower(candidate.email) === email) return typeof candidate.confirmed_at === 'string' && candidate.confirmed_at !== '';
  // A search hit on none of the shown fields: a secondary e-mail (administrator tokens only).
  const emails = (await gitLabCall(`reading the e-mails of user ${String(candidate.id)}`, () =>
    api.UserEmails.all({ userId: candidate.id as number }),
  )) as unknown as Candidate[];
  return emails.some((entry) => lower(entry.email) === email && typeof entry.confirmed_at === 'string' && entry.confirmed_at !== '');
}
