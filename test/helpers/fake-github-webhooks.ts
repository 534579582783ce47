/**
 * Webhook deliveries for tests: real example payloads from @octokit/webhooks-examples with
 * ids, URLs and commits replaced, signed with the webhook secret as GitHub signs them.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples') as Array<{ name: string; examples: Array<Record<string, unknown>> }>;

export function example(name: string, action?: string, predicate: (payload: Record<string, unknown>) => boolean = () => true): Record<string, unknown> {
  const found = examples.find((e) => e.name === name)?.examples.find((p) => (action === undefined || p.action === action) && predicate(p));
  if (!found) throw new Error(`no ${name}.${action ?? ''} example in @octokit/webhooks-examples`);
  return structuredClone(found);
}

export interface RepoInfo {
  fullName: string;
  cloneUrl: string;
  installationId: number;
  defaultBranch?: string;
}

/** Points an example's repository and installation at ours. */
export function retarget(payload: Record<string, unknown>, repo: RepoInfo): Record<string, unknown> {
  const [owner, name] = repo.fullName.split('/');
  const repository = (payload.repository ?? {}) as Record<string, unknown>;
  Object.assign(repository, {
    name,
    full_name: repo.fullName,
    clone_url: repo.cloneUrl,
    default_branch: repo.defaultBranch ?? 'main',
    master_branch: repo.defaultBranch ?? 'main',
    owner: { ...(repository.owner as object), login: owner, name: owner },
  });
  payload.repository = repository;
  payload.installation = { id: repo.installationId, node_id: 'test' };
  return payload;
}

export interface Delivery {
  status: number;
  body: string;
  id: string;
  ms: number;
  /** The answer's Retry-After header, when it has one (an outage's 503). */
  retryAfter?: string;
}

export async function deliver(
  url: string,
  secret: string,
  event: string,
  payload: unknown,
  options: { id?: string; signature?: string; rawBody?: string } = {},
): Promise<Delivery> {
  const body = options.rawBody ?? JSON.stringify(payload);
  const id = options.id ?? randomUUID();
  const signature = options.signature ?? `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  return post(
    url,
    {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': id,
      'x-hub-signature-256': signature,
      'user-agent': 'GitHub-Hookshot/test',
    },
    body,
    id,
  );
}

/**
 * POST on a fresh connection each time, as GitHub's deliveries come: a pooled keep-alive
 * socket that the server closes at the same moment would fail the test with ECONNRESET.
 */
export function post(url: string, headers: Record<string, string>, body: string, id = ''): Promise<Delivery> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent: false, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, timeout: 60_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        const retryAfter = res.headers['retry-after'];
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), id, ms: Date.now() - started, ...(retryAfter ? { retryAfter } : {}) }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('webhook delivery timed out')));
    req.on('error', reject);
    req.end(body);
  });
}
