/**
 * allowed_signers files (ssh-keygen(1) "ALLOWED SIGNERS"), read the way sshsig.c reads them:
 *
 *   principals [options] keytype base64 [comment]
 *
 * Principals are one word (a `"…"` section may hold spaces), a comma-separated list of OpenSSH
 * patterns. Options: cert-authority, namespaces="list", valid-after="time", valid-before="time".
 *
 * ssh-keygen logs a malformed line and skips it, so a typo silently drops a signer; we refuse
 * the file instead, naming the file and line.
 */
import { SignetError } from '../errors.ts';
import { parseAbsoluteTime } from './absolute-time.ts';
import { fingerprintOfPlainBlob } from './fingerprint.ts';
import { isKeyTypeName, readKeyText } from './key-line.ts';
import type { SshPublicKey } from './public-key.ts';

export interface AllowedSigner {
  /** Principal patterns as written (the comma-separated list, split). */
  principals: string[];
  certAuthority: boolean;
  /** The namespaces="…" pattern list, split on commas; absent when the option is absent. */
  namespaces?: string[];
  /** Seconds since the epoch. */
  validAfter?: number;
  validBefore?: number;
  /** The key's type as its blob names it (`ssh-ed25519`, `ecdsa-sha2-nistp256`, …). */
  keyType: string;
  /** Canonical public key blob (a certificate's blob as written, if a line lists a certificate). */
  keyBlob: Uint8Array;
  /** `SHA256:…` of the plain key, as ssh-keygen -l prints it. */
  fingerprint: string;
  source: string;
  line: number;
}

/** Keys already parsed by parseAllowedSigners, so building a registry does not parse them again. */
export const parsedKeys = new WeakMap<AllowedSigner, SshPublicKey>();

const WHITESPACE = ' \t\r\n';

/**
 * strdelimw() on the principals field: ends at white space, except that a `"` starts a quoted
 * run ending at the next `"` (the quotes are dropped; text before the first quote is kept).
 */
function principalsToken(text: string): { token: string; rest: string } | { problem: string } {
  let i = 0;
  while (i < text.length && !WHITESPACE.includes(text[i] as string) && text[i] !== '"') i++;
  if (i === text.length) return { problem: 'missing key after the principals' };
  if (text[i] === '"') {
    const close = text.indexOf('"', i + 1);
    if (close === -1) return { problem: 'unterminated quote in the principals' };
    const token = text.slice(0, i) + text.slice(i + 1, close);
    let rest = close + 1;
    while (rest < text.length && WHITESPACE.includes(text[rest] as string)) rest++;
    return { token, rest: text.slice(rest) };
  }
  let rest = i + 1;
  while (rest < text.length && WHITESPACE.includes(text[rest] as string)) rest++;
  return { token: text.slice(0, i), rest: text.slice(rest) };
}

/** sshkey_advance_past_options(): the options word ends at unquoted white space; `\"` escapes. */
function optionsWord(text: string): { options: string; rest: string } | { problem: string } {
  let quoted = false;
  let i = 0;
  for (; i < text.length && (quoted || (text[i] !== ' ' && text[i] !== '\t')); i++) {
    if (text[i] === '\\' && text[i + 1] === '"') i++;
    else if (text[i] === '"') quoted = !quoted;
  }
  if (quoted) return { problem: 'unterminated quote in the options' };
  let rest = i;
  while (text[rest] === ' ' || text[rest] === '\t') rest++;
  return { options: text.slice(0, i), rest: text.slice(rest) };
}

/** opt_dequote(): a `"…"` value where `\"` stands for a quote; returns the value and the remainder. */
function dequote(text: string): { value: string; rest: string } | { problem: string } {
  if (text[0] !== '"') return { problem: 'missing start quote' };
  let value = '';
  let i = 1;
  for (; i < text.length && text[i] !== '"'; i++) {
    if (text[i] === '\\' && text[i + 1] === '"') i++;
    value += text[i];
  }
  if (i >= text.length) return { problem: 'missing end quote' };
  return { value, rest: text.slice(i + 1) };
}

interface SignerOptions {
  certAuthority: boolean;
  namespaces?: string;
  validAfter?: number;
  validBefore?: number;
}

