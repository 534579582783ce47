/**
 * Turns verification facts about an image into an admission decision. Facts (which signatures
 * and attestations verified, with which statements) are what the cache keeps; every condition
 * — namespace selection, mode, attestation field conditions — is applied here on every review,
 * so a cache hit can never skip one (the Kyverno bug in which a digest cache hit skipped deny
 * conditions is a test case).
 */
import { isRecord } from '../sign/encoding.ts';
import type { AdmissionPolicy, AttestationCondition, Authority, ImagePolicy, NamespaceSelection } from './image-policy.ts';
import { wholeMatch } from '../whole-match.ts';

/** What verifying one authority against one image digest found. */
export interface AuthorityFacts {
  /** A signature by this authority verified on the digest. */
  signed: boolean;
  /** Why not, when not (shown to the user). */
  detail: string;
  /** Statements of attestations this authority signed about the digest, by predicate type. */
  statements: { predicateType: string; statement: unknown }[];
}

export interface ImageDecision {
  image: string;
  digest: string;
  allowed: boolean;
  /** Failures under a `warn` policy: allowed, reported as warnings. */
  warnings: string[];
  /** Why denied (one line per failed policy). */
  reasons: string[];
  /** Names of the policies that admitted it. */
  passed: string[];
}

export function namespaceSelected(selection: NamespaceSelection | undefined, namespace: string): boolean {
  if (!selection) return true;
  if (selection.exclude?.includes(namespace)) return false;
  return selection.include === undefined || selection.include.includes(namespace);
}

function valueAt(document: unknown, path: string): { found: boolean; value?: unknown } {
  let current: unknown = document;
  for (const step of path.split('.')) {
    if (Array.isArray(current) && /^\d+$/.test(step)) current = current[Number(step)];
    else if (isRecord(current) && Object.hasOwn(current, step)) current = current[step];
    else return { found: false };
  }
  return { found: current !== undefined, value: current };
}

export function conditionHolds(statement: unknown, condition: AttestationCondition): boolean {
  const { found, value } = valueAt(statement, condition.path);
  if (condition.exists !== undefined) return found === condition.exists;
  if (!found) return false;
  if (condition.equals !== undefined) return value === condition.equals;
  if (condition.matches !== undefined) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return false;
    return wholeMatch(condition.matches).test(String(value));
  }
  return false;
}

/** Whether one authority admits the image, and why not. */
export function authorityPasses(authority: Authority, facts: AuthorityFacts | undefined): { ok: boolean; detail: string } {
  if (authority.static) {
    return authority.static.action === 'pass' ? { ok: true, detail: 'static pass' } : { ok: false, detail: authority.static.message ?? 'static fail' };
  }
  if (!facts) return { ok: false, detail: 'not verified' };
  if (!facts.signed) return { ok: false, detail: facts.detail };
  for (const required of authority.attestations) {
    const candidates = facts.statements.filter((entry) => entry.predicateType === required.predicateType);
    if (candidates.length === 0) return { ok: false, detail: `no ${required.name} attestation (${required.predicateType}) signed by ${authority.name}` };
    const satisfied = candidates.some((entry) => required.conditions.every((condition) => conditionHolds(entry.statement, condition)));
    if (!satisfied) {
      const failed = required.conditions.find((condition) => !candidates.some((entry) => conditionHolds(entry.statement, condition)));
      return { ok: false, detail: `${required.name} attestation does not meet ${failed ? describeCondition(failed) : 'its conditions'}` };
    }
  }
  return { ok: true, detail: 'verified' };
}

function describeCondition(condition: AttestationCondition): string {
  if (condition.exists !== undefined) return `${condition.path} ${condition.exists ? 'present' : 'absent'}`;
  if (condition.matches !== undefined) return `${condition.path} ~ ${condition.matches}`;
  return `${condition.path} == ${JSON.stringify(condition.equals)}`;
}

/** Policies that apply to an image reference in a namespace. */
export function matchingPolicies(
  policy: AdmissionPolicy,
  names: string[],
  namespace: string,
  matches: (glob: string, names: string[]) => boolean,
): ImagePolicy[] {
  return policy.policies.filter((entry) => namespaceSelected(entry.namespaces, namespace) && entry.images.some((glob) => matches(glob, names)));
}

/**
 * Every matching policy must pass; a policy passes when any of its authorities does
 * (policy-controller's semantics). A failure under `warn` admits with a warning.
 */
export function decideImage(
  image: string,
  digest: string,
  policies: ImagePolicy[],
  noMatch: AdmissionPolicy['noMatch'],
  factsFor: (policy: ImagePolicy, authority: Authority) => AuthorityFacts | undefined,
): ImageDecision {
  const decision: ImageDecision = { image, digest, allowed: true, warnings: [], reasons: [], passed: [] };
  if (policies.length === 0) {
    if (noMatch === 'allow') return decision;
    const line = `${image}: no policy matches this image`;
    if (noMatch === 'warn') decision.warnings.push(line);
    else {
      decision.allowed = false;
      decision.reasons.push(line);
    }
    return decision;
  }
  for (const policy of policies) {
    const outcomes = policy.authorities.map((authority) => ({ authority, ...authorityPasses(authority, factsFor(policy, authority)) }));
    if (outcomes.some((outcome) => outcome.ok)) {
      decision.passed.push(policy.name);
      continue;
    }
    const line = `${image} (${digest}): policy ${policy.name}: ${outcomes.map((outcome) => `${outcome.authority.name}: ${outcome.detail}`).join('; ')}`;
    if (policy.mode === 'warn') decision.warnings.push(line);
    else {
      decision.allowed = false;
      decision.reasons.push(line);
    }
  }
  return decision;
}
