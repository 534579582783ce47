/**
 * Glob patterns for ref names and repository paths, compiled to anchored regular expressions.
 *
 * Syntax (git's wildmatch with pathname semantics): `*` and `?` never cross `/`; `**` as a
 * whole component crosses any number of directories; `[abc]`, `[a-z]`, `[!a-z]` match one
 * character; `\` escapes the next character. Anything the syntax does not define is an
 * error rather than a literal, because a pattern that silently matches nothing loosens policy.
 */

export type GlobKind = 'ref' | 'path';

const compiled = new Map<string, RegExp>();

/** Returns a problem description, or undefined when the pattern is valid. */
export function globProblem(pattern: string, kind: GlobKind): string | undefined {
  try {
    toRegExpSource(pattern, kind);
    return undefined;
  } catch (error) {
    if (error instanceof GlobError) return error.message;
    throw error;
  }
}

/**
 * Whether `subject` matches `pattern`. Ref patterns match the whole ref name. Path patterns
 * match a path or any directory above it, so `.github/workflows` covers every file beneath.
 */
export function globMatches(pattern: string, kind: GlobKind, subject: string): boolean {
  const key = `${kind}\0${pattern}`;
  let re = compiled.get(key);
  if (!re) {
    // 's': a file name may contain a newline, and '.' must not stop there (a path rule would
    // not see deploy/run<newline>.sh).
    re = new RegExp(toRegExpSource(pattern, kind), 'su');
    compiled.set(key, re);
  }
  return re.test(subject);
}

const compiledLists = new WeakMap<readonly string[], Partial<Record<GlobKind, RegExp>>>();

/**
 * Whether `subject` matches any of `patterns` (a policy's own, validated array). The patterns
 * are joined into one expression and cached per array: a push of 100 000 commits tests every
 * changed path against it, so the per-call cost is one `RegExp.test`. (Parsed policies are
 * frozen, so a cached array cannot change under its expression.)
 */
export function anyGlobMatches(patterns: readonly string[], kind: GlobKind, subject: string): boolean {
  let byKind = compiledLists.get(patterns);
  if (!byKind) {
    byKind = {};
    compiledLists.set(patterns, byKind);
  }
  let re = byKind[kind];
  if (!re) {
    re = new RegExp(patterns.map((pattern) => `(?:${toRegExpSource(pattern, kind)})`).join('|'), 'su');
    byKind[kind] = re;
  }
  return re.test(subject);
}

/** The part before the first glob character: used to tell whether a ref pattern can reach a namespace. */
export function literalPrefix(pattern: string): string {
  const index = pattern.search(/[*?[\\]/);
  return index < 0 ? pattern : pattern.slice(0, index);
}

class GlobError extends Error {}

function toRegExpSource(pattern: string, kind: GlobKind): string {
  if (pattern.length === 0) throw new GlobError('empty pattern');
  if (kind === 'ref') checkRefPattern(pattern);
  let body = pattern;
  if (kind === 'path') {
    if (body.startsWith('/')) throw new GlobError(`paths are relative to the repository root: write '${body.replace(/^\/+/, '')}'`);
    // A trailing slash names a directory: everything beneath it.
    if (body.endsWith('/')) body = `${body}**`;
  }
  const components = body.split('/');
  const last = components.length - 1;
  let source = '';
  components.forEach((component, index) => {
    if (component === '') throw new GlobError(`empty path component in '${pattern}'`);
    if (component === '**') {
      if (index === last) source += index === 0 ? '.*' : '.+';
      else source += '(?:[^/]+/)*';
      return;
    }
    if (component.includes('**')) throw new GlobError(`'**' must be a whole path component (like 'a/**/b'), in '${pattern}'`);
    source += componentSource(component, pattern);
    if (index < last) source += '/';
  });
  return kind === 'path' ? `^${source}(?:/.*)?$` : `^${source}$`;
}

function componentSource(component: string, pattern: string): string {
  let out = '';
  for (let i = 0; i < component.length; i++) {
    const c = component[i] as string;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\') {
      const next = component[i + 1];
      if (next === undefined) throw new GlobError(`'\\' at the end of a component escapes nothing, in '${pattern}'`);
      out += escapeRegExp(next);
      i++;
    } else if (c === '[') {
      const [classSource, end] = classSourceAt(component, i, pattern);
      out += classSource;
      i = end;
    } else if (c === ']') {
      throw new GlobError(`unmatched ']' in '${pattern}' (write '\\]' for a literal bracket)`);
    } else out += escapeRegExp(c);
  }
  return out;
}

