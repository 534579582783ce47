/**
 * A history for report and job tests, made by the real tools: the bench generator's signed
 * bulk (openpgp.js + Ed25519, checked by git) followed by commits `git commit -S` makes over
 * several weeks with gpg and ssh-keygen keys — registry keys (G), a key the registry does not
 * know (E for OpenPGP, U for SSH), a revoked key (R), a tampered commit (B), unsigned ones (N) —
 * on two protected branches. `gitLetters` asks git itself for `%G?` with the same registry.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git } from './git.ts';
import { commitFile, createSshKey, GpgHome, sshSigningConfig, type GpgIdentity, type SshIdentity } from './signing-keys.ts';

export interface ReportHistory {
  root: string;
  worktree: string;
  keys: { registryAsc: string; allowedSigners: string; policy: string };
  alice: GpgIdentity & { subkey: string };
  carol: GpgIdentity;
  mallory: GpgIdentity;
  bob: SshIdentity;
  eve: SshIdentity;
  /** GNUPGHOME with the registry's keys at ultimate trust: what git verifies with. */
  verifyHome: GpgHome;
  signHome: GpgHome;
  /** A copy of carol's secret key made before the revocation: a thief's copy. */
  thiefHome: GpgHome;
  carolRevokedAt: number;
  /** Committer times of the commits made here (bulk ones are at 1_700_000_000 + i). */
  firstDay: number;
  bulk: number;
}

const DAY = 86_400;
/** 2023-11-15T00:00:00Z: the bench bulk sits the evening before. */
export const FIRST_DAY = 1_700_006_400;

export const REPORT_POLICY = `version: 1
keys:
  openpgp: [registry.asc]
  ssh_allowed_signers: allowed_signers
rules:
  - refs: [refs/heads/main, "refs/heads/release/*"]
    require_signed_commits: true
    accept: [G]
  - refs: ["refs/tags/v*"]
    require_signed_tags: true
`;

