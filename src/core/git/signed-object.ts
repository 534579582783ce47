import { Buffer } from 'node:buffer';
import { SignetError } from '../errors.ts';

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
  for (let index = 0; index < armorKinds.length; index++) if (armored.startsWith(armorKinds[index]![0])) return armorKinds[index]![1];
  return undefined;
}

/**
 * A plain Uint8Array view of the same bytes (no copy). The parser works on these: their
 * indexOf and subarray are V8 built-ins, where Buffer's go through several JavaScript frames
 * each (measured: a third of the cost of splitting a commit into lines in a cold process).
 */
function plain(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Buffer's native latin-1 decoder, called on any Uint8Array (TextDecoder's 'latin1' is windows-1252). */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice?: (this: Uint8Array, start: number, end: number) => string }).latin1Slice;

function latin1(bytes: Uint8Array, start = 0, end = bytes.length): string {
  if (latin1Slice) return latin1Slice.call(bytes, start, end);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1', start, end);
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

/**
 * One header: its key, where its value starts, and where it ends (continuation lines
 * included). The value with continuation lines joined is built only when asked for.
 */
interface Header {
  key: string;
  /** Where the header's first line starts. */
  start: number;
  valueStart: number;
  /** End of the header's first line. */
  firstEnd: number;
  /** End of its last continuation line. */
  end: number;
}

const KNOWN_KEYS = ['tree', 'parent', 'author', 'committer', 'encoding', 'mergetag', 'object', 'type', 'tag', 'tagger'];

/** The key as a string; the usual ones without decoding (this runs for every header of every commit). */
function keyText(raw: Uint8Array, start: number, end: number): string {
  const length = end - start;
  // First byte and length pick the one candidate; the usual keys then cost one comparison.
  const first = raw[start];
  // Indexed, not for…of: in a cold process each for…of step allocates an iterator result.
  for (let index = 0; index < KNOWN_KEYS.length; index++) {
    const key = KNOWN_KEYS[index]!;
    if (key.length === length && key.charCodeAt(0) === first && startsWithAscii(raw, start, key)) return key;
  }
  return latin1(raw, start, end);
}

/**
 * Reads the header block of a commit or tag: key/value lines up to the first empty line
 * (`blank`: where that line is, -1 when there is none).
 */
function readHeaders(raw: Uint8Array, what: string): { headers: Header[]; bodyStart: number; blank: number } {
  const headers: Header[] = [];
  let position = 0;
  while (position < raw.length) {
    if (raw[position] === LF) return { headers, bodyStart: position + 1, blank: position };
    const end = lineEnd(raw, position);
    if (raw[position] === SPACE) {
      const last = headers[headers.length - 1];
      if (!last) throw new SignetError('OBJECT_MALFORMED', `${what}: continuation line before any header`);
      last.end = end;
    } else {
      const space = raw.indexOf(SPACE, position);
      const keyEnd = space < 0 || space >= end ? (raw[end - 1] === LF ? end - 1 : end) : space;
      headers.push({ key: keyText(raw, position, keyEnd), start: position, valueStart: Math.min(keyEnd + 1, end), firstEnd: end, end });
    }
    position = end;
  }
  return { headers, bodyStart: raw.length, blank: -1 };
}

/** The value with continuation lines joined by '\n' (the leading space of each removed). */
function headerValue(raw: Uint8Array, header: Header): Uint8Array {
  if (header.end === header.firstEnd) return raw.subarray(header.valueStart, header.end);
  const pieces: Uint8Array[] = [raw.subarray(header.valueStart, header.firstEnd)];
  for (let position = header.firstEnd; position < header.end;) {
    const end = lineEnd(raw, position);
    pieces.push(raw.subarray(position + 1, end));
    position = end;
  }
  return concat(pieces);
}

function find(headers: Header[], key: string): Header | undefined {
  for (let index = 0; index < headers.length; index++) if (headers[index]!.key === key) return headers[index];
  return undefined;
}

function headerText(raw: Uint8Array, header: Header | undefined): string {
  if (!header) return '';
  const value = headerValue(raw, header);
  return latin1(value, 0, value.length && value[value.length - 1] === LF ? value.length - 1 : value.length);
}

function personOf(raw: Uint8Array, header: Header | undefined): Person | undefined {
  return parsePerson(utf8(stripNewline(header ? headerValue(raw, header) : undefined)));
}

const utf8Decoder = new TextDecoder('utf-8');
function utf8(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

/** Byte ranges [start, end) of an object, adjacent ones merged. */
class Ranges {
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  add(start: number, end: number): void {
    const last = this.ends.length - 1;
    if (last >= 0 && this.ends[last] === start) this.ends[last] = end;
    else {
      this.starts.push(start);
      this.ends.push(end);
    }
  }
  bytes(raw: Uint8Array): Uint8Array {
    if (this.starts.length === 1) return raw.subarray(this.starts[0], this.ends[0]);
    return concat(this.starts.map((start, index) => raw.subarray(start, this.ends[index])));
  }
}

/**
 * git's parse_buffer_signed_by_header, on bytes, from the headers already read: header lines
 * `gpgsig ` (SHA-1) or `gpgsig-sha256 ` (SHA-256) and their continuation lines form the
 * signature; every header starting with `gpgsig` (the other algorithm's signature too) is left
 * out of the payload; the empty line and the message are payload as they are.
 */
function splitHeaderSignature(raw: Uint8Array, headers: Header[], blank: number, hash: ObjectHash): SignedParts {
  const own = signatureHeaderFor[hash];
  const isOwn = (header: Header): boolean => header.key === own && raw[header.start + own.length] === SPACE;
  // Unsigned (no header of this repository's signature): the payload is the whole object.
  let signatureHeaders = 0;
  for (let index = 0; index < headers.length; index++) if (isOwn(headers[index]!)) signatureHeaders++;
  if (signatureHeaders === 0) return { payload: raw };
  const payload = new Ranges();
  const signature = new Ranges();
  for (let index = 0; index < headers.length; index++) {
    const header = headers[index]!;
    if (isOwn(header)) {
      signature.add(header.start + own.length + 1, header.firstEnd);
      for (let position = header.firstEnd; position < header.end;) {
        const end = lineEnd(raw, position);
        signature.add(position + 1, end);
        position = end;
      }
    } else if (!header.key.startsWith('gpgsig')) {
      payload.add(header.start, header.end);
    }
  }
  if (blank >= 0) payload.add(blank, raw.length);
  const armored = armoredText(raw, signature);
  return {
    payload: payload.bytes(raw),
    signature: { kind: signatureKind(armored) ?? 'unknown', armored },
    multipleSignatures: signatureHeaders > 1 || countArmorBlocks(armored) > 1,
  };
}

/** The signature's lines, decoded as latin-1. */
function armoredText(raw: Uint8Array, signature: Ranges): string {
  let text = '';
  for (let index = 0; index < signature.starts.length; index++) text += latin1(raw, signature.starts[index], signature.ends[index]);
  return text;
}

/**
 * How many signature blocks (PGP, SSH, X.509 armor) the header holds. Other armored blocks do
 * not count: OpenTimestamps appends `-----BEGIN OPENTIMESTAMPS GIT TIMESTAMP-----` after the
 * PGP signature, and gpg checks the first PGP block and skips text that is not PGP armor.
 * Only a second *signature* makes the object ambiguous.
 */
function countArmorBlocks(armored: string): number {
  // Two blocks need a second BEGIN line; without one, no pattern match is needed.
  if (armored.indexOf('-----BEGIN ', 1) < 0) return signatureKind(armored) ? 1 : 0;
  let blocks = 0;
  for (const match of armored.matchAll(/^-----BEGIN [^\n]*/gm)) if (signatureKind(match[0])) blocks++;
  return blocks;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (let index = 0; index < parts.length; index++) length += parts[index]!.length;
  // Every byte is written below: no need for zeroed memory, and small ones come from Buffer's pool.
  const out = plain(Buffer.allocUnsafe(length));
  let offset = 0;
  for (let index = 0; index < parts.length; index++) {
    out.set(parts[index]!, offset);
    offset += parts[index]!.length;
  }
  return out;
}

export function parseCommit(object: Uint8Array, hash: ObjectHash, what = 'commit'): ParsedCommit {
  const raw = plain(object);
  const { headers, bodyStart, blank } = readHeaders(raw, what);
  const tree = find(headers, 'tree');
  if (!tree) throw new SignetError('OBJECT_MALFORMED', `${what}: no tree header`);
  const signed = splitHeaderSignature(raw, headers, blank, hash);
  const parents: string[] = [];
  const mergetags: Uint8Array[] = [];
  for (let index = 0; index < headers.length; index++) {
    const header = headers[index]!;
    if (header.key === 'parent') parents.push(headerText(raw, header));
    else if (header.key === 'mergetag') mergetags.push(headerValue(raw, header));
  }
  // Built field by field, not with spreads: this runs once per commit of every range.
  const commit: ParsedCommit = {
    payload: signed.payload,
    tree: headerText(raw, tree),
    parents,
    author: personOf(raw, find(headers, 'author')),
    committer: personOf(raw, find(headers, 'committer')),
    mergetags,
    message: raw.subarray(bodyStart),
  };
  if (signed.signature) commit.signature = signed.signature;
  if (signed.multipleSignatures !== undefined) commit.multipleSignatures = signed.multipleSignatures;
  const encoding = find(headers, 'encoding');
  if (encoding) commit.encoding = headerText(raw, encoding);
  return commit;
}

function headerValueOf(raw: Uint8Array, header: Header | undefined): Uint8Array | undefined {
  return header ? headerValue(raw, header) : undefined;
}

function stripNewline(value: Uint8Array | undefined): Uint8Array {
  if (!value) return new Uint8Array();
  return value.length && value[value.length - 1] === LF ? value.subarray(0, value.length - 1) : value;
}

/** A tag's signature trails its message: the last line that opens a signature block starts it. */
export function parseTag(tagObject: Uint8Array, hash: ObjectHash, what = 'tag'): ParsedTag {
  const raw = plain(tagObject);
  const { headers, bodyStart, blank } = readHeaders(raw, what);
  const object = find(headers, 'object');
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
    object: headerText(raw, object),
    type: headerText(raw, find(headers, 'type')),
    name: utf8(stripNewline(headerValueOf(raw, find(headers, 'tag')))),
    tagger: personOf(raw, find(headers, 'tagger')),
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
export function readCommitLinks(object: Uint8Array, what = 'commit'): { parents: string[]; time: number } {
  const raw = plain(object);
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

/**
 * Whether git will check this object's signature at all: gpg-interface.c's
 * parse_payload_metadata looks in the signed payload for the first `committer ` (tags:
 * `tagger `) header line and needs a `<` and then a `>` in it (split_ident_line); without them
 * %G? is N, nothing verified. git reads the payload as a C string: a NUL ends the search.
 */
export function hasSignerIdentity(signed: Uint8Array, header: 'committer' | 'tagger'): boolean {
  const payload = plain(signed);
  const prefix = `${header} `;
  // Searched once: looking for a NUL from every line start would scan the payload per line.
  const firstNul = payload.indexOf(0);
  let position = 0;
  while (position < payload.length) {
    const newline = payload.indexOf(LF, position);
    const nul = firstNul >= position ? firstNul : -1;
    const end = Math.min(newline < 0 ? payload.length : newline, nul < 0 ? payload.length : nul);
    if (end === position) return false; // the blank line ending the headers, or a NUL
    if (end - position > prefix.length - 1 && startsWithAscii(payload, position, prefix)) {
      const line = latin1(payload, position + prefix.length, end);
      const open = line.indexOf('<');
      return open >= 0 && line.indexOf('>', open + 1) >= 0;
    }
    if (end === nul) return false;
    position = end + 1;
  }
  return false;
}

/** First line of the message, decoded with the commit's encoding (default UTF-8). */
export function subjectOf(body: Uint8Array, encoding?: string): string {
  const message = plain(body);
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
