import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fixed identity and clock so generated histories are reproducible. */
export const gitEnv: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.com',
  GIT_COMMITTER_NAME: 'Test Committer',
  GIT_COMMITTER_EMAIL: 'committer@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

export function git(cwd: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string | Buffer } = {}): string {
  return execFileSync('git', args, { cwd, env: { ...gitEnv, ...options.env }, input: options.input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).trimEnd();
}

export function gitBytes(cwd: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string | Buffer } = {}): Buffer {
  return execFileSync('git', args, { cwd, env: { ...gitEnv, ...options.env }, input: options.input, maxBuffer: 256 * 1024 * 1024 });
}

export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `signet-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Makes a commit with a fixed date without touching the index: `git commit-tree`. */
export function commitTree(cwd: string, tree: string, parents: string[], message: string, time: number, extraArgs: string[] = []): string {
  const date = `${time} +0000`;
  return git(cwd, ['commit-tree', tree, ...parents.flatMap((p) => ['-p', p]), ...extraArgs, '-m', message], {
    env: { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
  });
}

/**
 * A new repository at `cwd` whose `main` is a line of `count` unsigned commits, each with a
 * message of `messageBytes` bytes (to make commits larger than a store's window); their ids,
 * newest first (`git rev-list main` order).
 */
export function linearHistory(cwd: string, count: number, messageBytes: number): string[] {
  git(cwd, ['init', '-q', '-b', 'main']);
  const tree = git(cwd, ['write-tree']).trim();
  const oids: string[] = [];
  let parent: string[] = [];
  for (let index = 0; index < count; index++) {
    const oid = commitTree(cwd, tree, parent, `commit ${index}\n\n${'x'.repeat(messageBytes)}`, 1_700_000_000 + index).trim();
    oids.unshift(oid);
    parent = [oid];
  }
  git(cwd, ['update-ref', 'refs/heads/main', oids[0]!]);
  return oids;
}
