/**
 * Keyless signing as cosign does it in CI: an OIDC identity token (SIGSTORE_ID_TOKEN, or GitHub
 * Actions' ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN with audience "sigstore") is exchanged at Fulcio
 * for a short-lived certificate; the signature is logged in Rekor (and timestamped by a TSA when
 * one is named). @sigstore/sign does the protocol; signet chooses the services and the token.
 * The token goes only to Fulcio (and the Actions token only to its own request URL).
 */
import { bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder, FulcioSigner, MessageSignatureBundleBuilder, RekorWitness, TSAWitness, type IdentityProvider, type Witness } from '@sigstore/sign';
import { SignetError } from '../../core/errors.ts';

export interface KeylessServices {
  fulcioUrl: string;
  rekorUrl: string;
  timestampUrl?: string;
}

export const PUBLIC_GOOD = { fulcioUrl: 'https://fulcio.sigstore.dev', rekorUrl: 'https://rekor.sigstore.dev' };

function origin(url: string, flag: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && !/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(parsed.hostname))
      throw new Error('must be https (plain http only to loopback)');
    return parsed.toString().replace(/\/$/, '');
  } catch (error) {
    throw new SignetError('USAGE', `${flag} ${url}: ${(error as Error).message}`);
  }
}

export function keylessServices(values: { 'fulcio-url'?: unknown; 'rekor-url'?: unknown; 'timestamp-server-url'?: unknown }): KeylessServices {
  return {
    fulcioUrl: origin(typeof values['fulcio-url'] === 'string' ? values['fulcio-url'] : PUBLIC_GOOD.fulcioUrl, '--fulcio-url'),
    rekorUrl: origin(typeof values['rekor-url'] === 'string' ? values['rekor-url'] : PUBLIC_GOOD.rekorUrl, '--rekor-url'),
    ...(typeof values['timestamp-server-url'] === 'string' ? { timestampUrl: origin(values['timestamp-server-url'], '--timestamp-server-url') } : {}),
  };
}

/** SIGSTORE_ID_TOKEN, else GitHub Actions' token endpoint; else a clear error. */
export function identityProvider(env: NodeJS.ProcessEnv): IdentityProvider {
  return {
    getToken: async () => {
      if (env.SIGSTORE_ID_TOKEN) return env.SIGSTORE_ID_TOKEN;
      const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
      const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
      if (url && bearer) {
        const request = new URL(url);
        request.searchParams.set('audience', 'sigstore');
        let response: Response;
        try {
          response = await fetch(request, { headers: { authorization: `bearer ${bearer}`, accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
        } catch (error) {
          throw new SignetError('CONFIG_INVALID', `cannot reach the GitHub Actions token endpoint: ${(error as Error).message}`);
        }
        const body = (await response.json().catch(() => ({}))) as { value?: unknown };
        if (!response.ok || typeof body.value !== 'string')
          throw new SignetError(
            'CONFIG_INVALID',
            `the GitHub Actions token endpoint answered HTTP ${response.status} without a token (does the job have permissions: id-token: write?)`,
          );
        return body.value;
      }
      throw new SignetError(
        'CONFIG_INVALID',
        'keyless signing needs an OIDC identity token: set SIGSTORE_ID_TOKEN, or run in GitHub Actions with permissions: id-token: write',
      );
    },
  };
}

function builderParts(services: KeylessServices, env: NodeJS.ProcessEnv): { signer: FulcioSigner; witnesses: Witness[] } {
  const signer = new FulcioSigner({ fulcioBaseURL: services.fulcioUrl, identityProvider: identityProvider(env), timeout: 30_000, retry: 2 });
  // DSSE envelopes are logged as intoto v0.0.2 entries: every Rekor version accepts them and
  // cosign 2 and 3 and @sigstore/verify read them (and the local test log, which keeps proposed
  // entries as they are sent, stores them in the canonical form; it cannot do so for dsse).
  const witnesses: Witness[] = [new RekorWitness({ rekorBaseURL: services.rekorUrl, entryType: 'intoto', timeout: 30_000, retry: 2 })];
  if (services.timestampUrl) witnesses.push(new TSAWitness({ tsaBaseURL: services.timestampUrl, timeout: 30_000, retry: 2 }));
  return { signer, witnesses };
}

function explain(error: unknown): never {
  if (error instanceof SignetError) throw error;
  const cause = (error as { cause?: Error }).cause;
  if (cause instanceof SignetError) throw cause;
  throw new SignetError('CONFIG_INVALID', `keyless signing failed: ${(error as Error).message}${cause?.message ? ` (${cause.message})` : ''}`);
}

/** A message-signature bundle over the artifact's bytes (what cosign sign-blob --bundle writes). */
export async function signBlobKeyless(data: Buffer, services: KeylessServices, env: NodeJS.ProcessEnv): Promise<unknown> {
  try {
    const bundle = await new MessageSignatureBundleBuilder(builderParts(services, env)).create({ data });
    return bundleToJSON(bundle);
  } catch (error) {
    explain(error);
  }
}

/** A DSSE bundle over a payload (in-toto statements: image signatures and attestations). */
export async function signDsseKeyless(payload: Buffer, payloadType: string, services: KeylessServices, env: NodeJS.ProcessEnv): Promise<unknown> {
  try {
    const bundle = await new DSSEBundleBuilder(builderParts(services, env)).create({ data: payload, type: payloadType });
    return bundleToJSON(bundle);
  } catch (error) {
    explain(error);
  }
}

/** What keyless signing needs: the services and where the OIDC token comes from. */
export interface KeylessSigning {
  services: KeylessServices;
  env: NodeJS.ProcessEnv;
}

export function isKeylessSigning(value: unknown): value is KeylessSigning {
  return typeof value === 'object' && value !== null && 'services' in value && 'env' in value;
}
