/**
 * A user's regular expression compiled to match the whole subject. Identity and condition
 * regexps must be written anchored (`^…$`), but `^a|b$` is anchored only at its ends: its first
 * alternative matches anything that starts with `a` (`a.evil.example`), its second anything that
 * ends with `b`. Wrapping in `^(?:…)$` holds every alternative to the whole subject.
 */
export function wholeMatch(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`, 'u');
}
