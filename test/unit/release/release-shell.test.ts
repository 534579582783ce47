/**
 * The copy-paste commands in the `/sign-release` answer, with asset names chosen by an attacker
 * who can edit a release: the commands are run by a real `sh` in which gpg, sha256sum and
 * signet are shell functions that only record their arguments; a payload that escaped its
 * quotes would create a file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeOutput, type ResultRow } from '../../../src/release/plan.ts';
import { renderReleaseComment, type ReleaseSummary } from '../../../src/release/render.ts';
import { shellQuote, shellQuoteFileName, shellWord } from '../../../src/release/shell-quote.ts';

const HOSTILE = [
  "tool.bin'; touch PWNED; echo '",
  '$(touch PWNED).bin',
  '`touch PWNED`.bin',
  "it's \"fine\" \\ $HOME *.bin",
  '-rf.bin',
  'sp ace;|&<>.bin',
];
const UNQUOTABLE = ['two\nlines.bin', 'cr\r.bin', 'esc\u001b]0;title\u0007.bin', 'bidi\u202egnp.exe', 'nul\u0000.bin'];

function summaryOf(inputs: string[]): ReleaseSummary {
  const rows: ResultRow[] = [];
  for (const input of inputs) {
    rows.push({ asset: `${input}.sigstore.json`, made: describeOutput('cosign-bundle'), status: 'uploaded' });
    rows.push({ asset: `${input}.asc`, made: describeOutput('openpgp-signature'), status: 'uploaded' });
  }
  rows.push({ asset: 'checksums.txt', made: describeOutput('checksums'), status: 'uploaded' });
  rows.push({ asset: 'release.provenance.sigstore.json', made: describeOutput('provenance-attestation'), status: 'uploaded' });
  return { tag: 'v1.0.0', rows, notes: [], inputs: [...inputs].sort(), images: ["registry.example/app@sha256:' ; touch PWNED ; '"] };
}

function commandBlock(comment: string): string {
  const match = /```sh\n([\s\S]*?)\n```/.exec(comment);
  expect(match, comment).not.toBeNull();
  return match![1]!;
}

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Runs the commands with recording stand-ins; returns each call's argument list. */
function runRecorded(block: string): string[][] {
  dir = mkdtempSync(join(tmpdir(), 'signet-release-shell-'));
  execFileSync('sh', ['-n', '-c', block]);
  const prelude = ["record() { for a in \"$@\"; do printf '%s\\0' \"$a\"; done >> calls; printf '\\n' >> calls; }", 'gpg() { record gpg "$@"; }', 'sha256sum() { record sha256sum "$@"; }', 'signet() { record signet "$@"; }'].join('\n');
  execFileSync('sh', ['-c', `${prelude}\n${block}`], { cwd: dir });
  expect(existsSync(join(dir, 'PWNED'))).toBe(false);
  return readFileSync(join(dir, 'calls'), 'utf8').split('\n').filter(Boolean).map((line) => line.split('\0').slice(0, -1));
}

describe('the /sign-release answer quotes names for the shell', () => {
  it('single-quotes with the POSIX escape, and keeps names that start with - from being options', () => {
    expect(shellQuote("a'b")).toBe("'a'\\''b'");
    expect(shellQuote('$(x)')).toBe("'$(x)'");
    expect(shellQuoteFileName('-rf.bin')).toBe("'./-rf.bin'");
    expect(shellWord('registry.example/app@sha256:abc')).toBe('registry.example/app@sha256:abc');
    expect(shellWord('-x')).toBe("'-x'");
    expect(shellWord('a;b')).toBe("'a;b'");
    for (const name of UNQUOTABLE) expect(shellQuote(name), JSON.stringify(name)).toBeUndefined();
  });

  it('hostile names reach the tools as the exact words, and no payload runs', () => {
    const block = commandBlock(renderReleaseComment(summaryOf(HOSTILE)));
    const calls = runRecorded(block);
    const fileName = (name: string) => (name.startsWith('-') ? `./${name}` : name);
    for (const name of HOSTILE) {
      expect(calls).toContainEqual(['gpg', '--verify', `${fileName(name)}.asc`, fileName(name)]);
      expect(calls).toContainEqual(['signet', 'verify-blob', '--key', 'cosign.pub', '--bundle', `${fileName(name)}.sigstore.json`, fileName(name)]);
    }
    expect(calls).toContainEqual(['sha256sum', '--check', 'checksums.txt']);
    expect(calls).toContainEqual(['signet', 'verify-attestation', '--key', 'cosign.pub', '--type', 'slsaprovenance', '--bundle', 'release.provenance.sigstore.json', ...[...HOSTILE].sort().map(fileName)]);
    expect(calls).toContainEqual(['signet', 'verify-image', '--key', 'cosign.pub', '-a', 'release=v1.0.0', "registry.example/app@sha256:' ; touch PWNED ; '"]);
  });

  it('a name with control or bidi characters is left out of every command, with a note', () => {
    const comment = renderReleaseComment(summaryOf(['plain.bin', ...UNQUOTABLE]));
    const block = commandBlock(comment);
    for (const name of UNQUOTABLE) expect(block).not.toContain(name);
    expect(block).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u202e]/);
    const calls = runRecorded(block);
    expect(calls).toContainEqual(['gpg', '--verify', 'plain.bin.asc', 'plain.bin']);
    // The attestation commands name every input: with an unquotable one among them they are left out.
    expect(calls.some((call) => call[1] === 'verify-attestation')).toBe(false);
    expect(comment).toContain('5 asset names hold control or bidi characters and cannot be pasted into a shell safely');
  });
});
