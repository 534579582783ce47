import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, projectRoot } from '../../helpers/sign-cli.ts';

/**
 * What cosign users script with: flags that ask for what signet always does work; the others
 * are refused with a sentence naming the cosign flag and what signet does instead; --signature
 * takes a path or the text; `-` reads standard input; -o text|json; generate-key-pair asks for
 * the password on a terminal (a real pty, made by util-linux's `script`).
 */
describe('cosign habits', () => {
  const { dir, cleanup } = makeTempDir('signet-cosign-habits-');
  const signet = (args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): { code: number | null; stdout: string; stderr: string } => {
    const result = spawnSync(process.execPath, [join(projectRoot, 'bin', 'signet.js'), ...args], {
      cwd: dir,
      input: options.input ?? '',
      env: { PATH: process.env.PATH, ...options.env },
      encoding: 'utf8',
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  beforeAll(() => {
    expect(signet(['generate-key-pair'], { env: { COSIGN_PASSWORD: 'secret' } }).code).toBe(0);
    writeFileSync(join(dir, 'file.txt'), 'release notes\n');
  });
  afterAll(cleanup);

  it('sign-blob - signs standard input; --yes and --tlog-upload=false are accepted', () => {
    const fromStdin = signet(['sign-blob', '--key', 'cosign.key', '--yes', '--tlog-upload=false', '-'], {
      input: 'release notes\n',
      env: { COSIGN_PASSWORD: 'secret' },
    });
    expect(fromStdin.stderr).toBe('');
    expect(fromStdin.code).toBe(0);
    writeFileSync(join(dir, 'stdin.sig'), fromStdin.stdout);
    // The signature is over the same bytes as the file's.
    expect(signet(['verify-blob', '--key', 'cosign.pub', '--signature', 'stdin.sig', 'file.txt']).stderr).toBe('Verified OK\n');
  });

  it('verify-blob takes --signature as text, - as standard input, -o json, and --insecure-ignore-tlog', () => {
    const signature = signet(['sign-blob', '--key', 'cosign.key', 'file.txt'], { env: { COSIGN_PASSWORD: 'secret' } }).stdout.trim();
    const json = signet(['verify-blob', '--key', 'cosign.pub', '--insecure-ignore-tlog', '--signature', signature, '-o', 'json', '-'], {
      input: 'release notes\n',
    });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ file: '-', ok: true, reason: 'valid', detail: 'signature verified' });
    const changed = signet(['verify-blob', '--key', 'cosign.pub', '--signature', signature, '--output=json', '-'], { input: 'other notes\n' });
    expect(changed.code).toBe(1);
    expect(JSON.parse(changed.stdout)).toMatchObject({ ok: false, reason: 'invalid' });
    const neither = signet(['verify-blob', '--key', 'cosign.pub', '--signature', 'no-such.sig', 'file.txt']);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toBe('signet verify-blob: --signature no-such.sig: neither a readable file nor a base64 signature\n');
  });

  it('refuses keyless flags mixed with a key, transparency-log and hardware-key flags with a sentence naming the flag', () => {
    const cases: Array<[string[], RegExp]> = [
      [
        ['sign-blob', '--key', 'cosign.key', '--fulcio-url', 'https://fulcio.example', 'file.txt'],
        /^signet sign-blob: --fulcio-url is for keyless signing .*leave out one of them/,
      ],
      [
        ['verify-blob', '--key', 'cosign.pub', '--certificate-identity=a@b', '--signature', 'stdin.sig', 'file.txt'],
        /^signet verify-blob: the --certificate-\* flags are for keyless bundles: leave out --key/,
      ],
      [
        ['sign-blob', '--key', 'cosign.key', '--tlog-upload=true', 'file.txt'],
        /^signet sign-blob: cosign's --tlog-upload talks to a Rekor server; signet does not query one.*--tlog-upload=false/,
      ],
      [['sign-blob', '--key', 'cosign.key', '--rekor-url', 'https://rekor.example', 'file.txt'], /^signet sign-blob: --rekor-url is for keyless signing/],
      [
        ['verify-blob', '--key', 'cosign.pub', '--rekor-url', 'https://rekor.example', '--signature', 'stdin.sig', 'file.txt'],
        /^signet verify-blob: cosign's --rekor-url talks to a Rekor server; signet does not query one/,
      ],
      [
        ['sign-blob', '--key', 'cosign.key', '--identity-token', 'x', 'file.txt'],
        /^signet sign-blob: cosign's --identity-token is not taken by signet: keyless signing reads the OIDC token from SIGSTORE_ID_TOKEN/,
      ],
      [['sign-blob', '--sk', 'file.txt'], /^signet sign-blob: cosign's --sk uses a hardware security key; signet reads a cosign key file/],
    ];
    for (const [args, pattern] of cases) {
      const result = signet(args, { env: { COSIGN_PASSWORD: 'secret' } });
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr.split('\n').filter(Boolean), args.join(' ')).toHaveLength(1);
      expect(result.stderr).toMatch(pattern);
    }
    const unknown = signet(['verify-blob', '--bogus']);
    expect(unknown.stderr.split('\n')[0]).toBe('signet verify-blob: unknown option --bogus');
    expect(unknown.stderr).not.toMatch(/To specify a positional argument/);
  });

  it('generate-key-pair asks for the password twice on a terminal, and says what to set without one', () => {
    const noTty = signet(['generate-key-pair', '--output-key-prefix', 'notty']);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toBe(
      'signet generate-key-pair: set COSIGN_PASSWORD to the password for the new key (it may be empty): there is no terminal to ask on\n',
    );
    const command = `${process.execPath} ${join(projectRoot, 'bin', 'signet.js')} generate-key-pair --output-key-prefix tty`;
    const typed = spawnSync('sh', ['-c', `(sleep 1; printf 'pw\\r'; sleep 0.5; printf 'pw\\r'; sleep 1) | script -q -e -c "${command}" /dev/null`], {
      cwd: dir,
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
      timeout: 30_000,
    });
    expect(typed.status).toBe(0);
    expect(typed.stdout).toMatch(/Enter password for private key: [\s\S]*Enter password for private key again: /);
    expect(typed.stdout).not.toContain('pw');
    expect(existsSync(join(dir, 'tty.key'))).toBe(true);
    // The key opens with the password typed, and with no other.
    expect(signet(['sign-blob', '--key', 'tty.key', 'file.txt'], { env: { COSIGN_PASSWORD: 'pw' } }).code).toBe(0);
    expect(signet(['sign-blob', '--key', 'tty.key', 'file.txt'], { env: { COSIGN_PASSWORD: 'other' } }).code).toBe(2);
    expect(readFileSync(join(dir, 'tty.key'), 'utf8')).toMatch(/ENCRYPTED SIGSTORE PRIVATE KEY/);
  });
});
