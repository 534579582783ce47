import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
import { git, gitEnv } from './git.ts';

/**
 * A bare repository with signet's pre-receive hook installed by `signet hook install`, and a
 * work tree whose `origin` it is. `binary` installs the single executable (dist/signet, built
 * by the caller); otherwise the node script.
 */
export interface HookServer {
  server: string;
  work: string;
  push: (args: string[], env?: NodeJS.ProcessEnv) => { code: number; stderr: string };
  /** The server's value of a ref (symbolic refs followed), or undefined. */
  ref: (name: string) => string | undefined;
  /** Every ref of the server, `name oid` lines: compared before and after a refused push. */
  refs: () => string;
  /** git on the server itself: what the forge does without pre-receive. */
  onServer: (args: string[]) => string;
}

export function makeHookServer(parent: string, name: string, policyPath: string, options: { binary?: boolean; env?: NodeJS.ProcessEnv } = {}): HookServer {
  const server = join(parent, `${name}.git`);
  const work = join(parent, name);
  git(parent, ['init', '-q', '--bare', '-b', 'main', server]);
  git(parent, ['init', '-q', '-b', 'main', work]);
  git(work, ['remote', 'add', 'origin', server]);
  const install = spawnSync(
    process.execPath,
    ['bin/signet.js', 'hook', 'install', ...(options.binary ? [] : ['--script']), '--repo', server, '--policy', policyPath],
    { encoding: 'utf8' },
  );
  expect(install.stderr).toBe('');
  expect(install.stdout).toMatch(options.binary ? /a script that runs \S*dist\/signet|the signet executable/ : /a node script/);
  return {
    server,
    work,
    push: (args, env = {}) => {
      const result = spawnSync('git', ['push', ...args], { cwd: work, env: { ...gitEnv, ...options.env, ...env }, encoding: 'utf8', timeout: 60_000 });
      return { code: result.status ?? -1, stderr: result.stderr };
    },
    ref: (ref) => {
      const result = spawnSync('git', ['--git-dir', server, 'rev-parse', '--verify', '-q', ref], { encoding: 'utf8' });
      return result.status === 0 ? result.stdout.trim() : undefined;
    },
    refs: () => git(server, ['for-each-ref', '--format=%(refname) %(objectname) %(symref)']),
    onServer: (args) => git(server, args),
  };
}
