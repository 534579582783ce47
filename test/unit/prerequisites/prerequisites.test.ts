import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/git.ts';
import { missingPrerequisites, readPrerequisites } from '../../helpers/prerequisites.ts';
import { bundleForNode } from '../../helpers/node-module.ts';

/** One list of Debian packages (scripts/prerequisites.txt): .ci/run installs it, the README shows it, the tests check it. */
describe('test prerequisites', () => {
  const list = readPrerequisites();
  const dir = tempDir('prereq');
  afterAll(() => dir.remove());

  it('the README shows exactly the packages of the list, and .ci/run installs from the list', () => {
    const readme = readFileSync('README.md', 'utf8');
    const block = /sudo apt-get install --no-install-recommends \\\n([\s\S]*?)\n```/.exec(readme)?.[1] ?? '';
    expect(block.split(/[\s\\]+/).filter(Boolean)).toEqual(list.map((item) => item.debianPackage));
    expect(readFileSync('.ci/run', 'utf8')).toMatch(/scripts\/prerequisites\.txt/);
  });

  it('finds every tool on this machine', () => {
    expect(missingPrerequisites(list)).toEqual([]);
  });

  it('stops the test run at once with one line per missing tool, saying how to install it', () => {
    // A PATH holding every listed tool except sq and skopeo, and node itself.
    const bin = join(dir.path, 'bin');
    mkdirSync(bin);
    const which = (command: string): string => spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).stdout.trim();
    for (const command of list.flatMap((item) => item.commands)) {
      if (command === 'sq' || command === 'skopeo' || command === 'initdb') continue;
      const path = which(command);
      if (path.startsWith('/')) symlinkSync(path, join(bin, command));
    }
    expect(missingPrerequisites(list, { PATH: bin })).toEqual(['missing sq: sudo apt-get install sq', 'missing skopeo: sudo apt-get install skopeo']);
    const setup = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `const { default: setup } = await import(${JSON.stringify(bundleForNode('test/global-setup.ts'))}); setup();`],
      { encoding: 'utf8', env: { PATH: bin } },
    );
    expect(setup.status).toBe(2);
    expect(setup.stderr.trim().split('\n')).toEqual([
      "signet's tests need tools this machine lacks (scripts/prerequisites.txt):",
      '  missing sq: sudo apt-get install sq',
      '  missing skopeo: sudo apt-get install skopeo',
    ]);
  });
});
