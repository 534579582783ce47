import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

const MAX_ALTERNATE_DEPTH = 5; // as git's link_alt_odb_entry

/**
 * Every object directory git would search: the primary one, then its alternates (the
 * `objects/info/alternates` file, recursively, relative paths resolved against the directory
 * that names them), then those named by GIT_ALTERNATE_OBJECT_DIRECTORIES. Inside a
 * pre-receive hook the primary directory is the quarantine (GIT_OBJECT_DIRECTORY) and the
 * repository's own store arrives as an alternate.
 */
export function listObjectDirectories(primary: string, extraAlternates: string[] = []): string[] {
  const seen = new Set<string>();
  const ordered: string[] = [];
  const visit = (directory: string, depth: number): void => {
    const absolute = resolve(directory);
    if (seen.has(absolute) || !existsSync(absolute)) return;
    seen.add(absolute);
    ordered.push(absolute);
    if (depth >= MAX_ALTERNATE_DEPTH) return;
    for (const alternate of readAlternatesFile(absolute)) {
      visit(isAbsolute(alternate) ? alternate : resolve(absolute, alternate), depth + 1);
    }
  };
  visit(primary, 0);
  for (const directory of extraAlternates) visit(directory, 1);
  return ordered;
}

function readAlternatesFile(objectDirectory: string): string[] {
  let text: string;
  try {
    text = readFileSync(resolve(objectDirectory, 'info', 'alternates'), 'utf8');
  } catch {
    return []; // no alternates file: the common case, not an error
  }
  return text
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map(unquoteCPath);
}

/**
 * Parses a list in git's PATH_SEP-separated environment format (GIT_ALTERNATE_OBJECT_DIRECTORIES),
 * where an entry starting with a double quote is a C-style quoted string.
 */
export function parseAlternateEnvironment(value: string | undefined): string[] {
  if (!value) return [];
  const entries: string[] = [];
  let rest = value;
  while (rest.length > 0) {
    if (rest.startsWith('"')) {
      const end = findClosingQuote(rest);
      entries.push(unquoteCPath(rest.slice(0, end + 1)));
      rest = rest.slice(end + 1).replace(/^:/, '');
    } else {
      const colon = rest.indexOf(':');
      entries.push(colon < 0 ? rest : rest.slice(0, colon));
      rest = colon < 0 ? '' : rest.slice(colon + 1);
    }
  }
  return entries.filter((entry) => entry !== '');
}

function findClosingQuote(text: string): number {
  for (let i = 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return text.length - 1;
}

function unquoteCPath(text: string): string {
  if (!text.startsWith('"') || !text.endsWith('"') || text.length < 2) return text;
  const body = text.slice(1, -1);
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch !== '\\') {
      bytes.push(...Buffer.from(ch, 'utf8'));
      continue;
    }
    const next = body[++i] ?? '';
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '\\': 92, '"': 34 };
    if (next in simple) bytes.push(simple[next]!);
    else if (/[0-7]/.test(next)) {
      const octal = body.slice(i, i + 3);
      bytes.push(parseInt(octal, 8));
      i += 2;
    } else bytes.push(...Buffer.from(next, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}
