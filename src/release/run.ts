/**
 * Signs one release through a forge-neutral port: downloads the release's own assets, makes
 * what the plan names, and uploads each output unless an asset of that name already holds a
 * valid one (so a second run uploads nothing). Every output gets a row; a failure is a row,
 * never an exception that hides the rest.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import * as openpgp from 'openpgp';
import { formatChecksums, type ChecksumEntry } from '../core/sign/checksums.ts';
import { toBase64 } from '../core/sign/encoding.ts';
import { SLSA_PROVENANCE_V1, SPDX_PREDICATE_TYPE, type ResourceDescriptor } from '../core/sign/in-toto.ts';
import { publicKeyPem } from '../core/sign/cosign-key.ts';
import { helmProvenanceBody, parseHelmProvenanceBody } from '../core/sign/helm-provenance.ts';
import { parseSigstoreBundle } from '../core/sign/sigstore-bundle.ts';
import { slsaProvenanceV1 } from '../core/sign/slsa-provenance.ts';
import { spdxFromPackageLock } from '../core/sign/spdx.ts';
import { attestSubjects, verifyFileAttestation } from '../sign/attest.ts';
import { decodeSignatureFile, signBlobFile, verifyBlobBundle, verifyBlobSignature, type BlobSignature } from '../sign/blob.ts';
import { digestFile } from '../sign/file-digest.ts';
import { detectPackage } from '../sign/packages.ts';
import { ReleaseLimitError, saveCapped, type AssetStream } from './download.ts';
import { signReleaseImages } from './images.ts';
import { DEFAULT_RELEASE_LIMITS, formatBytes, RELEASE_MAX_ASSET_ENV, RELEASE_MAX_RUN_ENV, type ReleaseLimits } from './limits.ts';
import type { ReleaseSigners } from './keys.ts';
import { describeOutput, mayBeHelmChart, planReleaseSigning, type PlannedOutput, type ResultRow } from './plan.ts';
import { oneLine, type ReleaseSummary } from './render.ts';

export interface ReleaseAsset {
  /** The forge's id (GitHub asset id, GitLab link id). */
  id: string;
  name: string;
}

/** What a forge offers for one release (GitHub release assets, GitLab release links + uploads). */
export interface ReleaseHost {
  listAssets(): Promise<ReleaseAsset[]>;
  /** The asset's body as a stream (signet writes it to disk under the caps while it streams). */
  open(asset: ReleaseAsset): Promise<AssetStream>;
  /** Uploads the file at `path`, read as it is sent. */
  upload(name: string, path: string, contentType: string): Promise<void>;
  remove(asset: ReleaseAsset): Promise<void>;
  /** A file of the repository at the release's tag; undefined when it does not exist. */
  readRepositoryFile(path: string): Promise<Uint8Array | undefined>;
}

export interface ReleaseContext {
  tag: string;
  /** e.g. https://github.com/o/r (the provenance's source). */
  repositoryUrl: string;
  /** The commit the tag names, when the forge says. */
  commitSha?: string;
  releaseUrl?: string;
  /** The webhook delivery (the provenance's invocation id). */
  invocationId: string;
  builderId: string;
  now: () => Date;
  /** Container images to sign (references, the tag already filled in). */
  images?: string[];
  /** Where registry credentials are looked up (DOCKER_CONFIG). */
  registryEnv?: NodeJS.ProcessEnv;
  /** Why some images may be missing (a policy that could not be read), for the answer. */
  imageNotes?: string[];
}

/** An existing signet output (signature, checksums, attestation) larger than this is replaced, not read. */
const MAX_EXISTING_OUTPUT_BYTES = 16 * 1024 ** 2;

export const RELEASE_BUILD_TYPE = 'https://signet.invalid/sign-release/v1';

