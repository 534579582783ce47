import { SignetError } from '../errors.ts';
import { isRecord } from './encoding.ts';

/** An SPDX 2.3 JSON document, the subset signet writes. */
export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: 'SPDXRef-DOCUMENT';
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  packages: SpdxPackage[];
  relationships: SpdxRelationship[];
  documentDescribes: string[];
}

export interface SpdxPackage {
  name: string;
  SPDXID: string;
  versionInfo: string;
  downloadLocation: string;
  filesAnalyzed: false;
  licenseConcluded: 'NOASSERTION';
  licenseDeclared: string;
  copyrightText: 'NOASSERTION';
  /** Says when downloadLocation was derived rather than read from the lockfile. */
  comment?: string;
  checksums?: { algorithm: string; checksumValue: string }[];
  externalRefs: { referenceCategory: 'PACKAGE-MANAGER'; referenceType: 'purl'; referenceLocator: string }[];
}

export interface SpdxRelationship {
  spdxElementId: string;
  relationshipType: 'DESCRIBES' | 'DEPENDS_ON' | 'DEV_DEPENDENCY_OF' | 'OPTIONAL_DEPENDENCY_OF';
  relatedSpdxElement: string;
}

export interface SpdxOptions {
  /** A URI unique to this document (SPDX requires one); the caller supplies it so output is reproducible. */
  documentNamespace: string;
  /** ISO 8601 UTC, seconds precision (`2024-01-02T03:04:05Z`). */
  created: string;
  creator: string;
  /** Include devDependencies (default: only what ships). */
  includeDev?: boolean;
  /**
   * The registry a lockfile without `resolved` fields (npm's omit-lockfile-registry-resolved)
   * installs from; default https://registry.npmjs.org.
   */
  registry?: string;
}

interface LockEntry {
  path: string;
  name: string;
  version: string;
  resolved?: string;
  integrity?: string;
  license?: string;
  /** Shipped inside its parent's tarball: it has no download of its own. */
  inBundle: boolean;
  dev: boolean;
  optional: boolean;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

const HASH_NAMES: Record<string, string> = { sha1: 'SHA1', sha256: 'SHA256', sha384: 'SHA384', sha512: 'SHA512' };

/** `pkg:npm/%40scope/name@1.2.3` (purl spec: the scope's `@` is percent-encoded). */
export function npmPurl(name: string, version: string): string {
  const encoded = name.startsWith('@') ? `%40${name.slice(1)}` : name;
  return `pkg:npm/${encoded
    .split('/')
    .map((part, index) => (index === 0 ? part : encodeURIComponent(part)))
    .join('/')}@${encodeURIComponent(version)}`;
}

function nameFromPath(path: string): string {
  const index = path.lastIndexOf('node_modules/');
  return index >= 0 ? path.slice(index + 'node_modules/'.length) : path;
}

function readEntries(lock: Record<string, unknown>): Map<string, LockEntry> {
  const packages = lock.packages;
  if (!isRecord(packages)) {
    throw new SignetError(
      'CONFIG_INVALID',
      `package-lock.json lockfileVersion ${String(lock.lockfileVersion)} has no 'packages' map (npm 7 or later writes one)`,
    );
  }
  const entries = new Map<string, LockEntry>();
  for (const [path, raw] of Object.entries(packages)) {
    if (!isRecord(raw) || raw.link === true) continue; // links point at another entry that is listed itself
    const dependencies: Record<string, string> = {};
    for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies'] as const) {
      const deps = raw[field];
      if (isRecord(deps)) for (const [dep, range] of Object.entries(deps)) dependencies[dep] = String(range);
    }
    const devDependencies: Record<string, string> = {};
    if (isRecord(raw.devDependencies)) for (const [dep, range] of Object.entries(raw.devDependencies)) devDependencies[dep] = String(range);
    entries.set(path, {
      path,
      name: typeof raw.name === 'string' && path !== '' ? raw.name : path === '' ? String(raw.name ?? lock.name ?? 'root') : nameFromPath(path),
      version: typeof raw.version === 'string' ? raw.version : String(lock.version ?? '0.0.0'),
      ...(typeof raw.resolved === 'string' ? { resolved: raw.resolved } : {}),
      ...(typeof raw.integrity === 'string' ? { integrity: raw.integrity } : {}),
      ...(typeof raw.license === 'string' ? { license: raw.license } : {}),
      inBundle: raw.inBundle === true,
      dev: raw.dev === true,
      optional: raw.optional === true,
      dependencies,
      devDependencies,
    });
  }
  if (!entries.has('')) throw new SignetError('CONFIG_INVALID', "package-lock.json has no root package (packages[''])");
  return entries;
}

