import { SignetError } from '../errors.ts';
import { isRecord } from '../sign/encoding.ts';

/**
 * `admission.k8s.io/v1` AdmissionReview: the request the API server sends and the response it
 * expects (the response must echo the request's `uid`). Only the fields signet reads are typed.
 */
export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  operation: string;
  namespace: string;
  name: string;
  dryRun: boolean;
  object: unknown;
}

export interface ContainerImage {
  /** JSON pointer of the `image` field (for the mutating patch). */
  pointer: string;
  /** `containers`, `initContainers` or `ephemeralContainers`. */
  list: string;
  container: string;
  image: string;
}

const API_VERSION = 'admission.k8s.io/v1';
const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/** Where the pod spec sits in each kind signet checks (the API group is not needed to find it). */
const POD_SPEC_PATHS: Record<string, readonly string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

export const CHECKED_KINDS = Object.keys(POD_SPEC_PATHS);

function text(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new SignetError('USAGE', `AdmissionReview: ${field} must be a string`);
  return value;
}

/** Parses the review the API server posted; anything malformed is a usage error naming the field. */
export function parseAdmissionReview(body: unknown): AdmissionRequest {
  if (!isRecord(body)) throw new SignetError('USAGE', 'AdmissionReview: body is not a JSON object');
  if (body.apiVersion !== API_VERSION || body.kind !== 'AdmissionReview') {
    throw new SignetError(
      'USAGE',
      `AdmissionReview: apiVersion must be ${API_VERSION} and kind AdmissionReview (got ${String(body.apiVersion)} ${String(body.kind)})`,
    );
  }
  const request = body.request;
  if (!isRecord(request)) throw new SignetError('USAGE', 'AdmissionReview: request is missing');
  const kind = isRecord(request.kind) ? request.kind : {};
  return {
    uid: text(request.uid, 'request.uid'),
    kind: {
      group: typeof kind.group === 'string' ? kind.group : '',
      version: typeof kind.version === 'string' ? kind.version : '',
      kind: text(kind.kind, 'request.kind.kind'),
    },
    operation: text(request.operation, 'request.operation'),
    namespace: typeof request.namespace === 'string' ? request.namespace : '',
    name: typeof request.name === 'string' ? request.name : '',
    dryRun: request.dryRun === true,
    object: request.object,
  };
}

/** JSON pointer escaping (RFC 6901). */
function pointerPart(part: string): string {
  return part.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * Every container image of the object: containers, init containers and ephemeral containers of
 * a Pod or of a workload's pod template. A kind signet does not know yields none (the webhook
 * configuration decides which kinds are sent). A container without a string image is an error:
 * the API server would refuse it, and a check must never pass by skipping what it cannot read.
 */
export function containerImages(kind: string, object: unknown): ContainerImage[] {
  const path = POD_SPEC_PATHS[kind];
  if (!path) return [];
  let spec: unknown = object;
  for (const step of path) spec = isRecord(spec) ? spec[step] : undefined;
  if (!isRecord(spec)) throw new SignetError('USAGE', `${kind}: no pod spec at .${path.join('.')}`);
  const images: ContainerImage[] = [];
  for (const list of CONTAINER_LISTS) {
    const containers = spec[list];
    if (containers === undefined || containers === null) continue;
    if (!Array.isArray(containers)) throw new SignetError('USAGE', `${kind}: .${[...path, list].join('.')} is not a list`);
    containers.forEach((container: unknown, index) => {
      const name = isRecord(container) && typeof container.name === 'string' ? container.name : `#${index}`;
      const image = isRecord(container) ? container.image : undefined;
      if (typeof image !== 'string' || image === '') throw new SignetError('USAGE', `${kind}: ${list}[${index}] (${name}) has no image`);
      images.push({ pointer: `/${[...path, list, String(index), 'image'].map(pointerPart).join('/')}`, list, container: name, image });
    });
  }
  return images;
}

export interface AdmissionVerdict {
  allowed: boolean;
  /** Shown to the user by kubectl when denied. */
  message?: string;
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
  /** JSONPatch operations (mutating endpoint only). */
  patch?: { op: 'replace'; path: string; value: string }[];
}

/** The AdmissionReview response: `uid` echoed, `status` only when denied, patch base64 JSONPatch. */
export function admissionResponse(uid: string, verdict: AdmissionVerdict): unknown {
  const response: Record<string, unknown> = { uid, allowed: verdict.allowed };
  if (!verdict.allowed) response.status = { code: 403, reason: 'Forbidden', message: verdict.message ?? 'denied by signet' };
  else if (verdict.message) response.status = { code: 200, message: verdict.message };
  if (verdict.warnings && verdict.warnings.length > 0) response.warnings = verdict.warnings;
  if (verdict.auditAnnotations && Object.keys(verdict.auditAnnotations).length > 0) response.auditAnnotations = verdict.auditAnnotations;
  if (verdict.patch && verdict.patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(verdict.patch), 'utf8').toString('base64');
  }
  return { apiVersion: API_VERSION, kind: 'AdmissionReview', response };
}
