/**
 * The GitLab user a committer e-mail belongs to, counting only e-mails GitLab verified on that
 * account (issue 11 item 6). GitLab's user search (`GET /users?search=EMAIL`) shows
 * `public_email` and `commit_email`, which GitLab lets a user pick only among verified
 * addresses, and, to administrators, the primary `email` with `confirmed_at` (a primary e-mail
 * can be unconfirmed) and matches on secondary e-mails, listed with their own `confirmed_at`
 * by `GET /users/:id/emails`. An address GitLab has not confirmed never links a commit.
 */
import { gitLabCall, type GitLabCaches, type GitLabUser } from './gitlab-api.ts';
import type { GitLabClient } from './gitlab-client.ts';

type Candidate = Record<string, unknown>;

/** Pages of 100 a search or an e-mail list may take (an exact e-mail matches few users). */
const PAGES = 5;

const lower = (value: unknown): string | undefined => (typeof value === 'string' ? value.toLowerCase() : undefined);

export async function gitLabVerifiedUserOfEmail(client: GitLabClient, caches: GitLabCaches, email: string): Promise<GitLabUser | undefined> {
  const user = await caches.users.get(`verified\0${email}`, async () => {
    const users = await gitLabCall(`looking up the user of ${email}`, () => client.list<Candidate>(`/users?search=${encodeURIComponent(email)}`, PAGES));
    for (const candidate of users) {
      if (typeof candidate.id !== 'number' || typeof candidate.username !== 'string') continue;
      if (await verifiedOn(client, candidate, email)) return { id: candidate.id, username: candidate.username };
    }
    return null;
  });
  return user ?? undefined;
}

async function verifiedOn(client: GitLabClient, candidate: Candidate, email: string): Promise<boolean> {
  if (lower(candidate.public_email) === email || lower(candidate.commit_email) === email) return true;
  if (lower(candidate.email) === email) return typeof candidate.confirmed_at === 'string' && candidate.confirmed_at !== '';
  // A search hit on none of the shown fields: a secondary e-mail (administrator tokens only).
  const emails = await gitLabCall(`reading the e-mails of user ${String(candidate.id)}`, () =>
    client.list<Candidate>(`/users/${candidate.id as number}/emails`, PAGES),
  );
  return emails.some((entry) => lower(entry.email) === email && typeof entry.confirmed_at === 'string' && entry.confirmed_at !== '');
}

/** The users committer e-mails belong to (through confirmed e-mails only), each with its e-mails; `known` answers first. */
export async function gitLabUsersOfEmails(
  client: GitLabClient,
  caches: GitLabCaches,
  emails: Iterable<string>,
  known: ReadonlyMap<string, GitLabUser> = new Map(),
): Promise<Array<{ user: GitLabUser; emails: string[] }>> {
  const users = new Map<number, { user: GitLabUser; emails: string[] }>();
  for (const email of new Set(emails)) {
    const user = known.get(email) ?? (await gitLabVerifiedUserOfEmail(client, caches, email));
    if (!user) continue;
    const entry = users.get(user.id) ?? { user, emails: [] };
    entry.emails.push(email);
    users.set(user.id, entry);
  }
  return [...users.values()];
}
