// Builds the same benchmark repository as bench/make-bench-repo.sh, fast enough for 10,000+10,000.
// Usage: node bench/make-bench-repo-fast.mjs DIR N_OPENPGP N_SSH
//
// Why another generator: real `git commit-tree -S` costs a git and a gpg (or ssh-keygen) process
// per commit, about 50 ms of CPU each; 20,000 commits took far longer than the 5 minutes a
// benchmark set-up may take. Here the keys are still made by gpg and ssh-keygen, but the commits
// are signed in-process (openpgp.js for OpenPGP, node:crypto Ed25519 for SSHSIG), written as loose
// objects and packed by git. git itself then checks a sample of them (`git verify-commit` through
// gpg and ssh-keygen) and `git fsck` checks the whole history, so a mistake here cannot go unseen.
//
// Same layout as the shell generator: DIR/repo, DIR/keys/registry.asc, DIR/keys/allowed_signers,
// DIR/gnupg-verify, DIR/info.json ("generator":"fast").
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { deflateSync } from 'node:zlib';
import * as openpgp from 'openpgp';
import { readOpenSshEd25519, sshSignature } from './sshsig.mjs';

const [dirArg, nOpenpgpArg, nSshArg] = process.argv.slice(2);
if (!dirArg || !/^\d+$/.test(nOpenpgpArg ?? '') || !/^\d+$/.test(nSshArg ?? '')) {
  process.stderr.write('usage: node bench/make-bench-repo-fast.mjs DIR N_OPENPGP N_SSH\n');
  process.exit(2);
}
const nOpenpgp = Number(nOpenpgpArg);
const nSsh = Number(nSshArg);
const dir = resolve(dirArg);
const infoFile = join(dir, 'info.json');
if (existsSync(infoFile) && readFileSync(infoFile, 'utf8').includes(`"nOpenpgp":${nOpenpgp},"nSsh":${nSsh},`)) {
  process.stderr.write(`make-bench-repo-fast: ${dir} is already built with ${nOpenpgp} + ${nSsh} commits\n`);
  process.exit(0);
}
for (const part of ['repo', 'keys', 'gnupg-sign', 'gnupg-verify', 'ssh', 'info.json']) rmSync(join(dir, part), { recursive: true, force: true });
mkdirSync(join(dir, 'keys'), { recursive: true });
mkdirSync(join(dir, 'ssh'));
mkdirSync(join(dir, 'gnupg-sign'), { mode: 0o700 });
mkdirSync(join(dir, 'gnupg-verify'), { mode: 0o700 });

const started = process.hrtime.bigint();
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(GIT_|GNUPG|GPG_)/.test(name)));
const env = { ...baseEnv, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C', TZ: 'UTC' };
const run = (cmd, args, options = {}) => execFileSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 1 << 28, ...options });
const gpgSign = { ...env, GNUPGHOME: join(dir, 'gnupg-sign') };
const gpgVerify = { ...env, GNUPGHOME: join(dir, 'gnupg-verify') };

