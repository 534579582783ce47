/**
 * Probot's webhook middleware answers a handler's error with the error's `status` but sets no
 * headers: a 503 on a webhook path (an outage, src/forge/webhook-answer.ts) gets Retry-After here.
 */
import type { IncomingMessage, OutgoingHttpHeaders, Server as HttpServer, ServerResponse } from 'node:http';
import { RETRY_AFTER_SECONDS } from '../forge/webhook-answer.ts';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export function retryAfterOnOutage(http: HttpServer, paths: string[]): void {
  const listeners = http.listeners('request') as RequestListener[];
  http.removeAllListeners('request');
  http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (paths.includes((req.url ?? '').split('?')[0] ?? '')) {
      const writeHead = res.writeHead.bind(res) as (status: number, headers?: OutgoingHttpHeaders) => ServerResponse;
      res.writeHead = ((status: number, headers?: OutgoingHttpHeaders) => {
        if (status === 503 && !res.hasHeader('retry-after') && !(headers && 'retry-after' in headers))
          res.setHeader('retry-after', String(RETRY_AFTER_SECONDS));
        return writeHead(status, headers);
      }) as ServerResponse['writeHead'];
    }
    for (const listener of listeners) listener.call(http, req, res);
  });
}
