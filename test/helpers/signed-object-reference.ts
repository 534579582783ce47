// The commit and tag parser as it was before it was rewritten for speed (2026-12), kept as the
// oracle the rewritten one is property-tested against (test/unit/signed/signed-object-oracle.test.ts).
import { Buffer } from 'node:buffer';
import { SignetError } from '../../src/core/errors.ts';

/**
 * Splits raw commit and tag objects into the exact bytes their signature covers and the
 * signature itself, the way git does (commit.c parse_buffer_signed_by_header,
 * gpg-interface.c parse_signed_buffer). Works on bytes, never on decoded text: a CRLF or
 * latin-1 message must reach the verifier unchanged.
 */
export type ObjectHash = 'sha1' | 'sha256';
export type SignatureKind = 'openpgp' | 'ssh' | 'x509' | 'unknown';

export interface Person {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  time: number;
  timezone: string;
}

export interface ExtractedSignature {
  kind: SignatureKind;
  armored: string;
}

export interface SignedParts {
  payload: Uint8Array;
  /** Absent when the object is unsigned. */
  signature?: ExtractedSignature;
  /** Set when the object carries more than one signature block (an error, never a pick). */
  multipleSignatures?: boolean;
}

export interface ParsedCommit extends SignedParts {
  tree: string;
  parents: string[];
  author?: Person;
  committer?: Person;
  encoding?: string;
  /** Whole tag objects carried by `mergetag` headers (merges of signed tags). */
  mergetags: Uint8Array[];
  message: Uint8Array;
}

export interface ParsedTag extends SignedParts {
  object: string;
  type: string;
  name: string;
  tagger?: Person;
  message: Uint8Array;
}

const LF = 0x0a;
const SPACE = 0x20;
const signatureHeaderFor: Record<ObjectHash, string> = { sha1: 'gpgsig', sha256: 'gpgsig-sha256' };

const armorKinds: Array<[string, Exclude<SignatureKind, 'unknown'>]> = [
  ['-----BEGIN PGP SIGNATURE-----', 'openpgp'],
  ['-----BEGIN PGP MESSAGE-----', 'openpgp'],
  ['-----BEGIN SSH SIGNATURE-----', 'ssh'],
  ['-----BEGIN SIGNED MESSAGE-----', 'x509'],
];

export function signatureKind(armored: string): Exclude<SignatureKind, 'unknown'> | undefined {
  for (const [marker, kind] of armorKinds) if (armored.startsWith(marker)) return kind;
  return undefined;
}

function latin1(bytes: Uint8Array, start = 0, end = bytes.length): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
}

