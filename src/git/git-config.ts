import { readFileSync } from 'node:fs';

/**
 * The few repository settings signet needs, read from a git config file. A small reader is
 * enough: we only look up plain `section.key` values (no includes, no subsections needed here
 * beyond `section "sub"`), and keys are case-insensitive as in git.
 */
export type GitConfig = Map<string, string[]>;

export function parseGitConfig(text: string): GitConfig {
  const config: GitConfig = new Map();
  let section = '';
  for (const rawLine of text.split(/\r?\n/)) {
    let line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]\s*(.*)$/.exec(line);
    if (header) {
      section = header[1]!.toLowerCase() + (header[2] !== undefined ? `.${header[2]}` : '');
      line = header[3]!.trim();
      if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    }
    const entry = /^([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*))?$/.exec(line);
    if (!entry || section === '') continue;
    const key = `${section}.${entry[1]!.toLowerCase()}`;
    const value = entry[2] === undefined ? 'true' : unquote(entry[2]);
    const values = config.get(key) ?? [];
    values.push(value);
    config.set(key, values);
  }
  return config;
}

function unquote(raw: string): string {
  let out = '';
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '"') {
      quoted = !quoted;
      continue;
    }
    if (!quoted && (ch === '#' || ch === ';')) break;
    if (ch === '\\' && i + 1 < raw.length) {
      const next = raw[++i]!;
      out += next === 'n' ? '\n' : next === 't' ? '\t' : next;
      continue;
    }
    out += ch;
  }
  return quoted ? out : out.trimEnd();
}

export function readGitConfig(path: string): GitConfig {
  try {
    return parseGitConfig(readFileSync(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw error;
  }
}

export function configValue(config: GitConfig, key: string): string | undefined {
  const values = config.get(key.toLowerCase());
  return values?.[values.length - 1];
}
