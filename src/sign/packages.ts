import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { SignetError } from '../core/errors.ts';
import { helmProvenanceBody } from '../core/sign/helm-provenance.ts';
import type { Signer } from '../core/sign/signer.ts';
import { findInTarGz } from './archive.ts';
import { signBlobFile } from './blob.ts';
import { digestFile, type DigestOptions } from './file-digest.ts';
import type { OpenPgpSigner } from './openpgp-signer.ts';

export type PackageKind = 'npm' | 'wheel' | 'sdist' | 'helm' | 'tarball' | 'file';

export interface DetectedPackage {
  kind: PackageKind;
  /** For Helm charts: the chart's Chart.yaml text. */
  chartYaml?: string;
}

const depthOne = (file: string) => (name: string) => {
  const parts = name.split('/');
  return parts.length === 2 && parts[1] === file;
};

/**
 * What a file is, from its name and, for gzipped tarballs, the metadata file inside. `name` is
 * the file's published name when it is stored under another one (a release's temporary copy).
 */
export async function detectPackage(path: string, name = basename(path)): Promise<DetectedPackage> {
  if (name.endsWith('.whl')) return { kind: 'wheel' };
  if (!/\.(tgz|tar\.gz)$/.test(name)) return { kind: 'file' };
  const found = await findInTarGz(path, (entry) => entry === 'package/package.json' || depthOne('Chart.yaml')(entry) || depthOne('PKG-INFO')(entry));
  if (!found) return { kind: 'tarball' };
  if (found.name === 'package/package.json') return { kind: 'npm' };
  if (found.name.endsWith('/Chart.yaml')) return { kind: 'helm', chartYaml: found.content.toString('utf8') };
  return { kind: 'sdist' };
}

export interface SignedPackage {
  path: string;
  kind: PackageKind;
  sha256Hex: string;
  /** Files written next to the package. */
  outputs: string[];
}

/**
 * Signs one release package: `<file>.asc` (OpenPGP, detached, armored) and `<file>.sigstore.json`
 * (bundle v0.3) each; for a Helm chart `<file>.prov` (what `helm verify` reads) instead of `.asc`.
 */
export async function signPackage(path: string, signers: { cosign?: Signer; openpgp?: OpenPgpSigner }, options: DigestOptions = {}): Promise<SignedPackage> {
  const detected = await detectPackage(path);
  const outputs: string[] = [];
  let sha256Hex: string | undefined;
  if (signers.cosign) {
    const result = await signBlobFile(path, signers.cosign, options);
    if (signers.cosign.digestAlgorithm === 'sha256') sha256Hex = result.digest.toString('hex');
    await writeFile(`${path}.sigstore.json`, `${JSON.stringify(result.bundle)}\n`);
    outputs.push(`${path}.sigstore.json`);
  }
  sha256Hex ??= (await digestFile(path, 'sha256', options)).digest.toString('hex');
  if (detected.kind === 'helm') {
    if (!signers.openpgp) throw new SignetError('USAGE', `${basename(path)} is a Helm chart: its .prov needs an OpenPGP key (--openpgp-key)`);
    const body = helmProvenanceBody(detected.chartYaml ?? '', basename(path), sha256Hex);
    await writeFile(`${path}.prov`, await signers.openpgp.signCleartext(body, 'sha512'));
    outputs.push(`${path}.prov`);
  } else if (signers.openpgp) {
    await writeFile(`${path}.asc`, await signers.openpgp.signFile(path));
    outputs.push(`${path}.asc`);
  }
  return { path, kind: detected.kind, sha256Hex, outputs };
}
