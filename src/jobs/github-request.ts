/**
 * The jobs' GitHub client: the one in src/forge/github-client.ts, with the token from the
 * jobs' configuration and the environment's fetch (tests point it at a local fake forge).
 */
import type { GitHubRequest } from '../forge/github-api.ts';
import { gitHubClient } from '../forge/github-client.ts';
import type { FetchLike } from './http.ts';

export function fetchGitHubRequest(apiUrl: string, token: string, fetch?: FetchLike): GitHubRequest {
  return gitHubClient({ apiUrl, token, userAgent: 'signet-jobs', ...(fetch ? { fetch } : {}) });
}
