/**
 * How long a verdict judged at the clock stays true (src/core/verdict-horizon.ts), on commits
 * signed by real gpg and ssh-keygen: the instant the rule names is where the verifier's verdict
 * really changes, one second either side.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOpenPgpRegistry } from '../../../src/core/openpgp/index.ts';
import { createSshRegistry, parseAllowedSigners } from '../../../src/core/ssh/index.ts';
import { registryInstants, verdictUntil } from '../../../src/core/verdict-horizon.ts';
import { verifyCommitObject, type KeyRegistries } from '../../../src/core/verify-object.ts';
import { git, gitBytes, tempDir } from '../../helpers/git.ts';
import { GpgHome, createSshKey, sshSigningConfig } from '../../helpers/signing-keys.ts';
import { sshTime } from '../../helpers/ssh-keygen.ts';

const DAY = 86_400;
const dir = tempDir('verdict-horizon');
const now = Math.floor(Date.now() / 1000);
const validBefore = now + 10 * DAY;
let repo: string;
let oids: { ssh: string; expiringSignature: string; unsigned: string };
let registries: KeyRegistries;
let timeless: KeyRegistries;

beforeAll(async () => {
  repo = join(dir.path, 'repo');
  git(dir.path, ['init', '-q', repo]);
  const home = new GpgHome(join(dir.path, 'gnupg'));
  const alice = home.createKey('Alice', 'alice@example.com');
  // Every signature alice makes expires a day after it is made.
  writeFileSync(join(home.home, 'gpg.conf'), 'default-sig-expire 1d\n');
  const bob = createSshKey(join(dir.path, 'ssh'), 'bob', 'bob@example.com');
  const commit = (message: string, sign: string[], env: NodeJS.ProcessEnv = {}): string => {
    git(repo, [...sign, 'commit', '-q', '--allow-empty', ...(sign.length > 0 ? ['-S'] : []), '-m', message], {
      env: { GIT_COMMITTER_EMAIL: message.startsWith('ssh') ? 'bob@example.com' : 'alice@example.com', ...env },
    });
    return git(repo, ['rev-parse', 'HEAD']);
  };
  oids = {
    ssh: commit('ssh-signed', sshSigningConfig(bob)),
    expiringSignature: commit('openpgp-signed', home.gitSigningConfig(alice), home.env()),
    unsigned: commit('unsigned', []),
  };
  const [type, key] = bob.publicKeyLine.split(' ');
  const openpgp = await loadOpenPgpRegistry([{ name: 'alice.asc', text: alice.armoredPublicKey }]);
  registries = {
    openpgp,
    ssh: createSshRegistry(parseAllowedSigners(`bob@example.com namespaces="git",valid-before="${sshTime(validBefore)}" ${type} ${key}`, 'allowed_signers')),
  };
  timeless = { openpgp, ssh: createSshRegistry(parseAllowedSigners(`bob@example.com namespaces="git" ${type} ${key}`, 'allowed_signers')) };
});

afterAll(() => dir.remove());

async function judge(oid: string, at: number, with_ = registries) {
  const raw = gitBytes(repo, ['cat-file', 'commit', oid]);
  const when = new Date(at * 1000);
  const result = await verifyCommitObject(oid, raw, with_, { hash: 'sha1', now: when, sshVerifyTime: when });
  return { result, until: verdictUntil(raw, 'sha1', result, registryInstants(with_), when) };
}

describe('verdictUntil', () => {
  it("ends an SSH verdict at its allowed_signers line's valid-before, where the verdict changes", async () => {
    const today = await judge(oids.ssh, now);
    expect(today.result.verdict.status).toBe('G');
    expect(today.until).toBe(validBefore);
    expect((await judge(oids.ssh, validBefore - 1)).result.verdict.status).toBe('G');
    expect((await judge(oids.ssh, validBefore + 1)).result.verdict.status).not.toBe('G');
    // Without a window the SSH verdict has no instant at all.
    expect((await judge(oids.ssh, now, timeless)).until).toBe(Infinity);
  });

  it("ends an OpenPGP verdict at the signature's own expiry, where G turns X", async () => {
    // A few seconds on: alice's key, made a moment ago, has its creation instant at now.
    expect((await judge(oids.expiringSignature, now)).until).toBeLessThanOrEqual(now + 1);
    const today = await judge(oids.expiringSignature, now + 10);
    expect(today.result.verdict.status).toBe('G');
    const signedAt = today.result.verdict.signedAt!;
    expect(today.until).toBe(signedAt + DAY);
    expect((await judge(oids.expiringSignature, today.until - 1)).result.verdict.status).toBe('G');
    expect((await judge(oids.expiringSignature, today.until)).result.verdict.status).toBe('X');
  });

  it('keeps an unsigned verdict for ever, and nothing judged after an instant it already passed is cut short by it', async () => {
    expect((await judge(oids.unsigned, now)).until).toBe(Infinity);
    const afterWindow = await judge(oids.ssh, validBefore + 5);
    expect(afterWindow.until).toBe(Infinity);
  });
});
