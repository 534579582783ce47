/**
 * The admission policy: which images may run, by whose signature. Two spellings are read into
 * one model — signet's own file and sigstore policy-controller's `ClusterImagePolicy`
 * (`policy.sigstore.dev/v1beta1`) documents as they are — so users can move over without a
 * rewrite. A field signet does not implement is an error naming it, never ignored: an ignored
 * `ctlog` or `policy` block would silently admit what its author meant to refuse.
 */
import { createHash } from 'node:crypto';
import { isMap, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { SignetError } from '../errors.ts';
import { isRecord } from '../sign/encoding.ts';
import { unanchoredReason } from '../sigstore/identity.ts';

export type Mode = 'enforce' | 'warn';

export interface KeylessIdentity {
  issuer?: string;
  issuerRegExp?: string;
  subject?: string;
  subjectRegExp?: string;
}

export interface AttestationCondition {
  /** Dotted path into the in-toto statement, e.g. `predicate.buildDefinition.buildType`. */
  path: string;
  equals?: string | number | boolean;
  /** Anchored regular expression over the value's string form. */
  matches?: string;
  /** true: the path must be present; false: absent. */
  exists?: boolean;
}

export interface AttestationRequirement {
  name: string;
  predicateType: string;
  conditions: AttestationCondition[];
}

export interface Authority {
  name: string;
  /** SPKI PEM (cosign.pub). For signet's file a `path` is resolved by the caller into `pem`. */
  key?: { pem?: string; path?: string };
  keyless?: { identities: KeylessIdentity[] };
  static?: { action: 'pass' | 'fail'; message?: string };
  attestations: AttestationRequirement[];
}

export interface NamespaceSelection {
  include?: string[];
  exclude?: string[];
}

export interface ImagePolicy {
  name: string;
  source: 'signet' | 'ClusterImagePolicy';
  images: string[];
  authorities: Authority[];
  mode: Mode;
  namespaces?: NamespaceSelection;
}

export interface AdmissionPolicy {
  policies: ImagePolicy[];
  /** What happens to an image no policy matches (policy-controller's default is deny). */
  noMatch: 'deny' | 'allow' | 'warn';
  namespaces?: NamespaceSelection;
  cache: { ttlSeconds: number; failureTtlSeconds: number; tagTtlSeconds: number; maxEntries: number };
  registries: { timeoutMs: number; timeoutsMs: Record<string, number>; pullSecrets: string[]; insecure: string[] };
  /** Whole-review budget: the API server's time-out is 10 s by default. */
  reviewBudgetMs: number;
}

const PREDICATE_SHORTHANDS: Record<string, string> = {
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  link: 'https://in-toto.io/Statement/v0.1',
};

export function predicateTypeOf(text: string): string | undefined {
  if (PREDICATE_SHORTHANDS[text]) return PREDICATE_SHORTHANDS[text];
  return /^https?:\/\/\S+$/.test(text) ? text : undefined;
}

/** One problem, located: `FILE:LINE:COL: field: message`. */
class Problems {
  constructor(
    private readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  fail(path: (string | number)[], message: string): never {
    let node: unknown = this.doc.getIn(path, true);
    for (let cut = path.length - 1; (node === undefined || node === null) && cut >= 0; cut -= 1) node = this.doc.getIn(path.slice(0, cut), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    const pos = range ? this.lines.linePos(range[0]) : { line: 1, col: 1 };
    throw new SignetError('POLICY_INVALID', `${this.file}:${pos.line}:${pos.col}: ${path.join('.')}: ${message}`);
  }
}

function onlyFields(
  problems: Problems,
  path: (string | number)[],
  value: Record<string, unknown>,
  allowed: readonly string[],
  notSupported: Record<string, string> = {},
): void {
  for (const key of Object.keys(value)) {
    if (notSupported[key] !== undefined) problems.fail([...path, key], `not supported by signet: ${notSupported[key]}`);
    if (!allowed.includes(key)) problems.fail([...path, key], `unknown field (expected one of ${allowed.join(', ')})`);
  }
}

function stringList(problems: Problems, path: (string | number)[], value: unknown): string[] {
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item === '')) problems.fail(path, 'must be a list of non-empty strings');
  return value as string[];
}

/** A regexp must be anchored (^…$): an unanchored one matches far more than its author meant. */
function anchoredRegExp(problems: Problems, path: (string | number)[], value: unknown): string {
  if (typeof value !== 'string' || value === '') problems.fail(path, 'must be a non-empty regular expression');
  const reason = unanchoredReason(value);
  if (reason !== undefined) problems.fail(path, reason);
  return value;
}

function readIdentity(problems: Problems, path: (string | number)[], value: unknown): KeylessIdentity {
  if (!isRecord(value)) problems.fail(path, 'must be a mapping');
  onlyFields(problems, path, value, ['issuer', 'issuerRegExp', 'subject', 'subjectRegExp']);
  const identity: KeylessIdentity = {};
  if (value.issuer !== undefined) identity.issuer = String(value.issuer);
  if (value.issuerRegExp !== undefined) identity.issuerRegExp = anchoredRegExp(problems, [...path, 'issuerRegExp'], value.issuerRegExp);
  if (value.subject !== undefined) identity.subject = String(value.subject);
  if (value.subjectRegExp !== undefined) identity.subjectRegExp = anchoredRegExp(problems, [...path, 'subjectRegExp'], value.subjectRegExp);
  if ((identity.issuer === undefined) === (identity.issuerRegExp === undefined)) problems.fail(path, 'give exactly one of issuer, issuerRegExp');
  if ((identity.subject === undefined) === (identity.subjectRegExp === undefined)) problems.fail(path, 'give exactly one of subject, subjectRegExp');
  return identity;
}

function readConditions(problems: Problems, path: (string | number)[], value: unknown): AttestationCondition[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) problems.fail(path, 'must be a list');
  return value.map((item: unknown, index) => {
    const at = [...path, index];
    if (!isRecord(item)) problems.fail(at, 'must be a mapping');
    onlyFields(problems, at, item, ['path', 'equals', 'matches', 'exists']);
    if (typeof item.path !== 'string' || !/^[A-Za-z0-9_@.-]+(\.[A-Za-z0-9_@.-]+)*$/.test(item.path))
      problems.fail([...at, 'path'], 'must be a dotted path such as predicate.buildDefinition.buildType');
    const tests = ['equals', 'matches', 'exists'].filter((key) => item[key] !== undefined);
    if (tests.length !== 1) problems.fail(at, 'give exactly one of equals, matches, exists');
    const condition: AttestationCondition = { path: item.path };
    if (item.equals !== undefined) {
      if (!['string', 'number', 'boolean'].includes(typeof item.equals)) problems.fail([...at, 'equals'], 'must be a string, number or boolean');
      condition.equals = item.equals as string | number | boolean;
    }
    if (item.matches !== undefined) condition.matches = anchoredRegExp(problems, [...at, 'matches'], item.matches);
    if (item.exists !== undefined) {
      if (typeof item.exists !== 'boolean') problems.fail([...at, 'exists'], 'must be true or false');
      condition.exists = item.exists;
    }
    return condition;
  });
}

