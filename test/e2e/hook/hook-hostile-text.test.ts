/**
 * Text from the pushed objects reaches the pusher's terminal only as visible text: a real
 * `git push` into a bare repository with the hook installed, a commit whose subject, body, author
 * and committer names carry the hostile corpus (raw bytes: NUL, ESC, OSC, CR, bidi, invalid
 * UTF-8), and branch and tag names with the hostile characters git allows. Every line the hook
 * sends arrives as one `remote: ` line (`remote: GL-HOOK-ERR: ` on GitLab) with no control byte
 * and no bidi control, and no data line forges a line of its own.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git } from '../../helpers/git.ts';
import { makeHookFixture, type HookFixture } from '../../helpers/hook-fixture.ts';
import type { HookServer } from '../../helpers/hook-server.ts';
import { GpgHome, type GpgIdentity } from '../../helpers/signing-keys.ts';

const POLICY = `version: 1
keys:
  openpgp: [keys/registry.asc]
rules:
  - refs: ["refs/heads/*"]
    require_signed_commits: true
    signers: [alice@example.com]
  - refs: ["refs/tags/*"]
    require_signed_tags: true
`;

/** Subject and body: every corpus class, as raw bytes (git keeps them as they are). */
const SUBJECT = Buffer.concat([
  Buffer.from('\u001b[2J\u001b]0;pwned\u0007 bare\rCR \u202etxt.exe '),
  Buffer.from([0xff, 0xfe, 0xc3]), // invalid UTF-8
  Buffer.from(' [Approve](https://evil.example) ![](x) <!-- `x` ``` | end'),
]);
const BODY = Buffer.from(
  'line two\nremote: signet: push to refs/heads/main accepted\nGL-HOOK-ERR: forged\n\u001b]8;;https://evil.example\u001b\\link\u001b]8;;\u001b\\\n' +
    'A'.repeat(100_000),
);
/** Names cannot hold newlines or `<>` in a commit header; everything else goes. */
const NAME = 'Eve \u001b]0;title\u0007 \u202eevE [x](y) | `';
/** What git allows in a ref name: backticks, `<!--`, pipes, `$`, parentheses, bidi controls. */
const BRANCH = 'refs/heads/x`<!--|$(id)\u202egnp.exe';
const TAG = 'v1`<!--|\u202e';

// C0 except LF, DEL, C1 (as UTF-8), and the bidi controls as UTF-8.
const FORBIDDEN = /[\u0000-\u0009\u000b-\u001f\u007f\u0080-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

describe('hook output to the pusher carries no control bytes from the pushed objects', () => {
  let fixture: HookFixture;
  let gpg: GpgHome;
  let alice: GpgIdentity;

  beforeAll(() => {
    fixture = makeHookFixture('hook-hostile-text', POLICY, ['Alice']);
    gpg = fixture.gpg;
    alice = fixture.people[0]!;
  }, 60_000);
  afterAll(() => fixture?.remove());

  /** An unsigned commit written byte by byte (git commit would not take NUL-free raw bytes in names as we want). */
  function hostileCommit(host: HookServer): string {
    writeFileSync(join(host.work, 'f.txt'), 'x\n');
    git(host.work, ['add', 'f.txt']);
    const tree = git(host.work, ['write-tree']);
    const header = Buffer.from(
      `tree ${tree}\nauthor ${NAME} <eve@example.com> 1700000000 +0000\ncommitter ${NAME}\u009b31m <eve@example.com> 1700000000 +0000\n\n`,
    );
    const raw = Buffer.concat([header, SUBJECT, Buffer.from('\n\n'), BODY, Buffer.from('\n')]);
    return git(host.work, ['hash-object', '-t', 'commit', '-w', '--literally', '--stdin'], { input: raw });
  }

  /** The lines git shows from the hook: each must be a whole `remote: ` line of visible text. */
  function remoteLines(stderr: string, gitlab: boolean): string[] {
    const lines = stderr.split('\n').filter((line) => line.startsWith('remote:'));
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) {
      expect(line, JSON.stringify(line)).not.toMatch(FORBIDDEN);
      if (line.trim() === 'remote:') continue; // an empty line of the hook's
      expect(line).toMatch(gitlab ? /^remote: GL-HOOK-ERR: / : /^remote: /);
      // No line of the commit's text became a line of its own.
      expect(line).not.toMatch(/^remote: (GL-HOOK-ERR: )?(line two|remote:|GL-HOOK-ERR: forged|A{100})/);
    }
    return lines;
  }

  for (const mode of ['git', 'gitlab'] as const) {
    it(`refuses the hostile branch and tag and shows their text escaped (${mode})`, { timeout: 120_000 }, () => {
      const host = fixture.serve(`hostile-${mode}`);
      const env = mode === 'gitlab' ? { GL_ID: 'user-1', GL_USERNAME: 'eve', GL_PROTOCOL: 'ssh' } : {};
      const commit = hostileCommit(host);
      const before = host.refs();
      const branch = host.push(['origin', `${commit}:${BRANCH}`], env);
      expect(branch.code).not.toBe(0);
      const lines = remoteLines(branch.stderr, mode === 'gitlab');
      const text = lines.join('\n');
      // The subject's controls are shown, not acted on.
      expect(text).toMatch(/rejected/);
      expect(text).toContain('\\u202e');
      expect(text).toContain('\\x1b[2J\\x1b]0;pwned\\x07 bare\\rCR \\u202etxt.exe \ufffd');
      expect(host.refs()).toBe(before);

      git(host.work, ['tag', '-a', '-m', 'tag message \u001b[2J\n\nGL-HOOK-ERR: forged', TAG, commit], {
        env: { GIT_COMMITTER_NAME: NAME, GIT_COMMITTER_EMAIL: 'eve@example.com' },
      });
      const tag = host.push(['origin', `refs/tags/${TAG}`], env);
      expect(tag.code).not.toBe(0);
      expect(remoteLines(tag.stderr, mode === 'gitlab').join('\n')).toContain('v1`<!--|\\u202e');
      expect(host.refs()).toBe(before);
    });
  }
});
