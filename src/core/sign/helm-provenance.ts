import { stringify, parse } from 'yaml';
import { SignetError } from '../errors.ts';
import { isRecord } from './encoding.ts';

/**
 * The text helm clear-signs into a chart's `.prov`: the chart's metadata as YAML, the YAML
 * document-end marker `...` (helm cannot use `---`: a clear-signed body may not hold it), then
 * `files:` with the archive's sha256. Keys come out sorted, as helm's JSON-based YAML marshalling
 * writes them.
 */
export function helmProvenanceBody(chartYaml: string, archiveName: string, archiveSha256Hex: string): string {
  let metadata: unknown;
  try {
    metadata = parse(chartYaml);
  } catch {
    throw new SignetError('CONFIG_INVALID', 'Chart.yaml is not valid YAML');
  }
  if (!isRecord(metadata) || typeof metadata.name !== 'string' || metadata.version === undefined) {
    throw new SignetError('CONFIG_INVALID', 'Chart.yaml needs a name and a version');
  }
  const options = { sortMapEntries: true, lineWidth: 0 } as const;
  const sums = { files: { [archiveName]: `sha256:${archiveSha256Hex}` } };
  return `${stringify(metadata, options)}\n...\n${stringify(sums, options)}`;
}

export interface HelmProvenanceSums {
  files: Record<string, string>;
}

/** Reads the `files:` part of a verified `.prov` body (what `helm verify` compares). */
export function parseHelmProvenanceBody(body: string): { metadata: Record<string, unknown>; files: Record<string, string> } {
  const cut = body.indexOf('\n...\n');
  if (cut < 0) throw new SignetError('SIGNATURE_MALFORMED', 'provenance body lacks the "..." separator');
  const metadata: unknown = parse(body.slice(0, cut));
  const sums: unknown = parse(body.slice(cut + 5));
  if (!isRecord(metadata) || !isRecord(sums) || !isRecord(sums.files))
    throw new SignetError('SIGNATURE_MALFORMED', 'provenance body is not chart metadata + files');
  const files: Record<string, string> = {};
  for (const [name, sum] of Object.entries(sums.files)) if (typeof sum === 'string') files[name] = sum;
  return { metadata, files };
}