function iso(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

function contentTypeOf(name: string): string {
  if (name.endsWith('.txt')) return 'text/plain';
  if (name.endsWith('.json')) return 'application/json';
  if (name.endsWith('.asc')) return 'application/pgp-signature';
  if (name.endsWith('.prov')) return 'text/plain';
  return 'application/octet-stream';
}

async function openPgpSignatureValid(armoredSignature: string, data: Uint8Array, publicKeyArmored: string): Promise<boolean> {
  try {
    const verification = await openpgp.verify({
      message: await openpgp.createMessage({ binary: data }),
      signature: await openpgp.readSignature({ armoredSignature }),
      verificationKeys: await openpgp.readKey({ armoredKey: publicKeyArmored }),
    });
    if (verification.signatures.length === 0) return false;
    for (const signature of verification.signatures) await signature.verified;
    return true;
  } catch {
    return false;
  }
}

/**
 * A detached OpenPGP signature over a file, checked as the file streams past (openpgp.verify
 * would buffer the whole message): the signature packet hashes the stream, then checks the
 * digest against the key, as signFile made it.
 */
async function openPgpFileSignatureValid(armoredSignature: string, path: string, publicKeyArmored: string): Promise<boolean> {
  try {
    const signature = await openpgp.readSignature({ armoredSignature });
    const publicKey = await openpgp.readKey({ armoredKey: publicKeyArmored });
    const packets = [...signature.packets] as openpgp.SignaturePacket[];
    if (packets.length !== 1 || packets[0]!.signatureType !== openpgp.enums.signature.binary) return false;
    const packet = packets[0]!;
    const [signingKey] = publicKey.getKeys(packet.issuerKeyID);
    if (!signingKey) return false;
    const data = Readable.toWeb(createReadStream(path, { highWaterMark: 256 << 10 }));
    const literal = { text: null, getBytes: () => data };
    // The published typings leave out the literal-data object and the config argument the code reads.
    const verify = packet.verify.bind(packet) as unknown as (key: unknown, type: number, data: unknown, date: Date, detached: boolean, config: unknown) => Promise<void>;
    await verify(signingKey.keyPacket, openpgp.enums.signature.binary, literal, new Date(), true, openpgp.config);
    return true;
  } catch {
    return false;
  }
}

/** A `.prov` is valid when our key clear-signed it and its body says what today's chart says. */
async function helmProvenanceValid(armored: string, body: string, publicKeyArmored: string): Promise<boolean> {
  try {
    const verification = await openpgp.verify({
      message: await openpgp.readCleartextMessage({ cleartextMessage: armored }),
      verificationKeys: await openpgp.readKey({ armoredKey: publicKeyArmored }),
      expectSigned: true,
    });
    return isDeepStrictEqual(parseHelmProvenanceBody(String(verification.data).replace(/\r\n/g, '\n')), parseHelmProvenanceBody(body));
  } catch {
    return false;
  }
}

interface Made {
  /** Bytes to upload. */
  content: () => Promise<Uint8Array | string>;
  /** Whether an asset already there is a valid output for today's inputs. */
  valid: (existing: Buffer) => Promise<boolean>;
}

export async function signRelease(host: ReleaseHost, signers: ReleaseSigners, context: ReleaseContext, options: { workDir?: string; limits?: ReleaseLimits } = {}): Promise<ReleaseSummary> {
  const startedOn = iso(context.now());
  const limits = options.limits ?? DEFAULT_RELEASE_LIMITS;
  let runLeft = limits.maxRunBytes;
  /** One download under both caps: the asset's own and what is left of the run's. */
  const download = async (asset: ReleaseAsset, path: string, assetCap = limits.maxAssetBytes): Promise<void> => {
    const perAsset = assetCap <= runLeft;
    const cap = perAsset ? assetCap : runLeft;
    const why = () => (perAsset ? `the per-asset cap of ${formatBytes(assetCap)} (${assetCap === limits.maxAssetBytes ? RELEASE_MAX_ASSET_ENV : 'signet output already on the release'})` : `what is left of the per-run cap of ${formatBytes(limits.maxRunBytes)} (${RELEASE_MAX_RUN_ENV})`);
    // A run whose budget is spent asks the forge for nothing more.
    if (runLeft <= 0) throw new ReleaseLimitError(`not downloaded: the per-run cap of ${formatBytes(limits.maxRunBytes)} (${RELEASE_MAX_RUN_ENV}) is used up`);
    const counted = { bytes: 0 };
    try {
      await saveCapped(await host.open(asset), path, cap, why, counted);
    } finally {
      runLeft -= counted.bytes;
    }
  };
  const assets = await host.listAssets();
  const keys = { openpgp: !!signers.openpgp, cosign: !!signers.cosign };
  let plan = planReleaseSigning(assets.map((a) => a.name), keys);
  const rows: ResultRow[] = [];
  const notes: string[] = [];
  const signedImages: string[] = [];
  const dir = await mkdtemp(join(options.workDir ?? tmpdir(), 'signet-release-'));
  try {
    // 1. The release's own files, under local names that cannot escape the directory.
    const local = new Map<string, string>();
    const digests = new Map<string, string>();
    /** Helm charts among them: name → Chart.yaml. */
    const charts = new Map<string, string>();
    for (const [index, name] of plan.inputs.entries()) {
      const asset = assets.find((a) => a.name === name)!;
      const path = join(dir, `in-${index}`);
      try {
        await download(asset, path);
        digests.set(name, (await digestFile(path, 'sha256')).digest.toString('hex'));
        local.set(name, path);
      } catch (error) {
        rows.push({ asset: name, made: 'download', status: 'failed', detail: oneLine(error) });
        continue;
      }
      if (mayBeHelmChart(name)) {
        // Not a gzipped tarball, or no Chart.yaml on top: not a chart, signed as any file.
        const detected = await detectPackage(path, name).catch(() => undefined);
        if (detected?.kind === 'helm') charts.set(name, detected.chartYaml ?? '');
      }
    }
    if (charts.size > 0) plan = planReleaseSigning(assets.map((a) => a.name), keys, new Set(charts.keys()));
    notes.push(...plan.notes);
    const allInputs = local.size === plan.inputs.length;
    const inputPaths = plan.inputs.map((name) => local.get(name)).filter((p): p is string => !!p);
    const subjects: ResourceDescriptor[] = plan.inputs.filter((name) => digests.has(name)).map((name) => ({ name, digest: { sha256: digests.get(name)! } }));
    const checksumsText = formatChecksums(plan.inputs.filter((name) => digests.has(name)).map((name): ChecksumEntry => ({ name, sha256Hex: digests.get(name)! })));

    const blobSignatures = new Map<string, Promise<BlobSignature>>();
    const blobSignature = (input: string): Promise<BlobSignature> => {
      let pending = blobSignatures.get(input);
      if (!pending) blobSignatures.set(input, (pending = signBlobFile(local.get(input)!, signers.cosign!)));
      return pending;
    };
    const cosignKey = signers.cosign?.publicKey;
    const openpgpSigner = signers.openpgp;

    const madeFor = async (output: PlannedOutput): Promise<Made | string> => {
      const input = output.input;
      const path = input ? local.get(input) : undefined;
      if (input && !path) return `${input} could not be downloaded`;
      if (!input && !allInputs) return 'not every asset could be downloaded';
      switch (output.kind) {
        case 'cosign-signature':
          return {
            content: async () => `${toBase64((await blobSignature(input!)).signature)}\n`,
            valid: async (existing) => (await verifyBlobSignature(path!, cosignKey!, decodeSignatureFile(existing))).ok,
          };
        case 'cosign-bundle':
          return {
            content: async () => `${JSON.stringify((await blobSignature(input!)).bundle)}\n`,
            valid: async (existing) => (await verifyBlobBundle(path!, cosignKey!, parseSigstoreBundle(existing, output.name))).ok,
          };
        case 'openpgp-signature':
          return {
            content: () => openpgpSigner!.signFile(path!),
            valid: (existing) => openPgpFileSignatureValid(existing.toString('utf8'), path!, openpgpSigner!.publicKeyArmored),
          };
        case 'helm-provenance': {
          const body = helmProvenanceBody(charts.get(input!)!, input!, digests.get(input!)!);
          return {
            content: () => openpgpSigner!.signCleartext(body, 'sha512'),
            valid: (existing) => helmProvenanceValid(existing.toString('utf8'), body, openpgpSigner!.publicKeyArmored),
          };
        }
        case 'checksums':
          return { content: async () => checksumsText, valid: async (existing) => existing.toString('utf8') === checksumsText };
        case 'checksums-signature':
          return {
            content: () => openpgpSigner!.signDetached(Buffer.from(checksumsText, 'utf8')),
            valid: (existing) => openPgpSignatureValid(existing.toString('utf8'), Buffer.from(checksumsText, 'utf8'), openpgpSigner!.publicKeyArmored),
          };
        case 'sbom-attestation': {
          const lock = await host.readRepositoryFile('package-lock.json');
          if (!lock) return `no package-lock.json at ${context.tag} to describe`;
          const sbom = spdxFromPackageLock(JSON.parse(Buffer.from(lock).toString('utf8')) as unknown, {
            documentNamespace: `https://spdx.org/spdxdocs/signet-${randomUUID()}`, created: startedOn, creator: 'Tool: signet', includeDev: false,
          });
          return {
            content: async () => `${JSON.stringify(await attestSubjects(subjects, signers.cosign!, SPDX_PREDICATE_TYPE, sbom))}\n`,
            valid: async (existing) => (await verifyFileAttestation(parseSigstoreBundle(existing, output.name), cosignKey!, inputPaths, SPDX_PREDICATE_TYPE)).ok,
          };
        }
        case 'provenance-attestation': {
          const source = { uri: `git+${context.repositoryUrl}@refs/tags/${context.tag}`, ...(context.commitSha ? { digest: { gitCommit: context.commitSha } } : {}) };
          const provenance = slsaProvenanceV1({
            buildType: RELEASE_BUILD_TYPE, builderId: context.builderId,
            externalParameters: { release: { tag: context.tag, ...(context.releaseUrl ? { url: context.releaseUrl } : {}) }, source },
            resolvedDependencies: [source], invocationId: context.invocationId, startedOn, finishedOn: iso(context.now()),
          });
          return {
            content: async () => `${JSON.stringify(await attestSubjects(subjects, signers.cosign!, SLSA_PROVENANCE_V1, provenance))}\n`,
            valid: async (existing) => (await verifyFileAttestation(parseSigstoreBundle(existing, output.name), cosignKey!, inputPaths, SLSA_PROVENANCE_V1)).ok,
          };
        }
      }
    };

    // 2. Each output: keep a valid one, replace an invalid one, upload a missing one.
    await mkdir(join(dir, 'out'));
    for (const [index, output] of plan.outputs.entries()) {
      const row: ResultRow = { asset: output.name, made: describeOutput(output.kind), status: 'failed' };
      rows.push(row);
      try {
        const made = await madeFor(output);
        if (typeof made === 'string') {
          Object.assign(row, { status: 'skipped', detail: made });
          continue;
        }
        const existing = assets.find((a) => a.name === output.name);
        if (existing) {
          const oldPath = join(dir, 'out', `old-${index}`);
          let keep = false;
          try {
            // An output already there is read into memory to be checked: signatures and attestations are small.
            await download(existing, oldPath, Math.min(limits.maxAssetBytes, MAX_EXISTING_OUTPUT_BYTES));
            keep = await made.valid(await readFile(oldPath));
          } catch {
            keep = false;
          } finally {
            // Not needed past this check: a run's disk use stays at its inputs and one output.
            await rm(oldPath, { force: true });
          }
          if (keep) {
            Object.assign(row, { status: 'kept', detail: 'already there and valid' });
            continue;
          }
        }
        const path = join(dir, 'out', `new-${index}`);
        await writeFile(path, await made.content());
        if (existing) await host.remove(existing);
        try {
          await host.upload(output.name, path, contentTypeOf(output.name));
        } finally {
          await rm(path, { force: true });
        }
        row.status = existing ? 'replaced' : 'uploaded';
      } catch (error) {
        row.detail = oneLine(error);
      }
    }

    // 3. Images the policy and the configuration name: signed by digest in the registry, not uploaded.
    notes.push(...context.imageNotes ?? []);
    if (context.images?.length) {
      if (!signers.cosign) notes.push('images are named (release.images, SIGNET_RELEASE_IMAGES) but no cosign key is configured: not signed');
      else {
        for (const image of await signReleaseImages(context.images, signers.cosign, context.tag, context.registryEnv ?? {}, context.now)) {
          rows.push(...image.rows);
          if (image.rows.some((row) => row.status !== 'failed')) signedImages.push(image.pinned);
        }
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return {
    tag: context.tag, rows, notes, inputs: plan.inputs, images: signedImages,
    ...(signers.openpgp ? { openpgpFingerprint: signers.openpgp.fingerprint } : {}),
    ...(signers.cosign ? { cosignPublicKeyPem: publicKeyPem(signers.cosign.publicKey) } : {}),
  };
}
