import type { Person } from '../core/git/signed-object.ts';
import type { SignatureVerdict } from '../core/verdict.ts';
import type { CommitResult, TagResult } from '../core/verify-object.ts';

/**
 * The verdict cache's record of one commit (src/store/verdict-cache.ts), a line of tab-separated
 * fields instead of the result as JSON (about 200 bytes instead of 700 for a signed commit):
 *
 *   oid  verdict-number  signedAt  parents  author(name email time tz)  committer(…)  subject  mergetags
 *
 * The verdict without its signature time is shared by the commits that have it (a `v` line of
 * JSON, numbered in order), the way the walk memo shares them; signedAt, the one part of a verdict
 * that differs per signature, stays in the record. Text fields escape `\`, tab, CR and newline;
 * an absent person is four empty fields; mergetags (rare) are JSON, which has no raw tab or newline.
 */

export const RECORD_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const PARENTS = /^(?:[0-9a-f]{40}|[0-9a-f]{64})(?: (?:[0-9a-f]{40}|[0-9a-f]{64}))*$/;
const INTEGER = /^-?[0-9]{1,15}$/;
const NUMBER = /^[0-9]{1,9}$/;
const FIELDS = 14;
/** A lone UTF-16 surrogate would not survive UTF-8: such a result is not recorded. */
const LONE_SURROGATE = /\p{Cs}/u;

/** The part of a verdict its commits share: everything but the signature's time. */
export function sharedVerdictJson(verdict: SignatureVerdict): string {
  if (verdict.signedAt === undefined) return JSON.stringify(verdict);
  const { signedAt: _signedAt, ...shared } = verdict;
  return JSON.stringify(shared);
}

/** A `v` line's verdict, or undefined when it is not one. */
export function parseSharedVerdict(json: string): SignatureVerdict | undefined {
  let value: SignatureVerdict;
  try {
    value = JSON.parse(json) as SignatureVerdict;
  } catch {
    return undefined;
  }
  return typeof value?.status === 'string' && typeof value.format === 'string' && value.signedAt === undefined ? value : undefined;
}

/** The record's line (with its newline), or undefined when the result cannot be written faithfully. */
export function encodeRecord(result: CommitResult, verdictNumber: number): string | undefined {
  const signedAt = result.verdict.signedAt;
  if (signedAt !== undefined && !Number.isSafeInteger(signedAt)) return undefined;
  if (!RECORD_ID.test(result.commit) || (result.parents.length > 0 && !PARENTS.test(result.parents.join(' ')))) return undefined;
  const author = person(result.author);
  const committer = person(result.committer);
  if (author === undefined || committer === undefined || LONE_SURROGATE.test(result.subject)) return undefined;
  const mergetags = result.mergetags.length > 0 ? JSON.stringify(result.mergetags) : '';
  return `${result.commit}\t${verdictNumber}\t${signedAt ?? ''}\t${result.parents.join(' ')}\t${author}\t${committer}\t${escape(result.subject)}\t${mergetags}\n`;
}

/** The result a record line (without its newline) stands for, or undefined when it does not parse. */
export function decodeRecord(line: string, verdicts: ReadonlyArray<SignatureVerdict | undefined>): CommitResult | undefined {
  const fields = line.split('\t');
  if (fields.length !== FIELDS) return undefined;
  const [commit, number, signedAt, parents, , , , , , , , , subject, mergetags] = fields as [string, string, string, string, ...string[]];
  if (!RECORD_ID.test(commit) || !NUMBER.test(number) || (signedAt !== '' && !INTEGER.test(signedAt)) || (parents !== '' && !PARENTS.test(parents)))
    return undefined;
  const shared = verdicts[Number(number)];
  if (!shared) return undefined;
  const author = readPerson(fields, 4);
  const committer = readPerson(fields, 8);
  if (author === null || committer === null) return undefined;
  let tags: TagResult[] = [];
  if (mergetags !== '') {
    try {
      tags = JSON.parse(mergetags!) as TagResult[];
    } catch {
      return undefined;
    }
    if (!Array.isArray(tags) || !tags.every((tag) => typeof tag?.verdict?.status === 'string')) return undefined;
  }
  // Keys in the order verifyCommitObject makes them: a cached result is the same object as a fresh one.
  const result = { commit, parents: parents === '' ? [] : parents.split(' ') } as CommitResult;
  if (author) result.author = author;
  if (committer) result.committer = committer;
  result.subject = unescape(subject!);
  // The shared verdict object serves every commit without a signature time; one with a time gets its own.
  result.verdict = signedAt === '' ? shared : { ...shared, signedAt: Number(signedAt) };
  result.mergetags = tags;
  return result;
}

function person(value: Person | undefined): string | undefined {
  if (!value) return '\t\t\t';
  if (!Number.isSafeInteger(value.time)) return undefined;
  if (LONE_SURROGATE.test(value.name) || LONE_SURROGATE.test(value.email) || LONE_SURROGATE.test(value.timezone)) return undefined;
  return `${escape(value.name)}\t${escape(value.email)}\t${value.time}\t${escape(value.timezone)}`;
}

/** The person at fields[at…at+3]: undefined when absent, null when the fields do not parse. */
function readPerson(fields: string[], at: number): Person | undefined | null {
  const [name, email, time, timezone] = [fields[at]!, fields[at + 1]!, fields[at + 2]!, fields[at + 3]!];
  if (time === '') return name === '' && email === '' && timezone === '' ? undefined : null;
  if (!INTEGER.test(time)) return null;
  return { name: unescape(name), email: unescape(email), time: Number(time), timezone: unescape(timezone) };
}

const SPECIAL = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const UNESCAPES: Record<string, string> = { '\\\\': '\\', '\\t': '\t', '\\n': '\n', '\\r': '\r' };

function escape(text: string): string {
  return SPECIAL.test(text) ? text.replace(/[\\\t\n\r]/g, (character) => ESCAPES[character]!) : text;
}

function unescape(text: string): string {
  return text.includes('\\') ? text.replace(/\\[\\tnr]/g, (sequence) => UNESCAPES[sequence]!) : text;
}
