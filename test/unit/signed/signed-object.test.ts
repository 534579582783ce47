import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommit, parseTag } from '../../../src/core/git/signed-object.ts';
import { git, gitBytes, tempDir } from '../../helpers/git.ts';

const PGP = '-----BEGIN PGP SIGNATURE-----\n\niQEzBAABCAAdFiEE\n=abcd\n-----END PGP SIGNATURE-----';
const SSH = '-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQ==\n-----END SSH SIGNATURE-----';

function headerBlock(name: string, armored: string): string {
  return `${name} ${armored.split('\n').join('\n ')}\n`;
}

/**
 * The payload git hands its signature program, captured by a gpg.program / gpg.ssh.program
 * wrapper that saves stdin: the ground truth for "which bytes does the signature cover".
 */
describe('signed payload extraction equals what git hands gpg and ssh-keygen', () => {
  const dir = tempDir('payload');
  let repo: string;
  let capture: string;
  let wrapper: string;
  beforeAll(() => {
    repo = join(dir.path, 'repo');
    capture = join(dir.path, 'captured');
    wrapper = join(dir.path, 'capture-stdin.sh');
    writeFileSync(wrapper, `#!/bin/sh\ncase "$*" in *find-principals*) exit 1;; esac\ncat > '${capture}'\nexit 1\n`);
    chmodSync(wrapper, 0o755);
    git(dir.path, ['init', '-q', '-b', 'main', repo]);
  });
  afterAll(() => dir.remove());

  const tree = (): string => git(repo, ['write-tree']);
  const capturedFor = (command: string[]): Buffer => {
    rmSync(capture, { force: true });
    try {
      git(repo, ['-c', `gpg.program=${wrapper}`, '-c', `gpg.ssh.program=${wrapper}`, '-c', 'gpg.ssh.allowedSignersFile=/dev/null', ...command]);
    } catch {
      // verification "fails": the wrapper exits 1 after saving what it was given
    }
    return readFileSync(capture);
  };

  const commitBodies: Record<string, (t: string) => Buffer> = {
    'plain OpenPGP': (t) =>
      Buffer.from(`tree ${t}\nauthor A <a@x> 1700000000 +0000\ncommitter C <c@x> 1700000000 +0000\n${headerBlock('gpgsig', PGP)}\nmessage\n`),
    'SSH signature': (t) =>
      Buffer.from(`tree ${t}\nauthor A <a@x> 1700000000 +0000\ncommitter C <c@x> 1700000000 +0000\n${headerBlock('gpgsig', SSH)}\nmessage\n`),
    'CRLF message': (t) =>
      Buffer.from(`tree ${t}\nauthor A <a@x> 1700000000 +0000\ncommitter C <c@x> 1700000000 +0000\n${headerBlock('gpgsig', PGP)}\r\nsubject\r\n\r\nbody\r\n`),
    'latin-1 message': (t) =>
      Buffer.concat([
        Buffer.from(`tree ${t}\nauthor A <a@x> 1700000000 +0000\ncommitter C <c@x> 1700000000 +0000\nencoding ISO-8859-1\n${headerBlock('gpgsig', PGP)}\n`),
        Buffer.from('caf\xe9 cr\xe8me\n', 'latin1'),
      ]),
    'sha256 signature header next to sha1 one': (t) =>
      Buffer.from(
        `tree ${t}\nauthor A <a@x> 1700000000 +0000\ncommitter C <c@x> 1700000000 +0000\n${headerBlock('gpgsig', PGP)}${headerBlock('gpgsig-sha256', PGP)}\nmessage\n`,
      ),
    'mergetag before the signature': (t) =>
      Buffer.from(
        `tree ${t}\nauthor A <a@x> 1700000000 +0000\ncommitter C <c@x> 1700000000 +0000\nmergetag object ${t}\n type tree\n tag v1\n tagger T <t@x> 1700000000 +0000\n \n tag message\n ${PGP.split('\n').join('\n ')}\n${headerBlock('gpgsig', PGP)}\nmerge\n`,
      ),
    'no trailing newline': (t) =>
      Buffer.from(`tree ${t}\nauthor A <a@x> 1700000000 +0000\ncommitter C <c@x> 1700000000 +0000\n${headerBlock('gpgsig', PGP)}\nno newline`),
  };

  for (const [name, body] of Object.entries(commitBodies)) {
    it(`commit: ${name}`, () => {
      const bytes = body(tree());
      const oid = git(repo, ['hash-object', '-t', 'commit', '-w', '--stdin', '--literally'], { input: bytes });
      const expected = capturedFor(['verify-commit', oid]);
      const parsed = parseCommit(gitBytes(repo, ['cat-file', 'commit', oid]), 'sha1');
      expect(Buffer.from(parsed.payload).toString('latin1')).toBe(expected.toString('latin1'));
      expect(parsed.signature).toBeDefined();
    });
  }

  it('tag: trailing signature, the last signature block wins', () => {
    const target = git(repo, ['hash-object', '-t', 'commit', '-w', '--stdin'], { input: commitBodies['plain OpenPGP']!(tree()) });
    const body = `object ${target}\ntype commit\ntag v1\ntagger T <t@x> 1700000000 +0000\n\nrelease\n-----BEGIN PGP SIGNATURE-----\nquoted in the message\n-----END PGP SIGNATURE-----\n${PGP}\n`;
    const oid = git(repo, ['hash-object', '-t', 'tag', '-w', '--stdin'], { input: body });
    const expected = capturedFor(['verify-tag', oid]);
    const parsed = parseTag(gitBytes(repo, ['cat-file', 'tag', oid]), 'sha1');
    expect(Buffer.from(parsed.payload).toString('latin1')).toBe(expected.toString('latin1'));
    expect(parsed.signature?.armored).toBe(`${PGP}\n`);
    expect(parsed.multipleSignatures).toBe(true);
  });

  it('reports two signature headers as two signatures, never picks one', () => {
    const bytes = Buffer.from(
      `tree ${tree()}\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 1 +0000\n${headerBlock('gpgsig', PGP)}${headerBlock('gpgsig', PGP)}\nm\n`,
    );
    expect(parseCommit(bytes, 'sha1').multipleSignatures).toBe(true);
  });

  it('never throws on mutated objects other than with a SignetError', () => {
    const base = commitBodies['mergetag before the signature']!('0'.repeat(40));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: base.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, value) => {
        const mutated = Buffer.from(base);
        mutated[at] = value;
        try {
          parseCommit(mutated, 'sha1');
        } catch (error) {
          expect((error as Error).name).toBe('SignetError');
        }
      }),
      { numRuns: 300 },
    );
  });
});