function readAttestations(problems: Problems, path: (string | number)[], value: unknown, dialect: 'signet' | 'cip'): AttestationRequirement[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) problems.fail(path, 'must be a list');
  return value.map((item: unknown, index) => {
    const at = [...path, index];
    if (!isRecord(item)) problems.fail(at, 'must be a mapping');
    const typeField = dialect === 'cip' ? 'predicateType' : 'predicate_type';
    if (dialect === 'cip')
      onlyFields(problems, at, item, ['name', 'predicateType'], {
        policy: "CUE and Rego attestation policies are not evaluated; use signet's own policy file with conditions",
      });
    else onlyFields(problems, at, item, ['name', 'predicate_type', 'conditions']);
    const predicateType = typeof item[typeField] === 'string' ? predicateTypeOf(item[typeField]) : undefined;
    if (!predicateType) problems.fail([...at, typeField], `must be a predicate type URI or one of ${Object.keys(PREDICATE_SHORTHANDS).join(', ')}`);
    const name = typeof item.name === 'string' && item.name !== '' ? item.name : `attestation-${index}`;
    return { name, predicateType, conditions: dialect === 'signet' ? readConditions(problems, [...at, 'conditions'], item.conditions) : [] };
  });
}

const CIP_AUTHORITY_UNSUPPORTED: Record<string, string> = {
  ctlog: 'transparency-log settings; signet checks keyless signatures offline against its trusted root',
  rfc3161timestamp: 'a separate timestamp authority list',
  source: 'signatures stored in another repository',
};

