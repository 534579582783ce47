// `signet verify` compiles at start-up every module its command imports statically. pkijs, asn1js
// and sigstore (X.509 and gitsign signatures, trusted roots) were three quarters of those bytes
// and a third of a 2,000-commit run's start-up, while most runs meet no such signature: they are
// imported when the first one is met or when their files are given. This keeps them out.
import { build } from 'esbuild';
import { resolve } from 'node:path';
import { expect, test } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');

/** Every file `entry` reaches through static imports (import statements and require calls). */
async function staticGraph(entry: string): Promise<string[]> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    splitting: true,
    outdir: 'dist/.start-up-graph',
    write: false,
    metafile: true,
    logLevel: 'silent',
    define: { SIGNET_VERSION: '"test"' },
  });
  const edges = new Map(Object.entries(result.metafile.inputs).map(([file, input]) => [file, input.imports.filter((i) => i.kind !== 'dynamic-import')]));
  const seen = new Set([entry]);
  const queue = [entry];
  while (queue.length > 0) for (const next of edges.get(queue.shift()!) ?? []) if (!seen.has(next.path)) (seen.add(next.path), queue.push(next.path));
  return [...seen];
}

test('the verify command imports no X.509 or Sigstore library at start-up; the verifier still reaches them', async () => {
  const heavy = /node_modules\/(pkijs|asn1js|@sigstore\/[^/]+)\//;
  const graph = await staticGraph('src/cli/commands/verify.ts');
  expect(graph.some((file) => file.endsWith('src/core/verify-object.ts'))).toBe(true);
  expect(graph.filter((file) => heavy.test(file))).toEqual([]);
  // The guard is not vacuous: the X.509 verifier itself does import them.
  expect((await staticGraph('src/core/x509/verify.ts')).some((file) => heavy.test(file))).toBe(true);
}, 30_000);