export function dated(day: number, hour: number): NodeJS.ProcessEnv {
  const date = `${FIRST_DAY + day * DAY + hour * 3600} +0000`;
  return { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
}

export function buildReportHistory(root: string, bulkEach: number): ReportHistory {
  const bench = join(root, 'bench');
  execFileSync(process.execPath, ['bench/make-bench-repo-fast.mjs', bench, String(bulkEach), String(bulkEach)], { stdio: 'pipe' });
  const worktree = join(bench, 'repo');
  git(worktree, ['reset', '-q', '--hard', 'main']);

  const signHome = new GpgHome(join(root, 'gnupg-sign'));
  const verifyHome = new GpgHome(join(root, 'gnupg-verify'));
  signHome.gpg(['--quick-gen-key', 'Alice <alice@example.com>', 'ed25519', 'sign', '2y']);
  const aliceFpr = /^fpr:+([0-9A-F]{40}):/m.exec(signHome.gpg(['--with-colons', '--list-keys', 'alice@example.com']))![1]!;
  // A newer signing subkey: gpg signs with it from now on (last rotation).
  signHome.gpg(['--quick-add-key', aliceFpr, 'ed25519', 'sign', '1y']);
  const aliceListing = signHome.gpg(['--with-colons', '--list-keys', aliceFpr]);
  const subkey = [...aliceListing.matchAll(/^fpr:+([0-9A-F]{40}):/gm)].map((m) => m[1]!).find((f) => f !== aliceFpr)!;
  const alice = { name: 'Alice', email: 'alice@example.com', fingerprint: aliceFpr, armoredPublicKey: '', subkey };
  const carol = signHome.createKey('Carol', 'carol@example.com');
  const mallory = signHome.createKey('Mallory', 'mallory@example.com');
  const thiefHome = new GpgHome(join(root, 'gnupg-thief'));
  for (const entry of readdirSync(signHome.home)) {
    if (entry.endsWith('.lock') || entry.startsWith('S.')) continue;
    cpSync(join(signHome.home, entry), join(thiefHome.home, entry), { recursive: true });
  }

  const keyDir = join(root, 'keys');
  mkdirSync(keyDir, { recursive: true });
  const bob = createSshKey(join(root, 'ssh'), 'bob', 'bob@example.com');
  const eve = createSshKey(join(root, 'ssh'), 'eve', 'eve@example.com');
  const [bobType, bobKey] = bob.publicKeyLine.split(' ');
  const allowedSigners = join(keyDir, 'allowed_signers');
  writeFileSync(
    allowedSigners,
    `${readFileSync(join(bench, 'keys', 'allowed_signers'), 'utf8')}bob@example.com valid-before="20991231" ${bobType} ${bobKey}\n`,
  );

  const sign = (identity: GpgIdentity | { fingerprint: string }): string[] => ['-c', 'gpg.format=openpgp', '-c', `user.signingkey=${identity.fingerprint}`];
  const gpgEnv = { GNUPGHOME: signHome.home };
  let n = 0;
  const commit = (day: number, hour: number, who: string, signing: string[] | undefined, env: NodeJS.ProcessEnv = gpgEnv): string =>
    commitFile(worktree, `f${n++ % 5}.txt`, `change ${n}\n`, `${who} change ${n}`, {
      email: `${who}@example.com`,
      name: who,
      ...(signing ? { sign: signing } : {}),
      env: { ...env, ...dated(day, hour) },
    });

  // Week 1: a mix on main.
  commit(0, 9, 'alice', sign(alice));
  commit(0, 10, 'carol', sign(carol));
  commit(0, 11, 'nobody', undefined);
  commit(1, 9, 'bob', sshSigningConfig(bob));
  commit(1, 15, 'eve', sshSigningConfig(eve));
  commit(2, 8, 'mallory', sign(mallory));
  commit(3, 12, 'alice', sign(alice));
  commit(4, 12, 'carol', sign(carol));
  // A tampered commit: alice's signature over a message it was not made for (B).
  const good = commit(5, 9, 'alice', sign(alice));
  const raw = git(worktree, ['cat-file', 'commit', good]).replace(/alice change \d+/, 'alice change (altered)');
  const altered = git(worktree, ['hash-object', '-t', 'commit', '-w', '--stdin'], { input: `${raw}\n` });
  git(worktree, ['reset', '-q', '--hard', altered]);
  // Week 2: a release branch forks off.
  commit(8, 9, 'bob', sshSigningConfig(bob));
  git(worktree, ['branch', 'release/1']);
  commit(9, 10, 'nobody', undefined);
  commit(10, 10, 'alice', sign(alice));
  git(worktree, ['checkout', '-q', 'release/1']);
  commit(9, 14, 'carol', sign(carol));
  commit(11, 14, 'alice', sign(alice));
  git(worktree, ['tag', '-s', '-u', alice.fingerprint, '-m', 'release v1.0', 'v1.0'], { env: { ...gpgEnv, ...dated(11, 15) } });
  git(worktree, ['checkout', '-q', 'main']);
  // Week 3: quieter, then a merge of the release branch.
  commit(15, 9, 'eve', sshSigningConfig(eve));
  git(
    worktree,
    ['-c', 'gpg.format=openpgp', '-c', `user.signingkey=${alice.fingerprint}`, 'merge', '-q', '-S', '--no-ff', '-m', 'merge release/1', 'release/1'],
    { env: { ...gpgEnv, ...dated(16, 9), GIT_COMMITTER_EMAIL: 'alice@example.com', GIT_AUTHOR_EMAIL: 'alice@example.com' } },
  );
  // Week 4: empty. Week 5: one more.
  commit(29, 9, 'nobody', undefined);

  // Carol's key is revoked now, after her last signature (a second later: signature times are
  // whole seconds). Not with the certificate gpg made at key generation: that one is dated then.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1100);
  const revocation = execFileSync(
    'gpg',
    ['--yes', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '', '--command-fd', '0', '--armor', '--gen-revoke', carol.fingerprint],
    {
      env: { ...process.env, GNUPGHOME: signHome.home },
      input: 'y\n0\n\ny\n',
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  signHome.gpg(['--import'], revocation);
  const carolRevokedAt = Number(/^rev:.*$/m.exec(signHome.gpg(['--with-colons', '--list-sigs', carol.fingerprint]))?.[0].split(':')[5] ?? NaN);

  const registryAsc = join(keyDir, 'registry.asc');
  const registry = [
    readFileSync(join(bench, 'keys', 'registry.asc'), 'utf8'),
    signHome.gpg(['--armor', '--export', alice.fingerprint]),
    signHome.gpg(['--armor', '--export', carol.fingerprint]),
  ].join('\n');
  writeFileSync(registryAsc, registry);
  verifyHome.gpg(['--import'], registry);
  // Ultimate owner trust for the primaries: the registry is the root of trust, as signet's.
  const listing = verifyHome.gpg(['--with-colons', '--list-keys']).split('\n');
  const primaries = listing.flatMap((line, index) =>
    line.startsWith('pub:') && listing[index + 1]?.startsWith('fpr:') ? [listing[index + 1]!.split(':')[9]!] : [],
  );
  verifyHome.gpg(['--import-ownertrust'], primaries.map((f) => `${f}:6:\n`).join(''));
  const policy = join(keyDir, 'policy.yml');
  writeFileSync(policy, REPORT_POLICY);
  return {
    root,
    worktree,
    keys: { registryAsc, allowedSigners, policy },
    alice,
    carol,
    mallory,
    bob,
    eve,
    verifyHome,
    signHome,
    thiefHome,
    carolRevokedAt,
    firstDay: FIRST_DAY,
    bulk: bulkEach * 2,
  };
}

export interface GitLetter {
  oid: string;
  time: number;
  letter: string;
  /** %GP: primary key fingerprint (OpenPGP). */
  primary: string;
  /** %GK: the key as git names it (SSH: SHA256 fingerprint). */
  key: string;
}

/**
 * `git log --pretty='%H %ct %G? %GP %GK'` over the refs with the history's registry: git's own
 * letters. One git run for every ref (git spawns gpg or ssh-keygen per commit, so this is the
 * slow part); refs map to their commits through `git rev-list`.
 */
export function gitLetters(history: ReportHistory, refs: string[]): Map<string, GitLetter[]> {
  const out = git(history.worktree, ['-c', `gpg.ssh.allowedSignersFile=${history.keys.allowedSigners}`, 'log', ...refs, '--pretty=%H %ct %G? %GP %GK'], {
    env: { GNUPGHOME: history.verifyHome.home },
  });
  const all = new Map<string, GitLetter>();
  for (const line of out.split('\n').filter(Boolean)) {
    const [oid, time, letter, primary, key] = line.split(' ');
    all.set(oid!, { oid: oid!, time: Number(time), letter: letter!, primary: primary ?? '', key: key ?? '' });
  }
  return new Map(
    refs.map((ref) => [
      ref,
      git(history.worktree, ['rev-list', ref])
        .split('\n')
        .map((oid) => all.get(oid)!),
    ]),
  );
}