try {
  // ------------------------------------------------------------ keys, made by the real tools
  run(
    'gpg',
    [
      '--batch',
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      '',
      '--quiet',
      '--quick-gen-key',
      'Bench OpenPGP <bench-openpgp@signet.test>',
      'ed25519',
      'sign',
      'never',
    ],
    { env: gpgSign, stdio: 'ignore' },
  );
  const fingerprint = run('gpg', ['--with-colons', '--list-keys', 'bench-openpgp@signet.test'], { env: gpgSign, stdio: ['ignore', 'pipe', 'ignore'] })
    .split('\n')
    .find((line) => line.startsWith('fpr:'))
    ?.split(':')[9];
  const publicArmor = run('gpg', ['--batch', '--armor', '--export', fingerprint], { env: gpgSign });
  writeFileSync(join(dir, 'keys', 'registry.asc'), publicArmor);
  run('gpg', ['--batch', '--quiet', '--import'], { env: gpgVerify, input: publicArmor, stdio: ['pipe', 'ignore', 'ignore'] });
  run('gpg', ['--batch', '--quiet', '--import-ownertrust'], { env: gpgVerify, input: `${fingerprint}:6:\n`, stdio: ['pipe', 'ignore', 'ignore'] });
  const secretArmor = run('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--armor', '--export-secret-keys', fingerprint], {
    env: gpgSign,
  });
  const openpgpKey = await openpgp.readPrivateKey({ armoredKey: secretArmor });

  const sshKeyFile = join(dir, 'ssh', 'bench-ssh');
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench-ssh@signet.test', '-f', sshKeyFile]);
  const sshPublicLine = readFileSync(`${sshKeyFile}.pub`, 'utf8').trim().split(' ');
  writeFileSync(join(dir, 'keys', 'allowed_signers'), `bench-ssh@signet.test ${sshPublicLine[0]} ${sshPublicLine[1]}\n`);
  const ssh = readOpenSshEd25519(readFileSync(sshKeyFile, 'utf8'));

  // ------------------------------------------------------------ the history
  run('git', ['init', '-q', '-b', 'main', join(dir, 'repo')]);
  const repo = join(dir, 'repo');
  const blob = run('git', ['hash-object', '-w', '--stdin'], { cwd: repo, input: 'signet benchmark\n' }).trim();
  const tree = run('git', ['mktree'], { cwd: repo, input: `100644 blob ${blob}\tREADME\n` }).trim();
  const objectsDir = join(repo, '.git', 'objects');

  let time = 1_700_000_000;
  let parent = '';
  let root = '';
  let openpgpTip = '';
  const commitIds = [];
  const total = nOpenpgp + nSsh;
  for (let i = 1; i <= total; i += 1) {
    time += 1;
    const isOpenpgp = i <= nOpenpgp;
    const email = isOpenpgp ? 'bench-openpgp@signet.test' : 'bench-ssh@signet.test';
    const message = isOpenpgp ? `bench: openpgp commit ${i}\n` : `bench: ssh commit ${i - nOpenpgp}\n`;
    const headers = `tree ${tree}\n${parent ? `parent ${parent}\n` : ''}author Bench Author <${email}> ${time} +0000\ncommitter Bench Author <${email}> ${time} +0000\n`;
    const payload = Buffer.from(`${headers}\n${message}`, 'utf8');
    const signature = isOpenpgp ? await openpgpSignature(payload, openpgpKey) : sshSignature(payload, ssh);
    const gpgsig = `gpgsig ${signature.replace(/\n$/, '').split('\n').join('\n ')}\n`;
    const id = writeLooseObject(objectsDir, 'commit', Buffer.from(`${headers}${gpgsig}\n${message}`, 'utf8'));
    commitIds.push(id);
    parent = id;
    if (!root) root = id;
    if (isOpenpgp) openpgpTip = id;
  }

  if (parent) {
    run('git', ['update-ref', 'refs/heads/main', parent], { cwd: repo });
    run('git', ['update-ref', 'refs/tags/bench/root', root], { cwd: repo });
    if (openpgpTip) run('git', ['update-ref', 'refs/tags/bench/openpgp-tip', openpgpTip], { cwd: repo });
  }
  run('git', ['repack', '-a', '-d', '-q'], { cwd: repo });
  run('git', ['prune-packed'], { cwd: repo });

  // ------------------------------------------------------------ git checks what was made
  run('git', ['fsck', '--strict', '--no-dangling'], { cwd: repo, stdio: 'ignore' });
  const sample = new Set([commitIds[0], commitIds[nOpenpgp - 1], commitIds[nOpenpgp], commitIds.at(-1)]);
  for (let k = 0; k < 6 && commitIds.length > 0; k += 1) sample.add(commitIds[Math.floor(Math.random() * commitIds.length)]);
  for (const id of sample) {
    if (id === undefined) continue;
    const verdict = run('git', ['-c', `gpg.ssh.allowedSignersFile=${join(dir, 'keys', 'allowed_signers')}`, 'log', '-1', '--format=%G?', id], {
      cwd: repo,
      env: gpgVerify,
    }).trim();
    if (verdict !== 'G') throw new Error(`git says ${verdict} for generated commit ${id}, expected G`);
  }

  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  writeFileSync(
    infoFile,
    `${JSON.stringify({ nOpenpgp, nSsh, head: parent, root, openpgpTip, openpgpFingerprint: fingerprint, seconds: Number(seconds.toFixed(1)), generator: 'fast' })}\n`,
  );
  process.stderr.write(
    `make-bench-repo-fast: ${nOpenpgp} + ${nSsh} commits in ${seconds.toFixed(1)}s -> ${dir} (git checked ${sample.size} samples and fsck)\n`,
  );
} finally {
  for (const home of [gpgSign, gpgVerify]) {
    try {
      execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: home, stdio: 'ignore' });
    } catch {
      /* none running */
    }
  }
}

/** Writes one loose object and returns its SHA-1 id (the repository is SHA-1). */
function writeLooseObject(objectsDir, type, body) {
  const stored = Buffer.concat([Buffer.from(`${type} ${body.length}\0`), body]);
  const id = createHash('sha1').update(stored).digest('hex');
  const subdir = join(objectsDir, id.slice(0, 2));
  mkdirSync(subdir, { recursive: true });
  writeFileSync(join(subdir, id.slice(2)), deflateSync(stored, { level: 1 }));
  return id;
}

/** A detached, armored, binary-mode signature as `gpg -bsa` makes for git. */
async function openpgpSignature(payload, key) {
  const message = await openpgp.createMessage({ binary: payload });
  // No salt notation: sign as gpg does, so the benchmark parses what real repositories hold.
  return openpgp.sign({ message, signingKeys: key, detached: true, format: 'armored', config: { nonDeterministicSignaturesViaNotation: false } });
}
