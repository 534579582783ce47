/**
 * The answer to `/sign-release`: one Markdown comment with the result table and the commands
 * that check what was uploaded. Only public material appears: names, statuses, the public
 * keys' fingerprints. Pure.
 */
import { shellQuoteFileName, shellWord } from './shell-quote.ts';
import { markdownCode, markdownText } from '../core/render/markdown-text.ts';
import { CHECKSUMS_NAME, CHECKSUMS_SIGNATURE_NAME, SBOM_ATTESTATION_NAME, PROVENANCE_ATTESTATION_NAME, type ResultRow } from './plan.ts';

export const RELEASE_COMMENT_MARKER = '<!-- signet:sign-release -->';

export interface ReleaseSummary {
  tag: string;
  rows: ResultRow[];
  notes: string[];
  inputs: string[];
  /** Images signed or found signed, pinned by digest. */
  images?: string[];
  openpgpFingerprint?: string;
  /** cosign.pub (SPKI PEM), so the verification commands can be run as they are. */
  cosignPublicKeyPem?: string;
}

export function releaseFailed(summary: ReleaseSummary): boolean {
  return summary.rows.some((row) => row.status === 'failed');
}

export function renderReleaseComment(summary: ReleaseSummary): string {
  const failed = summary.rows.filter((row) => row.status === 'failed').length;
  const lines = [
    RELEASE_COMMENT_MARKER,
    failed === 0
      ? `### signet signed release ${markdownCode(summary.tag)}`
      : `### signet could not finish signing release ${markdownCode(summary.tag)}: ${failed} of ${summary.rows.length} failed`,
    '',
    '| asset | made | status |',
    '| --- | --- | --- |',
    // Asset and link names, what was made from them and the errors they caused are the release editor's text.
    ...summary.rows.map((row) => `| ${markdownCode(row.asset, { inTable: true })} | ${markdownText(row.made)} | ${row.status}${row.detail ? `: ${markdownText(row.detail)}` : ''} |`),
  ];
  if (summary.notes.length > 0) lines.push('', ...summary.notes.map((note) => `- ${markdownText(note)}`));
  const made = new Set(summary.rows.filter((row) => row.status !== 'failed' && row.status !== 'skipped').map((row) => row.asset));
  const commands: string[] = [];
  /** Names that cannot be pasted into a shell safely: their commands are left out, with a note. */
  const unquotable: string[] = [];
  const file = (name: string): string | undefined => {
    const quoted = shellQuoteFileName(name);
    if (quoted === undefined && !unquotable.includes(name)) unquotable.push(name);
    return quoted;
  };
  /** A command over the assets `names` (quoted); signet's own output names are plain words. */
  const command = (template: (...words: string[]) => string, ...names: string[]): void => {
    const words = names.map(file);
    if (words.every((word): word is string => word !== undefined)) commands.push(template(...words));
  };
  if (made.has(CHECKSUMS_SIGNATURE_NAME)) commands.push(`gpg --verify ${CHECKSUMS_SIGNATURE_NAME} ${CHECKSUMS_NAME}`);
  if (made.has(CHECKSUMS_NAME)) commands.push(`sha256sum --check ${CHECKSUMS_NAME}`);
  for (const input of summary.inputs) {
    if (made.has(`${input}.sigstore.json`)) command((bundle, blob) => `signet verify-blob --key cosign.pub --bundle ${bundle} ${blob}`, `${input}.sigstore.json`, input);
    if (made.has(`${input}.asc`)) command((sig, blob) => `gpg --verify ${sig} ${blob}`, `${input}.asc`, input);
    if (made.has(`${input}.prov`)) command((prov, chart) => `gpg --verify ${prov}  # Helm: helm verify ${chart}`, `${input}.prov`, input);
  }
  if (made.has(SBOM_ATTESTATION_NAME)) command((...all) => `signet verify-attestation --key cosign.pub --type spdx --bundle ${SBOM_ATTESTATION_NAME} ${all.join(' ')}`, ...summary.inputs);
  if (made.has(PROVENANCE_ATTESTATION_NAME)) command((...all) => `signet verify-attestation --key cosign.pub --type slsaprovenance --bundle ${PROVENANCE_ATTESTATION_NAME} ${all.join(' ')}`, ...summary.inputs);
  for (const image of summary.images ?? []) {
    const tag = shellWord(`release=${summary.tag}`);
    const ref = shellWord(image);
    if (tag && ref) commands.push(`signet verify-image --key cosign.pub -a ${tag} ${ref}`);
  }
  if (unquotable.length > 0) {
    lines.push('', `- ${unquotable.length === 1 ? 'one asset name holds' : `${unquotable.length} asset names hold`} control or bidi characters and cannot be pasted into a shell safely: the commands that would name ${unquotable.length === 1 ? 'it are' : 'them are'} left out (check ${unquotable.length === 1 ? 'it' : 'them'} by hand, or rename ${unquotable.length === 1 ? 'it' : 'them'} and run \`/sign-release\` again)`);
  }
  if (commands.length > 0) {
    lines.push('', 'Check them after downloading the release assets into one directory:', '', '```sh', ...commands, '```');
  }
  if (summary.openpgpFingerprint) lines.push('', `OpenPGP signing key: ${markdownCode(summary.openpgpFingerprint)}`);
  if (summary.cosignPublicKeyPem) lines.push('', '<details><summary>cosign.pub</summary>', '', '```', summary.cosignPublicKeyPem.trim(), '```', '', '</details>');
  return `${lines.join('\n')}\n`;
}

export function renderRefusal(user: string, tag: string): string {
  return `${RELEASE_COMMENT_MARKER}\n@${user} thank you — signing release ${markdownCode(tag)} needs maintain or admin permission on this repository (Maintainer or Owner on GitLab), so signet did not run it. A maintainer can comment ${markdownCode(`/sign-release ${tag}`)}.\n`;
}

/** An error as one line of a result table or answer: its first line, at most 300 characters. */
export function oneLine(error: unknown): string {
  return ((error as Error)?.message ?? String(error)).split('\n')[0]!.slice(0, 300);
}
