/**
 * Compares a secret someone sent with the one configured, in time that depends on neither:
 * both are hashed first, because timingSafeEqual needs equal lengths and the length must not
 * leak either. The one comparison for every token signet checks (GitLab webhook tokens, the
 * operators' dashboard token, the setup page's one-time token).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
