/**
 * The set-up every hook suite shares: a temporary folder, a GnuPG home with one Ed25519 key per
 * person (`Alice` → alice@example.com), a policy folder (conf/policy.yml, conf/keys/registry.asc
 * holding the people's public keys), and fresh bare repositories with the hook installed against
 * that policy (test/helpers/hook-server.ts). Made in beforeAll, removed in afterAll.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { tempDir } from './git.ts';
import { makeHookServer, type HookServer } from './hook-server.ts';
import { commitFile, GpgHome, type GpgIdentity } from './signing-keys.ts';

export interface HookFixture {
  /** The temporary folder everything lives in. */
  dir: string;
  /** conf/: policy.yml and keys/registry.asc. */
  conf: string;
  policyPath: string;
  gpg: GpgHome;
  /** One key per name given, in that order. */
  people: GpgIdentity[];
  /** A fresh bare repository `name` with the hook installed against the policy (or another), and its work tree. */
  serve(name: string, options?: { binary?: boolean; policyPath?: string }): HookServer;
  /** Commits `file` in the work tree, signed by `who` (unsigned as eve@example.com when undefined). */
  commit(host: HookServer, who: GpgIdentity | undefined, file: string, content: string, message: string): string;
  /** A server whose `push` (default main) already holds one commit of the first person, accepted by the hook. */
  fresh(name: string, first?: { file?: string; content?: string; message?: string; push?: string[]; binary?: boolean }): HookServer;
  remove(): void;
}

export function makeHookFixture(prefix: string, policy: string, names: string[]): HookFixture {
  const temporary = tempDir(prefix);
  const conf = join(temporary.path, 'conf');
  const gpg = new GpgHome(join(temporary.path, 'gnupg'));
  const people = names.map((name) => gpg.createKey(name, `${name.toLowerCase()}@example.com`));
  mkdirSync(join(conf, 'keys'), { recursive: true });
  writeFileSync(join(conf, 'keys', 'registry.asc'), people.map((person) => person.armoredPublicKey).join(''));
  const policyPath = join(conf, 'policy.yml');
  writeFileSync(policyPath, policy);
  const fixture: HookFixture = {
    dir: temporary.path,
    conf,
    policyPath,
    gpg,
    people,
    serve: (name, options = {}) =>
      makeHookServer(temporary.path, name, options.policyPath ?? policyPath, { ...(options.binary ? { binary: true } : {}), env: gpg.env() }),
    commit: (host, who, file, content, message) =>
      commitFile(host.work, file, content, message, {
        email: who?.email ?? 'eve@example.com',
        ...(who ? { sign: gpg.gitSigningConfig(who) } : {}),
        env: gpg.env(),
      }),
    fresh: (name, first = {}) => {
      const host = fixture.serve(name, first.binary ? { binary: true } : {});
      fixture.commit(host, people[0], first.file ?? 'README', first.content ?? 'hello\n', first.message ?? 'initial');
      const result = host.push(first.push ?? ['-q', 'origin', 'main']);
      expect(result.stderr).not.toMatch(/rejected|internal error/);
      expect(result.code, result.stderr).toBe(0);
      return host;
    },
    remove: () => temporary.remove(),
  };
  return fixture;
}
