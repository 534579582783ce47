/**
 * Shared material for the /sign-release end-to-end tests: a real gpg key (exported armored,
 * passphrase-protected), a cosign-encrypted P-256 key, a bare repository whose tag v1.2.0
 * holds a package-lock.json, and a checker that verifies what a release ended up holding
 * with independent tools (gpg, sha256sum, openssl, @sigstore/verify, `signet verify-blob`).
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encryptCosignPrivateKey, publicKeyPem } from '../../src/core/sign/cosign-key.ts';
import { parseHelmProvenanceBody } from '../../src/core/sign/helm-provenance.ts';
import { gpgVerify, makeGpgKey, type GpgKey } from './sign-gpg.ts';
import { mustRun, runSignet, tool } from './sign-cli.ts';
import { sigstoreVerify } from './sign-sigstore.ts';

export const COSIGN_PASSWORD = 'release-cosign-password';

export interface ReleaseFixture {
  dir: string;
  gpg: GpgKey;
  cosignPublicPem: string;
  /** What the app's environment holds: the keys and their passwords. */
  env: Record<string, string>;
  bare: string;
  tagCommit: string;
  cleanup(): void;
}

const LOCK = {
  name: 'demo',
  version: '1.2.0',
  lockfileVersion: 3,
  requires: true,
  packages: {
    '': { name: 'demo', version: '1.2.0', license: 'MIT', dependencies: { 'left-pad': '^1.3.0' } },
    'node_modules/left-pad': {
      version: '1.3.0',
      resolved: 'https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz',
      license: 'WTFPL',
      integrity: `sha512-${createHash('sha512').update('left-pad').digest('base64')}`,
    },
  },
};

