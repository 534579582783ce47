/**
 * The last link: commits signed by real `git commit -S` (gpg.format=ssh), judged by real
 * `git log --format=%G?` with gpg.ssh.allowedSignersFile / revocationFile, against our verdict on
 * the same raw commit bytes at the committer time. Same letters, except Y and R (documented).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSshRegistry, parseAllowedSigners, parseRevokedKeys, verifySshSignature } from '../../../src/core/ssh/index.ts';
import { SshKeygen } from '../../helpers/ssh-keygen.ts';

const COMMIT_TIME = 1748779200; // 2025-06-01T12:00:00Z
const env = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Alice',
  GIT_AUTHOR_EMAIL: 'alice@example.com',
  GIT_COMMITTER_NAME: 'Alice',
  GIT_COMMITTER_EMAIL: 'alice@example.com',
  GIT_AUTHOR_DATE: `${COMMIT_TIME} +0000`,
  GIT_COMMITTER_DATE: `${COMMIT_TIME} +0000`,
};

let keygen: SshKeygen;
let repo: string;
let alice: string;
let mallory: string;
const commits: Record<string, string> = {};
const lettersSeen = new Set<string>();

function git(args: string[]): string {
  return execFileSync('git', args, { cwd: repo, env, encoding: 'utf8' }).trimEnd();
}

/** Splits a raw commit into the signed payload and the armored signature, as git does. */
function splitCommit(raw: string): { payload: string; signature: string } {
  const lines = raw.split('\n');
  const kept: string[] = [];
  const signature: string[] = [];
  let inSignature = false;
  let inHeaders = true;
  for (const line of lines) {
    if (inHeaders && line.startsWith('gpgsig ')) {
      inSignature = true;
      signature.push(line.slice('gpgsig '.length));
      continue;
    }
    if (inSignature && line.startsWith(' ')) {
      signature.push(line.slice(1));
      continue;
    }
    inSignature = false;
    if (line === '') inHeaders = false;
    kept.push(line);
  }
  return { payload: kept.join('\n'), signature: `${signature.join('\n')}\n` };
}

beforeAll(() => {
  keygen = new SshKeygen('ssh-git');
  const a = keygen.keygen('alice', 'ed25519');
  const m = keygen.keygen('mallory', 'ecdsa', 256);
  alice = a.publicLine;
  mallory = m.publicLine;
  repo = keygen.path('repo');
  execFileSync('git', ['init', '-q', repo], { env });
  git(['config', 'gpg.format', 'ssh']);
  for (const [name, key] of [
    ['alice', a.privatePath],
    ['mallory', m.privatePath],
  ] as const) {
    writeFileSync(join(repo, `${name}.txt`), name);
    git(['add', `${name}.txt`]);
    git(['-c', `user.signingkey=${key}`, 'commit', '-q', '-S', '-m', `signed by ${name}`]);
    commits[name] = git(['rev-parse', 'HEAD']);
  }
});

afterAll(() => keygen?.remove());

interface Scenario {
  name: string;
  commit: 'alice' | 'mallory';
  allowed: string;
  revoked?: string;
  expect: 'same' | 'expired' | 'revoked';
}

const SCENARIOS: Scenario[] = [
  { name: 'good', commit: 'alice', allowed: 'alice@example.com ALICE', expect: 'same' },
  { name: 'unknown key', commit: 'mallory', allowed: 'alice@example.com ALICE', expect: 'same' },
  { name: 'principal pattern', commit: 'alice', allowed: '*@example.com ALICE', expect: 'same' },
  { name: 'only a negated principal', commit: 'alice', allowed: '!alice@example.com ALICE', expect: 'same' },
  { name: 'namespaces="file"', commit: 'alice', allowed: 'alice@example.com namespaces="file" ALICE', expect: 'same' },
  { name: 'key expired before the commit', commit: 'alice', allowed: 'alice@example.com valid-before="20250101Z" ALICE', expect: 'expired' },
  { name: 'key valid from after the commit', commit: 'alice', allowed: 'alice@example.com valid-after="20250601130000Z" ALICE', expect: 'expired' },
  {
    name: 'key valid at the commit',
    commit: 'alice',
    allowed: 'alice@example.com valid-after="20250601115959Z",valid-before="20250601120000Z" ALICE',
    expect: 'same',
  },
  { name: 'revoked', commit: 'alice', allowed: 'alice@example.com ALICE', revoked: 'ALICE', expect: 'revoked' },
];

describe('real git %G? on ssh-signed commits', () => {
  it.each(SCENARIOS)('$name', (scenario) => {
    const allowedText = `${scenario.allowed.replace('ALICE', alice).replace('MALLORY', mallory)}\n`;
    const allowedFile = keygen.write(keygen.unique('allowed'), allowedText);
    const config = ['-c', `gpg.ssh.allowedSignersFile=${allowedFile}`];
    let revoked;
    if (scenario.revoked) {
      const revokedText = `${scenario.revoked.replace('ALICE', alice)}\n`;
      config.push('-c', `gpg.ssh.revocationFile=${keygen.write(keygen.unique('revoked'), revokedText)}`);
      revoked = parseRevokedKeys(Buffer.from(revokedText), 'revoked');
    }
    const commit = commits[scenario.commit] as string;
    const [letter, signer] = git([...config, 'log', '-1', '--format=%G?%x00%GS', commit]).split('\0');
    lettersSeen.add(letter as string);
    const { payload, signature } = splitCommit(git(['cat-file', 'commit', commit]) + '\n');
    const registry = createSshRegistry(parseAllowedSigners(allowedText, 'allowed_signers'), revoked);
    const verdict = verifySshSignature(registry, Buffer.from(payload), signature, { at: new Date(COMMIT_TIME * 1000), committerEmail: 'alice@example.com' });
    if (scenario.expect === 'same') {
      expect(verdict.status, verdict.detail).toBe(letter);
      if (letter === 'G') expect(verdict.signer).toBe(signer);
    } else if (scenario.expect === 'expired') {
      expect(letter).toBe('U');
      expect(verdict.status, verdict.detail).toBe('Y');
    } else {
      expect(['B', 'U']).toContain(letter);
      expect(verdict.status, verdict.detail).toBe('R');
    }
  });

  it('the cases cover every answer git gives', () => {
    expect(lettersSeen).toEqual(new Set(['G', 'U', 'B']));
  });
});
