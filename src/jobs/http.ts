/**
 * JSON over HTTP for the forge REST calls the jobs make, through an injected fetch (tests
 * point it at a local fake forge). Errors name the call and the status, never the token.
 */
import { SignetError } from '../core/errors.ts';

export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body?: string }) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

export interface JsonResponse {
  status: number;
  data: unknown;
  headers: { get(name: string): string | null };
}

export class JsonClient {
  constructor(private readonly fetch: FetchLike, private readonly baseUrl: string, private readonly headers: Record<string, string>) {}

  async request(method: string, path: string, body?: unknown): Promise<JsonResponse> {
    const url = `${this.baseUrl}${path}`;
    let response: Awaited<ReturnType<FetchLike>>;
    try {
      response = await this.fetch(url, {
        method,
        headers: { accept: 'application/json', ...this.headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (error) {
      throw new SignetError('CONFIG_INVALID', `${method} ${url}: ${(error as Error).message}`);
    }
    const text = await response.text();
    let data: unknown = undefined;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = text;
    }
    if (response.status >= 400) {
      const message = typeof data === 'object' && data && 'message' in data ? String((data as { message: unknown }).message) : text.slice(0, 200);
      throw new SignetError('CONFIG_INVALID', `${method} ${url}: HTTP ${response.status} ${message}`.split('\n')[0]!);
    }
    return { status: response.status, data, headers: response.headers };
  }
}