function readAuthority(problems: Problems, path: (string | number)[], value: unknown, dialect: 'signet' | 'cip', index: number): Authority {
  if (!isRecord(value)) problems.fail(path, 'must be a mapping');
  if (dialect === 'cip') onlyFields(problems, path, value, ['name', 'key', 'keyless', 'static', 'attestations'], CIP_AUTHORITY_UNSUPPORTED);
  else onlyFields(problems, path, value, ['name', 'key', 'keyless', 'static', 'attestations']);
  const kinds = ['key', 'keyless', 'static'].filter((kind) => value[kind] !== undefined);
  if (kinds.length !== 1) problems.fail(path, 'give exactly one of key, keyless, static');
  const authority: Authority = {
    name: typeof value.name === 'string' ? value.name : `authority-${index}`,
    attestations: readAttestations(problems, [...path, 'attestations'], value.attestations, dialect),
  };
  if (value.key !== undefined) {
    const at = [...path, 'key'];
    if (!isRecord(value.key)) problems.fail(at, 'must be a mapping');
    if (dialect === 'cip') {
      onlyFields(problems, at, value.key, ['data', 'hashAlgorithm'], { secretRef: 'keys from Kubernetes secrets (put the PEM in data)', kms: 'KMS keys' });
      if (value.key.hashAlgorithm !== undefined && value.key.hashAlgorithm !== 'sha256') problems.fail([...at, 'hashAlgorithm'], 'only sha256 is supported');
    } else {
      onlyFields(problems, at, value.key, ['data', 'path']);
    }
    const { data, path: file } = value.key;
    if ((data === undefined) === (file === undefined)) problems.fail(at, dialect === 'cip' ? 'data is required' : 'give exactly one of data, path');
    if (data !== undefined && (typeof data !== 'string' || !data.includes('-----BEGIN PUBLIC KEY-----')))
      problems.fail([...at, 'data'], 'must be a PEM public key (cosign.pub)');
    if (file !== undefined && (typeof file !== 'string' || file === '')) problems.fail([...at, 'path'], 'must be a file path');
    authority.key = data !== undefined ? { pem: data as string } : { path: file as string };
  }
  if (value.keyless !== undefined) {
    const at = [...path, 'keyless'];
    if (!isRecord(value.keyless)) problems.fail(at, 'must be a mapping');
    onlyFields(problems, at, value.keyless, dialect === 'cip' ? ['identities', 'url'] : ['identities'], {
      'ca-cert': 'a custom CA certificate (give signet a trusted root instead: --trusted-root)',
      trustRootRef: 'TrustRoot resources (give signet a trusted root instead: --trusted-root)',
      insecureIgnoreSCT: 'skipping certificate transparency checks',
    });
    const identities = value.keyless.identities;
    if (!Array.isArray(identities) || identities.length === 0)
      problems.fail([...at, 'identities'], 'must list at least one identity: keyless without an identity admits anyone with an OIDC account');
    authority.keyless = { identities: identities.map((identity: unknown, i) => readIdentity(problems, [...at, 'identities', i], identity)) };
  }
  if (value.static !== undefined) {
    const at = [...path, 'static'];
    if (!isRecord(value.static)) problems.fail(at, 'must be a mapping');
    onlyFields(problems, at, value.static, ['action', 'message']);
    if (value.static.action !== 'pass' && value.static.action !== 'fail') problems.fail([...at, 'action'], "must be 'pass' or 'fail'");
    authority.static = { action: value.static.action, ...(typeof value.static.message === 'string' ? { message: value.static.message } : {}) };
  }
  return authority;
}

function readImages(problems: Problems, path: (string | number)[], value: unknown, dialect: 'signet' | 'cip'): string[] {
  if (!Array.isArray(value) || value.length === 0) problems.fail(path, 'must list at least one image glob');
  return value.map((item: unknown, index) => {
    const glob = dialect === 'cip' ? (isRecord(item) ? item.glob : undefined) : item;
    if (dialect === 'cip' && isRecord(item)) onlyFields(problems, [...path, index], item, ['glob']);
    if (typeof glob !== 'string' || glob === '' || /\s/.test(glob))
      problems.fail([...path, index], dialect === 'cip' ? 'must be {glob: PATTERN}' : 'must be an image glob');
    return glob;
  });
}

function readNamespaces(problems: Problems, path: (string | number)[], value: unknown): NamespaceSelection | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return { include: stringList(problems, path, value) };
  if (!isRecord(value)) problems.fail(path, 'must be a list of namespaces or {include, exclude}');
  onlyFields(problems, path, value, ['include', 'exclude']);
  return {
    ...(value.include !== undefined ? { include: stringList(problems, [...path, 'include'], value.include) } : {}),
    ...(value.exclude !== undefined ? { exclude: stringList(problems, [...path, 'exclude'], value.exclude) } : {}),
  };
}

function readMode(problems: Problems, path: (string | number)[], value: unknown, fallback: Mode): Mode {
  if (value === undefined) return fallback;
  if (value !== 'enforce' && value !== 'warn') problems.fail(path, "must be 'enforce' or 'warn'");
  return value;
}

