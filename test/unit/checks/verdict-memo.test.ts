/**
 * The verdict memo (src/checks/verdict-memo.ts) under attack, on commits made by real git and
 * verdicts made by the real verifier: what one installation stores never reaches another that
 * holds other bytes, a served verdict cannot be written to, a clock behind the judgement finds
 * nothing, and one installation flooding the memo evicts its own verdicts, not others'.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trustInputBytes } from '../../../src/checks/registry-memo.ts';
import { VerdictMemo } from '../../../src/checks/verdict-memo.ts';
import { verifyCommitObject, type CommitResult } from '../../../src/core/verify-object.ts';
import { openRepository } from '../../../src/git/repository.ts';
import { buildCheckRegistries, type CheckRegistries, type PolicyKeyFiles } from '../../../src/forge/forge-keys.ts';
import { git, gitBytes, tempDir } from '../../helpers/git.ts';
import { GpgHome, createSshKey } from '../../helpers/signing-keys.ts';

const dir = tempDir('verdict-memo');
let registries: CheckRegistries;
/** Two real commits: their bytes by id. */
const objects = new Map<string, Buffer>();
/** A real SSH public key line (type and key). */
let sshKey: string;
let first: string;
let second: string;
/** A commit alice signed with a signature that expires a day after it was made, and her keyring. */
let expiring: string;
let aliceRegistries: CheckRegistries;
const now = new Date();

beforeAll(async () => {
  git(dir.path, ['init', '-q', 'repo']);
  const repo = `${dir.path}/repo`;
  for (const message of ['one', 'two']) {
    git(repo, ['-c', 'commit.gpgsign=false', 'commit', '-q', '--allow-empty', '-m', message]);
    const oid = git(repo, ['rev-parse', 'HEAD']);
    objects.set(oid, gitBytes(repo, ['cat-file', 'commit', oid]));
  }
  [first, second] = [...objects.keys()] as [string, string];
  const home = new GpgHome(`${dir.path}/gnupg`);
  const alice = home.createKey('Alice', 'alice@example.com');
  writeFileSync(`${home.home}/gpg.conf`, 'default-sig-expire 1d\n');
  git(repo, [...home.gitSigningConfig(alice), 'commit', '-q', '--allow-empty', '-S', '-m', 'signed'], { env: home.env() });
  expiring = git(repo, ['rev-parse', 'HEAD']);
  objects.set(expiring, gitBytes(repo, ['cat-file', 'commit', expiring]));
  aliceRegistries = await buildCheckRegistries({ keyrings: [{ name: 'alice.asc', text: alice.armoredPublicKey }] }, []);
  registries = await buildCheckRegistries({ keyrings: [] }, []);
  const [type, key] = createSshKey(`${dir.path}/ssh`, 'bob', 'bob@example.com').publicKeyLine.split(' ');
  sshKey = `${type} ${key}`;
});

/** An allowed_signers file of `lines` principals for one key: `lines` × ~100 bytes of input. */
function trustSet(lines: number, tag: string): PolicyKeyFiles {
  const text = Array.from({ length: lines }, (_, index) => `${tag}${index}@example.com namespaces="git" ${sshKey}`).join('\n');
  return { keyrings: [], allowedSigners: { name: 'allowed_signers', text } };
}

/** Asks the memo for a trust set's registries; returns how many times they were built. */
async function ask(memo: VerdictMemo, files: PolicyKeyFiles, key: string): Promise<number> {
  let built = 0;
  await memo.registriesFor(key, () => (built++, buildCheckRegistries(files, [])), trustInputBytes(files, []));
  return built;
}

afterAll(() => dir.remove());

const read = (oid: string): Uint8Array => {
  const bytes = objects.get(oid);
  if (!bytes) throw new Error(`no object ${oid}`);
  return bytes;
};

function verify(oid: string, bytes = read(oid)): Promise<CommitResult> {
  return verifyCommitObject(oid, bytes, registries.registries, { hash: 'sha1', now, sshVerifyTime: now });
}

/** An unsigned commit's bytes, as git writes them, for floods of distinct commits. */
function syntheticCommit(index: number): { oid: string; bytes: Buffer } {
  const body = `tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.com> ${1_700_000_000 + index} +0000\ncommitter A <a@example.com> ${1_700_000_000 + index} +0000\n\nflood ${index}\n`;
  const bytes = Buffer.from(body);
  const oid = createHash('sha1').update(`commit ${bytes.length}\0`).update(bytes).digest('hex');
  return { oid, bytes };
}

