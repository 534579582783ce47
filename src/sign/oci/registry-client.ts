import { SignetError } from '../../core/errors.ts';
import { isRecord, ociDigest } from '../../core/sign/encoding.ts';
import { MANIFEST_ACCEPT, OCI_INDEX, type Descriptor, type OciIndex } from '../../core/sign/oci-manifest.ts';
import { lookupCredentials, type RegistryCredentials } from './docker-credentials.ts';

export interface RegistryClientOptions {
  env: NodeJS.ProcessEnv;
  /** Speak plain HTTP. Default: only to loopback hosts (as docker treats them as insecure registries). */
  plainHttp?: boolean;
  fetch?: typeof fetch;
  /** Credentials found another way (image pull secrets); the docker config is asked when this gives none. */
  credentials?: () => Promise<RegistryCredentials | undefined>;
}

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  /** sha256 of the bytes as received (what signatures name). */
  digest: string;
}

function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

interface Challenge {
  scheme: 'bearer' | 'basic';
  params: Record<string, string>;
}

/** Parses `WWW-Authenticate: Bearer realm="…",service="…",scope="…"`. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!match) return undefined;
  const scheme = (match[1] ?? '').toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'basic') return undefined;
  const params: Record<string, string> = {};
  for (const part of (match[2] ?? '').matchAll(/(\w+)="([^"]*)"|(\w+)=([^,\s]+)/g)) {
    const key = part[1] ?? part[3];
    const value = part[2] ?? part[4];
    if (key && value !== undefined) params[key.toLowerCase()] = value;
  }
  return { scheme, params };
}

/** A small OCI distribution client over fetch: token/basic auth, manifests, blobs, referrers. */
export class RegistryClient {
  readonly registry: string;
  private readonly base: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly fetcher: typeof fetch;
  private credentials: RegistryCredentials | undefined | null = null;
  private readonly tokens = new Map<string, string>();
  private basic: string | undefined;

  constructor(registry: string, options: RegistryClientOptions) {
    this.registry = registry;
    const host = registry === 'docker.io' ? 'registry-1.docker.io' : registry;
    const plain = options.plainHttp ?? isLoopback(host);
    this.base = `${plain ? 'http' : 'https'}://${host}/v2`;
    this.env = options.env;
    this.fetcher = options.fetch ?? fetch;
    this.extraCredentials = options.credentials;
  }

  private readonly extraCredentials: (() => Promise<RegistryCredentials | undefined>) | undefined;

  private async creds(): Promise<RegistryCredentials | undefined> {
    if (this.credentials === null) this.credentials = (await lookupCredentials(this.registry, this.env)) ?? (await this.extraCredentials?.());
    return this.credentials;
  }

  private async token(challenge: Challenge, scope: string): Promise<string> {
    const cached = this.tokens.get(scope);
    if (cached) return cached;
    const realm = challenge.params.realm;
    if (!realm) throw new SignetError('CONFIG_INVALID', `registry ${this.registry}: bearer challenge without a realm`);
    const url = new URL(realm);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    url.searchParams.set('scope', scope);
    const creds = await this.creds();
    const headers: Record<string, string> = {};
    if (creds) headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    const response = await this.fetcher(url, { headers });
    if (!response.ok)
      throw new SignetError(codeOfRegistryStatus(response.status), `registry ${this.registry}: token request for ${scope} refused (HTTP ${response.status})`);
    const body: unknown = await response.json();
    const token = isRecord(body) ? (body.token ?? body.access_token) : undefined;
    if (typeof token !== 'string') throw new SignetError('CONFIG_INVALID', `registry ${this.registry}: token response has no token`);
    this.tokens.set(scope, token);
    return token;
  }

  /** One request, retried once with credentials when the registry challenges. */
  private async request(repository: string, path: string, init: RequestInit & { push?: boolean } = {}): Promise<Response> {
    const scope = `repository:${repository}:${init.push ? 'pull,push' : 'pull'}`;
    // Upload locations come back as absolute URLs (possibly another host); everything else is relative.
    const url = /^https?:\/\//.test(path) ? path : `${this.base}/${repository}/${path}`;
    const send = async (authorization: string | undefined): Promise<Response> => {
      const headers = new Headers(init.headers);
      if (authorization) headers.set('authorization', authorization);
      try {
        return await this.fetcher(url, { ...init, headers, redirect: 'follow' });
      } catch (error) {
        throw new SignetError(
          'REGISTRY_UNAVAILABLE',
          `cannot reach registry ${this.registry}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`,
        );
      }
    };
    const known = this.tokens.get(scope);
    let response = await send(known ? `Bearer ${known}` : this.basic);
    if (response.status !== 401) return response;
    const challenge = parseChallenge(response.headers.get('www-authenticate'));
    await response.body?.cancel();
    if (challenge?.scheme === 'bearer') {
      this.tokens.delete(scope);
      response = await send(`Bearer ${await this.token(challenge, scope)}`);
    } else if (challenge?.scheme === 'basic') {
      const creds = await this.creds();
      if (!creds) throw new SignetError('CONFIG_INVALID', `registry ${this.registry} needs credentials (docker login, or DOCKER_CONFIG)`);
      this.basic = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      response = await send(this.basic);
    }
    if (response.status === 401) throw new SignetError('CONFIG_INVALID', `registry ${this.registry}: access to ${repository} denied`);
    return response;
  }