export async function makeReleaseFixture(): Promise<ReleaseFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'signet-release-'));
  const gpg = makeGpgKey(dir, 'ed25519', 'release@example.com');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cosignKey = await encryptCosignPrivateKey(privateKey, COSIGN_PASSWORD);
  const work = join(dir, 'work');
  const bare = join(dir, 'repo.git');
  const git = (args: string[], cwd = work) =>
    execFileSync('git', args, {
      cwd,
      env: { ...process.env, GIT_AUTHOR_NAME: 'R', GIT_AUTHOR_EMAIL: 'r@example.com', GIT_COMMITTER_NAME: 'R', GIT_COMMITTER_EMAIL: 'r@example.com' },
    })
      .toString()
      .trim();
  execFileSync('git', ['init', '-q', '-b', 'main', work]);
  writeFileSync(join(work, 'package-lock.json'), JSON.stringify(LOCK, null, 2));
  git(['add', '.']);
  git(['commit', '-q', '-m', 'release 1.2.0']);
  git(['tag', 'v1.2.0']);
  execFileSync('git', ['clone', '-q', '--bare', work, bare]);
  return {
    dir,
    gpg,
    cosignPublicPem: publicKeyPem(privateKey),
    bare,
    tagCommit: git(['rev-parse', 'v1.2.0^{commit}']),
    env: {
      SIGNET_RELEASE_OPENPGP_KEY: readFileSync(gpg.secretKeyPath, 'utf8'),
      SIGNET_RELEASE_OPENPGP_PASSPHRASE: gpg.passphrase,
      SIGNET_RELEASE_COSIGN_KEY: cosignKey,
      COSIGN_PASSWORD,
      SIGNET_RELEASE_BUILDER_ID: 'https://signet.test/app',
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface ReleaseCheck {
  gpgChecksums: { status: number; validsig?: string };
  gpgAssets: Array<{ status: number; validsig?: string }>;
  sha256sum: { status: number; stdout: string };
  openssl: number[];
  /** @sigstore/verify: undefined when it verified, else the error. */
  sigstore: Array<string | undefined>;
  attestations: Array<string | undefined>;
  signetVerifyBlob: { code: number; stdout: string; stderr: string };
}

/** Writes the release's files into a fresh directory and checks them as a user would. */
export async function checkSignedRelease(fixture: ReleaseFixture, files: Map<string, Buffer>, inputs: string[]): Promise<ReleaseCheck> {
  const dir = mkdtempSync(join(fixture.dir, 'download-'));
  try {
    for (const [name, content] of files) writeFileSync(join(dir, name), content);
    writeFileSync(join(dir, 'cosign.pub'), fixture.cosignPublicPem);
    const sigstore = inputs.map((input) => {
      try {
        sigstoreVerify(JSON.parse(files.get(`${input}.sigstore.json`)!.toString()), fixture.cosignPublicPem, files.get(input));
        return undefined;
      } catch (error) {
        return (error as Error).message;
      }
    });
    const attestations = ['release.spdx.sigstore.json', 'release.provenance.sigstore.json'].map((name) => {
      try {
        sigstoreVerify(JSON.parse(files.get(name)!.toString()), fixture.cosignPublicPem);
        return undefined;
      } catch (error) {
        return (error as Error).message;
      }
    });
    const openssl = inputs.map((input) => {
      writeFileSync(join(dir, `${input}.der`), Buffer.from(files.get(`${input}.sig`)!.toString().trim(), 'base64'));
      return tool('openssl', ['dgst', '-sha256', '-verify', 'cosign.pub', '-signature', `${input}.der`, input], { cwd: dir }).status;
    });
    const first = inputs[0]!;
    return {
      gpgChecksums: gpgVerify(fixture.gpg, ['checksums.txt.asc', 'checksums.txt'], dir),
      gpgAssets: inputs.map((input) => gpgVerify(fixture.gpg, [`${input}.asc`, input], dir)),
      sha256sum: tool('sha256sum', ['--check', 'checksums.txt'], { cwd: dir }),
      openssl,
      sigstore,
      attestations,
      signetVerifyBlob: await runSignet(['verify-blob', '--key', 'cosign.pub', '--bundle', `${first}.sigstore.json`, first], { cwd: dir }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A Helm chart archive as `helm package` lays it out (chart directory on top, Chart.yaml in it). */
export function makeHelmChart(fixture: ReleaseFixture, name: string, version: string): { file: string; content: Buffer } {
  const dir = mkdtempSync(join(fixture.dir, 'chart-'));
  try {
    mkdirSync(join(dir, name, 'templates'), { recursive: true });
    writeFileSync(
      join(dir, name, 'Chart.yaml'),
      `apiVersion: v2\nname: ${name}\nversion: ${version}\ndescription: A chart released with signet\nkeywords:\n  - web\n  - "---"\n`,
    );
    writeFileSync(join(dir, name, 'values.yaml'), 'replicas: 1\n');
    writeFileSync(join(dir, name, 'templates', 'deployment.yaml'), 'kind: Deployment\n');
    const file = `${name}-${version}.tgz`;
    mustRun('tar', ['czf', file, name], { cwd: dir });
    return { file, content: readFileSync(join(dir, file)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface HelmProvenanceCheck {
  /** gpg --verify of the clear-signed .prov. */
  gpg: { status: number; validsig?: string; stderr: string };
  /** The signed body as gpg recovers it, parsed the way helm reads it. */
  metadata: Record<string, unknown>;
  files: Record<string, string>;
  /** What sha256sum says of the chart archive. */
  sha256sum: string;
}

/** Checks a chart's .prov as `helm verify` would: the clear signature (gpg), then the archive's sha256 in its files section. */
export function checkHelmProvenance(fixture: ReleaseFixture, chart: string, chartContent: Buffer, prov: Buffer): HelmProvenanceCheck {
  const dir = mkdtempSync(join(fixture.dir, 'prov-'));
  try {
    writeFileSync(join(dir, chart), chartContent);
    writeFileSync(join(dir, `${chart}.prov`), prov);
    const gpg = gpgVerify(fixture.gpg, [`${chart}.prov`], dir);
    // gpg prints the signed text (dash-escaping undone) even when the signature is bad.
    const body = tool('gpg', ['--batch', '--decrypt', join(dir, `${chart}.prov`)], { env: fixture.gpg.env }).stdout;
    const { metadata, files } = parseHelmProvenanceBody(body);
    return { gpg, metadata, files, sha256sum: mustRun('sha256sum', [chart], { cwd: dir }).split(' ')[0]! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
