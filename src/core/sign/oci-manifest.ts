import { ociDigest } from './encoding.ts';
import { SIMPLE_SIGNING_MEDIA_TYPE } from './simple-signing.ts';
import { SIGSTORE_BUNDLE_V03 } from './sigstore-bundle.ts';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_IMAGE_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
export const DOCKER_MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
/** What cosign's legacy `.att` tags hold: one DSSE envelope per layer. */
export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
export const BUNDLE_CONTENT_ANNOTATION = 'dev.sigstore.bundle.content';
export const BUNDLE_PREDICATE_ANNOTATION = 'dev.sigstore.bundle.predicateType';
export const CREATED_ANNOTATION = 'org.opencontainers.image.created';

/** The `Accept` list for reading any manifest a tag may point at. */
export const MANIFEST_ACCEPT = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST_V2, DOCKER_MANIFEST_LIST].join(', ');

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface OciManifest {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface OciIndex {
  schemaVersion: 2;
  mediaType: typeof OCI_INDEX;
  manifests: Descriptor[];
}

/** The OCI 1.1 empty config blob `{}`. */
export const EMPTY_CONFIG_BYTES = Buffer.from('{}', 'utf8');

export function descriptorOf(mediaType: string, bytes: Uint8Array, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType, digest: ociDigest(bytes), size: bytes.length, ...extra };
}

export function serialize(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/**
 * A cosign signature image's config: an image config whose rootfs lists the layers, so that
 * tools which treat `.sig` tags as images (crane, skopeo) can read it.
 */
export function signatureImageConfig(layers: readonly Descriptor[]): Buffer {
  return serialize({
    architecture: '',
    created: '0001-01-01T00:00:00Z',
    history: [{ created: '0001-01-01T00:00:00Z' }],
    os: '',
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) },
    config: {},
  });
}

/** cosign's legacy signature (or attestation) image: one layer per signature. */
export function attachmentManifest(layers: readonly Descriptor[], config: Descriptor): OciManifest {
  return { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [...layers] };
}

export function simpleSigningLayer(payload: Uint8Array, annotations: Record<string, string>): Descriptor {
  return descriptorOf(SIMPLE_SIGNING_MEDIA_TYPE, payload, { annotations });
}

/** cosign v3's referrer: a manifest whose one layer is the bundle, pointing at the image via `subject`. */
export function bundleReferrerManifest(subject: Descriptor, bundle: Uint8Array, predicateType: string, created: string): OciManifest {
  return {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: SIGSTORE_BUNDLE_V03,
    config: descriptorOf(OCI_EMPTY, EMPTY_CONFIG_BYTES),
    layers: [descriptorOf(SIGSTORE_BUNDLE_V03, bundle)],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: {
      [BUNDLE_CONTENT_ANNOTATION]: 'dsse-envelope',
      [BUNDLE_PREDICATE_ANNOTATION]: predicateType,
      [CREATED_ANNOTATION]: created,
    },
  };
}

export function emptyIndex(): OciIndex {
  return { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
}
