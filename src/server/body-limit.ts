/**
 * Webhook bodies are bounded before anyone buffers them (issue 12). Probot's webhook
 * middleware reads the whole body before it checks the signature, so an unauthenticated
 * client could make the app hold any amount of data. In front of every request listener of
 * the HTTP server, a POST to a webhook path must declare its length (GitHub and GitLab always
 * send Content-Length) and declare at most the limit (25 MiB, GitHub's own cap); node's HTTP
 * parser then delivers no more than the declared bytes. Everything else is refused at once,
 * with the connection closed, without reading the body.
 */
import type { IncomingHttpHeaders, IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';

export const WEBHOOK_BODY_LIMIT = 25 * 1024 * 1024;

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Why a webhook body is refused before reading it (status and one line), or undefined. */
export function bodyRefusal(headers: IncomingHttpHeaders, limit: number): { status: number; error: string } | undefined {
  if (headers['transfer-encoding'] !== undefined) return { status: 411, error: 'a webhook body must be sent with Content-Length, not chunked' };
  const declared = headers['content-length'];
  if (declared === undefined) return { status: 411, error: 'a webhook body must be sent with Content-Length' };
  if (!/^\d{1,15}$/.test(declared)) return { status: 400, error: 'Content-Length is not a number' };
  if (Number(declared) > limit) return { status: 413, error: `payload too large: ${declared} bytes, the limit is ${limit}` };
  return undefined;
}

export function limitWebhookBodies(http: HttpServer, paths: string[], limit = WEBHOOK_BODY_LIMIT): void {
  const listeners = http.listeners('request') as RequestListener[];
  http.removeAllListeners('request');
  http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const refusal = req.method === 'POST' && paths.includes(path) ? bodyRefusal(req.headers, limit) : undefined;
    if (refusal) {
      res.writeHead(refusal.status, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ error: refusal.error }));
      // Do not read what the client keeps sending: close once the answer is out.
      res.once('finish', () => req.destroy());
      return;
    }
    for (const listener of listeners) listener.call(http, req, res);
  });
}