/** Node's resolution: `P/node_modules/D`, then each ancestor's `node_modules/D`. */
function resolve(entries: Map<string, LockEntry>, from: string, dependency: string): LockEntry | undefined {
  let base = from;
  for (;;) {
    const candidate = entries.get(base === '' ? `node_modules/${dependency}` : `${base}/node_modules/${dependency}`);
    if (candidate) return candidate;
    if (base === '') return undefined;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut >= 0 ? base.slice(0, cut) : '';
  }
}

function checksumsOf(integrity: string | undefined): SpdxPackage['checksums'] {
  if (!integrity) return undefined;
  const sums = integrity.split(/\s+/).flatMap((item) => {
    const dash = item.indexOf('-');
    const algorithm = HASH_NAMES[item.slice(0, dash)];
    if (dash < 0 || !algorithm) return [];
    return [{ algorithm, checksumValue: Buffer.from(item.slice(dash + 1), 'base64').toString('hex') }];
  });
  return sums.length > 0 ? sums : undefined;
}

/**
 * Where the package was downloaded from: the lockfile's `resolved` URL; without one (npm's
 * omit-lockfile-registry-resolved), an installed registry package's tarball URL as npm builds
 * it — `REGISTRY/NAME/-/BASENAME-VERSION.tgz`, BASENAME without the scope — marked as derived.
 * The root, linked workspaces, bundled copies and non-http sources stay NOASSERTION.
 */
function downloadLocation(entry: LockEntry, registry: string): Pick<SpdxPackage, 'downloadLocation' | 'comment'> {
  if (entry.resolved !== undefined) return { downloadLocation: /^https?:/.test(entry.resolved) ? entry.resolved : 'NOASSERTION' };
  if (entry.inBundle || !/(^|\/)node_modules\//.test(entry.path) || !/^\d/.test(entry.version)) return { downloadLocation: 'NOASSERTION' };
  const basename = entry.name.startsWith('@') ? entry.name.slice(entry.name.indexOf('/') + 1) : entry.name;
  return {
    downloadLocation: `${registry.replace(/\/+$/, '')}/${entry.name}/-/${basename}-${entry.version}.tgz`,
    comment: 'downloadLocation derived from the package name and version (npm registry layout): the lockfile has no resolved URL',
  };
}

/** SPDX 2.3 JSON describing a package-lock.json (v2/v3): one package per installed copy, DEPENDS_ON edges. */
export function spdxFromPackageLock(lockJson: unknown, options: SpdxOptions): SpdxDocument {
  if (!isRecord(lockJson)) throw new SignetError('CONFIG_INVALID', 'package-lock.json is not a JSON object');
  const entries = readEntries(lockJson);
  const included = [...entries.values()].filter((entry) => entry.path === '' || options.includeDev || !entry.dev);
  const ids = new Map<string, string>();
  const used = new Set<string>();
  for (const entry of included) {
    const base = `SPDXRef-Package-${`${entry.name}-${entry.version}`.replace(/[^A-Za-z0-9.-]+/g, '-')}`;
    let id = base;
    for (let n = 2; used.has(id); n += 1) id = `${base}-${n}`;
    used.add(id);
    ids.set(entry.path, id);
  }
  const packages = included.map((entry): SpdxPackage => {
    const checksums = checksumsOf(entry.integrity);
    return {
      name: entry.name,
      SPDXID: ids.get(entry.path) ?? '',
      versionInfo: entry.version,
      ...downloadLocation(entry, options.registry ?? 'https://registry.npmjs.org'),
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: entry.license ?? 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      ...(checksums ? { checksums } : {}),
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: npmPurl(entry.name, entry.version) }],
    };
  });
  const rootId = ids.get('') ?? '';
  const relationships: SpdxRelationship[] = [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: rootId }];
  for (const entry of included) {
    const from = ids.get(entry.path);
    if (!from) continue;
    // Only the root's devDependencies are installed; a dependency's own are not.
    const deps = entry.path === '' && options.includeDev ? { ...entry.devDependencies, ...entry.dependencies } : entry.dependencies;
    for (const dependency of Object.keys(deps).sort()) {
      const target = resolve(entries, entry.path, dependency);
      const to = target ? ids.get(target.path) : undefined;
      if (to) relationships.push({ spdxElementId: from, relationshipType: 'DEPENDS_ON', relatedSpdxElement: to });
    }
  }
  const root = entries.get('');
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: root ? `${root.name}@${root.version}` : 'sbom',
    documentNamespace: options.documentNamespace,
    creationInfo: { created: options.created, creators: [`Tool: ${options.creator}`] },
    packages,
    relationships,
    documentDescribes: [rootId],
  };
}
