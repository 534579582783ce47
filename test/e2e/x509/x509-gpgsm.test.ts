import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCommitObject, type KeyRegistries } from '../../../src/core/verify-object.ts';
import { buildRegistries } from '../../../src/keys/load-registries.ts';
import { git, gitBytes, tempDir } from '../../helpers/git.ts';
import { GpgsmHome, opensslSignedCommit, TestCa, writeCommit, type Leaf } from '../../helpers/x509-gpgsm.ts';

/**
 * Differential: commits signed by real git + gpgsm (or openssl cms where gpgsm refuses to
 * sign), judged by signet and by `git log --pretty=%G?` with gpgsm trusting the same CA.
 */
describe('X.509 (gpgsm) commits: signet beside git %G?', () => {
  const dir = tempDir('x509');
  const repo = join(dir.path, 'repo');
  let ca: TestCa;
  let otherCa: TestCa;
  let signer: GpgsmHome;
  let verifier: GpgsmHome;
  let registries: KeyRegistries;
  const commits = new Map<string, string>();
  const leaves = new Map<string, Leaf>();
  const now = new Date();

  beforeAll(() => {
    git(dir.path, ['init', '-q', '-b', 'main', repo]);
    ca = new TestCa(dir.path, 'corp');
    otherCa = new TestCa(dir.path, 'other');
    signer = new GpgsmHome(join(dir.path, 'signer'));
    verifier = new GpgsmHome(join(dir.path, 'verifier'));
    signer.trust(ca);
    signer.trust(otherCa);
    verifier.trust(ca);
    const issue = (name: string, from: TestCa, options: Parameters<TestCa['issue']>[2] = {}): Leaf => {
      const leaf = from.issue(name, `${name}@example.com`, options);
      leaves.set(name, leaf);
      if (options.profile !== 'server-only') signer.importLeaf(leaf, from);
      return leaf;
    };
    commits.set('good', signer.signCommit(repo, issue('good', ca), 'good'));
    commits.set('unknown CA', signer.signCommit(repo, issue('stranger', otherCa), 'unknown CA'));
    commits.set(
      'expired after signing',
      signer.signCommit(repo, issue('expired', ca, { start: '20200101000000Z', end: '20201231000000Z' }), 'expired', {
        faked: '20200601T000000',
        time: 1_590_969_600,
      }),
    );
    commits.set(
      'not yet valid',
      signer.signCommit(repo, issue('future', ca, { start: '20450101000000Z', end: '20451230000000Z' }), 'future', { faked: '20450601T000000' }),
    );
    const good = gitBytes(repo, ['cat-file', 'commit', commits.get('good')!]);
    commits.set('tampered payload', writeCommit(repo, Buffer.from(good.toString('latin1').replace('\n\ngood\n', '\n\nbetter\n'), 'latin1')));
    commits.set('wrong key usage', opensslSignedCommit(repo, issue('server', ca, { profile: 'server-only' }), 'server'));
    const revoked = issue('revoked', ca);
    commits.set('revoked by a CRL', signer.signCommit(repo, revoked, 'revoked'));
    ca.revoke(revoked);
  }, 120_000);
  afterAll(() => dir.remove());

  async function letterOf(name: string, extra: Partial<{ crl: boolean }> = {}): Promise<{ status: string; reason: string; detail?: string }> {
    registries = await buildRegistries({
      keyrings: [],
      x509Roots: [{ name: 'ca.pem', text: readFileSync(ca.certificate, 'latin1') }],
      ...(extra.crl ? { crls: [{ name: 'crl.der', bytes: new Uint8Array(readFileSync(ca.crl())) }] } : {}),
    });
    const oid = commits.get(name)!;
    const result = await verifyCommitObject(oid, gitBytes(repo, ['cat-file', 'commit', oid]), registries, { hash: 'sha1', now });
    return result.verdict;
  }

  // [scenario, git's %G?, signet's letter, signet's reason]; where they differ, README's
  // table of deliberate differences says why.
  const expected: Array<[string, string, string, string]> = [
    ['good', 'G', 'G', 'valid'],
    ['unknown CA', 'U', 'U', 'unknown_key'],
    ['expired after signing', 'Y', 'Y', 'expired_key'],
    ['not yet valid', 'U', 'E', 'expired_key'],
    ['tampered payload', 'B', 'B', 'invalid'],
    ['wrong key usage', 'G', 'E', 'not_signing_key'],
    ['revoked by a CRL', 'G', 'R', 'revoked_key'],
  ];
  for (const [name, gitLetter, letter, reason] of expected) {
    it(`${name}: git says ${gitLetter}, signet ${letter} (${reason})`, async () => {
      expect(verifier.letter(repo, commits.get(name)!)).toBe(gitLetter);
      const verdict = await letterOf(name, { crl: true });
      expect({ status: verdict.status, reason: verdict.reason }).toEqual({ status: letter, reason });
    });
  }

  it('the good commit names the certificate as gpgsm does (%GK) and its e-mail as the signer', async () => {
    const verdict = await letterOf('good');
    expect(verdict).toMatchObject({
      format: 'x509',
      key: git(repo, ['log', '-1', '--pretty=%GK', commits.get('good')!], { env: verifier.env }),
      signer: 'good@example.com',
    });
  });

  it('the revoked leaf is revoked by the CRL for openssl too, and G without the CRL', async () => {
    ca.crl();
    const check = spawnSync(
      'openssl',
      ['verify', '-crl_check', '-CAfile', ca.certificate, '-CRLfile', join(ca.dir, 'crl.pem'), leaves.get('revoked')!.certificate],
      { encoding: 'utf8' },
    );
    expect(check.stdout + check.stderr).toMatch(/certificate revoked/);
    expect((await letterOf('revoked by a CRL')).status).toBe('G');
  });

  it('a CRL not signed by the CA is not believed (a forged list cannot revoke, nor can an altered one)', async () => {
    const crl = readFileSync(ca.crl());
    const forged = Buffer.from(crl);
    forged[forged.length - 5]! ^= 0x01; // inside the signature value
    registries = await buildRegistries({
      keyrings: [],
      x509Roots: [{ name: 'ca.pem', text: readFileSync(ca.certificate, 'latin1') }],
      crls: [{ name: 'forged.der', bytes: new Uint8Array(forged) }],
    });
    const oid = commits.get('revoked by a CRL')!;
    expect((await verifyCommitObject(oid, gitBytes(repo, ['cat-file', 'commit', oid]), registries, { hash: 'sha1', now })).verdict.status).toBe('G');
  });

  it('a root carried inside the signature is never trusted for being there', async () => {
    const oid = opensslSignedCommit(repo, leaves.get('stranger')!, 'carries its root', { carry: [otherCa.certificate] });
    const verdict = (
      await verifyCommitObject(
        oid,
        gitBytes(repo, ['cat-file', 'commit', oid]),
        await buildRegistries({ keyrings: [], x509Roots: [{ name: 'ca.pem', text: readFileSync(ca.certificate, 'latin1') }] }),
        { hash: 'sha1', now },
      )
    ).verdict;
    expect(verdict.status).toBe('U');
    expect(verifier.letter(repo, oid)).toBe('U');
  });

  it("signet verify --x509-roots --crl: one jsonl line per commit with git's letters", () => {
    git(repo, ['update-ref', 'refs/heads/good', commits.get('good')!]);
    git(repo, ['update-ref', 'refs/heads/revoked', commits.get('revoked by a CRL')!]);
    const run = spawnSync(
      process.execPath,
      [
        join(process.cwd(), 'bin/signet.js'),
        'verify',
        '--repo',
        repo,
        '--x509-roots',
        ca.certificate,
        '--crl',
        ca.crl(),
        '--format',
        'jsonl',
        'good',
        'revoked',
      ],
      { encoding: 'utf8' },
    );
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { commit: string; status: string; format: string });
    expect(Object.fromEntries(lines.map((line) => [line.commit, `${line.format} ${line.status}`]))).toEqual({
      [commits.get('good')!]: 'x509 G',
      [commits.get('revoked by a CRL')!]: 'x509 R',
    });
    expect(run.status).toBe(1);
  });

  it('an e-mail certificate whose key usage is encryption only does not sign: E not_signing_key', async () => {
    const oid = opensslSignedCommit(repo, ca.issue('encipher', 'encipher@example.com', { profile: 'encipher-only' }), 'encipher');
    const verdict = (
      await verifyCommitObject(
        oid,
        gitBytes(repo, ['cat-file', 'commit', oid]),
        await buildRegistries({ keyrings: [], x509Roots: [{ name: 'ca.pem', text: readFileSync(ca.certificate, 'latin1') }] }),
        { hash: 'sha1', now },
      )
    ).verdict;
    expect({ status: verdict.status, reason: verdict.reason }).toEqual({ status: 'E', reason: 'not_signing_key' });
  });

  it('a Fulcio (gitsign) certificate is never G on the X.509 path, even when its CA is a registry root', async () => {
    const leaf = ca.issue('keyless', 'keyless@example.com', { profile: 'fulcio' });
    const oid = opensslSignedCommit(repo, leaf, 'keyless');
    const verdict = (
      await verifyCommitObject(
        oid,
        gitBytes(repo, ['cat-file', 'commit', oid]),
        await buildRegistries({ keyrings: [], x509Roots: [{ name: 'ca.pem', text: readFileSync(ca.certificate, 'latin1') }] }),
        { hash: 'sha1', now },
      )
    ).verdict;
    expect(verdict.status).toBe('E');
    expect(verdict.detail).toMatch(/without a Rekor log entry/);
  });

  it('the hook: a policy with keys.x509_roots and x509_crls accepts the good commit and rejects the revoked one, changing no ref', () => {
    const conf = join(dir.path, 'conf');
    const server = join(dir.path, 'server.git');
    mkdirSync(conf, { recursive: true });
    copyFileSync(ca.certificate, join(conf, 'corp-ca.pem'));
    copyFileSync(ca.crl(), join(conf, 'corp-ca.crl'));
    writeFileSync(
      join(conf, 'policy.yml'),
      'version: 1\nkeys:\n  x509_roots: [corp-ca.pem]\n  x509_crls: [corp-ca.crl]\nrules:\n  - refs: ["refs/heads/**"]\n    require_signed_commits: true\n    signers: [good@example.com, revoked@example.com]\n',
    );
    git(dir.path, ['init', '-q', '--bare', '-b', 'main', server]);
    const install = spawnSync(
      process.execPath,
      [join(process.cwd(), 'bin/signet.js'), 'hook', 'install', '--script', '--repo', server, '--policy', join(conf, 'policy.yml')],
      { encoding: 'utf8' },
    );
    expect(install.stderr).toBe('');
    const push = (oid: string, ref: string): { code: number | null; stderr: string } => {
      const result = spawnSync('git', ['push', server, `${oid}:${ref}`], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
      return { code: result.status, stderr: result.stderr };
    };
    expect(push(commits.get('good')!, 'refs/heads/main').code).toBe(0);
    const rejected = push(commits.get('revoked by a CRL')!, 'refs/heads/other');
    expect(rejected.code).not.toBe(0);
    expect(rejected.stderr).toMatch(/revoked/);
    expect(spawnSync('git', ['--git-dir', server, 'for-each-ref', '--format=%(refname)'], { encoding: 'utf8' }).stdout.trim()).toBe('refs/heads/main');
  });

  it('signet policy check reads keys.x509_roots and names a bad roots file', () => {
    const conf = join(dir.path, 'conf-bad');
    mkdirSync(conf, { recursive: true });
    writeFileSync(join(conf, 'roots.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    writeFileSync(
      join(conf, 'policy.yml'),
      'version: 1\nkeys:\n  x509_roots: [roots.pem]\nrules:\n  - refs: ["refs/heads/**"]\n    require_signed_commits: true\n',
    );
    const run = spawnSync(process.execPath, [join(process.cwd(), 'bin/signet.js'), 'policy', 'check', join(conf, 'policy.yml')], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stdout + run.stderr).toMatch(/roots\.pem:1: unreadable certificate/);
  });

  it('an unreadable --x509-roots file is one line naming it, exit 2', () => {
    const bad = join(dir.path, 'bad-roots.pem');
    writeFileSync(bad, 'not a certificate\n');
    const run = spawnSync(process.execPath, [join(process.cwd(), 'bin/signet.js'), 'verify', '--repo', repo, '--x509-roots', bad, 'HEAD'], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/bad-roots\.pem: no -----BEGIN CERTIFICATE----- block/);
  });
});
