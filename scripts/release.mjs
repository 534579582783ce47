// signet signs its own release with itself: `npm run release -- [--out DIR] [--skip-build]`.
//
// Builds dist/signet (the single executable, on Node 24) and writes into DIR (default
// release/): the executable as signet-linux-x64; checksums.txt and its detached OpenPGP
// signature checksums.txt.asc; a cosign-compatible signature (.sig) and sigstore bundle of the
// executable; an SPDX 2.3 SBOM of its dependencies from package-lock.json (signet.spdx.json) and
// its signed in-toto attestation; SLSA v1 provenance naming the source commit, signed; and the
// public halves of the keys (cosign.pub, signing-key.asc) for people who verify.
//
// Keys come from the environment (a throwaway key in CI; the release key, in the release job):
//   SIGNET_RELEASE_OPENPGP_KEY  armored OpenPGP secret key: a path, or env://NAME
//   SIGNET_RELEASE_OPENPGP_PUB  its public key (armored): a path
//   SIGNET_OPENPGP_PASSPHRASE   its passphrase, if it has one
//   SIGNET_RELEASE_COSIGN_KEY   cosign private key (cosign.key): a path, or env://NAME
//   SIGNET_RELEASE_COSIGN_PUB   its public key (cosign.pub): a path
//   COSIGN_PASSWORD             its password (may be empty)
//   SIGNET_RELEASE_BUILDER_ID   the builder named in the provenance (default: this script)
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(new URL('..', import.meta.url).pathname);
const { values } = parseArgs({ options: { out: { type: 'string', default: 'release' }, 'skip-build': { type: 'boolean', default: false } } });
const out = resolve(process.cwd(), values.out);
const env = process.env;

function required(name) {
  const value = env[name];
  if (!value) {
    process.stderr.write(`release: ${name} is not set (see the top of scripts/release.mjs)\n`);
    process.exit(2);
  }
  return value;
}
const openpgpKey = required('SIGNET_RELEASE_OPENPGP_KEY');
const openpgpPub = resolve(required('SIGNET_RELEASE_OPENPGP_PUB'));
const cosignKey = required('SIGNET_RELEASE_COSIGN_KEY');
const cosignPub = resolve(required('SIGNET_RELEASE_COSIGN_PUB'));
const keyPath = (ref) => (ref.startsWith('env://') ? ref : resolve(ref));

if (!values['skip-build']) {
  execFileSync(process.execPath, [join(root, 'scripts/bundle.mjs')], { cwd: root, stdio: 'inherit' });
  execFileSync(process.execPath, [join(root, 'scripts/build-sea.mjs')], { cwd: root, stdio: 'inherit' });
}
const executable = join(root, 'dist', 'signet');
if (!existsSync(executable)) {
  process.stderr.write('release: dist/signet is missing (run without --skip-build)\n');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const name = 'signet-linux-x64';
copyFileSync(executable, join(out, name));

// Signed by the signet just built, run from its bundle on this Node (the executable itself is
// what is being signed; it is checked by the verification below).
const signet = (args) =>
  execFileSync(process.execPath, [join(root, 'bin/signet.js'), ...args], { cwd: out, env, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
const commit = execFileSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
const dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
let origin = '';
try {
  origin = execFileSync('git', ['-C', root, 'remote', 'get-url', 'origin'], { encoding: 'utf8' }).trim();
} catch {
  origin = `file://${root}`;
}
const sourceUri = `git+${origin.replace(/^git\+/, '')}`;

signet(['checksums', '--key', keyPath(openpgpKey), '--output', 'checksums.txt', name]);
writeFileSync(join(out, `${name}.sig`), signet(['sign-blob', '--key', keyPath(cosignKey), '--bundle', `${name}.sigstore.json`, name]).trim());
const sbomBundle = `${name}.spdx.sigstore.json`;
signet(['attest', '--key', keyPath(cosignKey), '--type', 'spdx', '--lockfile', join(root, 'package-lock.json'), '--bundle', sbomBundle, name]);
// The SBOM itself, readable without unwrapping the attestation.
const statement = JSON.parse(Buffer.from(JSON.parse(readFileSync(join(out, sbomBundle), 'utf8')).dsseEnvelope.payload, 'base64').toString('utf8'));
writeFileSync(join(out, 'signet.spdx.json'), `${JSON.stringify(statement.predicate, null, 2)}\n`);
signet([
  'attest',
  '--key',
  keyPath(cosignKey),
  '--type',
  'slsaprovenance',
  '--builder-id',
  env.SIGNET_RELEASE_BUILDER_ID ?? 'urn:signet:release-script',
  '--build-type',
  'urn:signet:release:v1',
  '--source-uri',
  sourceUri,
  '--source-digest',
  `gitCommit=${commit}`,
  '--bundle',
  `${name}.intoto.sigstore.json`,
  name,
]);
copyFileSync(cosignPub, join(out, 'cosign.pub'));
copyFileSync(openpgpPub, join(out, 'signing-key.asc'));
process.stdout.write(
  `release ${out}: ${name} from ${commit}${dirty ? ' (work tree has uncommitted changes)' : ''}; ${execFileSync(executable, ['--version'], { encoding: 'utf8' }).trim()}\n`,
);
