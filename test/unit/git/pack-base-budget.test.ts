/**
 * The pack reader's cache of delta bases is bounded by bytes, not only by count: a chain of
 * large, deltified commits (each 1 MiB of message, a few bytes of delta apart; a push of them
 * is small on the wire) read in walk order kept every base. 40 of them held 40 MiB; 256 of
 * 4 MiB would hold a gibibyte.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PackFile } from '../../../src/git/pack-file.ts';
import { git, tempDir } from '../../helpers/git.ts';

const COMMITS = 40;
const MESSAGE = Array.from({ length: 30_000 }, (_, line) => `line ${line} value ${(line * 7919) % 10007}\n`).join('');

describe('pack delta bases', () => {
  const dir = tempDir('pack-base-budget');
  const repo = join(dir.path, 'repo');
  let ids: string[];

  beforeAll(() => {
    git(dir.path, ['init', '-q', '-b', 'main', repo]);
    let stream = '';
    for (let index = 0; index < COMMITS; index++) {
      const message = `commit ${index}\n${MESSAGE}`;
      stream += `commit refs/heads/main\ncommitter A <a@x> ${1_700_000_000 + index} +0000\ndata ${Buffer.byteLength(message)}\n${message}\n`;
    }
    execFileSync('git', ['fast-import', '--quiet'], { cwd: repo, input: stream });
    git(repo, ['repack', '-adfq', '--window=50', '--depth=50']);
    ids = git(repo, ['rev-list', 'main']).split('\n');
  }, 120_000);
  afterAll(() => dir.remove());

  it('holds at most 16 MiB of bases while a chain of 1 MiB commits is read, and reads every one right', () => {
    const packDir = join(repo, '.git', 'objects', 'pack');
    const name = readdirSync(packDir).find((file) => file.endsWith('.pack'))!;
    // The commits are deltified against each other (else this test proves nothing).
    const chains = git(repo, ['verify-pack', '-v', join(packDir, name.replace(/\.pack$/, '.idx'))]);
    expect(chains.split('\n').filter((line) => / commit \d+ \d+ \d+ \d+ [0-9a-f]{40}$/.test(line)).length).toBeGreaterThan(COMMITS / 2);

    const pack = new PackFile(join(packDir, name), 20);
    let peak = 0;
    for (const id of ids) {
      const object = pack.read(Buffer.from(id, 'hex'), () => undefined)!;
      expect(object.type).toBe('commit');
      expect(object.data.includes(`commit ${COMMITS - 1 - ids.indexOf(id)}\n`)).toBe(true);
      peak = Math.max(peak, pack.heldBaseBytes);
    }
    pack.close();
    expect(peak).toBeGreaterThan(8 * 1024 * 1024);
    expect(peak).toBeLessThanOrEqual(16 * 1024 * 1024);
  }, 60_000);
});
