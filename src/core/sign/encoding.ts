import { createHash } from 'node:crypto';
import { SignetError } from '../errors.ts';

/** Standard base64 (with padding), as sigstore bundles, DSSE and cosign annotations use it. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Strict base64 decoding: Buffer.from silently drops junk, which would hide corrupt input. */
export function fromBase64(text: string, what: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw new SignetError('SIGNATURE_MALFORMED', `${what} is not valid base64`);
  }
  return Buffer.from(compact, 'base64');
}

export function sha256(bytes: Uint8Array | string): Buffer {
  return createHash('sha256').update(bytes).digest();
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** `sha256:<hex>`, the OCI digest form. */
export function ociDigest(bytes: Uint8Array | string): string {
  return `sha256:${sha256Hex(bytes)}`;
}

export interface PemBlock {
  label: string;
  body: Buffer;
}

/** The first PEM block in `text`, or one with the given label. */
export function decodePem(text: string, what: string, label?: string): PemBlock {
  const pattern = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
  for (const match of text.matchAll(pattern)) {
    const found = match[1] ?? '';
    if (label === undefined || found === label) {
      // Headers such as `Proc-Type:` are not used by the formats read here.
      return { label: found, body: fromBase64(match[2] ?? '', what) };
    }
  }
  throw new SignetError('KEYRING_INVALID', `${what} holds no PEM block${label ? ` '${label}'` : ''}`);
}

export function encodePem(label: string, body: Uint8Array): string {
  const lines = toBase64(body).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** JSON.parse that turns a syntax error into a one-line SignetError naming the input. */
export function parseJson(text: string | Uint8Array, what: string): unknown {
  const source = typeof text === 'string' ? text : Buffer.from(text).toString('utf8');
  try {
    return JSON.parse(source) as unknown;
  } catch {
    throw new SignetError('SIGNATURE_MALFORMED', `${what} is not valid JSON`);
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
