import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createSshKey, GpgHome } from '../../helpers/signing-keys.ts';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRunPolicy, runPolicy } from '../../../src/cli/commands/policy-check.ts';
import type { CliIO } from '../../../src/cli/io.ts';

const run = promisify(execFile);
const BIN = path.resolve('bin/signet.js');

const VALID = `version: 1
keys:
  openpgp: [../keys/team.asc]
  ssh_allowed_signers: ../keys/allowed_signers
  forge_accounts: true
groups:
  release: [alice@example.com, bob@example.com]
rules:
  - refs: [refs/heads/main, "refs/heads/release/*"]
    require_signed_commits: true
    accept: [G, Y]
    signers: [group:release]
    require_email_match: true
    paths:
      - match: [".github/workflows/**"]
        signers: [alice@example.com]
      - match: [src/security]
        threshold: 2
    forbid_force_push: true
    forbid_deletion: true
  - refs: ["refs/tags/v*"]
    require_signed_tags: true
    require_signed_push: true
`;

const BROKEN = `version: 1
rules:
  - refs: [main]
    require_signed_commits: yes
    accept: [G, U]
`;

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'signet-policy-cli-'));
  mkdirSync(path.join(dir, '.github'));
  mkdirSync(path.join(dir, 'keys'));
  // Real keys: the built CLI parses the key files a policy names.
  const gpg = new GpgHome(path.join(dir, 'gnupg'));
  writeFileSync(path.join(dir, 'keys', 'team.asc'), gpg.createKey('Team', 'team@example.com').armoredPublicKey);
  const alice = createSshKey(path.join(dir, 'ssh'), 'alice', 'alice@example.com');
  writeFileSync(path.join(dir, 'keys', 'allowed_signers'), `alice@example.com ${alice.publicKeyLine}\n`);
  writeFileSync(path.join(dir, '.github', 'signet.yml'), VALID);
  writeFileSync(path.join(dir, 'broken.yml'), BROKEN);
  writeFileSync(
    path.join(dir, 'missing-key.yml'),
    'version: 1\nkeys:\n  openpgp:\n    - keys/team.asc\n    - keys/gone.asc\n  ssh_revoked_keys: keys\nrules:\n  - refs: refs/heads/main\n    forbid_deletion: true\n',
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function memoryIO(cwd: string): { io: CliIO; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => (out += chunk));
  stderr.on('data', (chunk) => (err += chunk));
  return { io: { stdout, stderr, stdin: new PassThrough(), env: {}, cwd }, out: () => out, err: () => err };
}

describe('policy check, in process', () => {
  it('summarises a valid policy and exits 0 (key paths relative to the policy file)', async () => {
    const { io, out, err } = memoryIO(dir);
    expect(await runPolicy(['check', '.github/signet.yml'], io)).toBe(0);
    expect(err()).toBe('');
    expect(out()).toBe(`.github/signet.yml: valid policy (version 1), 2 rules
keys: OpenPGP keyring ../keys/team.asc; SSH allowed signers ../keys/allowed_signers; keys registered on forge accounts; GitHub web-flow key not trusted
groups: release (2)
rules[0] refs/heads/main, refs/heads/release/*:
  signed commits required (accept G, Y; signers group:release; e-mail must match the key; SHA-1 refused)
  changes to .github/workflows/**: signed by alice@example.com
  changes to src/security: signed by the rule's signers, 2 different signers
  forbidden: force pushes, deletion
rules[1] refs/tags/v*:
  signed annotated tags, pushes (git push --signed) required (accept G; any registry key; SHA-1 refused)
`);
  });

  it('prints FILE:LINE:COL: path: message for every problem and exits 2', async () => {
    const { io, out, err } = memoryIO(dir);
    expect(await runPolicy(['check', 'broken.yml'], io)).toBe(2);
    expect(out()).toBe('');
    expect(err().split('\n').filter(Boolean)).toEqual([
      "broken.yml:3:12: rules[0].refs[0]: ref patterns are full ref names starting with 'refs/' (did you mean 'refs/heads/main'?)",
      "broken.yml:4:29: rules[0].require_signed_commits: expected true or false; found the string 'yes'",
      "broken.yml:5:17: rules[0].accept[1]: 'U' (key not in the registry) cannot be accepted: add the key to the keys section instead",
    ]);
  });

  it('names missing key files and non-files, at their position', async () => {
    const { io, err } = memoryIO(dir);
    expect(await runPolicy(['check', path.join(dir, 'missing-key.yml')], io)).toBe(2);
    const file = path.join(dir, 'missing-key.yml');
    expect(err().split('\n').filter(Boolean)).toEqual([
      `${file}:5:7: keys.openpgp[1]: key file keys/gone.asc does not exist (looked for ${path.join(dir, 'keys', 'gone.asc')})`,
      `${file}:6:21: keys.ssh_revoked_keys: key file keys is not a regular file (${path.join(dir, 'keys')})`,
    ]);
  });

  it('passes existing key files to an injected checker and reports what it finds', async () => {
    const seen: string[] = [];
    const runner = makeRunPolicy({
      checkKeyFile: async (file, kind) => {
        seen.push(`${kind} ${path.relative(dir, file)}`);
        return kind === 'openpgp' ? 'no public key in the file' : undefined;
      },
    });
    const { io, err } = memoryIO(path.join(dir, '.github'));
    expect(await runner(['check', 'signet.yml'], io)).toBe(2);
    expect(seen).toEqual(['openpgp keys/team.asc', 'ssh_allowed_signers keys/allowed_signers']);
    expect(err()).toBe('signet.yml:3:13: keys.openpgp[0]: key file ../keys/team.asc: no public key in the file\n');
  });

  it('exits 2 with one line for an unreadable file, and with usage for bad arguments', async () => {
    const missing = memoryIO(dir);
    expect(await runPolicy(['check', 'nope.yml'], missing.io)).toBe(2);
    expect(missing.err()).toBe('signet policy check: cannot read nope.yml: ENOENT\n');
    for (const argv of [[], ['check'], ['lint', 'x.yml'], ['check', 'a', 'b'], ['check', '--bogus', 'a']]) {
      const { io, err } = memoryIO(dir);
      expect(await runPolicy(argv, io), argv.join(' ')).toBe(2);
      expect(err()).toMatch(/usage: signet policy check FILE/);
    }
    const help = memoryIO(dir);
    expect(await runPolicy(['--help'], help.io)).toBe(0);
    expect(help.out()).toMatch(/^usage: signet policy check FILE/);
  });
});

describe('policy check, through the built CLI', () => {
  it('is listed in signet --help', async () => {
    const { stdout } = await run(process.execPath, [BIN, '--help']);
    expect(stdout).toMatch(/^ {2}policy +check a policy file: policy check FILE$/m);
  });

  it('exits 0 with a summary for a valid policy', async () => {
    const { stdout, stderr } = await run(process.execPath, [BIN, 'policy', 'check', '.github/signet.yml'], { cwd: dir });
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^\.github\/signet\.yml: valid policy \(version 1\), 2 rules\n/);
    expect(stdout).toContain('rules[1] refs/tags/v*:');
  });

  it('exits 2 and prints the problems on stderr for an invalid policy', async () => {
    const failure = await run(process.execPath, [BIN, 'policy', 'check', 'broken.yml'], { cwd: dir }).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stdout).toBe('');
    expect(
      failure?.stderr
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(': ')[0]),
    ).toEqual(['broken.yml:3:12', 'broken.yml:4:29', 'broken.yml:5:17']);
  });
});
