/**
 * Version 3 signature packets (RFC 4880 §5.2.2), as 2005-era gpg made them (issue 13, class 2).
 * gpg 2.2 cannot make them any more (--force-v3-sigs is gone) but still reads and checks them,
 * so they are made here with node:crypto over keys gpg generated (RSA, DSA-1024, DSA-2048) and
 * gpg's verdict on each is the expected one; then the same signatures inside real commits and
 * tags, compared with `git log --pretty=%G?` and `git verify-tag`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOpenPgpRegistry, verifyOpenPgpSignature, type OpenPgpRegistry } from '../../../src/core/openpgp/index.ts';
import { armor, concat, craftKey, craftV3SignaturePacket, fromBig, toBig, type CraftKey } from '../../helpers/openpgp-craft.ts';
import { expectedLetter, GpgHome, mapLimited } from '../../helpers/openpgp-gpg.ts';
import { commitPayload, day, tamper } from '../../helpers/openpgp-scenarios.ts';
import { tempDir } from '../../helpers/git.ts';

const now = Math.floor(Date.now() / 1000);
const signedAt = now - 3600;
const signetBin = resolve(import.meta.dirname, '..', '..', '..', 'bin', 'signet.js');
const homes: GpgHome[] = [];
let verifier: GpgHome;
let registry: OpenPgpRegistry;
let keyringFile: string;
let work: { path: string; remove: () => void };
const keys: Record<'rsa' | 'dsa1024' | 'dsa2048', CraftKey> = {} as never;
const fingerprints: Record<string, string> = {};
const dsaOrder: Record<'dsa1024' | 'dsa2048', bigint> = { dsa1024: 0n, dsa2048: 0n };

/** Old-format packet header (tag 2), as gpg 1.x wrote v3 signatures. */
function oldFormat(newFormatPacket: Uint8Array): Uint8Array {
  // Re-frame: skip the new-format header (1 tag byte, 1, 2 or 5 length bytes).
  const first = newFormatPacket[1]!;
  const headerLength = first < 192 ? 2 : first < 224 ? 3 : 6;
  const body = newFormatPacket.subarray(headerLength);
  const header = body.length < 256 ? [0x88, body.length] : [0x89, body.length >> 8, body.length & 255];
  return concat([new Uint8Array(header), body]);
}

beforeAll(async () => {
  const signers = await Promise.all([GpgHome.create(), GpgHome.create(), GpgHome.create()]);
  verifier = await GpgHome.create();
  homes.push(...signers, verifier);
  const created = now - 10 * day;
  const names = ['rsa', 'dsa1024', 'dsa2048'] as const;
  const algorithms = { rsa: 'rsa2048', dsa1024: 'dsa1024', dsa2048: 'dsa2048' };
  const publics: string[] = [];
  await Promise.all(
    names.map(async (name, index) => {
      const home = signers[index]!;
      const fingerprint = await home.generate(`Old ${name} <${name}@example.com>`, algorithms[name], 'sign', '0', created);
      fingerprints[name] = fingerprint;
      keys[name] = await craftKey(await home.exportSecret(fingerprint), fingerprint);
      if (name !== 'rsa') {
        const { readKey } = await import('openpgp');
        const key = await readKey({ armoredKey: await home.exportPublic(fingerprint) });
        dsaOrder[name] = toBig((key.keyPacket.publicParams as { q: Uint8Array }).q);
      }
      publics[index] = await home.exportPublic(fingerprint);
    }),
  );
  for (const key of publics) await verifier.gpg(['--import'], { input: key });
  await verifier.trustUltimately(Object.values(fingerprints));
  registry = await loadOpenPgpRegistry(publics.map((text, index) => ({ name: `k${index}.asc`, text })));
  work = tempDir('v3');
  keyringFile = join(work.path, 'registry.asc');
  writeFileSync(keyringFile, publics.join(''));
}, 120_000);

afterAll(async () => {
  await Promise.all(homes.map((home) => home.dispose()));
  work?.remove();
});

interface Case {
  name: string;
  signature: string;
  payload?: Uint8Array;
}

function v3(key: CraftKey, options: Partial<Parameters<typeof craftV3SignaturePacket>[2]> = {}, payload = commitPayload): string {
  return armor(craftV3SignaturePacket(key, payload, { createdAt: signedAt, ...options }));
}

