/**
 * What signing a release makes, decided from the asset names alone: which assets are the
 * release's own files (inputs) and which names signet writes next to them. Names signet
 * writes are never inputs, so a second run signs the same files and finds its own outputs.
 */

export const CHECKSUMS_NAME = 'checksums.txt';
export const CHECKSUMS_SIGNATURE_NAME = 'checksums.txt.asc';
export const SBOM_ATTESTATION_NAME = 'release.spdx.sigstore.json';
export const PROVENANCE_ATTESTATION_NAME = 'release.provenance.sigstore.json';

const OUTPUT_SUFFIXES = ['.sig', '.asc', '.sigstore.json', '.prov', '.pem'];
const OUTPUT_NAMES = new Set([CHECKSUMS_NAME, CHECKSUMS_SIGNATURE_NAME, SBOM_ATTESTATION_NAME, PROVENANCE_ATTESTATION_NAME, 'cosign.pub']);

export type OutputKind = 'cosign-signature' | 'cosign-bundle' | 'openpgp-signature' | 'helm-provenance' | 'checksums' | 'checksums-signature' | 'sbom-attestation' | 'provenance-attestation';

export interface PlannedOutput {
  name: string;
  kind: OutputKind;
  /** The input it signs (per-asset outputs). */
  input?: string;
}

export interface ReleaseSigningPlan {
  inputs: string[];
  outputs: PlannedOutput[];
  /** Why something is not made (no key configured, no asset), for the result comment. */
  notes: string[];
}

export interface AvailableKeys {
  openpgp: boolean;
  cosign: boolean;
}

export function isSignetOutputName(name: string): boolean {
  return OUTPUT_NAMES.has(name) || OUTPUT_SUFFIXES.some((suffix) => name.endsWith(suffix));
}

/** Names that may be Helm charts (what `helm package` writes); whether one is, its content says. */
export function mayBeHelmChart(name: string): boolean {
  return /\.(tgz|tar\.gz)$/.test(name);
}

/**
 * `charts` names the inputs found to be Helm charts (a `Chart.yaml` at the archive's top
 * level): they also get `<chart>.prov`, next to their other outputs.
 */
export function planReleaseSigning(assetNames: readonly string[], keys: AvailableKeys, charts: ReadonlySet<string> = new Set()): ReleaseSigningPlan {
  const inputs = [...new Set(assetNames.filter((name) => !isSignetOutputName(name)))].sort();
  const outputs: PlannedOutput[] = [];
  const notes: string[] = [];
  if (inputs.length === 0) return { inputs, outputs, notes: ['the release has no assets to sign'] };
  for (const input of inputs) {
    if (keys.cosign) outputs.push({ name: `${input}.sig`, kind: 'cosign-signature', input }, { name: `${input}.sigstore.json`, kind: 'cosign-bundle', input });
    if (keys.openpgp) outputs.push({ name: `${input}.asc`, kind: 'openpgp-signature', input });
    if (keys.openpgp && charts.has(input)) outputs.push({ name: `${input}.prov`, kind: 'helm-provenance', input });
  }
  const chartInputs = inputs.filter((input) => charts.has(input));
  if (!keys.openpgp && chartInputs.length > 0) notes.push(`no OpenPGP key configured: no Helm .prov for ${chartInputs.join(', ')}`);
  if (keys.openpgp) outputs.push({ name: CHECKSUMS_NAME, kind: 'checksums' }, { name: CHECKSUMS_SIGNATURE_NAME, kind: 'checksums-signature' });
  else notes.push('no OpenPGP key configured (SIGNET_RELEASE_OPENPGP_KEY): no checksums.txt.asc or .asc signatures');
  if (keys.cosign) outputs.push({ name: SBOM_ATTESTATION_NAME, kind: 'sbom-attestation' }, { name: PROVENANCE_ATTESTATION_NAME, kind: 'provenance-attestation' });
  else notes.push('no cosign key configured (SIGNET_RELEASE_COSIGN_KEY): no .sig, bundles or attestations');
  return { inputs, outputs, notes };
}

export type RowStatus = 'uploaded' | 'replaced' | 'kept' | 'skipped' | 'failed';

export interface ResultRow {
  asset: string;
  made: string;
  status: RowStatus;
  /** One line: why skipped or failed, or what was kept. */
  detail?: string;
}

const MADE: Record<OutputKind, string> = {
  'cosign-signature': 'cosign signature (base64 DER)',
  'cosign-bundle': 'sigstore bundle v0.3',
  'openpgp-signature': 'OpenPGP detached signature',
  'helm-provenance': 'Helm provenance (clear-signed chart metadata + sha256)',
  checksums: 'SHA-256 checksums',
  'checksums-signature': 'OpenPGP signature of checksums.txt',
  'sbom-attestation': 'SPDX 2.3 SBOM attestation (DSSE bundle)',
  'provenance-attestation': 'SLSA provenance v1 attestation (DSSE bundle)',
};

export function describeOutput(kind: OutputKind): string {
  return MADE[kind];
}
