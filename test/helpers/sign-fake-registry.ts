/**
 * A registry that has what Debian's docker-registry 2.8 lacks: bearer-token auth (a token
 * endpoint, as Docker Hub and GHCR do it) and the OCI 1.1 referrers API with the OCI-Subject
 * header. In memory, on 127.0.0.1, speaking the distribution spec's shapes.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface FakeRegistry {
  host: string;
  user: string;
  password: string;
  /** Scopes the token endpoint was asked for. */
  tokenScopes: string[];
  manifests: Map<string, { bytes: Buffer; mediaType: string }>;
  tags: Map<string, string>;
  stop(): Promise<void>;
}

const digestOf = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

async function body(request: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of request) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

export async function startFakeRegistry(): Promise<FakeRegistry> {
  const user = 'robot';
  const password = 'token-pass';
  const token = randomUUID();
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  const tags = new Map<string, string>();
  const tokenScopes: string[] = [];
  let host = '';

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', `http://${host}`);
    if (url.pathname === '/token') {
      if (request.headers.authorization !== `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`) {
        response.writeHead(401).end();
        return;
      }
      tokenScopes.push(url.searchParams.get('scope') ?? '');
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token }));
      return;
    }
    if (request.headers.authorization !== `Bearer ${token}`) {
      response.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="fake-registry"` }).end();
      return;
    }
    const upload = /^\/v2\/(.+)\/blobs\/uploads\/(.*)$/.exec(url.pathname);
    if (upload) {
      if (request.method === 'POST') {
        response.writeHead(202, { location: `/v2/${upload[1]}/blobs/uploads/${randomUUID()}` }).end();
        return;
      }
      const bytes = await body(request);
      const digest = url.searchParams.get('digest') ?? '';
      if (digestOf(bytes) !== digest) {
        response.writeHead(400).end();
        return;
      }
      blobs.set(digest, bytes);
      response.writeHead(201, { location: `/v2/${upload[1]}/blobs/${digest}` }).end();
      return;
    }
    const match = /^\/v2\/(.+)\/(manifests|blobs|referrers)\/([^/]+)$/.exec(url.pathname);
    if (!match) {
      response.writeHead(404).end();
      return;
    }
    const [, repo, kind, reference = ''] = match;
    if (kind === 'blobs') {
      const blob = blobs.get(reference);
      if (!blob) response.writeHead(404).end();
      else response.writeHead(200, { 'content-length': String(blob.length) }).end(request.method === 'HEAD' ? undefined : blob);
      return;
    }
    if (kind === 'referrers') {
      const artifactType = url.searchParams.get('artifactType');
      const found = [...manifests.entries()].flatMap(([digest, entry]) => {
        const parsed = JSON.parse(entry.bytes.toString('utf8'));
        if (parsed.subject?.digest !== reference || (artifactType && parsed.artifactType !== artifactType)) return [];
        return [{ mediaType: entry.mediaType, digest, size: entry.bytes.length, artifactType: parsed.artifactType, annotations: parsed.annotations }];
      });
      response
        .writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' })
        .end(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: found }));
      return;
    }
    const key = reference.startsWith('sha256:') ? reference : tags.get(`${repo}:${reference}`);
    if (request.method === 'PUT') {
      const bytes = await body(request);
      const digest = digestOf(bytes);
      manifests.set(digest, { bytes, mediaType: String(request.headers['content-type']) });
      if (!reference.startsWith('sha256:')) tags.set(`${repo}:${reference}`, digest);
      const subject = JSON.parse(bytes.toString('utf8')).subject;
      response.writeHead(201, { 'docker-content-digest': digest, ...(subject ? { 'oci-subject': subject.digest } : {}) }).end();
      return;
    }
    const entry = key ? manifests.get(key) : undefined;
    if (!entry) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': entry.mediaType, 'docker-content-digest': key ?? '' }).end(request.method === 'HEAD' ? undefined : entry.bytes);
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch(() => response.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  host = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    host,
    user,
    password,
    tokenScopes,
    manifests,
    tags,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