  private async fail(response: Response, what: string): Promise<never> {
    let detail = '';
    try {
      const body: unknown = await response.json();
      const first = isRecord(body) && Array.isArray(body.errors) ? body.errors[0] : undefined;
      if (isRecord(first) && typeof first.message === 'string') detail = `: ${first.message}`;
    } catch {
      // not JSON
    }
    throw new SignetError(codeOfRegistryStatus(response.status), `registry ${this.registry}: ${what} failed (HTTP ${response.status}${detail})`);
  }

  /** A manifest by tag or digest; undefined when the registry has none. Digest-addressed reads are checked. */
  async getManifest(repository: string, reference: string, accept = MANIFEST_ACCEPT): Promise<FetchedManifest | undefined> {
    const response = await this.request(repository, `manifests/${reference}`, { headers: { accept } });
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    if (!response.ok) return this.fail(response, `reading manifest ${repository}:${reference}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    const digest = ociDigest(bytes);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new SignetError('OBJECT_CORRUPT', `registry ${this.registry} returned a manifest whose digest is ${digest}, not ${reference}`);
    }
    const header = response.headers.get('content-type')?.split(';')[0]?.trim();
    let mediaType = header ?? '';
    try {
      const parsed: unknown = JSON.parse(bytes.toString('utf8'));
      if (isRecord(parsed) && typeof parsed.mediaType === 'string') mediaType = parsed.mediaType;
    } catch {
      throw new SignetError('OBJECT_CORRUPT', `manifest ${repository}:${reference} is not JSON`);
    }
    return { bytes, mediaType, digest };
  }

  async putManifest(repository: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<{ digest: string; subjectProcessed: boolean }> {
    const response = await this.request(repository, `manifests/${reference}`, {
      method: 'PUT',
      push: true,
      headers: { 'content-type': mediaType },
      body: bytes,
    });
    if (!response.ok) return this.fail(response, `writing manifest ${repository}:${reference}`);
    await response.body?.cancel();
    return { digest: ociDigest(bytes), subjectProcessed: response.headers.has('oci-subject') };
  }

  /** A blob, checked against its digest. */
  async getBlob(repository: string, digest: string, maxBytes = 64 << 20): Promise<Buffer> {
    const response = await this.request(repository, `blobs/${digest}`);
    if (!response.ok) return this.fail(response, `reading blob ${digest}`);
    const length = Number(response.headers.get('content-length') ?? '0');
    if (length > maxBytes) throw new SignetError('OBJECT_CORRUPT', `blob ${digest} is larger than ${maxBytes} bytes`);
    const bytes = Buffer.from(await response.arrayBuffer());
    if (ociDigest(bytes) !== digest) throw new SignetError('OBJECT_CORRUPT', `blob ${digest} does not match its digest`);
    return bytes;
  }

  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const response = await this.request(repository, `blobs/${digest}`, { method: 'HEAD', push: true });
    await response.body?.cancel();
    return response.ok;
  }

  /** Uploads a small blob (POST then monolithic PUT), skipping it when already there. */
  async putBlob(repository: string, bytes: Uint8Array): Promise<string> {
    const digest = ociDigest(bytes);
    if (await this.hasBlob(repository, digest)) return digest;
    const start = await this.request(repository, 'blobs/uploads/', { method: 'POST', push: true });
    if (start.status !== 202) return this.fail(start, 'starting a blob upload');
    await start.body?.cancel();
    const location = start.headers.get('location');
    if (!location) throw new SignetError('CONFIG_INVALID', `registry ${this.registry}: blob upload without a Location`);
    const url = new URL(location, `${this.base}/`);
    url.searchParams.set('digest', digest);
    const response = await this.request(repository, url.toString(), {
      method: 'PUT',
      push: true,
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    if (response.status !== 201) return this.fail(response, `uploading blob ${digest}`);
    await response.body?.cancel();
    return digest;
  }

  /** The referrers API's index for a digest, or undefined when the registry lacks the API. */
  async getReferrers(repository: string, digest: string, artifactType?: string): Promise<OciIndex | undefined> {
    const query = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : '';
    const response = await this.request(repository, `referrers/${digest}${query}`, { headers: { accept: OCI_INDEX } });
    if (response.status === 404 || response.status === 405 || response.status === 400) {
      await response.body?.cancel();
      return undefined;
    }
    if (!response.ok) return this.fail(response, `listing referrers of ${digest}`);
    const body: unknown = await response.json();
    if (!isRecord(body) || !Array.isArray(body.manifests)) return undefined;
    const manifests = (body.manifests as unknown[]).filter(isRecord) as unknown as Descriptor[];
    return { schemaVersion: 2, mediaType: OCI_INDEX, manifests: artifactType ? manifests.filter((m) => m.artifactType === artifactType) : manifests };
  }
}

/** A registry's 5xx or 429 is an outage (try again); any other refusal is the caller's to fix. */
function codeOfRegistryStatus(status: number): 'REGISTRY_UNAVAILABLE' | 'CONFIG_INVALID' {
  return status >= 500 || status === 429 ? 'REGISTRY_UNAVAILABLE' : 'CONFIG_INVALID';
}
