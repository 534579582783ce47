/**
 * One AdmissionReview, validating or mutating: every container image of the object is resolved
 * to a digest, judged by every matching policy, and (mutating) pinned to the digest that was
 * judged, so the kubelet pulls exactly what was checked. Fails closed: an unreadable object, a
 * registry that cannot be reached or a review that runs out of time denies.
 */
import { decideImage, matchingPolicies, namespaceSelected, type ImageDecision } from '../core/admission/decide.ts';
import { imageGlobMatches, imageNames } from '../core/admission/image-glob.ts';
import { admissionResponse, containerImages, type AdmissionRequest, type AdmissionVerdict } from '../core/admission/review.ts';
import type { Authority, ImagePolicy } from '../core/admission/image-policy.ts';
import type { AuthorityFacts } from '../core/admission/decide.ts';
import { formatImageReference, parseImageReference } from '../core/sign/image-reference.ts';
import type { ImageFacts } from './image-facts.ts';
import type { LoadedAdmissionPolicy } from './load-policy.ts';

export type ReviewKind = 'validate' | 'mutate';

/** Control characters and bidi overrides never reach kubectl's terminal through a message. */
function printable(text: string): string {
  return text.replace(
    /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

const MESSAGE_LIMIT = 4_000;

function clip(text: string): string {
  return text.length > MESSAGE_LIMIT ? `${text.slice(0, MESSAGE_LIMIT)}… (cut)` : text;
}

async function judgeImage(
  image: string,
  request: AdmissionRequest,
  loaded: LoadedAdmissionPolicy,
  facts: ImageFacts,
): Promise<ImageDecision & { pinned?: string }> {
  let ref;
  try {
    ref = parseImageReference(image);
  } catch (error) {
    return { image, digest: '', allowed: false, warnings: [], reasons: [`${image}: ${(error as Error).message}`], passed: [] };
  }
  const names = imageNames(ref);
  const policies = matchingPolicies(loaded.policy, names, request.namespace, imageGlobMatches);
  if (policies.length === 0) {
    return decideImage(image, ref.digest ?? '', policies, loaded.policy.noMatch, () => undefined);
  }
  let resolved;
  try {
    resolved = await facts.resolve(ref);
  } catch (error) {
    return { image, digest: '', allowed: false, warnings: [], reasons: [`${image}: ${(error as Error).message}`], passed: [] };
  }
  const known = new Map<string, AuthorityFacts | undefined>();
  const keyOf = (policy: ImagePolicy, authority: Authority) => `${policy.name}\0${policy.authorities.indexOf(authority)}`;
  try {
    await Promise.all(
      policies.flatMap((policy) =>
        policy.authorities.map(async (authority) => {
          known.set(keyOf(policy, authority), await facts.factsFor(resolved, policy, authority));
        }),
      ),
    );
  } catch (error) {
    return {
      image,
      digest: resolved.descriptor.digest,
      allowed: false,
      warnings: [],
      reasons: [`${image} (${resolved.descriptor.digest}): cannot verify: ${(error as Error).message}`],
      passed: [],
    };
  }
  const decision = decideImage(image, resolved.descriptor.digest, policies, loaded.policy.noMatch, (policy, authority) => known.get(keyOf(policy, authority)));
  return {
    ...decision,
    pinned: formatImageReference({
      registry: ref.registry,
      repository: ref.repository,
      ...(ref.tag ? { tag: ref.tag } : {}),
      digest: resolved.descriptor.digest,
    }),
  };
}

/** Decides one review; never throws for what the request contains (that denies). */
export async function reviewAdmission(
  kind: ReviewKind,
  request: AdmissionRequest,
  loaded: LoadedAdmissionPolicy,
  facts: ImageFacts,
): Promise<{ verdict: AdmissionVerdict; decisions: ImageDecision[] }> {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return { verdict: { allowed: true }, decisions: [] };
  if (!namespaceSelected(loaded.policy.namespaces, request.namespace))
    return { verdict: { allowed: true, auditAnnotations: { 'signet-skipped': 'namespace not selected' } }, decisions: [] };
  let images;
  try {
    images = containerImages(request.kind.kind, request.object);
  } catch (error) {
    return { verdict: { allowed: false, message: printable(`signet: ${(error as Error).message}`) }, decisions: [] };
  }
  const unique = [...new Set(images.map((entry) => entry.image))];
  const decisions = await Promise.all(unique.map((image) => judgeImage(image, request, loaded, facts)));
  const byImage = new Map(decisions.map((decision) => [decision.image, decision]));
  const denied = decisions.filter((decision) => !decision.allowed);
  const warnings = decisions.flatMap((decision) => decision.warnings).map((line) => clip(printable(`signet: ${line}`)));
  const auditAnnotations = {
    'signet-images': clip(
      JSON.stringify(decisions.map((decision) => ({ image: decision.image, digest: decision.digest, allowed: decision.allowed, policies: decision.passed }))),
    ),
  };
  if (denied.length > 0) {
    const message = clip(
      printable(`signet: denied ${request.kind.kind} ${request.namespace}/${request.name}: ${denied.flatMap((decision) => decision.reasons).join('; ')}`),
    );
    return { verdict: { allowed: false, message, warnings, auditAnnotations }, decisions };
  }
  const verdict: AdmissionVerdict = { allowed: true, warnings, auditAnnotations };
  if (kind === 'mutate') {
    verdict.patch = images.flatMap((entry) => {
      const decision = byImage.get(entry.image);
      const pinned = decision && 'pinned' in decision ? (decision as { pinned?: string }).pinned : undefined;
      // Only rewrite what is not pinned yet, and only to the digest that was judged.
      return pinned && !entry.image.includes('@') ? [{ op: 'replace' as const, path: entry.pointer, value: pinned }] : [];
    });
  }
  return { verdict, decisions };
}

export { admissionResponse };
