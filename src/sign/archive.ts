import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';

export interface TarEntryMatch {
  name: string;
  content: Buffer;
}

const BLOCK = 512;
/** Package metadata files are small; refuse to buffer anything larger. */
const MAX_CONTENT = 4 << 20;

function readString(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? raw.length : end).toString('utf8');
}

function readOctal(block: Buffer, start: number, length: number): number {
  const text = readString(block, start, length).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

/** `path=` records of a pax extended header. */
function paxPath(content: Buffer): string | undefined {
  let offset = 0;
  while (offset < content.length) {
    const space = content.indexOf(0x20, offset);
    if (space < 0) break;
    const length = parseInt(content.subarray(offset, space).toString('ascii'), 10);
    if (!Number.isFinite(length) || length <= 0) break;
    const record = content.subarray(space + 1, offset + length - 1).toString('utf8');
    if (record.startsWith('path=')) return record.slice(5);
    offset += length;
  }
  return undefined;
}

/**
 * Streams a .tar.gz and returns the first regular file whose name `wanted` accepts, stopping as
 * soon as it is read (package metadata sits near the front). Handles ustar prefixes, pax `path`
 * and GNU long names.
 */
export async function findInTarGz(path: string, wanted: (name: string) => boolean): Promise<TarEntryMatch | undefined> {
  const stream = createReadStream(path).pipe(createGunzip());
  let pending: Buffer = Buffer.alloc(0);
  let skip = 0;
  let collect: { name: string; size: number; parts: Buffer[]; got: number; kind: 'file' | 'pax' | 'longname' } | undefined;
  let nextName: string | undefined;
  try {
    for await (const chunk of stream) {
      pending = pending.length === 0 ? (chunk as Buffer) : Buffer.concat([pending, chunk as Buffer]);
      for (;;) {
        if (skip > 0) {
          const n = Math.min(skip, pending.length);
          if (collect) {
            const take = Math.min(n, collect.size - collect.got);
            if (take > 0) collect.parts.push(pending.subarray(0, take));
            collect.got += take;
          }
          pending = pending.subarray(n);
          skip -= n;
          if (skip > 0) break;
          if (collect) {
            const content = Buffer.concat(collect.parts);
            if (collect.kind === 'file') return { name: collect.name, content };
            nextName = collect.kind === 'pax' ? paxPath(content) : readString(content, 0, content.length);
            collect = undefined;
          }
        }
        if (pending.length < BLOCK) break;
        const header = pending.subarray(0, BLOCK);
        pending = pending.subarray(BLOCK);
        if (header.every((byte) => byte === 0)) return undefined;
        const size = readOctal(header, 124, 12);
        const type = String.fromCharCode(header[156] ?? 0);
        const prefix = readString(header, 345, 155);
        const name = nextName ?? (prefix ? `${prefix}/${readString(header, 0, 100)}` : readString(header, 0, 100));
        const padded = Math.ceil(size / BLOCK) * BLOCK;
        if (type === 'x' || type === 'L') {
          if (size > MAX_CONTENT) return undefined;
          collect = { name, size, parts: [], got: 0, kind: type === 'x' ? 'pax' : 'longname' };
        } else {
          nextName = undefined;
          if ((type === '0' || type === '\0') && wanted(name.replace(/^\.\//, '')) && size <= MAX_CONTENT) {
            collect = { name: name.replace(/^\.\//, ''), size, parts: [], got: 0, kind: 'file' };
            if (padded === 0) return { name: collect.name, content: Buffer.alloc(0) };
          }
        }
        skip = padded;
      }
    }
  } catch {
    return undefined; // not gzip, or not tar: the caller treats the file as a generic blob
  } finally {
    stream.destroy();
  }
  return undefined;
}