function startsWithAscii(bytes: Uint8Array, at: number, text: string): boolean {
  if (at + text.length > bytes.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

function lineEnd(bytes: Uint8Array, start: number): number {
  const newline = bytes.indexOf(LF, start);
  return newline < 0 ? bytes.length : newline + 1;
}

/** `Name <email> 1700000000 +0100` → Person; tolerant like git's split_ident_line. */
export function parsePerson(value: string): Person | undefined {
  const open = value.indexOf('<');
  const close = value.lastIndexOf('>');
  if (open < 0 || close < open) return undefined;
  const rest = value
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const time = Number(rest[0]);
  return {
    name: value.slice(0, open).trim(),
    email: value.slice(open + 1, close).trim(),
    time: Number.isFinite(time) ? time : 0,
    timezone: rest[1] ?? '+0000',
  };
}

interface Header {
  key: string;
  /** Value with continuation lines joined by '\n' (the leading space of each removed). */
  value: Uint8Array;
  /** Continuation pieces not yet joined into `value` (joined once, at the end). */
  pieces?: Uint8Array[];
  start: number;
  end: number;
}

/** Reads the header block of a commit or tag: key/value lines up to the first empty line. */
function readHeaders(raw: Uint8Array, what: string): { headers: Header[]; bodyStart: number } {
  const headers: Header[] = [];
  const done = (bodyStart: number): { headers: Header[]; bodyStart: number } => {
    for (const header of headers) {
      if (header.pieces) {
        header.value = concat(header.pieces);
        delete header.pieces;
      }
    }
    return { headers, bodyStart };
  };
  let position = 0;
  while (position < raw.length) {
    if (raw[position] === LF) return done(position + 1);
    const end = lineEnd(raw, position);
    if (raw[position] === SPACE) {
      const last = headers[headers.length - 1];
      if (!last) throw new SignetError('OBJECT_MALFORMED', `${what}: continuation line before any header`);
      (last.pieces ??= [last.value]).push(raw.subarray(position + 1, end));
      last.end = end;
    } else {
      const space = raw.indexOf(SPACE, position);
      const keyEnd = space < 0 || space >= end ? (raw[end - 1] === LF ? end - 1 : end) : space;
      headers.push({ key: latin1(raw, position, keyEnd), value: raw.subarray(Math.min(keyEnd + 1, end), end), start: position, end });
    }
    position = end;
  }
  return done(raw.length);
}

function headerText(header: Header | undefined): string {
  if (!header) return '';
  const value = header.value;
  return latin1(value, 0, value.length && value[value.length - 1] === LF ? value.length - 1 : value.length);
}

const utf8Decoder = new TextDecoder('utf-8');
function utf8(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

/**
 * git's parse_buffer_signed_by_header, on bytes: header lines `gpgsig ` (SHA-1) or
 * `gpgsig-sha256 ` (SHA-256) and their continuation lines form the signature; every header
 * starting with `gpgsig` (the other algorithm's signature too) is left out of the payload.
 */
function splitHeaderSignature(raw: Uint8Array, hash: ObjectHash): SignedParts {
  const ownPrefix = `${signatureHeaderFor[hash]} `;
  const payloadParts: Uint8Array[] = [];
  const signatureParts: Uint8Array[] = [];
  let signatureHeaders = 0;
  let inSignature = false;
  let otherSignature = false;
  let position = 0;
  while (position < raw.length) {
    let next = lineEnd(raw, position);
    let signatureStart = -1;
    if (inSignature && raw[position] === SPACE) signatureStart = position + 1;
    else if (startsWithAscii(raw, position, ownPrefix)) {
      signatureStart = position + ownPrefix.length;
      otherSignature = false;
      signatureHeaders++;
    } else if (startsWithAscii(raw, position, 'gpgsig')) otherSignature = true;
    else if (otherSignature && raw[position] !== SPACE) otherSignature = false;
    if (signatureStart >= 0) {
      signatureParts.push(raw.subarray(signatureStart, next));
      inSignature = true;
    } else {
      if (raw[position] === LF) next = raw.length; // the message: take the rest as it is
      if (!otherSignature) payloadParts.push(raw.subarray(position, next));
      inSignature = false;
    }
    position = next;
  }
  if (signatureHeaders === 0) return { payload: raw };
  const armored = latin1(concat(signatureParts));
  return {
    payload: concat(payloadParts),
    signature: { kind: signatureKind(armored) ?? 'unknown', armored },
    multipleSignatures: signatureHeaders > 1 || countArmorBlocks(armored) > 1,
  };
}

/**
 * Signature blocks: BEGIN lines of a kind signet verifies (PGP, SSH, X.509). Other armor, such as
 * an OpenTimestamps proof appended after the signature, is not a second signature: gpg reads the
 * first PGP block and ignores what follows (issue 13).
 */
function countArmorBlocks(armored: string): number {
  return (armored.match(/^-----BEGIN [^\n]*/gm) ?? []).filter((line) => signatureKind(line) !== undefined).length;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function parseCommit(raw: Uint8Array, hash: ObjectHash, what = 'commit'): ParsedCommit {
  const { headers, bodyStart } = readHeaders(raw, what);
  const tree = headers.find((header) => header.key === 'tree');
  if (!tree) throw new SignetError('OBJECT_MALFORMED', `${what}: no tree header`);
  const signed = splitHeaderSignature(raw, hash);
  const encoding = headers.find((header) => header.key === 'encoding');
  return {
    ...signed,
    tree: headerText(tree),
    parents: headers.filter((header) => header.key === 'parent').map(headerText),
    author: parsePerson(utf8(stripNewline(headers.find((header) => header.key === 'author')?.value))),
    committer: parsePerson(utf8(stripNewline(headers.find((header) => header.key === 'committer')?.value))),
    ...(encoding ? { encoding: headerText(encoding) } : {}),
    mergetags: headers.filter((header) => header.key === 'mergetag').map((header) => header.value),
    message: raw.subarray(bodyStart),
  };
}

function stripNewline(value: Uint8Array | undefined): Uint8Array {
  if (!value) return new Uint8Array();
  return value.length && value[value.length - 1] === LF ? value.subarray(0, value.length - 1) : value;
}

/** A tag's signature trails its message: the last line that opens a signature block starts it. */
export function parseTag(raw: Uint8Array, hash: ObjectHash, what = 'tag'): ParsedTag {
  const { headers, bodyStart } = readHeaders(raw, what);
  const object = headers.find((header) => header.key === 'object');
  if (!object) throw new SignetError('OBJECT_MALFORMED', `${what}: no object header`);
  let signatureStart = -1;
  let blocks = 0;
  // git scans every line of the object (gpg-interface.c parse_signed_buffer); so do we.
  for (let position = 0; position < raw.length; position = lineEnd(raw, position)) {
    if (armorKinds.some(([marker]) => startsWithAscii(raw, position, marker))) {
      signatureStart = position;
      blocks++;
    }
  }
  const base = {
    object: headerText(object),
    type: headerText(headers.find((header) => header.key === 'type')),
    name: utf8(stripNewline(headers.find((header) => header.key === 'tag')?.value)),
    tagger: parsePerson(utf8(stripNewline(headers.find((header) => header.key === 'tagger')?.value))),
  };
  // A tag is signed at its end only. A signature header (gpgsig, gpgsig-sha256) is the other
  // hash's signature that git adds for interoperability and never verifies (tag.c
  // run_gpg_verify: parse_signature, the trailing block): a tag with only a header is unsigned,
  // as git verify-tag says ("no signature found"), never G on a signature git does not check.
  if (signatureStart < 0) return { ...base, payload: raw, message: raw.subarray(bodyStart) };
  const armored = latin1(raw, signatureStart);
  return {
    ...base,
    payload: raw.subarray(0, signatureStart),
    signature: { kind: signatureKind(armored) ?? 'unknown', armored },
    multipleSignatures: blocks > 1,
    message: raw.subarray(bodyStart, signatureStart),
  };
}

/** Only what walking history needs: parents and the committer time, read from the headers. */
export function readCommitLinks(raw: Uint8Array, what = 'commit'): { parents: string[]; time: number } {
  const parents: string[] = [];
  let time = 0;
  let position = 0;
  while (position < raw.length && raw[position] !== LF) {
    const end = lineEnd(raw, position);
    if (startsWithAscii(raw, position, 'parent ')) parents.push(latin1(raw, position + 7, raw[end - 1] === LF ? end - 1 : end));
    else if (startsWithAscii(raw, position, 'committer ')) {
      const line = latin1(raw, position + 10, end);
      const match = />\s*(\d+)\s*[+-]?\d*\s*$/.exec(line);
      time = match ? Number(match[1]) : 0;
      break; // committer follows all parent lines
    }
    position = end;
  }
  if (position === 0 && !startsWithAscii(raw, 0, 'tree ')) throw new SignetError('OBJECT_MALFORMED', `${what}: not a commit`);
  return { parents, time };
}

/** First line of the message, decoded with the commit's encoding (default UTF-8). */
export function subjectOf(message: Uint8Array, encoding?: string): string {
  let end = message.indexOf(LF);
  if (end < 0) end = message.length;
  const line = message.subarray(0, end);
  let text: string;
  try {
    text = encoding === undefined ? utf8(line) : new TextDecoder(encoding).decode(line);
  } catch {
    text = latin1(line);
  }
  return text.replace(/\r$/, '');
}
