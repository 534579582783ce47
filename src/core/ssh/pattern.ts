/**
 * OpenSSH's patterns (match.c): `*` matches any run of characters, `?` any one character, and a
 * pattern list is comma-separated with `!` negating an entry. Used for allowed_signers principals
 * and namespaces. The matcher is iterative, so hostile patterns cannot make it backtrack
 * exponentially (OpenSSH's recursive one can).
 */

/** OpenSSH's fixed buffer: a list entry this long makes the whole list fail to match. */
const MAX_SUBPATTERN = 1023;

/** match_pattern(): does `text` match one glob `pattern` (no lists, no negation)? */
export function matchPattern(text: string, pattern: string): boolean {
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const pc = pattern[p];
    if (pc === '*') {
      starP = p++;
      starT = t;
    } else if (pc !== undefined && (pc === '?' || pc === text[t])) {
      p++;
      t++;
    } else if (starP !== -1) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/**
 * match_pattern_list(): 1 when some entry matches and no negated entry does, -1 when a negated
 * entry matches, 0 when nothing matches. `lowerCase` folds the pattern (not the text) as
 * OpenSSH's `dolower` does.
 */
export function matchPatternList(text: string, list: string, lowerCase = false): -1 | 0 | 1 {
  let positive = false;
  let i = 0;
  while (i < list.length) {
    let negated = false;
    if (list[i] === '!') {
      negated = true;
      i++;
    }
    let end = list.indexOf(',', i);
    if (end === -1) end = list.length;
    let sub = list.slice(i, end);
    if (sub.length >= MAX_SUBPATTERN) return 0;
    i = end < list.length ? end + 1 : end;
    if (lowerCase) sub = sub.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
    if (matchPattern(text, sub)) {
      if (negated) return -1;
      positive = true;
    }
  }
  return positive ? 1 : 0;
}
