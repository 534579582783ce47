/**
 * The server's NODE_OPTIONS is not the hook's: the single executable ignores it (sea-config
 * `execArgvExtension: 'cli'`). Set for the server's other Node programs, V8 flags in it made V8
 * refuse the executable's code cache (a slower start on every push), tracing flags printed on
 * the hook's output, which the pusher reads, and a flag Node refuses in NODE_OPTIONS (--harmony)
 * failed every push with Node's own message. Real `git push`es into a bare repository whose hook
 * runs dist/signet, with NODE_OPTIONS in the environment the server runs it with.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHookFixture, type HookFixture } from '../../helpers/hook-fixture.ts';

const executable = new URL('../../../dist/signet', import.meta.url).pathname;

const POLICY = `version: 1
keys:
  openpgp: [keys/registry.asc]
rules:
  - refs: ["refs/heads/*"]
    require_signed_commits: true
    signers: [alice@example.com]
`;

/** V8 and Node flags a server may set for its other programs; each changed the hook's run. */
const SERVER_NODE_OPTIONS = ['--expose-gc --stack-trace-limit=50', '--trace-gc --trace-warnings', '--harmony', '--jitless'];

describe("the single executable as the hook ignores the server's NODE_OPTIONS", () => {
  let fixture: HookFixture;

  beforeAll(() => {
    execFileSync(process.execPath, ['scripts/build-sea.mjs'], { stdio: 'pipe' });
    fixture = makeHookFixture('hook-node-options', POLICY, ['Alice']);
  }, 240_000);
  afterAll(() => fixture?.remove());

  it.each(SERVER_NODE_OPTIONS)(
    "NODE_OPTIONS=%s: the pusher reads only the hook's own lines, and the verdict is the same",
    (options) => {
      const host = fixture.fresh(`push-${SERVER_NODE_OPTIONS.indexOf(options)}`, { binary: true });
      const signed = fixture.commit(host, fixture.people[0], 'a.txt', 'a\n', 'signed');
      const accepted = host.push(['-q', 'origin', 'main'], { NODE_OPTIONS: options });
      expect(accepted.code, accepted.stderr).toBe(0);
      expect(host.ref('refs/heads/main')).toBe(signed);
      // Every line the hook sent is signet's ("remote: signet: …" or an indented detail).
      for (const line of accepted.stderr.split('\n').filter((line) => line.startsWith('remote:'))) expect(line).toMatch(/^remote: (signet|  |\s*$)/);
      expect(accepted.stderr).not.toMatch(/Scavenge|Mark-Compact|warning|not allowed in NODE_OPTIONS/i);

      const unsigned = fixture.commit(host, undefined, 'b.txt', 'b\n', 'unsigned');
      const refused = host.push(['-q', 'origin', 'main'], { NODE_OPTIONS: options });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain(`${unsigned.slice(0, 10)} N "unsigned": not signed`);
      expect(refused.stderr).not.toMatch(/Scavenge|Mark-Compact|warning|not allowed in NODE_OPTIONS/i);
      expect(host.ref('refs/heads/main')).toBe(signed);
    },
    60_000,
  );

  it('keeps its code cache under V8 flags in NODE_OPTIONS (which --node-options, given on purpose, does not)', () => {
    const probe = join(fixture.dir, 'code-cache-probe.cjs');
    writeFileSync(
      probe,
      `const vm = require('node:vm');
const Script = vm.Script;
vm.Script = class extends Script { constructor(source, options) { super(source, options); if (options && options.cachedData) process.stdout.write('cache rejected ' + this.cachedDataRejected + '\\n'); } };
`,
    );
    const run = (args: string[], env: NodeJS.ProcessEnv) =>
      spawnSync(executable, [`--node-options=--require ${probe}${args.length ? ' ' + args.join(' ') : ''}`, '--version'], {
        encoding: 'utf8',
        env: { ...process.env, ...env },
        timeout: 30_000,
      });
    const underEnvironment = run([], { NODE_OPTIONS: '--expose-gc --stack-trace-limit=50' });
    expect(underEnvironment.status).toBe(0);
    expect(underEnvironment.stdout).toMatch(/^cache rejected false$/m);
    expect(underEnvironment.stderr).toBe('');
    // The probe sees a refusal when the flags do reach V8.
    expect(run(['--expose-gc'], {}).stdout).toMatch(/^cache rejected true$/m);
  }, 60_000);
});