/** Parses `[...]` starting at `start`; returns the regex class and the index of the closing `]`. */
function classSourceAt(component: string, start: number, pattern: string): [string, number] {
  let i = start + 1;
  let negate = false;
  if (component[i] === '!' || component[i] === '^') {
    negate = true;
    i++;
  }
  const members: string[] = [];
  let first = true;
  for (; i < component.length; i++) {
    let c = component[i] as string;
    if (c === ']' && !first) {
      if (members.length === 0) throw new GlobError(`empty character class in '${pattern}'`);
      return [`[${negate ? '^/' : ''}${members.join('')}]`, i];
    }
    first = false;
    if (c === '[' && component[i + 1] === ':') throw new GlobError(`character classes like '[:alpha:]' are not supported, in '${pattern}'`);
    if (c === '\\') {
      const next = component[i + 1];
      if (next === undefined) break;
      c = next;
      i++;
    }
    if (component[i + 1] === '-' && component[i + 2] !== undefined && component[i + 2] !== ']') {
      let high = component[i + 2] as string;
      let skip = 2;
      if (high === '\\') {
        const escaped = component[i + 3];
        if (escaped === undefined) break;
        high = escaped;
        skip = 3;
      }
      if (high.codePointAt(0)! < c.codePointAt(0)!) throw new GlobError(`reversed range '${c}-${high}' in '${pattern}'`);
      members.push(`${escapeClassChar(c)}-${escapeClassChar(high)}`);
      i += skip;
    } else {
      members.push(escapeClassChar(c));
    }
  }
  throw new GlobError(`unclosed '[' in '${pattern}'`);
}

/**
 * A ref pattern must be able to match a ref git would accept (git check-ref-format), and be
 * fully qualified: `main` is not a ref, `refs/heads/main` is.
 */
function checkRefPattern(pattern: string): void {
  if (!pattern.startsWith('refs/')) {
    const hint = pattern.startsWith('heads/') || pattern.startsWith('tags/') ? `refs/${pattern}` : `refs/heads/${pattern}`;
    throw new GlobError(`ref patterns are full ref names starting with 'refs/' (did you mean '${hint}'?)`);
  }
  const bad = /[\x00-\x20\x7f~^:]/.exec(pattern);
  if (bad) throw new GlobError(`'${pattern}' contains ${JSON.stringify(bad[0])}, which no ref name can contain`);
  if (pattern.includes('..')) throw new GlobError(`'${pattern}' contains '..', which no ref name can contain`);
  if (pattern.includes('@{')) throw new GlobError(`'${pattern}' contains '@{', which no ref name can contain`);
  for (const component of pattern.split('/')) {
    if (component.startsWith('.')) throw new GlobError(`ref name components cannot start with '.', in '${pattern}'`);
    if (component.endsWith('.lock')) throw new GlobError(`ref name components cannot end with '.lock', in '${pattern}'`);
  }
  if (pattern.endsWith('.')) throw new GlobError(`ref names cannot end with '.', in '${pattern}'`);
  if (pattern.endsWith('/')) throw new GlobError(`'${pattern}' ends with '/': write '${pattern}**' for every ref beneath it`);
}

function escapeRegExp(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}

function escapeClassChar(c: string): string {
  return /[\\\]^[-]/.test(c) ? `\\${c}` : c;
}
