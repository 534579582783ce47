/**
 * Reads a policy file (YAML) into a validated `Policy`. Every problem is reported with its
 * field path and position; an unknown field is a problem too, because a misspelt
 * `forbid_force_psuh: true` that is ignored would silently loosen the policy.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { SignetError } from '../errors.ts';
import { parseImageReference } from '../sign/image-reference.ts';
import { globProblem, literalPrefix } from './glob.ts';
import { GROUP_NAME, parseSignerEntry, type ParsedEntry } from './signers.ts';
import { unanchoredReason } from '../sigstore/identity.ts';
import type {
  AcceptableLetter,
  KeyFileRef,
  KeylessEntry,
  PathRule,
  Policy,
  PolicyKeys,
  PolicyProblem,
  PolicyRelease,
  PolicyRule,
  SignerEntry,
} from './types.ts';

const TOP_FIELDS = ['version', 'keys', 'groups', 'rules', 'release'] as const;
const RELEASE_FIELDS = ['images'] as const;
const KEY_FIELDS = [
  'openpgp',
  'ssh_allowed_signers',
  'ssh_revoked_keys',
  'x509_roots',
  'x509_crls',
  'trusted_root',
  'forge_accounts',
  'trust_web_flow',
] as const;
const RULE_FIELDS = [
  'refs',
  'require_signed_commits',
  'require_signed_tags',
  'accept',
  'signers',
  'require_email_match',
  'refuse_sha1',
  'paths',
  'forbid_force_push',
  'forbid_deletion',
  'require_signed_push',
] as const;
const PATH_FIELDS = ['match', 'signers', 'threshold'] as const;

const LETTER_REFUSALS: Record<string, string> = {
  B: "'B' (bad signature) cannot be accepted: the signed content was altered or the signature is forged",
  U: "'U' (key not in the registry) cannot be accepted: add the key to the keys section instead",
  E: "'E' (signature cannot be checked) cannot be accepted: add the key to the keys section instead",
  R: "'R' (revoked key) cannot be accepted",
  N: "'N' (no signature) cannot be accepted: set require_signed_commits: false instead",
};

/** Parses and validates; throws `SignetError('POLICY_INVALID')` naming the first problem. */
export function parsePolicy(text: string, sourceName: string): Policy {
  const { policy, problems } = checkPolicy(text, sourceName);
  const first = problems[0];
  if (first || !policy) {
    const where = first ? `${sourceName}:${first.line}:${first.column}: ${first.path ? `${first.path}: ` : ''}${first.message}` : sourceName;
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more; run 'signet policy check ${sourceName}')` : '';
    throw new SignetError('POLICY_INVALID', `invalid policy ${where}${more}`);
  }
  return policy;
}

/** Parses and validates, collecting every problem (sorted by position). */
export function checkPolicy(text: string, sourceName: string): { policy?: Policy; problems: PolicyProblem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const reader = new Reader(doc, lineCounter);
  const syntax = [...doc.errors, ...doc.warnings];
  if (syntax.length > 0) {
    for (const error of syntax) {
      const pos = lineCounter.linePos(error.pos[0]);
      reader.problems.push({ path: '', line: pos.line, column: pos.col, message: `YAML: ${error.message.split('\n')[0]}` });
    }
    return { problems: reader.sorted() };
  }
  const policy = readPolicy(reader, sourceName);
  const problems = reader.sorted();
  // Frozen: a policy is shared by every evaluation, and compiled matchers are cached per array.
  return problems.length > 0 || !policy ? { problems } : { policy: deepFreeze(policy), problems };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

interface Located {
  node: Node | null;
  /** Where to point when the value is missing or empty: the key, or the enclosing node. */
  anchor: Node | null;
  path: string;
}

class Reader {
  /** Keyless identities named anywhere in signers or groups: the policy trusts exactly these. */
  readonly keyless: KeylessEntry[] = [];
  readonly problems: PolicyProblem[] = [];
  constructor(
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
  ) {}

  position(node: Node | null | undefined): { line: number; column: number } {
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = this.lineCounter.linePos(offset);
    return { line, column: col };
  }

  report(at: Located | { node: Node | null; path: string }, message: string): void {
    const node = at.node ?? ('anchor' in at ? at.anchor : null);
    this.problems.push({ path: at.path, ...this.position(node), message });
  }

  resolve(node: unknown): Node | null {
    if (isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? null;
    return (node as Node | null | undefined) ?? null;
  }

  root(): Located {
    return { node: this.resolve(this.doc.contents), anchor: null, path: '' };
  }

  sorted(): PolicyProblem[] {
    return [...this.problems].sort((a, b) => a.line - b.line || a.column - b.column);
  }

  /** The fields of a mapping, reporting unknown or non-string keys. */
  fields<F extends string>(at: Located, allowed: readonly F[]): Map<F, Located> | undefined {
    const node = this.resolve(at.node);
    if (!isMap(node)) {
      this.report(at, `expected a mapping with fields ${allowed.join(', ')}; found ${describe(node)}`);
      return undefined;
    }
    const out = new Map<F, Located>();
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      const name = isScalar(keyNode) ? keyNode.value : undefined;
      if (typeof name !== 'string') {
        this.report({ node: keyNode ?? node, path: at.path }, `field names are words; found ${describe(keyNode)}`);
        continue;
      }
      const path = at.path ? `${at.path}.${name}` : name;
      if (!(allowed as readonly string[]).includes(name)) {
        const suggestion = closest(name, allowed);
        this.report(
          { node: keyNode, path },
          `unknown field '${name}'${suggestion ? ` (did you mean '${suggestion}'?)` : ''}; known fields: ${allowed.join(', ')}`,
        );
        continue;
      }
      out.set(name as F, { node: this.resolve(pair.value), anchor: keyNode, path });
    }
    return out;
  }

  bool(at: Located | undefined, fallback: boolean): boolean {
    if (!at) return fallback;
    if (isScalar(at.node) && typeof at.node.value === 'boolean') return at.node.value;
    this.report(at, `expected true or false; found ${describe(at.node)}`);
    return fallback;
  }

  string(at: Located): string | undefined {
    if (isScalar(at.node) && typeof at.node.value === 'string') {
      if (at.node.value.trim() === '') {
        this.report(at, 'expected a non-empty string');
        return undefined;
      }
      return at.node.value;
    }
    this.report(at, `expected a string; found ${describe(at.node)}`);
    return undefined;
  }

  /**
   * A list of strings, or a single string standing for a one-item list. `rawScalars` keeps the
   * source text of plain numbers, so an unquoted `0x1A2B…` key id stays text, not a number.
   */
  list(at: Located, what: string, rawScalars = false, maps = false): Located[] | undefined {
    const node = at.node;
    let items: Located[];
    if (isSeq(node)) {
      items = node.items.map((item, index) => ({ node: this.resolve(item), anchor: node, path: `${at.path}[${index}]` }));
    } else if (isScalar(node) && node.value !== null) {
      items = [{ node, anchor: at.anchor, path: at.path }];
    } else {
      this.report(at, `expected a list of ${what}; found ${describe(node)}`);
      return undefined;
    }
    if (items.length === 0) {
      this.report(at, `expected at least one ${what.replace(/s$/, '')}; the list is empty`);
      return undefined;
    }
    const strings: Located[] = [];
    for (const item of items) {
      const n = item.node;
      if (isScalar(n) && rawScalars && typeof n.value === 'number' && n.type === 'PLAIN' && typeof n.source === 'string') {
        n.value = n.source;
      }
      if ((isScalar(n) && typeof n.value === 'string' && n.value.trim() !== '') || (maps && isMap(n))) strings.push(item);
      else this.report(item, `expected ${what.replace(/s$/, '')} as a string; found ${describe(n)}`);
    }
    return strings.length === items.length ? strings : undefined;
  }
}

const KEYLESS_FIELDS = ['issuer', 'issuer_regexp', 'subject', 'subject_regexp'] as const;

/** A signers or group member: a string entry, or a keyless identity `{issuer | issuer_regexp, subject | subject_regexp}`. */
function readMember(reader: Reader, item: Located): ParsedEntry | undefined {
  if (!isMap(item.node)) {
    const parsed = parseSignerEntry(text(item));
    if ('problem' in parsed) {
      reader.report(item, parsed.problem);
      return undefined;
    }
    return parsed.entry;
  }
  const before = reader.problems.length;
  const fields = reader.fields(item, KEYLESS_FIELDS);
  if (!fields) return undefined;
  const value = (field: (typeof KEYLESS_FIELDS)[number]): string | undefined => {
    const at = fields.get(field);
    if (!at) return undefined;
    const got = reader.string(at);
    if (got !== undefined && field.endsWith('_regexp')) {
      const problem = unanchoredReason(got);
      if (problem) reader.report(at, problem);
    }
    return got;
  };
  const issuer = value('issuer');
  const issuerRegexp = value('issuer_regexp');
  const subject = value('subject');
  const subjectRegexp = value('subject_regexp');
  if ((issuer === undefined) === (issuerRegexp === undefined) && reader.problems.length === before)
    reader.report(item, 'a keyless identity needs exactly one of issuer or issuer_regexp');
  if ((subject === undefined) === (subjectRegexp === undefined) && reader.problems.length === before)
    reader.report(item, 'a keyless identity needs exactly one of subject or subject_regexp');
  if (reader.problems.length !== before) return undefined;
  const entry: KeylessEntry = {
    kind: 'keyless',
    ...(issuer !== undefined ? { issuer } : { issuerRegexp: issuerRegexp! }),
    ...(subject !== undefined ? { subject } : { subjectRegexp: subjectRegexp! }),
  };
  reader.keyless.push(entry);
  return entry;
}

function memberText(at: Located): string {
  if (!isMap(at.node)) return text(at);
  const json = at.node.toJSON() as Record<string, unknown>;
  return Object.entries(json)
    .map(([key, v]) => `${key}=${String(v)}`)
    .join(' ');
}

function text(at: Located): string {
  return String((at.node as { value?: unknown }).value);
}

function describe(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const value = node.value;
    if (value === null) return 'nothing';
    if (typeof value === 'string') return `the string '${value}'`;
    if (typeof value === 'number') return `the number ${typeof node.source === 'string' ? node.source : String(value)}`;
    if (typeof value === 'boolean') return `${value}`;
    return `a ${typeof value}`;
  }
  return 'an unsupported YAML value';
}

function readPolicy(reader: Reader, source: string): Policy | undefined {
  const root = reader.root();
  if (root.node === null || (isScalar(root.node) && root.node.value === null)) {
    reader.report(root, "the policy is empty; it needs at least 'version: 1' and 'rules'");
    return undefined;
  }
  const top = reader.fields(root, TOP_FIELDS);
  if (!top) return undefined;

  const version = top.get('version');
  if (!version) reader.report(root, "missing field 'version' (write 'version: 1')");
  else if (!(isScalar(version.node) && version.node.value === 1)) {
    reader.report(version, `unsupported version ${describe(version.node)}; this signet reads version 1`);
  }

  const keys = readKeys(reader, top.get('keys'));
  const groups = readGroups(reader, top.get('groups'));

  const rulesAt = top.get('rules');
  const rules: PolicyRule[] = [];
  if (!rulesAt) reader.report(root, "missing field 'rules' (a list of rules, each with 'refs')");
  else if (!isSeq(rulesAt.node)) reader.report(rulesAt, `expected a list of rules; found ${describe(rulesAt.node)}`);
  else if (rulesAt.node.items.length === 0) reader.report(rulesAt, 'expected at least one rule; the list is empty');
  else {
    rulesAt.node.items.forEach((item, index) => {
      const rule = readRule(reader, { node: reader.resolve(item), anchor: rulesAt.node, path: `rules[${index}]` }, index, groups);
      if (rule) rules.push(rule);
    });
  }
  const release = readRelease(reader, top.get('release'));
  if (reader.keyless.length > 0) keys.keyless = reader.keyless.map(({ kind: _kind, via: _via, ...identity }) => identity);
  return { version: 1, source, keys, groups: groups.raw, rules, ...(release ? { release } : {}) };
}

/** `release.images`: what `/sign-release` signs; `{tag}` stands for the release tag. */
function readRelease(reader: Reader, at: Located | undefined): PolicyRelease | undefined {
  if (!at) return undefined;
  const fields = reader.fields(at, RELEASE_FIELDS);
  const imagesAt = fields?.get('images');
  if (!imagesAt) return undefined;
  const images: string[] = [];
  for (const item of reader.list(imagesAt, 'image references') ?? []) {
    const reference = text(item).trim();
    try {
      const parsed = parseImageReference(reference.replaceAll('{tag}', 'v0'));
      if (parsed.digest && reference.includes('{tag}')) throw new Error('a digest-pinned reference cannot also name {tag}');
      images.push(reference);
    } catch (error) {
      reader.report(item, `${(error as Error).message} (write REGISTRY/REPOSITORY:TAG; '{tag}' stands for the release tag)`);
    }
  }
  return { images };
}

function readKeys(reader: Reader, at: Located | undefined): PolicyKeys {
  const keys: PolicyKeys = { openpgp: [], forgeAccounts: false, trustWebFlow: false, files: [] };
  if (!at) return keys;
  const fields = reader.fields(at, KEY_FIELDS);
  if (!fields) return keys;
  const addFile = (kind: KeyFileRef['kind'], item: Located): string | undefined => {
    const file = reader.string(item);
    if (file === undefined) return undefined;
    if (/[\0\n\r]/.test(file)) {
      reader.report(item, 'a file name cannot contain NUL or line breaks');
      return undefined;
    }
    keys.files.push({ kind, file, field: item.path, ...reader.position(item.node) });
    return file;
  };
  const openpgp = fields.get('openpgp');
  if (openpgp) {
    for (const item of reader.list(openpgp, 'keyring files') ?? []) {
      const file = addFile('openpgp', item);
      if (file !== undefined) keys.openpgp.push(file);
    }
  }
  for (const [field, kind, what] of [
    ['x509_roots', 'x509_roots', 'PEM CA certificate files'],
    ['x509_crls', 'x509_crls', 'CRL files'],
  ] as const) {
    const at = fields.get(field);
    if (!at) continue;
    const files: string[] = [];
    for (const item of reader.list(at, what) ?? []) {
      const file = addFile(kind, item);
      if (file !== undefined) files.push(file);
    }
    if (kind === 'x509_roots') keys.x509Roots = files;
    else keys.x509Crls = files;
  }
  const trustedRoot = fields.get('trusted_root');
  if (trustedRoot) {
    const file = addFile('trusted_root', trustedRoot);
    if (file !== undefined) keys.trustedRoot = file;
  }
  const allowed = fields.get('ssh_allowed_signers');
  if (allowed) keys.sshAllowedSigners = addFile('ssh_allowed_signers', allowed);
  const revoked = fields.get('ssh_revoked_keys');
  if (revoked) keys.sshRevokedKeys = addFile('ssh_revoked_keys', revoked);
  keys.forgeAccounts = reader.bool(fields.get('forge_accounts'), false);
  keys.trustWebFlow = reader.bool(fields.get('trust_web_flow'), false);
  if (keys.sshAllowedSigners === undefined) delete keys.sshAllowedSigners;
  if (keys.sshRevokedKeys === undefined) delete keys.sshRevokedKeys;
  return keys;
}

interface Member {
  entry: ParsedEntry;
  at: Located;
}

interface Groups {
  raw: Record<string, string[]>;
  /** Expands `group:name` to its leaf entries (empty for unknown or cyclic groups, already reported). */
  expand(name: string): SignerEntry[];
  has(name: string): boolean;
}

function readGroups(reader: Reader, at: Located | undefined): Groups {
  const defs = new Map<string, Member[]>();
  const raw: Record<string, string[]> = {};
  if (at) {
    const node = at.node;
    if (!isMap(node)) reader.report(at, `expected a mapping of group names to lists of signers; found ${describe(node)}`);
    else {
      for (const pair of node.items) {
        const keyNode = pair.key as Node | null;
        const name = isScalar(keyNode) ? keyNode.value : undefined;
        if (typeof name !== 'string' || !GROUP_NAME.test(name)) {
          reader.report({ node: keyNode ?? node, path: 'groups' }, `group names are letters, digits, '_', '-' and '.'; found ${describe(keyNode)}`);
          continue;
        }
        const members: Member[] = [];
        const items = reader.list({ node: reader.resolve(pair.value), anchor: keyNode, path: `groups.${name}` }, 'signers', true, true);
        for (const item of items ?? []) {
          const entry = readMember(reader, item);
          if (entry) members.push({ entry, at: item });
        }
        defs.set(name, members);
        raw[name] = (items ?? []).map(memberText);
      }
    }
  }

  // Unknown references, then cycles: each reported once, at the member that names the group.
  const cyclic = new Set<Member>();
  for (const members of defs.values()) {
    for (const member of members) {
      if (member.entry.kind === 'group' && !defs.has(member.entry.group)) {
        reader.report(member.at, `unknown group '${member.entry.group}'${groupHint(member.entry.group, defs)}`);
      }
    }
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, stack: string[]): void => {
    state.set(name, 'visiting');
    for (const member of defs.get(name) ?? []) {
      if (member.entry.kind !== 'group' || !defs.has(member.entry.group)) continue;
      const target = member.entry.group;
      if (state.get(target) === 'visiting') {
        const path = [...stack, name];
        const cycle = [...path.slice(path.indexOf(target)), target];
        reader.report(member.at, `group cycle: ${cycle.join(' → ')}`);
        cyclic.add(member);
      } else if (!state.has(target)) visit(target, [...stack, name]);
    }
    state.set(name, 'done');
  };
  for (const name of defs.keys()) if (!state.has(name)) visit(name, []);

  const memo = new Map<string, SignerEntry[]>();
  const expand = (name: string, seen: Set<string> = new Set()): SignerEntry[] => {
    const cached = memo.get(name);
    if (cached) return cached;
    if (seen.has(name)) return [];
    seen.add(name);
    const out: SignerEntry[] = [];
    for (const member of defs.get(name) ?? []) {
      if (cyclic.has(member)) continue;
      if (member.entry.kind === 'group') out.push(...expand(member.entry.group, seen));
      else out.push(member.entry);
    }
    memo.set(name, out);
    return out;
  };
  return { raw, expand: (name) => expand(name), has: (name) => defs.has(name) };
}

function groupHint(name: string, defs: Map<string, unknown>): string {
  const suggestion = closest(name, [...defs.keys()]);
  if (suggestion) return ` (did you mean 'group:${suggestion}'?)`;
  return defs.size === 0 ? ' (the policy defines no groups)' : ` (groups: ${[...defs.keys()].join(', ')})`;
}

/** Reads an allow-list and expands its groups; undefined after reporting a problem. */
function readSigners(reader: Reader, at: Located, groups: Groups): { written: string[]; entries: SignerEntry[] } | undefined {
  const items = reader.list(at, 'signers', true, true);
  if (!items) return undefined;
  const entries: SignerEntry[] = [];
  let ok = true;
  for (const item of items) {
    const entry = readMember(reader, item);
    if (!entry) {
      ok = false;
    } else if (entry.kind === 'group') {
      const name = entry.group;
      if (!groups.has(name)) {
        reader.report(item, `unknown group '${name}'${groupHint(name, new Map(Object.keys(groups.raw).map((k) => [k, true])))}`);
        ok = false;
        continue;
      }
      const members = groups.expand(name);
      if (members.length === 0) {
        reader.report(item, `group '${name}' has no signers`);
        ok = false;
      }
      entries.push(...members.map((member) => ({ ...member, via: `group:${name}` })));
    } else entries.push(entry);
  }
  return ok ? { written: items.map(memberText), entries } : undefined;
}

function readRule(reader: Reader, at: Located, index: number, groups: Groups): PolicyRule | undefined {
  const before = reader.problems.length;
  const fields = reader.fields(at, RULE_FIELDS);
  if (!fields) return undefined;
  const rule: PolicyRule = {
    index,
    line: reader.position(at.node).line,
    refs: [],
    requireSignedCommits: reader.bool(fields.get('require_signed_commits'), false),
    requireSignedTags: reader.bool(fields.get('require_signed_tags'), false),
    accept: ['G'],
    requireEmailMatch: reader.bool(fields.get('require_email_match'), false),
    refuseSha1: reader.bool(fields.get('refuse_sha1'), true),
    paths: [],
    forbidForcePush: reader.bool(fields.get('forbid_force_push'), false),
    forbidDeletion: reader.bool(fields.get('forbid_deletion'), false),
    requireSignedPush: reader.bool(fields.get('require_signed_push'), false),
  };

  const refsAt = fields.get('refs');
  if (!refsAt) reader.report(at, "missing field 'refs' (the ref patterns this rule applies to, like refs/heads/main)");
  else {
    for (const item of reader.list(refsAt, 'ref patterns') ?? []) {
      const pattern = text(item);
      const problem = globProblem(pattern, 'ref');
      if (problem) reader.report(item, problem);
      else rule.refs.push(pattern);
    }
  }

  const acceptAt = fields.get('accept');
  if (acceptAt) {
    const letters: AcceptableLetter[] = [];
    for (const item of reader.list(acceptAt, 'status letters') ?? []) {
      const letter = text(item).trim();
      if (letter === 'G' || letter === 'X' || letter === 'Y') {
        if (!letters.includes(letter)) letters.push(letter);
      } else if (LETTER_REFUSALS[letter]) reader.report(item, LETTER_REFUSALS[letter]);
      else if (/^[gxy]$/.test(letter)) reader.report(item, `status letters are upper case: write '${letter.toUpperCase()}'`);
      else reader.report(item, `unknown status letter '${letter}'; a rule may accept G, X and Y`);
    }
    if (letters.length > 0 && !letters.includes('G')) reader.report(acceptAt, "accept must include 'G' (a good signature by a registry key)");
    if (letters.length > 0) rule.accept = letters;
  }

  const signersAt = fields.get('signers');
  if (signersAt) {
    const signers = readSigners(reader, signersAt, groups);
    if (signers) {
      rule.signers = signers.written;
      rule.allowedSigners = signers.entries;
    }
  }

  const pathsAt = fields.get('paths');
  if (pathsAt) {
    if (!isSeq(pathsAt.node) || pathsAt.node.items.length === 0) {
      reader.report(
        pathsAt,
        `expected a list of path rules (each with 'match' and 'signers'); found ${isSeq(pathsAt.node) ? 'an empty list' : describe(pathsAt.node)}`,
      );
    } else {
      const seq = pathsAt.node;
      seq.items.forEach((item, i) => {
        const pathRule = readPathRule(reader, { node: reader.resolve(item), anchor: seq, path: `${pathsAt.path}[${i}]` }, rule, groups);
        if (pathRule) rule.paths.push(pathRule);
      });
    }
  }

  // Fields that only mean something when signatures are required must not sit there inert:
  // whoever wrote them expected them to be enforced.
  const signing = rule.requireSignedCommits || rule.requireSignedTags || rule.requireSignedPush;
  const inert = 'has no effect unless require_signed_commits, require_signed_tags or require_signed_push is true';
  // A requirement flag that is itself malformed was already reported; do not pile consequences on it.
  const flagBroken = (['require_signed_commits', 'require_signed_tags', 'require_signed_push', 'forbid_force_push', 'forbid_deletion'] as const).some(
    (name) => {
      const field = fields.get(name);
      return field !== undefined && !(isScalar(field.node) && typeof field.node.value === 'boolean');
    },
  );
  if (flagBroken) return finishRule(rule);
  if (!signing) {
    for (const name of ['accept', 'signers'] as const) {
      const field = fields.get(name);
      if (field) reader.report({ node: field.anchor, path: field.path }, `${name} ${inert}`);
    }
    const emailMatch = fields.get('require_email_match');
    if (emailMatch && rule.requireEmailMatch) reader.report({ node: emailMatch.anchor, path: emailMatch.path }, `require_email_match ${inert}`);
  }
  if (pathsAt && !rule.requireSignedCommits) {
    reader.report({ node: pathsAt.anchor, path: pathsAt.path }, 'paths checks commit signatures: it needs require_signed_commits: true');
  }
  const tagsAt = fields.get('require_signed_tags');
  if (rule.requireSignedTags && tagsAt && rule.refs.length > 0 && !rule.refs.some(canMatchTags)) {
    reader.report(tagsAt, "require_signed_tags applies to refs under refs/tags/, and none of this rule's refs can match one");
  }
  const enforces = signing || rule.forbidForcePush || rule.forbidDeletion;
  if (!enforces && reader.problems.length === before) {
    reader.report(at, 'this rule requires nothing: set require_signed_commits, require_signed_tags, require_signed_push, forbid_force_push or forbid_deletion');
  }
  return finishRule(rule);
}

function finishRule(rule: PolicyRule): PolicyRule {
  if (rule.signers === undefined) delete rule.signers;
  if (rule.allowedSigners === undefined) delete rule.allowedSigners;
  return rule;
}

function canMatchTags(pattern: string): boolean {
  const prefix = literalPrefix(pattern);
  return prefix.startsWith('refs/tags/') || 'refs/tags/'.startsWith(prefix);
}

function readPathRule(reader: Reader, at: Located, rule: PolicyRule, groups: Groups): PathRule | undefined {
  const before = reader.problems.length;
  const fields = reader.fields(at, PATH_FIELDS);
  if (!fields) return undefined;
  const pathRule: PathRule = { match: [], threshold: 1 };
  const matchAt = fields.get('match');
  if (!matchAt) reader.report(at, "missing field 'match' (path patterns such as '.github/workflows/**')");
  else {
    for (const item of reader.list(matchAt, 'path patterns') ?? []) {
      const pattern = text(item);
      const problem = globProblem(pattern, 'path');
      if (problem) reader.report(item, problem);
      else pathRule.match.push(pattern);
    }
  }
  const signersAt = fields.get('signers');
  if (signersAt) {
    const signers = readSigners(reader, signersAt, groups);
    if (signers) {
      pathRule.signers = signers.written;
      pathRule.allowedSigners = signers.entries;
    }
  }
  const thresholdAt = fields.get('threshold');
  if (thresholdAt) {
    const node = thresholdAt.node;
    if (isScalar(node) && typeof node.value === 'number' && Number.isInteger(node.value) && node.value >= 1) {
      pathRule.threshold = node.value;
      const possible = pathRule.allowedSigners ?? rule.allowedSigners;
      if (possible && node.value > possible.length) {
        reader.report(
          thresholdAt,
          `threshold ${node.value} can never be met: only ${possible.length} signer ${possible.length === 1 ? 'entry is' : 'entries are'} allowed`,
        );
      }
    } else reader.report(thresholdAt, `expected a whole number of at least 1; found ${describe(node)}`);
  }
  if (!signersAt && pathRule.threshold === 1 && reader.problems.length === before) {
    reader.report(at, 'this path rule adds nothing: give it signers, or a threshold above 1');
  }
  return pathRule;
}

/** Edit distance ≤ 2 (or a shared stem) counts as a likely typo. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 4)) ? best : undefined;
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
