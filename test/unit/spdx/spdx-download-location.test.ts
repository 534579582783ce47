import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { spdxFromPackageLock } from '../../../src/core/sign/spdx.ts';

/**
 * A lockfile written with npm's omit-lockfile-registry-resolved (this project's own, for one)
 * has no `resolved` fields: the SBOM derives each registry package's tarball URL as npm builds
 * it, and says it derived it.
 */
describe('SPDX downloadLocation without resolved fields', () => {
  const options = { documentNamespace: 'https://example.com/sbom', created: '2026-01-01T00:00:00Z', creator: 'Tool: test', includeDev: true };

  it('derives the tarball URL npm gives (`npm view NAME@VERSION dist.tarball`), scoped or not, and marks it derived', () => {
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { resolved?: string; version?: string }> };
    expect(Object.values(lock.packages).filter((entry) => entry.resolved !== undefined)).toEqual([]);
    const sbom = spdxFromPackageLock(lock, options);
    const byName = new Map(sbom.packages.map((pkg) => [pkg.name, pkg]));
    // The URLs npm's registry answered for these two versions (checked with npm view).
    expect(lock.packages['node_modules/@noble/curves']?.version).toBe('1.9.7');
    expect(byName.get('@noble/curves')).toMatchObject({
      downloadLocation: 'https://registry.npmjs.org/@noble/curves/-/curves-1.9.7.tgz',
      comment: expect.stringMatching(/derived from the package name and version/),
    });
    expect(lock.packages['node_modules/openpgp']?.version).toBe('6.3.2');
    expect(byName.get('openpgp')?.downloadLocation).toBe('https://registry.npmjs.org/openpgp/-/openpgp-6.3.2.tgz');
    const installed = sbom.packages.filter((pkg) => pkg.SPDXID !== sbom.documentDescribes[0]);
    expect(installed.length).toBeGreaterThan(100);
    for (const pkg of installed)
      expect(pkg.downloadLocation).toBe(`https://registry.npmjs.org/${pkg.name}/-/${pkg.name.replace(/^@[^/]+\//, '')}-${pkg.versionInfo}.tgz`);
  });

  it('keeps a resolved URL as written (not marked derived), and leaves the root, bundled and non-http sources NOASSERTION', () => {
    const lock = {
      name: 'app',
      version: '1.0.0',
      lockfileVersion: 3,
      packages: {
        '': { name: 'app', version: '1.0.0', dependencies: { a: '1', b: '1', c: '1' } },
        'node_modules/a': { version: '1.0.0', resolved: 'https://mirror.example.com/a/-/a-1.0.0.tgz' },
        'node_modules/b': { version: '1.0.0', resolved: 'git+ssh://git@github.com/x/b.git#abc' },
        'node_modules/c': { version: '2.0.0', dependencies: { d: '1' } },
        'node_modules/c/node_modules/d': { version: '1.0.0', inBundle: true },
      },
    };
    const sbom = spdxFromPackageLock(lock, options);
    const byName = new Map(sbom.packages.map((pkg) => [pkg.name, pkg]));
    expect(byName.get('app')?.downloadLocation).toBe('NOASSERTION');
    expect(byName.get('a')).toMatchObject({ downloadLocation: 'https://mirror.example.com/a/-/a-1.0.0.tgz' });
    expect(byName.get('a')?.comment).toBeUndefined();
    expect(byName.get('b')?.downloadLocation).toBe('NOASSERTION');
    expect(byName.get('c')?.downloadLocation).toBe('https://registry.npmjs.org/c/-/c-2.0.0.tgz');
    expect(byName.get('d')?.downloadLocation).toBe('NOASSERTION');
    const mirrored = spdxFromPackageLock(lock, { ...options, registry: 'https://npm.example.com/repo/' });
    expect(mirrored.packages.find((pkg) => pkg.name === 'c')?.downloadLocation).toBe('https://npm.example.com/repo/c/-/c-2.0.0.tgz');
  });
});
