/**
 * A private Sigstore on 127.0.0.1 for keyless tests: @sigstore/mock's Fulcio CA (no CT log),
 * Rekor log and timestamp authority, their handlers mounted on a node:http server, and the
 * trusted_root.json that trusts exactly them. OIDC tokens are unsigned JWTs: the mock Fulcio
 * reads the claims without checking a signature, as a test CA may.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { fulcioHandler, initializeCA, initializeTLog, initializeTSA, rekorHandler, tsaHandler } from '@sigstore/mock';

export interface SigstoreServices {
  url: string;
  /** trusted_root.json (protobuf-specs JSON) trusting this CA, log, CT log and TSA. */
  trustedRoot: Record<string, unknown>;
  /** An OIDC identity token with these claims (iss, sub, email…). */
  token(claims: Record<string, unknown>): string;
  stop(): Promise<void>;
}

/** A fresh P-256 key pair, the one kind the mock CA, log and TSA sign with. */
export const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const b64 = (bytes: Buffer) => bytes.toString('base64');

/**
 * trusted_root.json (protobuf-specs JSON) for a mock Sigstore: its Rekor log (SPKI DER key),
 * Fulcio root and, when given, TSA chain; no CT log, so signet requires no SCT. The one builder
 * for the artifact services below and the commit signer (test/helpers/sigstore-local.ts).
 */
export function mockTrustedRoot(parts: {
  logUrl: string;
  logKey: Buffer;
  caUrl: string;
  caRoot: Buffer;
  tsaChain?: Buffer[];
  start: string;
}): Record<string, unknown> {
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: parts.logUrl,
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: b64(parts.logKey), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: parts.start } },
        logId: { keyId: b64(createHash('sha256').update(parts.logKey).digest()) },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: parts.caUrl,
        certChain: { certificates: [{ rawBytes: b64(parts.caRoot) }] },
        validFor: { start: parts.start },
      },
    ],
    ctlogs: [],
    timestampAuthorities: parts.tsaChain
      ? [
          {
            subject: { organization: 'sigstore.mock', commonName: 'tsa' },
            uri: parts.caUrl,
            certChain: { certificates: parts.tsaChain.map((certificate) => ({ rawBytes: b64(certificate) })) },
            validFor: { start: parts.start },
          },
        ]
      : [],
  };
}

export async function startSigstoreServices(options: { caClock?: Date; logClock?: Date } = {}): Promise<SigstoreServices> {
  // No CT log: @sigstore/mock 0.11's embedded SCTs do not parse with @sigstore/core 3 ("request
  // past end of buffer"), so this private Sigstore runs without certificate transparency and the
  // trusted root lists no CT log (signet then requires no SCT, as for any such private instance).
  const ca = await initializeCA(ec(), undefined, options.caClock);
  // The mock TSA writes genTime through pkijs, which drops trailing zeros of the milliseconds
  // ("…05.12Z"); @sigstore/core 3 reads exactly three digits and calls anything else an invalid
  // time, so about one timestamp in ten failed. A fixed clock with three non-zero digits, a minute
  // ahead (inside the certificates' ten minutes, after they are issued), keeps it readable.
  const tsa = await initializeTSA(ec(), new Date(Math.floor(Date.now() / 1000) * 1000 + 60_000 + 123));
  let base = '';
  const handlers = new Map<string, (body: string) => Promise<{ statusCode: number; response: string | Buffer; contentType?: string }>>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const handler = handlers.get((request.url ?? '').split('?')[0] ?? '');
      if (!handler || request.method !== 'POST') {
        response.writeHead(404).end();
        return;
      }
      const body = Buffer.concat(chunks);
      handler(request.url?.startsWith('/api/v1/timestamp') ? (body as unknown as string) : body.toString('utf8')).then(
        (result) => {
          response.writeHead(result.statusCode, { 'content-type': result.contentType ?? 'application/json' }).end(result.response);
        },
        (error: unknown) => response.writeHead(500).end(String(error)),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const tlog = await initializeTLog(base, ec(), options.logClock);
  for (const handler of [fulcioHandler(ca), rekorHandler(tlog), tsaHandler(tsa)]) handlers.set(handler.path, handler.fn);
  const start = new Date(Date.now() - 365 * 86_400_000).toISOString();
  const trustedRoot = mockTrustedRoot({
    logUrl: base,
    logKey: tlog.publicKey,
    caUrl: base,
    caRoot: ca.rootCertificate,
    tsaChain: [tsa.intCertificate, tsa.rootCertificate],
    start,
  });
  return {
    url: base,
    trustedRoot,
    token: (claims) => {
      const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      return `${part({ alg: 'none', typ: 'JWT' })}.${part({ aud: 'sigstore', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600, ...claims })}.`;
    },
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