/** sshsigopt_parse(): options are case-insensitive and comma-separated. */
function parseOptions(text: string): SignerOptions | { problem: string } {
  const options: SignerOptions = { certAuthority: false };
  let rest = text;
  const takes = (name: string): boolean => rest.slice(0, name.length + 1).toLowerCase() === `${name}=`;
  while (rest !== '') {
    if (rest.slice(0, 14).toLowerCase() === 'cert-authority') {
      options.certAuthority = true;
      rest = rest.slice(14);
    } else if (takes('namespaces')) {
      if (options.namespaces !== undefined) return { problem: 'multiple "namespaces" clauses' };
      const value = dequote(rest.slice('namespaces='.length));
      if ('problem' in value) return { problem: `namespaces: ${value.problem}` };
      options.namespaces = value.value;
      rest = value.rest;
    } else if (takes('valid-after') || takes('valid-before')) {
      const name = takes('valid-after') ? 'valid-after' : 'valid-before';
      const field = name === 'valid-after' ? 'validAfter' : 'validBefore';
      if (options[field] !== undefined) return { problem: `multiple "${name}" clauses` };
      const value = dequote(rest.slice(name.length + 1));
      if ('problem' in value) return { problem: `${name}: ${value.problem}` };
      const time = parseAbsoluteTime(value.value);
      if (time === undefined) return { problem: `invalid "${name}" time ${JSON.stringify(value.value)} (YYYYMMDD[HHMM[SS]] with optional Z, after 1970)` };
      options[field] = time;
      rest = value.rest;
    } else {
      const name = /^[^,=]*/.exec(rest)?.[0] ?? rest;
      return { problem: `unsupported option ${JSON.stringify(name.slice(0, 40))} (allowed: cert-authority, namespaces, valid-after, valid-before)` };
    }
    if (rest === '') break;
    if (rest[0] !== ',') return { problem: `unexpected ${JSON.stringify(rest.slice(0, 20))} after an option` };
    rest = rest.slice(1);
    if (rest === '') return { problem: 'unexpected end of options after ","' };
  }
  if (options.validAfter !== undefined && options.validBefore !== undefined && options.validBefore <= options.validAfter) {
    return { problem: '"valid-before" time is not after "valid-after"' };
  }
  return options;
}

function parseLine(text: string, source: string, line: number): AllowedSigner | undefined {
  const fail = (problem: string): never => {
    throw new SignetError('KEYRING_INVALID', `${source}:${line}: ${problem}`);
  };
  let cursor = text.replace(/^[ \t]+/, '');
  // ssh-keygen's man page calls empty lines comments (sshsig.c itself logs "missing key" for them).
  if (cursor.startsWith('#') || cursor.trim() === '') return undefined;
  const principals = principalsToken(cursor);
  if ('problem' in principals) return fail(principals.problem);
  if (isKeyTypeName(principals.token)) {
    // The usual mistake: a .pub file's line pasted without the principals in front.
    return fail(
      `the line starts with the key type ${principals.token}; allowed_signers lines start with the principals (e.g. alice@example.com ${principals.token} AAAA…)`,
    );
  }
  cursor = principals.rest;
  let options: SignerOptions = { certAuthority: false };
  const firstWord = /^[^ \t]*/.exec(cursor)?.[0] ?? '';
  if (!isKeyTypeName(firstWord)) {
    if (firstWord === '') fail('missing key');
    const word = optionsWord(cursor);
    if ('problem' in word) return fail(word.problem);
    if (word.rest === '') return fail(`missing key after ${JSON.stringify(word.options.slice(0, 40))}`);
    const parsed = parseOptions(word.options);
    if ('problem' in parsed) {
      // A word that is no option and looks like a key type name most likely is one we do not know.
      const looksLikeType = /^[a-z0-9-]+(@[a-z0-9.-]+)?$/i.test(word.options) && !/^cert-authority$/i.test(word.options);
      return fail(looksLikeType ? `unknown key type or option ${JSON.stringify(word.options)}` : `bad options: ${parsed.problem}`);
    }
    options = parsed;
    cursor = word.rest;
  }
  const keyText = readKeyText(cursor);
  if ('problem' in keyText) return fail(`invalid key: ${keyText.problem}`);
  const key = keyText.key;
  const signer: AllowedSigner = {
    principals: principals.token.split(','),
    certAuthority: options.certAuthority,
    keyType: key.type,
    keyBlob: key.blob,
    fingerprint: fingerprintOfPlainBlob(key.plainBlob),
    source,
    line,
  };
  if (options.namespaces !== undefined) signer.namespaces = options.namespaces.split(',');
  if (options.validAfter !== undefined) signer.validAfter = options.validAfter;
  if (options.validBefore !== undefined) signer.validBefore = options.validBefore;
  parsedKeys.set(signer, key);
  return signer;
}

/**
 * Parses an allowed_signers file. Comments (`#`), blank lines and CRLF line ends are accepted;
 * any other line that ssh-keygen could not use throws KEYRING_INVALID with `file:line`.
 */
export function parseAllowedSigners(text: string, sourceName: string): AllowedSigner[] {
  const signers: AllowedSigner[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index] as string;
    const signer = parseLine(raw.endsWith('\r') ? raw.slice(0, -1) : raw, sourceName, index + 1);
    if (signer) signers.push(signer);
  }
  return signers;
}
