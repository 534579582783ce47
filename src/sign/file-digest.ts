import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { SignetError } from '../core/errors.ts';
import type { DigestAlgorithm } from '../core/sign/signer.ts';
import { createProgress } from './progress.ts';

export interface FileDigest {
  digest: Buffer;
  size: number;
}

export interface DigestOptions {
  /** Where a progress meter goes when it is a TTY. */
  progressTo?: NodeJS.WritableStream & { isTTY?: boolean };
  label?: string;
  /** What the path `-` reads (cosign's convention for standard input). */
  stdin?: NodeJS.ReadableStream;
}

/** Chunk size: large enough that per-chunk overhead vanishes, small enough to keep memory flat. */
const CHUNK = 1 << 20;

/** Hashes a file in constant memory, one pass. */
export async function digestFile(path: string, algorithm: DigestAlgorithm, options: DigestOptions = {}): Promise<FileDigest> {
  if (path === '-' && options.stdin) {
    const hash = createHash(algorithm);
    let read = 0;
    for await (const chunk of options.stdin) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      hash.update(bytes);
      read += bytes.length;
    }
    return { digest: hash.digest(), size: read };
  }
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new SignetError('USAGE', `${path} is not a regular file`);
    size = info.size;
  } catch (error) {
    if (error instanceof SignetError) throw error;
    throw new SignetError('USAGE', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const progress = options.progressTo ? createProgress(options.progressTo, options.label ?? path, size) : undefined;
  const hash = createHash(algorithm);
  let read = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) {
    hash.update(chunk as Buffer);
    read += (chunk as Buffer).length;
    progress?.advance((chunk as Buffer).length);
  }
  progress?.done();
  return { digest: hash.digest(), size: read };
}
