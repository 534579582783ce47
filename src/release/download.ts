/**
 * A release asset from the forge to a file, with a byte budget enforced while it streams: the
 * transfer is cut as soon as the budget is passed (an endless asset stops at its cap, disk use
 * bounded by the cap) and a partial file is removed. Memory stays flat in the asset's size.
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { formatBytes } from './limits.ts';

/** The asset is larger than what is left of its budget; `code` is what callers branch on. */
export class ReleaseLimitError extends Error {
  readonly code = 'RELEASE_ASSET_TOO_LARGE';
  constructor(message: string) {
    super(message);
    this.name = 'ReleaseLimitError';
  }
}

/** An asset's body as the forge sends it, with the length it declares when it does. */
export interface AssetStream {
  body: WebReadableStream<Uint8Array> | Readable;
  length?: number;
}

/**
 * Writes `stream` to `path`, at most `maxBytes`; returns the bytes written. `why` says which cap
 * `maxBytes` is ("the per-asset cap of 2 GiB") for the line in the answer. `counted` sees every
 * byte received, also of a transfer that fails, so a run's budget counts what it cost.
 */
export async function saveCapped(stream: AssetStream, path: string, maxBytes: number, why: () => string, counted: { bytes: number } = { bytes: 0 }): Promise<number> {
  const body = stream.body instanceof Readable ? stream.body : Readable.fromWeb(stream.body);
  if (stream.length !== undefined && stream.length > maxBytes) {
    body.destroy();
    throw new ReleaseLimitError(`${formatBytes(stream.length)} is over ${why()}`);
  }
  let written = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      written += chunk.length;
      counted.bytes += chunk.length;
      if (written > maxBytes) done(new ReleaseLimitError(`more than ${why()}: the download was stopped there`));
      else done(null, chunk);
    },
  });
  try {
    await pipeline(body, counter, createWriteStream(path));
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
  return written;
}
