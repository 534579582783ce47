// Builds a long linear history of SSH-signed commits (the 1,000,000-commit benchmark) by writing
// one pack directly. Usage: node bench/make-bench-repo-pack.mjs DIR N_COMMITS
//
// Why a third generator: bench/make-bench-repo-fast.mjs writes a loose object per commit and
// has git repack them (100,000 commits in about a minute, most of it OpenPGP signing and the
// file system); a million loose files is out of reach. Here every commit is signed in-process
// (node:crypto Ed25519, SSHSIG as ssh-keygen makes it, key made by ssh-keygen), deflated and
// appended to a pack as it is made; `git index-pack` then reads the whole pack, hashes every
// object and writes the index, and `git fsck` and a sample of `git log %G?` check the result,
// so a mistake here cannot go unseen.
//
// Layout: DIR/repo (refs/heads/main at the newest commit), DIR/keys/allowed_signers,
// DIR/info.json ("generator":"pack", with the build time in seconds).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { deflateSync } from 'node:zlib';
import { readOpenSshEd25519, sshSignature } from './sshsig.mjs';

const [dirArg, countArg] = process.argv.slice(2);
if (!dirArg || !/^\d+$/.test(countArg ?? '')) {
  process.stderr.write('usage: node bench/make-bench-repo-pack.mjs DIR N_COMMITS\n');
  process.exit(2);
}
const count = Number(countArg);
const dir = resolve(dirArg);
const infoFile = join(dir, 'info.json');
if (existsSync(infoFile) && readFileSync(infoFile, 'utf8').includes(`"commits":${count},`)) {
  process.stderr.write(`make-bench-repo-pack: ${dir} is already built with ${count} commits\n`);
  process.exit(0);
}
for (const part of ['repo', 'keys', 'ssh', 'info.json']) rmSync(join(dir, part), { recursive: true, force: true });
mkdirSync(join(dir, 'keys'), { recursive: true });
mkdirSync(join(dir, 'ssh'));

const started = process.hrtime.bigint();
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(GIT_|GNUPG|GPG_)/.test(name)));
const env = { ...baseEnv, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C', TZ: 'UTC' };
const run = (cmd, args, options = {}) => execFileSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 1 << 28, ...options });

const sshKeyFile = join(dir, 'ssh', 'bench-ssh');
run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench-ssh@signet.test', '-f', sshKeyFile]);
const sshPublicLine = readFileSync(`${sshKeyFile}.pub`, 'utf8').trim().split(' ');
const allowedSigners = join(dir, 'keys', 'allowed_signers');
writeFileSync(allowedSigners, `bench-ssh@signet.test ${sshPublicLine[0]} ${sshPublicLine[1]}\n`);
const ssh = readOpenSshEd25519(readFileSync(sshKeyFile, 'utf8'));

const repo = join(dir, 'repo');
run('git', ['init', '-q', '-b', 'main', repo]);
const packDir = join(repo, '.git', 'objects', 'pack');
const packPath = join(packDir, 'bench.pack');

// ------------------------------------------------------------ the pack, written as made
const fd = openSync(packPath, 'w');
const packHash = createHash('sha1');
let pendingBytes = [];
let pendingLength = 0;
const emit = (bytes) => {
  pendingBytes.push(bytes);
  pendingLength += bytes.length;
  if (pendingLength >= 1 << 22) flush();
};
const flush = () => {
  const bytes = Buffer.concat(pendingBytes);
  packHash.update(bytes);
  writeSync(fd, bytes);
  pendingBytes = [];
  pendingLength = 0;
};
const header = Buffer.alloc(12);
header.write('PACK', 0, 'latin1');
header.writeUInt32BE(2, 4);
header.writeUInt32BE(count + 2, 8);
emit(header);

const TYPES = { commit: 1, tree: 2, blob: 3 };
/** One undeltified pack entry; returns the object's id. */
function addObject(type, body) {
  const id = createHash('sha1').update(`${type} ${body.length}\0`).update(body).digest('hex');
  const head = [];
  let size = body.length;
  let byte = (TYPES[type] << 4) | (size & 15);
  size = Math.floor(size / 16);
  while (size > 0) {
    head.push(byte | 0x80);
    byte = size & 0x7f;
    size = Math.floor(size / 128);
  }
  head.push(byte);
  emit(Buffer.from(head));
  emit(deflateSync(body, { level: 1 }));
  return id;
}

const blob = addObject('blob', Buffer.from('signet benchmark\n'));
const blobId = Buffer.from(blob, 'hex');
const tree = addObject('tree', Buffer.concat([Buffer.from('100644 README\0'), blobId]));
let time = 1_600_000_000;
let parent = '';
let root = '';
const sample = [];
const email = 'bench-ssh@signet.test';
for (let i = 1; i <= count; i += 1) {
  time += 1;
  const message = `bench: ssh commit ${i}\n`;
  const headers = `tree ${tree}\n${parent ? `parent ${parent}\n` : ''}author Bench Author <${email}> ${time} +0000\ncommitter Bench Author <${email}> ${time} +0000\n`;
  const signature = sshSignature(Buffer.from(`${headers}\n${message}`, 'utf8'), ssh);
  const gpgsig = `gpgsig ${signature.replace(/\n$/, '').split('\n').join('\n ')}\n`;
  parent = addObject('commit', Buffer.from(`${headers}${gpgsig}\n${message}`, 'utf8'));
  if (!root) root = parent;
  if (i % Math.max(1, Math.floor(count / 8)) === 0) sample.push(parent);
  if (i % 100_000 === 0) process.stderr.write(`make-bench-repo-pack: ${i} commits\n`);
}
flush();
const trailer = packHash.digest();
writeSync(fd, trailer);
closeSync(fd);
const name = `pack-${trailer.toString('hex')}`;
renameSync(packPath, join(packDir, `${name}.pack`));
run('git', ['index-pack', join(packDir, `${name}.pack`)], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
run('git', ['update-ref', 'refs/heads/main', parent], { cwd: repo });
run('git', ['update-ref', 'refs/tags/bench/root', root], { cwd: repo });

// ------------------------------------------------------------ git checks what was made
run('git', ['fsck', '--connectivity-only', '--no-dangling'], { cwd: repo, stdio: 'ignore' });
for (const id of [root, ...sample]) {
  const verdict = run('git', ['-c', `gpg.ssh.allowedSignersFile=${allowedSigners}`, 'log', '-1', '--format=%G?', id], { cwd: repo }).trim();
  if (verdict !== 'G') throw new Error(`git says ${verdict} for generated commit ${id}, expected G`);
}
const listed = run('git', ['rev-list', '--count', 'main'], { cwd: repo }).trim();
if (listed !== String(count)) throw new Error(`git rev-list counts ${listed} commits, expected ${count}`);

const seconds = Number(process.hrtime.bigint() - started) / 1e9;
writeFileSync(infoFile, `${JSON.stringify({ commits: count, head: parent, root, seconds: Number(seconds.toFixed(1)), generator: 'pack' })}\n`);
process.stderr.write(
  `make-bench-repo-pack: ${count} commits in ${seconds.toFixed(1)}s -> ${dir} (git index-pack, fsck, rev-list --count and ${sample.length + 1} signatures checked)\n`,
);