function number(problems: Problems, path: (string | number)[], value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) problems.fail(path, `must be a number from ${min} to ${max}`);
  return value;
}

function readClusterImagePolicy(problems: Problems, value: Record<string, unknown>): ImagePolicy {
  onlyFields(problems, [], value, ['apiVersion', 'kind', 'metadata', 'spec']);
  if (typeof value.apiVersion !== 'string' || !value.apiVersion.startsWith('policy.sigstore.dev/'))
    problems.fail(['apiVersion'], 'must be policy.sigstore.dev/v1beta1 (or v1alpha1)');
  const name = isRecord(value.metadata) && typeof value.metadata.name === 'string' ? value.metadata.name : 'unnamed';
  const spec = value.spec;
  if (!isRecord(spec)) problems.fail(['spec'], 'must be a mapping');
  onlyFields(problems, ['spec'], spec, ['images', 'authorities', 'mode'], {
    match: 'selecting resources by kind or label (signet checks every pod-bearing kind the webhook is sent)',
    policy: 'policy-level CUE/Rego evaluation',
  });
  const authorities = spec.authorities;
  if (!Array.isArray(authorities) || authorities.length === 0) problems.fail(['spec', 'authorities'], 'must list at least one authority');
  return {
    name,
    source: 'ClusterImagePolicy',
    images: readImages(problems, ['spec', 'images'], spec.images, 'cip'),
    authorities: authorities.map((authority: unknown, index) => readAuthority(problems, ['spec', 'authorities', index], authority, 'cip', index)),
    mode: readMode(problems, ['spec', 'mode'], spec.mode, 'enforce'),
  };
}

const DEFAULTS = { ttlSeconds: 300, failureTtlSeconds: 10, tagTtlSeconds: 10, maxEntries: 10_000, timeoutMs: 3_000, reviewBudgetMs: 8_000 };

function readSignetPolicy(problems: Problems, value: Record<string, unknown>, into: AdmissionPolicy): void {
  onlyFields(problems, [], value, ['version', 'mode', 'no_match', 'namespaces', 'cache', 'registries', 'review_budget_ms', 'policies']);
  if (value.version !== undefined && value.version !== 1) problems.fail(['version'], 'must be 1');
  const mode = readMode(problems, ['mode'], value.mode, 'enforce');
  if (value.no_match !== undefined) {
    if (value.no_match !== 'deny' && value.no_match !== 'allow' && value.no_match !== 'warn') problems.fail(['no_match'], "must be 'deny', 'allow' or 'warn'");
    into.noMatch = value.no_match;
  }
  const namespaces = readNamespaces(problems, ['namespaces'], value.namespaces);
  if (namespaces) into.namespaces = namespaces;
  if (value.cache !== undefined) {
    if (!isRecord(value.cache)) problems.fail(['cache'], 'must be a mapping');
    onlyFields(problems, ['cache'], value.cache, ['ttl_seconds', 'failure_ttl_seconds', 'tag_ttl_seconds', 'max_entries']);
    into.cache = {
      ttlSeconds: number(problems, ['cache', 'ttl_seconds'], value.cache.ttl_seconds, DEFAULTS.ttlSeconds, 0, 86_400),
      failureTtlSeconds: number(problems, ['cache', 'failure_ttl_seconds'], value.cache.failure_ttl_seconds, DEFAULTS.failureTtlSeconds, 0, 3_600),
      tagTtlSeconds: number(problems, ['cache', 'tag_ttl_seconds'], value.cache.tag_ttl_seconds, DEFAULTS.tagTtlSeconds, 0, 3_600),
      maxEntries: number(problems, ['cache', 'max_entries'], value.cache.max_entries, DEFAULTS.maxEntries, 1, 10_000_000),
    };
  }
  if (value.registries !== undefined) {
    if (!isRecord(value.registries)) problems.fail(['registries'], 'must be a mapping');
    onlyFields(problems, ['registries'], value.registries, ['timeout_ms', 'timeouts_ms', 'pull_secrets', 'insecure']);
    const perRegistry = value.registries.timeouts_ms;
    if (perRegistry !== undefined && !isRecord(perRegistry)) problems.fail(['registries', 'timeouts_ms'], 'must map registry hosts to milliseconds');
    into.registries = {
      timeoutMs: number(problems, ['registries', 'timeout_ms'], value.registries.timeout_ms, DEFAULTS.timeoutMs, 100, 30_000),
      timeoutsMs: Object.fromEntries(
        Object.entries(perRegistry ?? {}).map(([host, ms]) => [
          host,
          number(problems, ['registries', 'timeouts_ms', host], ms, DEFAULTS.timeoutMs, 100, 30_000),
        ]),
      ),
      pullSecrets: value.registries.pull_secrets === undefined ? [] : stringList(problems, ['registries', 'pull_secrets'], value.registries.pull_secrets),
      insecure: value.registries.insecure === undefined ? [] : stringList(problems, ['registries', 'insecure'], value.registries.insecure),
    };
  }
  into.reviewBudgetMs = number(problems, ['review_budget_ms'], value.review_budget_ms, DEFAULTS.reviewBudgetMs, 500, 29_000);
  const policies = value.policies;
  if (!Array.isArray(policies)) problems.fail(['policies'], 'must be a list');
  policies.forEach((item: unknown, index) => {
    const at = ['policies', index];
    if (!isRecord(item)) problems.fail(at, 'must be a mapping');
    onlyFields(problems, at, item, ['name', 'images', 'authorities', 'mode', 'namespaces']);
    if (!Array.isArray(item.authorities) || item.authorities.length === 0) problems.fail([...at, 'authorities'], 'must list at least one authority');
    const selection = readNamespaces(problems, [...at, 'namespaces'], item.namespaces);
    into.policies.push({
      name: typeof item.name === 'string' ? item.name : `policy-${index}`,
      source: 'signet',
      images: readImages(problems, [...at, 'images'], item.images, 'signet'),
      authorities: item.authorities.map((authority: unknown, i) => readAuthority(problems, [...at, 'authorities', i], authority, 'signet', i)),
      mode: readMode(problems, [...at, 'mode'], item.mode, mode),
      ...(selection ? { namespaces: selection } : {}),
    });
  });
}

