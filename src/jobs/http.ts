/**
 * How the jobs reach a forge over HTTP: a fetch the environment injects (tests point it at a
 * local fake forge). The clients themselves are the forge's own (src/forge/github-client.ts,
 * src/forge/gitlab-client.ts): tokens, retries, pages and error codes live there.
 */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;
