/**
 * What ssh-keygen's allowed_signers checks conclude for a signing key, step for step as
 * sshsig.c's check_allowed_keys_line() and git's use of it:
 *
 *   find-principals -Overify-time=T   → the principals of the FIRST line whose key matches and
 *                                       that is valid at T (namespaces are NOT consulted here);
 *                                       for a certificate, the certificate's principals that
 *                                       match that cert-authority line's patterns
 *   verify -I P -n NS -Overify-time=T → SOME line lists a pattern matching P, its key matches
 *                                       (a certificate must name P exactly), NS is allowed, and
 *                                       the line is valid at T
 *
 * git tries `verify` for each principal find-principals printed; the first success is G.
 */
import { matchPattern, matchPatternList } from './pattern.ts';
import { CERT_TYPE_USER, type SshCertificate, type SshPublicKey } from './public-key.ts';
import { byteKey, type RegistryIndex, type SignerEntry } from './registry.ts';

/** The lines whose key is the signing key, or that certify it as its CA, in file order. */
export function candidateLines(index: RegistryIndex, key: SshPublicKey): SignerEntry[] {
  let lines = index.candidates.get(key);
  if (!lines) {
    const exact = index.byKey.get(byteKey(key.blob)) ?? [];
    const byCa = key.certificate ? (index.byCaKey.get(byteKey(key.certificate.signatureKey.plainBlob)) ?? []) : [];
    lines = byCa.length === 0 ? exact : [...exact, ...byCa].sort((a, b) => a.order - b.order);
    index.candidates.set(key, lines);
  }
  return lines;
}

export function lineValidAt(entry: SignerEntry, at: number): boolean {
  const { validAfter, validBefore } = entry.signer;
  if (validAfter !== undefined && at < validAfter) return false;
  if (validBefore !== undefined && at > validBefore) return false;
  return true;
}

export function lineAllowsNamespace(entry: SignerEntry, namespace: string): boolean {
  return entry.namespaceList === undefined || matchPatternList(namespace, entry.namespaceList) === 1;
}

/** sshkey_cert_check_authority() for a user certificate: why it is not usable, or undefined. */
export function certificateProblem(certificate: SshCertificate, at: number, principal: string | undefined, ignoreTime = false): string | undefined {
  if (certificate.certType !== CERT_TYPE_USER) return 'not a user certificate';
  const time = BigInt(at);
  if (!ignoreTime && time < certificate.validAfter) return 'certificate not yet valid';
  if (!ignoreTime && time >= certificate.validBefore) return 'certificate expired';
  if (certificate.principals.length === 0) return 'certificate lists no principals';
  if (principal !== undefined && !certificate.principals.includes(principal)) return `certificate does not name ${JSON.stringify(principal)}`;
  return undefined;
}

/** The principals list as find-principals prints it: comma-separated, stopping at an empty entry (strsep). */
function leadingPrincipals(list: string): string[] {
  const out: string[] = [];
  const parts = list.split(',');
  for (let index = 0; index < parts.length; index++) {
    if (parts[index] === '') break;
    out.push(parts[index]!);
  }
  return out;
}

/** cert_filter_principals(): the certificate's principals matching the line's patterns (one by one, no negation). */
function certificatePrincipalsFor(entry: SignerEntry, certificate: SshCertificate, at: number, ignoreTime: boolean): string[] {
  const out: string[] = [];
  if (certificateProblem(certificate, at, undefined, ignoreTime)) return out;
  for (const pattern of leadingPrincipals(entry.principalList)) {
    for (const principal of certificate.principals) if (matchPattern(principal, pattern)) out.push(principal);
  }
  return out;
}

export interface FoundPrincipals {
  entry: SignerEntry;
  principals: string[];
}

/**
 * `ssh-keygen -Y find-principals`. With `ignoreTime` it answers "would a line match if the
 * key and certificate were valid at `at`", which is how we tell an expired key (Y) from an
 * unknown one (U).
 */
export function findPrincipals(candidates: SignerEntry[], key: SshPublicKey, at: number, ignoreTime = false): FoundPrincipals | undefined {
  for (let index = 0; index < candidates.length; index++) {
    const entry = candidates[index]!;
    if (!ignoreTime && !lineValidAt(entry, at)) continue;
    if (entry.signer.certAuthority) {
      if (!key.certificate) continue;
      const principals = certificatePrincipalsFor(entry, key.certificate, at, ignoreTime);
      if (principals.length > 0) return { entry, principals };
      continue;
    }
    return { entry, principals: leadingPrincipals(entry.principalList) };
  }
  return undefined;
}

/**
 * `ssh-keygen -Y verify -I principal -n namespace`: the line that authorises this principal, or
 * undefined. `caseInsensitive` compares e-mail addresses (for emailMatches), where case carries
 * no meaning to people even though OpenSSH compares exactly.
 */
export function lineForPrincipal(
  candidates: SignerEntry[],
  key: SshPublicKey,
  principal: string,
  namespace: string,
  at: number,
  options: { caseInsensitive?: boolean; ignoreTime?: boolean } = {},
): SignerEntry | undefined {
  const text = options.caseInsensitive ? principal.toLowerCase() : principal;
  for (let index = 0; index < candidates.length; index++) {
    const entry = candidates[index]!;
    if (matchPatternList(text, entry.principalList, options.caseInsensitive) !== 1) continue;
    if (entry.signer.certAuthority) {
      const certificate = key.certificate;
      if (!certificate) continue;
      const named = options.caseInsensitive ? certificate.principals.find((p) => p.toLowerCase() === text) : principal;
      if (named === undefined || certificateProblem(certificate, at, named, options.ignoreTime)) continue;
    }
    if (!lineAllowsNamespace(entry, namespace)) continue;
    if (!options.ignoreTime && !lineValidAt(entry, at)) continue;
    return entry;
  }
  return undefined;
}
