import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, gitEnv, tempDir } from '../../helpers/git.ts';
import { commitFile, createSshKey, GpgHome, sshSigningConfig, type GpgIdentity, type SshIdentity } from '../../helpers/signing-keys.ts';

/**
 * End to end: real `git push` into a bare repository whose pre-receive hook is the built
 * single executable, installed by `signet hook install`.
 */
const POLICY = `version: 1
keys:
  openpgp: [keys/registry.asc]
  ssh_allowed_signers: keys/allowed_signers
groups:
  release: [alice@example.com, carol@example.com]
rules:
  - refs: [refs/heads/main]
    require_signed_commits: true
    accept: [G]
    signers: [group:release]
    paths:
      - match: [".github/workflows/**"]
        signers: [alice@example.com]
    forbid_force_push: true
    forbid_deletion: true
  - refs: ["refs/heads/feature/*"]
    require_signed_commits: true
    accept: [G]
  - refs: ["refs/heads/signed/*"]
    require_signed_commits: true
    require_signed_push: true
  - refs: ["refs/tags/v*"]
    require_signed_tags: true
`;

describe('pre-receive hook, real pushes', () => {
  const dir = tempDir('hook');
  const server = join(dir.path, 'server.git');
  const work = join(dir.path, 'work');
  const conf = join(dir.path, 'conf');
  const hookBinary = join(server, 'hooks', 'pre-receive');
  let gpg: GpgHome;
  let alice: GpgIdentity;
  let bob: GpgIdentity;
  let mallory: GpgIdentity;
  let carol: SshIdentity;
  let daemon: ReturnType<typeof spawn> | undefined;
  let daemonPort = 0;

  const serverRef = (ref: string): string | undefined => {
    const result = spawnSync('git', ['--git-dir', server, 'rev-parse', '--verify', '-q', ref], { encoding: 'utf8' });
    return result.status === 0 ? result.stdout.trim() : undefined;
  };
  const push = (args: string[], env: NodeJS.ProcessEnv = {}): { code: number; stderr: string } => {
    const result = spawnSync('git', ['push', ...args], { cwd: work, env: { ...gitEnv, ...gpg.env(), ...env }, encoding: 'utf8', timeout: 60_000 });
    return { code: result.status ?? -1, stderr: result.stderr };
  };
  const signAs = (who: GpgIdentity): string[] => gpg.gitSigningConfig(who);

  beforeAll(() => {
    execFileSync(process.execPath, ['scripts/build-sea.mjs'], { stdio: 'pipe' });
    gpg = new GpgHome(join(dir.path, 'gnupg'));
    alice = gpg.createKey('Alice', 'alice@example.com');
    bob = gpg.createKey('Bob', 'bob@example.com');
    mallory = gpg.createKey('Mallory', 'mallory@example.com');
    carol = createSshKey(join(dir.path, 'ssh'), 'carol', 'carol@example.com');

    mkdirSync(join(conf, 'keys'), { recursive: true });
    writeFileSync(join(conf, 'keys', 'registry.asc'), alice.armoredPublicKey + bob.armoredPublicKey);
    writeFileSync(join(conf, 'keys', 'allowed_signers'), `carol@example.com ${carol.publicKeyLine}\n`);
    writeFileSync(join(conf, 'policy.yml'), POLICY);

    git(dir.path, ['init', '-q', '--bare', '-b', 'main', server]);
    git(dir.path, ['init', '-q', '-b', 'main', work]);
    git(work, ['remote', 'add', 'origin', server]);
    commitFile(work, 'README', 'hello\n', 'initial', { email: alice.email, sign: signAs(alice), env: gpg.env() });
    expect(push(['-q', 'origin', 'main']).code).toBe(0);

    const install = spawnSync(process.execPath, ['bin/signet.js', 'hook', 'install', '--copy', '--repo', server, '--policy', join(conf, 'policy.yml')], {
      encoding: 'utf8',
    });
    expect(install.stderr).toBe('');
    expect(install.status).toBe(0);
  }, 240_000);

  afterAll(() => {
    daemon?.kill();
    dir.remove();
  });

  it('installs the self-contained executable, which runs with an empty environment and no node on PATH', () => {
    expect(readFileSync(hookBinary).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    const head = serverRef('main')!;
    const result = spawnSync(hookBinary, [], {
      cwd: server,
      env: { PATH: '/nonexistent', GIT_DIR: '.' },
      input: `${head} ${head} refs/heads/main\n`,
      encoding: 'utf8',
    });
    expect(result.stderr).not.toMatch(/internal error/);
    expect(result.status).toBe(0);
  });

  it('accepts a commit signed by an allowed key and records the decision in the audit log', () => {
    const before = serverRef('main');
    const oid = commitFile(work, 'a.txt', 'a\n', 'signed by alice', { email: alice.email, sign: signAs(alice), env: gpg.env() });
    const result = push(['origin', 'main']);
    expect(result.stderr).toMatch(/verified/);
    expect(result.code).toBe(0);
    expect(serverRef('main')).toBe(oid);
    expect(before).not.toBe(oid);
    const audit = readFileSync(join(server, 'signet', 'audit.log'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const last = audit[audit.length - 1];
    expect(last).toMatchObject({ event: 'push', ref: 'refs/heads/main', allowed: true, new: oid });
    expect(last.commits[0]).toMatchObject({ oid, status: 'G' });
    const recorded = readFileSync(join(server, 'signet', 'verdicts', `${oid.slice(0, 2)}.jsonl`), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(recorded.filter((record) => record.commit === oid)).toMatchObject([{ ref: 'refs/heads/main', verdict: { status: 'G' } }]);
  });

  function expectRejected(result: { code: number; stderr: string }, ref: string, before: string | undefined, pattern: RegExp): void {
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(pattern);
    expect(result.stderr).toMatch(/No ref was updated/);
    expect(serverRef(ref)).toBe(before);
  }

  it('rejects an unsigned commit, names it, says how to fix it, and moves no ref', () => {
    const before = serverRef('main');
    const oid = commitFile(work, 'b.txt', 'b\n', 'not signed at all', { email: alice.email });
    const result = push(['origin', 'main']);
    expectRejected(result, 'main', before, new RegExp(`${oid.slice(0, 10)} N "not signed at all"`));
    expect(result.stderr).toMatch(/rebase|amend|-S/);
    expect(result.stderr).not.toMatch(/\{"/); // audit JSON never reaches the pusher
    git(work, ['reset', '-q', '--hard', before!]);
  });

  it('rejects a signature by a key the registry does not know', () => {
    const before = serverRef('main');
    commitFile(work, 'c.txt', 'c\n', 'signed by mallory', { email: mallory.email, sign: signAs(mallory), env: gpg.env() });
    expectRejected(push(['origin', 'main']), 'main', before, / E "signed by mallory"/);
    git(work, ['reset', '-q', '--hard', before!]);
  });

  it('rejects a registry key that is not on the ref allow-list', () => {
    const before = serverRef('main');
    commitFile(work, 'd.txt', 'd\n', 'signed by bob', { email: bob.email, sign: signAs(bob), env: gpg.env() });
    expectRejected(push(['origin', 'main']), 'main', before, /G "signed by bob".*(not allowed|allow)/);
    git(work, ['reset', '-q', '--hard', before!]);
  });

  it('gives the same verdict as `signet verify --policy` on the same update', () => {
    const cases: Array<[string, () => void]> = [
      ['alice', () => commitFile(work, 'x1.txt', '1\n', 'same verdict: alice', { email: alice.email, sign: signAs(alice), env: gpg.env() })],
      ['unsigned', () => commitFile(work, 'x2.txt', '2\n', 'same verdict: unsigned', { email: alice.email })],
      ['bob', () => commitFile(work, 'x3.txt', '3\n', 'same verdict: bob', { email: bob.email, sign: signAs(bob), env: gpg.env() })],
      [
        'carol on workflows',
        () => commitFile(work, '.github/workflows/x.yml', 'x\n', 'same verdict: carol ci', { email: carol.email, sign: sshSigningConfig(carol) }),
      ],
    ];
    for (const [name, make] of cases) {
      git(work, ['fetch', '-q', 'origin']);
      git(work, ['reset', '-q', '--hard', 'origin/main']);
      make();
      const cli = spawnSync(
        process.execPath,
        ['bin/signet.js', 'verify', '--repo', work, '--policy', join(conf, 'policy.yml'), '--ref', 'refs/heads/main', 'origin/main..HEAD'],
        { encoding: 'utf8' },
      );
      expect([0, 1], `${name}: ${cli.stderr}`).toContain(cli.status);
      const pushed = push(['origin', 'HEAD:main']);
      expect(pushed.code === 0, `${name}: cli exit ${cli.status}, push ${pushed.stderr}`).toBe(cli.status === 0);
    }
    git(work, ['fetch', '-q', 'origin']);
    git(work, ['reset', '-q', '--hard', 'origin/main']);
  });

  it('enforces path rules: an SSH signer allowed on main may not touch workflows', () => {
    const before = serverRef('main');
    commitFile(work, '.github/workflows/ci.yml', 'on: push\n', 'carol edits CI', { email: carol.email, sign: sshSigningConfig(carol) });
    expectRejected(push(['origin', 'main']), 'main', before, /\.github\/workflows/);
    git(work, ['reset', '-q', '--hard', before!]);
    const oid = commitFile(work, 'docs.txt', 'docs\n', 'carol edits docs', { email: carol.email, sign: sshSigningConfig(carol) });
    const accepted = push(['origin', 'main']);
    expect(accepted.stderr).not.toMatch(/rejected/);
    expect(accepted.code).toBe(0);
    expect(serverRef('main')).toBe(oid);
  });

  it('rejects a force push and a deletion of a protected branch', () => {
    const before = serverRef('main')!;
    git(work, ['reset', '-q', '--hard', 'HEAD~1']);
    commitFile(work, 'e.txt', 'e\n', 'rewritten history', { email: alice.email, sign: signAs(alice), env: gpg.env() });
    expectRejected(push(['--force', 'origin', 'main']), 'main', before, /force/i);
    git(work, ['reset', '-q', '--hard', before]);
    expectRejected(push(['origin', ':main']), 'main', before, /delet/i);
  });

  it('requires signed annotated tags on release tags', () => {
    git(work, ['tag', '-a', '-m', 'unsigned release', 'v1.0']);
    expectRejected(push(['origin', 'v1.0']), 'refs/tags/v1.0', undefined, /v1\.0/);
    git(work, [...signAs(alice), 'tag', '-s', '-m', 'signed release', 'v1.1'], { env: gpg.env() });
    const accepted = push(['origin', 'v1.1']);
    expect(accepted.code).toBe(0);
    expect(serverRef('refs/tags/v1.1')).toBe(git(work, ['rev-parse', 'v1.1']));
  });

  it('rejects the whole push when one of several ref updates fails', () => {
    const main = serverRef('main');
    git(work, ['checkout', '-q', '-b', 'feature/x']);
    commitFile(work, 'f.txt', 'f\n', 'feature by bob', { email: bob.email, sign: signAs(bob), env: gpg.env() });
    git(work, ['checkout', '-q', 'main']);
    commitFile(work, 'g.txt', 'g\n', 'unsigned on main', { email: alice.email });
    const result = push(['--atomic', 'origin', 'main', 'feature/x']);
    expectRejected(result, 'main', main, /unsigned on main/);
    expect(serverRef('refs/heads/feature/x')).toBeUndefined();
    git(work, ['reset', '-q', '--hard', main!]);
    // bob is fine on feature branches (no allow-list there)
    expect(push(['origin', 'feature/x']).code).toBe(0);
  });

  it('speaks GitLab: every line the pusher sees starts with GL-HOOK-ERR:', () => {
    const before = serverRef('main');
    commitFile(work, 'h.txt', 'h\n', 'unsigned via gitlab', { email: alice.email });
    const result = push(['origin', 'main'], { GL_ID: 'user-7', GL_USERNAME: 'alice', GL_PROTOCOL: 'ssh', GL_PROJECT_PATH: 'group/project' });
    expectRejected(result, 'main', before, /GL-HOOK-ERR: signet: push to refs\/heads\/main rejected/);
    const hookLines = result.stderr.split('\n').filter((line) => line.startsWith('remote: ') && line.trim() !== 'remote:');
    expect(hookLines.length).toBeGreaterThan(2);
    for (const line of hookLines) expect(line).toMatch(/^remote: GL-HOOK-ERR: /);
    const audit = readFileSync(join(server, 'signet', 'audit.log'), 'utf8')
      .trim()
      .split('\n');
    expect(JSON.parse(audit[audit.length - 1]!)).toMatchObject({ pusher: 'alice', host: 'gitlab', repository: 'group/project', allowed: false });
    git(work, ['reset', '-q', '--hard', before!]);
  });

  it('knows GitHub Enterprise Server pushers', () => {
    const oid = commitFile(work, 'i.txt', 'i\n', 'signed via ghes', { email: alice.email, sign: signAs(alice), env: gpg.env() });
    const env = {
      GITHUB_USER_LOGIN: 'octoalice',
      GITHUB_VIA: 'pull request merge button',
      GITHUB_REPO_NAME: 'org/repo',
      GITHUB_PULL_REQUEST_AUTHOR_LOGIN: 'octobob',
      GITHUB_PULL_REQUEST_HEAD: 'octobob:topic',
      GITHUB_PULL_REQUEST_BASE: 'org:main',
    };
    expect(push(['origin', 'main'], env).code).toBe(0);
    const audit = readFileSync(join(server, 'signet', 'audit.log'), 'utf8')
      .trim()
      .split('\n');
    expect(JSON.parse(audit[audit.length - 1]!)).toMatchObject({
      pusher: 'octoalice',
      host: 'github-enterprise',
      via: 'pull request merge button',
      new: oid,
      pullRequest: { author: 'octobob', head: 'octobob:topic', base: 'org:main' },
    });
  });

  it('checks signed pushes (git push --signed) against the registry', () => {
    git(server, ['config', 'receive.certNonceSeed', 'test-seed']);
    git(server, ['config', 'receive.advertisePushOptions', 'true']);
    git(work, ['checkout', '-q', '-b', 'signed/one']);
    commitFile(work, 'j.txt', 'j\n', 'for a signed push', { email: alice.email, sign: signAs(alice), env: gpg.env() });
    const unsigned = push(['origin', 'signed/one']);
    expectRejected(unsigned, 'refs/heads/signed/one', undefined, /push/i);
    const signed = push([...['--signed'], 'origin', 'signed/one'], {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'user.signingkey',
      GIT_CONFIG_VALUE_0: alice.fingerprint,
    });
    expect(signed.stderr).not.toMatch(/rejected/);
    expect(signed.code).toBe(0);
    git(work, ['checkout', '-q', 'main']);
  });

  it('works over the network (git daemon on 127.0.0.1)', async () => {
    daemonPort = await freePort();
    git(server, ['config', 'daemon.receivepack', 'true']);
    daemon = spawn(
      'git',
      ['daemon', '--reuseaddr', '--listen=127.0.0.1', `--port=${daemonPort}`, '--export-all', '--enable=receive-pack', `--base-path=${dir.path}`, dir.path],
      { stdio: 'ignore' },
    );
    await waitForPort(daemonPort);
    const url = `git://127.0.0.1:${daemonPort}/server.git`;
    const before = serverRef('main');
    commitFile(work, 'k.txt', 'k\n', 'unsigned over git://', { email: alice.email });
    expectRejected(push([url, 'main']), 'main', before, /unsigned over git:\/\//);
    git(work, ['reset', '-q', '--hard', before!]);
    const oid = commitFile(work, 'l.txt', 'l\n', 'signed over git://', { email: alice.email, sign: signAs(alice), env: gpg.env() });
    expect(push([url, 'main']).code).toBe(0);
    expect(serverRef('main')).toBe(oid);
  });

  describe('fails closed', () => {
    it('on a missing keyring, naming the file', () => {
      const before = serverRef('main');
      const keyring = join(conf, 'keys', 'registry.asc');
      renameSync(keyring, `${keyring}.away`);
      try {
        commitFile(work, 'm.txt', 'm\n', 'signed, but no keyring', { email: alice.email, sign: signAs(alice), env: gpg.env() });
        expectRejected(push(['origin', 'main']), 'main', before, /registry\.asc.*(no such file|cannot read)/);
      } finally {
        renameSync(`${keyring}.away`, keyring);
        git(work, ['reset', '-q', '--hard', before!]);
      }
    });

    it('on a policy that does not parse, naming it', () => {
      const before = serverRef('main');
      const policy = join(conf, 'policy.yml');
      writeFileSync(policy, 'rules:\n  - refs: [refs/heads/main\n');
      try {
        commitFile(work, 'n.txt', 'n\n', 'signed, broken policy', { email: alice.email, sign: signAs(alice), env: gpg.env() });
        expectRejected(push(['origin', 'main']), 'main', before, /policy\.yml/);
      } finally {
        writeFileSync(policy, POLICY);
        git(work, ['reset', '-q', '--hard', before!]);
      }
    });

    it('on a corrupt object in the server store', () => {
      const before = serverRef('main')!;
      const objectPath = join(server, 'objects', before.slice(0, 2), before.slice(2));
      git(server, ['repack', '-q', '-d']);
      expect(existsSync(objectPath)).toBe(false);
      // Put a loose copy of the tip that hashes to another id: the hook must refuse, not guess.
      mkdirSync(join(server, 'objects', before.slice(0, 2)), { recursive: true });
      const other = git(server, ['hash-object', '-w', '--stdin'], { input: 'not the tip' });
      const otherPath = join(server, 'objects', other.slice(0, 2), other.slice(2));
      writeFileSync(objectPath, readFileSync(otherPath));
      const packDir = join(server, 'objects', 'pack');
      const packs = execFileSync('ls', [packDir], { encoding: 'utf8' }).trim().split('\n');
      for (const name of packs) renameSync(join(packDir, name), join(dir.path, name));
      try {
        commitFile(work, 'o.txt', 'o\n', 'signed, corrupt store', { email: alice.email, sign: signAs(alice), env: gpg.env() });
        const result = spawnSync(hookBinary, [], {
          cwd: server,
          env: { GIT_DIR: '.' },
          input: `${before} ${git(work, ['rev-parse', 'HEAD'])} refs/heads/main\n`,
          encoding: 'utf8',
        });
        expect(result.status).not.toBe(0);
        expect(result.stderr).toMatch(/corrupt|missing/);
        expect(result.stderr).toMatch(/fails closed/);
      } finally {
        for (const name of packs) renameSync(join(dir.path, name), join(packDir, name));
        execFileSync('rm', ['-f', objectPath]);
        git(work, ['reset', '-q', '--hard', before]);
      }
    });
  });

  it('uninstalls only its own hook', () => {
    const result = spawnSync(process.execPath, ['bin/signet.js', 'hook', 'uninstall', '--repo', server], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(existsSync(hookBinary)).toBe(false);
    writeFileSync(hookBinary, '#!/bin/sh\nexit 0\n');
    const refused = spawnSync(process.execPath, ['bin/signet.js', 'hook', 'uninstall', '--repo', server], { encoding: 'utf8' });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/not signet's hook/);
    expect(existsSync(hookBinary)).toBe(true);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  const { connect } = await import('node:net');
  for (let attempt = 0; attempt < 100; attempt++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}