describe('the verdict memo under attack', () => {
  it("never serves a verdict to other bytes under the same id (a colliding twin in another installation's object store)", async () => {
    const memo = new VerdictMemo();
    const result = await verify(first);
    memo.forCheck('trust', registries, now, 'sha1', read, 'victim').put(result);
    // The attacker's store holds other bytes under the victim's commit id.
    const twin = Buffer.concat([read(first), Buffer.from('extra\n')]);
    const attacker = memo.forCheck('trust', registries, now, 'sha1', () => twin, 'attacker');
    expect(attacker.get(first)).toBeUndefined();
    // The victim's own bytes still find their verdict.
    expect(memo.forCheck('trust', registries, now, 'sha1', read, 'victim').get(first)?.commit).toBe(first);
    expect(memo.statistics).toMatchObject({ hits: 1, misses: 1 });
  });

  it('names an entry by the bytes the id really stands for: replace refs and grafts change nothing', async () => {
    const repo = `${dir.path}/repo`;
    const memo = new VerdictMemo();
    const objectsOf = () => openRepository({ path: repo, cwd: dir.path, env: {} }).objects;
    memo.forCheck('trust', registries, now, 'sha1', (oid) => objectsOf().read(oid).data).put(await verify(first));
    // An attacker's clone says `first` is `second`, and that `first` has no parents.
    git(repo, ['replace', first, second]);
    writeFileSync(`${repo}/.git/info/grafts`, `${first}\n`);
    try {
      expect(Buffer.from(objectsOf().read(first).data)).toEqual(read(first));
      expect(memo.forCheck('trust', registries, now, 'sha1', (oid) => objectsOf().read(oid).data).get(first)?.commit).toBe(first);
    } finally {
      git(repo, ['replace', '-d', first]);
      writeFileSync(`${repo}/.git/info/grafts`, '');
    }
  });

  it("keeps a copy of its own and hands out frozen verdicts: no later check's write reaches another check", async () => {
    const memo = new VerdictMemo();
    const result = await verify(first);
    memo.forCheck('trust', registries, now, 'sha1', read).put(result);
    // The storing check decorates its own object afterwards: the memo's copy is not touched.
    result.verdict.status = 'G';
    result.verdict.identities = ['mallory@example.com'];
    const served = memo.forCheck('trust', registries, now, 'sha1', read).get(first)!;
    expect(served.verdict.status).toBe('N');
    expect(served.verdict.identities).toBeUndefined();
    // A check that writes to what it was served throws (a failed check), never poisons the memo.
    expect(() => {
      (served.verdict as { status: string }).status = 'G';
    }).toThrow(TypeError);
    expect(() => (served.parents as string[]).push('x')).toThrow(TypeError);
    expect(memo.forCheck('trust', registries, now, 'sha1', read).get(first)!.verdict.status).toBe('N');
  });

  it('answers no clock earlier than the judgement (a clock stepped back), and the next check verifies again', async () => {
    const memo = new VerdictMemo();
    memo.forCheck('trust', registries, now, 'sha1', read).put(await verify(first));
    const earlier = new Date(now.getTime() - 1);
    expect(memo.forCheck('trust', registries, earlier, 'sha1', read).get(first)).toBeUndefined();
    expect(memo.statistics).toMatchObject({ expired: 1, hits: 0, entries: 0 });
  });

  it("answers up to the second before a signature's expiry and not at it, where the verifier's G turns X", async () => {
    const memo = new VerdictMemo();
    // Ten seconds on: alice's key, made a moment ago, has its creation instant behind.
    const judged = new Date(Date.now() + 10_000);
    const at = (date: Date) => verifyCommitObject(expiring, read(expiring), aliceRegistries.registries, { hash: 'sha1', now: date, sshVerifyTime: date });
    const result = await at(judged);
    expect(result.verdict.status).toBe('G');
    memo.forCheck('alice', aliceRegistries, judged, 'sha1', read).put(result);
    const expiry = result.verdict.signedAt! + 86_400;
    const lastGood = new Date((expiry - 1) * 1000 + 999);
    expect(memo.forCheck('alice', aliceRegistries, lastGood, 'sha1', read).get(expiring)?.verdict.status).toBe('G');
    expect((await at(lastGood)).verdict.status).toBe('G');
    const expired = new Date(expiry * 1000);
    expect(memo.forCheck('alice', aliceRegistries, expired, 'sha1', read).get(expiring)).toBeUndefined();
    expect((await at(expired)).verdict.status).toBe('X');
    expect(memo.statistics).toMatchObject({ hits: 1, expired: 1 });
  });

  it("evicts the flooding installation's own verdicts, never another's", async () => {
    const memo = new VerdictMemo({ maxEntries: 100 });
    const victim = memo.forCheck('victim-trust', registries, now, 'sha1', read, 'github-installation:1');
    victim.put(await verify(first));
    victim.put(await verify(second));
    // 250-commit pull requests from another installation, many times over the bound.
    const flood = new Map<string, Buffer>();
    const attacker = memo.forCheck('attacker-trust', registries, now, 'sha1', (oid) => flood.get(oid)!, 'github-installation:666');
    for (let index = 0; index < 1_000; index++) {
      const { oid, bytes } = syntheticCommit(index);
      flood.set(oid, bytes);
      attacker.put(await verify(oid, bytes));
    }
    expect(memo.statistics.entries).toBeLessThanOrEqual(100);
    expect(memo.statistics.entries).toBeGreaterThanOrEqual(99);
    expect(memo.statistics.owners).toBe(2);
    const again = memo.forCheck('victim-trust', registries, now, 'sha1', read, 'github-installation:1');
    expect(again.get(first)?.commit).toBe(first);
    expect(again.get(second)?.commit).toBe(second);
  });

  it('charges an entry of many tiny strings what V8 holds for it, so the byte bound bounds memory', async () => {
    const memo = new VerdictMemo();
    const result = await verify(first);
    // An attacker's forge key with a thousand short user IDs: the verdict lists them all.
    const identities = Array.from({ length: 1_000 }, (_, index) => `${index.toString(36)}@x`);
    memo.forCheck('trust', registries, now, 'sha1', read).put({ ...result, verdict: { ...result.verdict, identities } });
    // V8 holds a short string in a 24- to 32-byte object plus an 8-byte slot (measured: 1.9 times
    // the JSON-only charge of the heap before this charge).
    expect(memo.statistics.bytes).toBeGreaterThanOrEqual(1_000 * 40);
  });

  it("builds a trust set larger than the registries' byte bound for each check, and keeps none of it", async () => {
    const memo = new VerdictMemo({ maxRegistryBytes: 1024 * 1024 });
    // A policy (or a forge account's uploads) of 2,000 allowed_signers lines: about 8 × 200 KB parsed.
    const huge = trustSet(2_000, 'h');
    expect(await ask(memo, huge, 'huge')).toBe(1);
    expect(await ask(memo, huge, 'huge')).toBe(1);
    expect(memo.statistics).toMatchObject({ registriesBuilt: 2, registriesReused: 0, registriesUnkept: 2, registryBytes: 0 });
  });

  it('keeps registries within their byte bound, least recently used out first', async () => {
    const memo = new VerdictMemo({ maxRegistryBytes: 1024 * 1024 });
    const one = trustSet(600, 'a');
    const two = trustSet(600, 'b');
    expect(await ask(memo, one, 'one')).toBe(1);
    expect(await ask(memo, one, 'one')).toBe(0);
    expect(await ask(memo, two, 'two')).toBe(1);
    expect(memo.statistics.registryBytes).toBeLessThanOrEqual(1024 * 1024);
    // The first was pushed out by the second: built again.
    expect(await ask(memo, one, 'one')).toBe(1);
  });

  it('answers a check its own verdicts that the memo does not keep, and no other check', async () => {
    const memo = new VerdictMemo();
    const result = await verify(first);
    // An X.509 verdict: judged against certificates and CRLs at the clock, never kept.
    const x509 = { ...result, verdict: { status: 'G' as const, format: 'x509' as const, reason: 'valid' as const } };
    const view = memo.forCheck('trust', registries, now, 'sha1', read);
    view.put(x509);
    expect(memo.statistics).toMatchObject({ unkept: 1, entries: 0 });
    // The same check asks again (the next context): not verified twice.
    expect(view.get(first)).toBe(x509);
    expect(memo.forCheck('trust', registries, now, 'sha1', read).get(first)).toBeUndefined();
  });

  it('refuses bounds that are not whole numbers', () => {
    expect(() => new VerdictMemo({ maxEntries: -1 })).toThrow(/maxEntries must be a whole number of at least 0/);
    expect(() => new VerdictMemo({ maxBytes: Number.NaN })).toThrow(/maxBytes/);
    expect(() => new VerdictMemo({ maxRegistries: 0 })).toThrow(/maxRegistries must be a whole number of at least 1/);
  });
});
