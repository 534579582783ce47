/**
 * `sha256sum` output, byte for byte: `<hex>  <name>` (two spaces: text mode), and for names with
 * a backslash or newline GNU's escaped form (leading `\`, name with `\\` and `\n`).
 */
export interface ChecksumEntry {
  name: string;
  sha256Hex: string;
}

export function formatChecksumLine(entry: ChecksumEntry): string {
  if (/[\\\n\r]/.test(entry.name)) {
    const escaped = entry.name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
    return `\\${entry.sha256Hex}  ${escaped}\n`;
  }
  return `${entry.sha256Hex}  ${entry.name}\n`;
}

export function formatChecksums(entries: readonly ChecksumEntry[]): string {
  return entries.map(formatChecksumLine).join('');
}
