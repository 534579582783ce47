/**
 * The admission webhook's HTTPS server: `POST /validate` and `POST /mutate` take an
 * AdmissionReview and always answer one (the `uid` echoed); `GET /healthz` for probes. Bodies
 * are capped before they are buffered, and every review runs inside a time budget shorter than
 * the API server's time-out, so the answer is signet's own — a denial that says why — and not
 * the API server's failurePolicy.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { parseAdmissionReview, admissionResponse, type AdmissionRequest } from '../core/admission/review.ts';
import { ImageFacts, type ImageFactsOptions } from './image-facts.ts';
import type { LoadedAdmissionPolicy } from './load-policy.ts';
import { reviewAdmission, type ReviewKind } from './review.ts';

/** The API server sends objects of at most ~3 MiB (etcd's limit); anything larger is not a review. */
export const MAX_REVIEW_BYTES = 4 * 1024 * 1024;

export interface AdmissionServerOptions extends ImageFactsOptions {
  cert: Buffer;
  key: Buffer;
  log: Logger;
}

class BodyTooLarge extends Error {}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > MAX_REVIEW_BYTES) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REVIEW_BYTES) {
        request.pause();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    connection: status === 413 ? 'close' : 'keep-alive',
  });
  response.end(text);
}

export class AdmissionService {
  facts: ImageFacts;

  constructor(
    private loaded: LoadedAdmissionPolicy,
    private readonly options: ImageFactsOptions & { log: Logger },
  ) {
    this.facts = new ImageFacts(loaded, options);
  }

  /** A new policy: every cached digest and verdict is dropped with the old one. */
  reload(loaded: LoadedAdmissionPolicy): void {
    this.loaded = loaded;
    this.facts = new ImageFacts(loaded, this.options);
  }

  get policyHash(): string {
    return this.loaded.hash;
  }

  /** One review body in, one AdmissionReview out (status 200), or a 400 when it is not a review. */
  async handle(kind: ReviewKind, body: Buffer): Promise<{ status: number; body: unknown }> {
    let request: AdmissionRequest;
    try {
      request = parseAdmissionReview(JSON.parse(body.toString('utf8')) as unknown);
    } catch (error) {
      return { status: 400, body: `not an AdmissionReview: ${(error as Error).message}\n` };
    }
    const budget = this.loaded.policy.reviewBudgetMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), budget);
    });
    const started = performance.now();
    const review = reviewAdmission(kind, request, this.loaded, this.facts).catch((error: unknown) => ({
      verdict: {
        allowed: false,
        message: `signet: denied ${request.kind.kind} ${request.namespace}/${request.name}: internal error while verifying (${(error as Error).message})`,
      },
      decisions: [],
    }));
    const outcome = await Promise.race([review, timedOut]).finally(() => clearTimeout(timer));
    const verdict =
      outcome === 'timeout'
        ? {
            allowed: false,
            message: `signet: denied ${request.kind.kind} ${request.namespace}/${request.name}: image verification did not finish within ${budget} ms (registry slow or unreachable)`,
          }
        : outcome.verdict;
    this.options.log.info(
      {
        event: 'admission',
        kind,
        uid: request.uid,
        operation: request.operation,
        resource: request.kind.kind,
        namespace: request.namespace,
        name: request.name,
        dryRun: request.dryRun,
        allowed: verdict.allowed,
        ms: Math.round(performance.now() - started),
        images:
          outcome === 'timeout'
            ? undefined
            : outcome.decisions.map((decision) => ({ image: decision.image, digest: decision.digest, allowed: decision.allowed })),
      },
      verdict.allowed ? 'admitted' : 'denied',
    );
    return { status: 200, body: admissionResponse(request.uid, verdict) };
  }

  async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && (path === '/healthz' || path === '/readyz')) return send(response, 200, 'ok\n');
    if (path !== '/validate' && path !== '/mutate') return send(response, 404, 'not found\n');
    if (request.method !== 'POST') return send(response, 405, 'POST an AdmissionReview\n');
    let body: Buffer;
    try {
      body = await readBody(request);
    } catch (error) {
      if (error instanceof BodyTooLarge) return send(response, 413, `an AdmissionReview is at most ${MAX_REVIEW_BYTES} bytes\n`);
      return send(response, 400, 'unreadable body\n');
    }
    const answer = await this.handle(path === '/mutate' ? 'mutate' : 'validate', body);
    send(response, answer.status, answer.body);
  }
}

/** Starts the HTTPS server; resolves once it listens. */
export async function startAdmissionServer(
  loaded: LoadedAdmissionPolicy,
  options: AdmissionServerOptions,
  host: string,
  port: number,
): Promise<{ server: Server; service: AdmissionService; port: number }> {
  const service = new AdmissionService(loaded, options);
  const server = createServer({ cert: options.cert, key: options.key, minVersion: 'TLSv1.2' }, (request, response) => {
    service.route(request, response).catch((error: unknown) => {
      options.log.error({ err: (error as Error).message }, 'admission request failed');
      if (!response.headersSent) send(response, 500, 'internal error\n');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return { server, service, port: typeof address === 'object' && address ? address.port : port };
}
