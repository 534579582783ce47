/**
 * Registry access for admission: tag → digest resolution and the verification facts of one
 * authority about one digest, both cached. Facts are cached by digest, policy hash, policy and
 * authority; conditions are applied by core/admission/decide.ts on every review, hit or miss.
 */
import { readFile } from 'node:fs/promises';
import type { AuthorityFacts } from '../core/admission/decide.ts';
import type { Authority, ImagePolicy } from '../core/admission/image-policy.ts';
import { SignetError } from '../core/errors.ts';
import type { ImageReference } from '../core/sign/image-reference.ts';
import { credentialsFromAuths } from '../sign/oci/docker-credentials.ts';
import { verifyImageAttestations, verifyImageSignatures, type ResolvedImage } from '../sign/oci/image-signing.ts';
import { RegistryClient } from '../sign/oci/registry-client.ts';
import type { LoadedAdmissionPolicy } from './load-policy.ts';
import { TtlCache } from './ttl-cache.ts';

export interface ImageFactsOptions {
  env: NodeJS.ProcessEnv;
  /** Speak plain HTTP to every registry (`--allow-http-registry`); loopback always may. */
  allowHttp: boolean;
  fetch?: typeof fetch;
}

export class ImageFacts {
  private readonly clients = new Map<string, RegistryClient>();
  private readonly digests: TtlCache<ResolvedImage['descriptor']>;
  private readonly facts: TtlCache<AuthorityFacts>;
  private readonly inFlight = new Map<string, Promise<AuthorityFacts>>();
  private pullSecrets: Promise<unknown[]> | undefined;
  /** Counters for the health page and the tests. */
  readonly stats = { digestHits: 0, digestMisses: 0, factHits: 0, factMisses: 0 };

  constructor(
    private readonly loaded: LoadedAdmissionPolicy,
    private readonly options: ImageFactsOptions,
  ) {
    this.digests = new TtlCache(loaded.policy.cache.maxEntries);
    this.facts = new TtlCache(loaded.policy.cache.maxEntries);
  }

  private client(registry: string): RegistryClient {
    let client = this.clients.get(registry);
    if (!client) {
      const timeoutMs = this.loaded.policy.registries.timeoutsMs[registry] ?? this.loaded.policy.registries.timeoutMs;
      const base = this.options.fetch ?? fetch;
      const plain = this.options.allowHttp || this.loaded.policy.registries.insecure.includes(registry);
      client = new RegistryClient(registry, {
        env: this.options.env,
        ...(plain ? { plainHttp: true } : {}),
        // Each request gets the per-registry time-out; a slow registry fails its images, not the webhook.
        fetch: (input, init) => base(input, { ...init, signal: AbortSignal.timeout(timeoutMs) }),
        credentials: async () => {
          for (const secret of await this.readPullSecrets()) {
            const found = credentialsFromAuths(secret, registry);
            if (found) return found;
          }
          return undefined;
        },
      });
      this.clients.set(registry, client);
    }
    return client;
  }

  /** Image pull secrets named in the policy: `.dockerconfigjson` files (mounted Secrets). */
  private readPullSecrets(): Promise<unknown[]> {
    this.pullSecrets ??= Promise.all(
      this.loaded.policy.registries.pullSecrets.map(async (path) => {
        try {
          return JSON.parse(await readFile(path, 'utf8')) as unknown;
        } catch (error) {
          throw new SignetError('CONFIG_INVALID', `image pull secret ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
        }
      }),
    );
    return this.pullSecrets;
  }

  /** The digest an image reference names now (a tag is resolved; a digest is checked to exist). */
  async resolve(ref: ImageReference): Promise<ResolvedImage> {
    const reference = ref.digest ?? ref.tag ?? 'latest';
    const key = `${ref.registry}/${ref.repository}\0${reference}`;
    const known = ref.digest ? undefined : this.digests.get(key);
    if (known) {
      this.stats.digestHits += 1;
      return { ref: { ...ref, digest: known.digest }, descriptor: known };
    }
    this.stats.digestMisses += 1;
    const manifest = await this.client(ref.registry).getManifest(ref.repository, reference);
    if (!manifest) throw new SignetError('OBJECT_MISSING', `${ref.registry}/${ref.repository}:${reference}: no such image in the registry`);
    if (ref.digest && manifest.digest !== ref.digest)
      throw new SignetError('OBJECT_MISSING', `${ref.registry}/${ref.repository}@${ref.digest}: the registry answered with ${manifest.digest}`);
    const descriptor = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length };
    if (!ref.digest) this.digests.set(key, descriptor, this.loaded.policy.cache.tagTtlSeconds * 1000);
    return { ref: { ...ref, digest: manifest.digest }, descriptor };
  }

  /** What one authority's key verified on the digest: signatures, and attestations when required. */
  async factsFor(image: ResolvedImage, policy: ImagePolicy, authority: Authority): Promise<AuthorityFacts | undefined> {
    if (authority.static) return undefined;
    const index = policy.authorities.indexOf(authority);
    const key = `${image.descriptor.digest}\0${image.ref.registry}/${image.ref.repository}\0${this.loaded.hash}\0${policy.name}\0${index}`;
    const cached = this.facts.get(key);
    if (cached) {
      this.stats.factHits += 1;
      return cached;
    }
    const running = this.inFlight.get(key);
    if (running) return running;
    this.stats.factMisses += 1;
    const work = this.verify(image, authority)
      .then((facts) => {
        const ttl = facts.signed ? this.loaded.policy.cache.ttlSeconds : this.loaded.policy.cache.failureTtlSeconds;
        this.facts.set(key, facts, ttl * 1000);
        return facts;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, work);
    return work;
  }

  private async verify(image: ResolvedImage, authority: Authority): Promise<AuthorityFacts> {
    const publicKey = this.loaded.keys.get(authority);
    if (!publicKey) return { signed: false, detail: 'authority has nothing to verify with', statements: [] };
    const client = this.client(image.ref.registry);
    const signatures = await verifyImageSignatures(client, image, publicKey);
    const good = signatures.filter((check) => check.ok);
    const detail =
      good.length > 0
        ? 'signature verified'
        : signatures.length === 0
          ? 'no signature found'
          : `no signature verifies with its key (${signatures.map((check) => `${check.format}: ${check.detail}`).join('; ')})`;
    const statements: AuthorityFacts['statements'] = [];
    if (good.length > 0 && authority.attestations.length > 0) {
      for (const check of await verifyImageAttestations(client, image, publicKey)) {
        const statement = check.payload as { predicateType?: unknown } | undefined;
        if (check.ok && statement && typeof statement.predicateType === 'string') statements.push({ predicateType: statement.predicateType, statement });
      }
    }
    return { signed: good.length > 0, detail, statements };
  }

  clear(): void {
    this.digests.clear();
    this.facts.clear();
  }
}