/**
 * Reads one policy file: signet's own document, or any number of `ClusterImagePolicy`
 * documents (`---`-separated), or both. Errors: `SignetError('POLICY_INVALID')`,
 * `FILE:LINE:COL: field: message`.
 */
export function parseAdmissionPolicy(text: string, file: string): AdmissionPolicy {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  if (!Array.isArray(docs)) throw new SignetError('POLICY_INVALID', `${file}: not a YAML document stream`);
  const policy: AdmissionPolicy = {
    policies: [],
    noMatch: 'deny',
    cache: {
      ttlSeconds: DEFAULTS.ttlSeconds,
      failureTtlSeconds: DEFAULTS.failureTtlSeconds,
      tagTtlSeconds: DEFAULTS.tagTtlSeconds,
      maxEntries: DEFAULTS.maxEntries,
    },
    registries: { timeoutMs: DEFAULTS.timeoutMs, timeoutsMs: {}, pullSecrets: [], insecure: [] },
    reviewBudgetMs: DEFAULTS.reviewBudgetMs,
  };
  let ownDocuments = 0;
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) {
      const pos = lines.linePos(error.pos[0]);
      throw new SignetError('POLICY_INVALID', `${file}:${pos.line}:${pos.col}: YAML: ${error.message.split('\n')[0]}`);
    }
    if (doc.contents === null) continue;
    const problems = new Problems(file, doc, lines);
    if (!isMap(doc.contents)) problems.fail([], isSeq(doc.contents) ? 'a document must be a mapping, not a list' : 'a document must be a mapping');
    const value = doc.toJS() as Record<string, unknown>;
    if (value.kind === 'ClusterImagePolicy') {
      policy.policies.push(readClusterImagePolicy(problems, value));
    } else if (value.kind !== undefined) {
      problems.fail(['kind'], `unknown kind '${String(value.kind)}' (expected ClusterImagePolicy, or signet's own policy without a kind)`);
    } else {
      ownDocuments += 1;
      if (ownDocuments > 1) problems.fail([], 'only one signet policy document per file (ClusterImagePolicy documents may be many)');
      readSignetPolicy(problems, value, policy);
    }
  }
  if (policy.policies.length === 0 && policy.noMatch === 'deny') {
    throw new SignetError('POLICY_INVALID', `${file}: no policies: every image would be denied (set no_match: allow to run without policies)`);
  }
  const names = new Set<string>();
  for (const entry of policy.policies) {
    if (names.has(entry.name)) throw new SignetError('POLICY_INVALID', `${file}: two policies are named '${entry.name}'`);
    names.add(entry.name);
  }
  return policy;
}

/** The policy's identity for caches: any change, keys included, gives another hash. */
export function policyHash(policy: AdmissionPolicy, keyMaterial: string): string {
  return createHash('sha256').update(JSON.stringify(policy)).update('\0').update(keyMaterial).digest('hex');
}