describe('version 3 signatures are judged as gpg 2.2 judges them', () => {
  it('every variant, by RSA, DSA-1024 and DSA-2048 keys', async () => {
    const cases: Case[] = [];
    for (const name of ['rsa', 'dsa1024', 'dsa2048'] as const) {
      const key = keys[name];
      cases.push(
        { name: `${name} SHA-1`, signature: v3(key) },
        { name: `${name} SHA-256`, signature: v3(key, { hashAlgorithm: 8 }) },
        { name: `${name} SHA-1, old packet format`, signature: armor(oldFormat(craftV3SignaturePacket(key, commitPayload, { createdAt: signedAt }))) },
        { name: `${name} SHA-1, tampered payload`, signature: v3(key), payload: tamper(commitPayload) },
        { name: `${name} SHA-1, digest prefix wrong`, signature: v3(key, { flipLeft16: true }) },
        { name: `${name} canonical text (0x01)`, signature: v3(key, { signatureType: 0x01 }) },
        { name: `${name} class 0x13`, signature: v3(key, { signatureType: 0x13 }) },
        { name: `${name} MD5`, signature: v3(key, { hashAlgorithm: 1 }) },
        { name: `${name} SHA-1, made before the key`, signature: v3(key, { createdAt: now - 20 * day }) },
        { name: `${name} SHA-1, unknown key ID`, signature: v3(key, { keyId: new Uint8Array(8).fill(0x42) }) },
      );
    }
    // DSA values gpg (libgcrypt) refuses: s + q (the same value mod q), r = 0, s = q.
    for (const name of ['dsa1024', 'dsa2048'] as const) {
      const hashAlgorithm = 8;
      const q = dsaOrder[name];
      cases.push(
        { name: `${name} DSA s + q`, signature: v3(keys[name], { hashAlgorithm, mapMpis: ([r, s]) => [r!, fromBig(toBig(s!) + q)] }) },
        { name: `${name} DSA r = 0`, signature: v3(keys[name], { hashAlgorithm, mapMpis: ([, s]) => [new Uint8Array(), s!] }) },
        { name: `${name} DSA s = q`, signature: v3(keys[name], { hashAlgorithm, mapMpis: ([r]) => [r!, fromBig(q)] }) },
      );
    }
    const gpgSays = await mapLimited(cases, 4, (testCase) => verifier.verify(testCase.signature, testCase.payload ?? commitPayload, now));
    const problems: string[] = [];
    const letters: string[] = [];
    for (const [index, testCase] of cases.entries()) {
      const ours = await verifyOpenPgpSignature(registry, testCase.payload ?? commitPayload, testCase.signature, { now: new Date(now * 1000) });
      const gpg = gpgSays[index]!;
      letters.push(`${testCase.name}: ${ours.status}`);
      if (ours.status !== expectedLetter(gpg.letter))
        problems.push(`${testCase.name}: gpg ${gpg.letter}, ours ${ours.status} (${ours.detail ?? ''})\n${gpg.status}`);
      if (ours.status === 'G' && ours.key !== fingerprints[testCase.name.split(' ')[0]!]) problems.push(`${testCase.name}: good, but key ${ours.key ?? ''}`);
    }
    expect(problems).toEqual([]);
    // The baselines are good, so the comparison above has teeth (DSA-2048's 224/256-bit group
    // needs a digest as long: gpg refuses SHA-1 with it, and so do we, above).
    // A DSA value outside 0 < r, s < q is never good, even when it is right modulo q.
    expect(letters.filter((line) => line.includes(' DSA ') && !line.endsWith(': B'))).toEqual([]);
    expect(letters).toEqual(
      expect.arrayContaining(['rsa SHA-1: G', 'rsa SHA-256: G', 'dsa1024 SHA-1: G', 'dsa1024 SHA-256: G', 'dsa2048 SHA-256: G', 'dsa2048 SHA-1: E']),
    );
  });
});

describe('version 3 signatures in commits and tags', () => {
  const env = (): NodeJS.ProcessEnv => {
    const clean: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) if (!/^(GIT_|GNUPG|GPG_)/.test(name)) clean[name] = value;
    return { ...clean, GNUPGHOME: verifier.dir, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C', TZ: 'UTC' };
  };
  const git = (cwd: string, args: string[], input?: string): string =>
    execFileSync('git', args, { cwd, env: env(), encoding: 'utf8', ...(input !== undefined ? { input } : {}) }).trimEnd();

  it('agree with git log %G? and git verify-tag', () => {
    const repo = join(work.path, 'repo');
    git(work.path, ['init', '-q', '-b', 'main', repo]);
    const tree = git(repo, ['mktree'], '');
    let parent: string | undefined;
    const made: string[] = [];
    for (const name of ['rsa', 'dsa1024', 'dsa2048'] as const) {
      const payload = `tree ${tree}\n${parent ? `parent ${parent}\n` : ''}author Old <${name}@example.com> ${signedAt} +0000\ncommitter Old <${name}@example.com> ${signedAt} +0000\n\nsigned with a v3 ${name} signature\n`;
      const signature = v3(keys[name], name === 'dsa2048' ? { hashAlgorithm: 8 } : {}, new TextEncoder().encode(payload));
      const headerEnd = payload.indexOf('\n\n');
      const object = `${payload.slice(0, headerEnd)}\ngpgsig ${signature.trimEnd().replaceAll('\n', '\n ')}${payload.slice(headerEnd)}`;
      parent = git(repo, ['hash-object', '-t', 'commit', '-w', '--stdin'], object);
      made.push(parent);
    }
    git(repo, ['update-ref', 'refs/heads/main', parent!]);
    const tagPayload = `object ${parent}\ntype commit\ntag v0.99\ntagger Old <dsa1024@example.com> ${signedAt} +0000\n\nGIT 0.99\n`;
    const tag = git(repo, ['hash-object', '-t', 'tag', '-w', '--stdin'], `${tagPayload}${v3(keys.dsa1024, {}, new TextEncoder().encode(tagPayload))}`);
    git(repo, ['update-ref', 'refs/tags/v0.99', tag]);

    const gitLetters = git(repo, ['log', '--format=%H %G?', 'main'])
      .split('\n')
      .map((line) => line.split(' '));
    expect(gitLetters.map(([, letter]) => letter)).toEqual(['G', 'G', 'G']);
    expect(spawnSync('git', ['verify-tag', 'v0.99'], { cwd: repo, env: env() }).status).toBe(0);
    const run = spawnSync(process.execPath, [signetBin, 'verify', '--repo', repo, '--keyring', keyringFile, '--format', 'jsonl', 'v0.99'], {
      env: env(),
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    const records = run.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { commit?: string; tag?: string; status: string; key: string });
    expect(records[0]).toMatchObject({ tag, status: 'G', key: fingerprints.dsa1024 });
    expect(records.slice(1).map((record) => [record.commit, record.status])).toEqual(gitLetters);
    expect(records.slice(1).map((record) => record.key)).toEqual([fingerprints.dsa2048, fingerprints.dsa1024, fingerprints.rsa]);
    expect(run.status).toBe(0);
  });
});
