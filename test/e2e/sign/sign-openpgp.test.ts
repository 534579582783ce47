import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHelmProvenanceBody } from '../../../src/core/sign/helm-provenance.ts';
import { makeTempDir, mustRun, projectRoot, runSignet, tool } from '../../helpers/sign-cli.ts';
import { gpgVerify, makeGpgKey, sqVerify, type GpgKey } from '../../helpers/sign-gpg.ts';
import { sigstoreVerify } from '../../helpers/sign-sigstore.ts';

let tmp: ReturnType<typeof makeTempDir>;
let dir: string;
let ed: GpgKey;
let rsa: GpgKey;
const cosignPassword = 'pkg-password';

beforeAll(async () => {
  tmp = makeTempDir('signet-sign-openpgp-');
  dir = tmp.dir;
  ed = makeGpgKey(dir, 'ed25519', 'release@example.com');
  rsa = makeGpgKey(dir, 'rsa2048', 'rsa-release@example.com');
  expect((await runSignet(['generate-key-pair'], { cwd: dir, env: { COSIGN_PASSWORD: cosignPassword } })).code).toBe(0);
  writeFileSync(join(dir, 'app-linux-amd64'), Buffer.alloc(3 << 20, 7));
  writeFileSync(join(dir, 'app darwin.zip'), 'zip-ish bytes\n');
  writeFileSync(join(dir, 'notes.txt'), 'release notes\r\nwith CRLF and trailing spaces   \n');
}, 120_000);
afterAll(() => tmp.cleanup());

describe('checksums', () => {
  for (const which of ['ed25519', 'rsa2048'] as const) {
    it(`writes sha256sum-checkable checksums.txt and a ${which} signature gpg and sq verify`, async () => {
      const key = which === 'ed25519' ? ed : rsa;
      const output = `checksums-${which}.txt`;
      const result = await runSignet(['checksums', '--key', key.secretKeyPath, '--output', output, 'app-linux-amd64', 'app darwin.zip', 'notes.txt'], {
        cwd: dir,
        env: { SIGNET_OPENPGP_PASSPHRASE: key.passphrase },
      });
      expect(result.code, result.stderr).toBe(0);
      const check = tool('sha256sum', ['--check', '--strict', output], { cwd: dir });
      expect(check.status, check.stderr).toBe(0);
      expect(check.stdout).toBe('app-linux-amd64: OK\napp darwin.zip: OK\nnotes.txt: OK\n');
      expect(readFileSync(join(dir, output), 'utf8')).toBe(mustRun('sha256sum', ['app-linux-amd64', 'app darwin.zip', 'notes.txt'], { cwd: dir }));
      const asc = readFileSync(join(dir, `${output}.asc`), 'utf8');
      expect(asc).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
      const gpg = gpgVerify(key, [`${output}.asc`, output], dir);
      expect(gpg.status, gpg.stderr).toBe(0);
      expect(gpg.validsig).toBe(key.fingerprint);
      const sq = sqVerify(key, ['--detached', `${output}.asc`, output], dir);
      expect(sq.status, sq.stderr).toBe(0);
      // Any change to the list is caught by both.
      writeFileSync(
        join(dir, `${output}.bad`),
        readFileSync(join(dir, output), 'utf8').replace(/^./, (c) => (c === '0' ? '1' : '0')),
      );
      expect(gpgVerify(key, [`${output}.asc`, `${output}.bad`], dir).status).not.toBe(0);
      expect(sqVerify(key, ['--detached', `${output}.asc`, `${output}.bad`], dir).status).not.toBe(0);
    });
  }

  it('escapes names the way sha256sum does (backslash, newline), and --check reads them back', async () => {
    writeFileSync(join(dir, 'back\\slash.bin'), 'b');
    writeFileSync(join(dir, 'new\nline.bin'), 'n');
    const names = ['back\\slash.bin', 'new\nline.bin'];
    const result = await runSignet(['checksums', '--key', ed.secretKeyPath, '--output', 'odd.txt', ...names], {
      cwd: dir,
      env: { SIGNET_OPENPGP_PASSPHRASE: ed.passphrase },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(join(dir, 'odd.txt'), 'utf8')).toBe(mustRun('sha256sum', names, { cwd: dir }));
    expect(tool('sha256sum', ['--check', '--strict', 'odd.txt'], { cwd: dir }).status).toBe(0);
  });

  it('a tampered file fails sha256sum --check', async () => {
    writeFileSync(join(dir, 'x.bin'), 'one');
    expect(
      (
        await runSignet(['checksums', '--key', ed.secretKeyPath, '--output', 'x.sums', 'x.bin'], {
          cwd: dir,
          env: { SIGNET_OPENPGP_PASSPHRASE: ed.passphrase },
        })
      ).code,
    ).toBe(0);
    writeFileSync(join(dir, 'x.bin'), 'two');
    expect(tool('sha256sum', ['--check', 'x.sums'], { cwd: dir }).status).not.toBe(0);
  });

  it('wrong or missing passphrase: exit 2, one line naming the variable', async () => {
    const wrong = await runSignet(['checksums', '--key', ed.secretKeyPath, 'notes.txt'], { cwd: dir, env: { SIGNET_OPENPGP_PASSPHRASE: 'nope' } });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/wrong passphrase \(from SIGNET_OPENPGP_PASSPHRASE\)/);
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    const missing = await runSignet(['checksums', '--key', ed.secretKeyPath, '--passphrase-env', 'RELEASE_PGP_PASS', 'notes.txt'], { cwd: dir, env: {} });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('RELEASE_PGP_PASS');
    const fromEnv = await runSignet(['checksums', '--key', 'env://PGP_KEY', '--output', 'env.txt', 'notes.txt'], {
      cwd: dir,
      env: { PGP_KEY: readFileSync(ed.secretKeyPath, 'utf8'), SIGNET_OPENPGP_PASSPHRASE: ed.passphrase },
    });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(gpgVerify(ed, ['env.txt.asc', 'env.txt'], dir).status).toBe(0);
  });
});

describe('sign-package', () => {
  let pkgDir: string;
  beforeAll(() => {
    pkgDir = join(dir, 'packages');
    mkdirSync(join(pkgDir, 'npm-src'), { recursive: true });
    writeFileSync(join(pkgDir, 'npm-src', 'package.json'), JSON.stringify({ name: '@acme/widget', version: '1.2.3', license: 'MIT' }));
    writeFileSync(join(pkgDir, 'npm-src', 'index.js'), 'export const widget = 1;\n');
    mustRun('npm', ['pack', '--pack-destination', pkgDir, '--silent'], { cwd: join(pkgDir, 'npm-src'), env: { ...process.env, npm_config_offline: 'true' } });
    mkdirSync(join(pkgDir, 'widget-1.2.3'));
    writeFileSync(join(pkgDir, 'widget-1.2.3', 'PKG-INFO'), 'Metadata-Version: 2.1\nName: widget\nVersion: 1.2.3\n');
    mustRun('tar', ['czf', 'widget-1.2.3.tar.gz', 'widget-1.2.3'], { cwd: pkgDir });
    mustRun('python3', ['-c', "import zipfile; z=zipfile.ZipFile('widget-1.2.3-py3-none-any.whl','w'); z.writestr('widget/__init__.py','x=1\\n'); z.close()"], {
      cwd: pkgDir,
    });
    mkdirSync(join(pkgDir, 'mychart', 'templates'), { recursive: true });
    writeFileSync(
      join(pkgDir, 'mychart', 'Chart.yaml'),
      'apiVersion: v2\nname: mychart\nversion: 0.1.0\ndescription: A chart\nkeywords:\n  - web\n  - "---"\nmaintainers:\n  - name: Release Team\n    email: release@example.com\n',
    );
    writeFileSync(join(pkgDir, 'mychart', 'values.yaml'), 'replicas: 1\n');
    mustRun('tar', ['czf', 'mychart-0.1.0.tgz', 'mychart'], { cwd: pkgDir });
    mkdirSync(join(pkgDir, 'bundle'));
    writeFileSync(join(pkgDir, 'bundle', 'a.txt'), 'a');
    mustRun('tar', ['czf', 'plain.tar.gz', 'bundle'], { cwd: pkgDir });
    appendFileSync(join(pkgDir, 'tool.bin'), Buffer.alloc(1000, 1));
  });

  it('detects each kind and writes .asc + .sigstore.json (.prov for the chart) that gpg, sq and @sigstore/verify accept', async () => {
    const files = ['acme-widget-1.2.3.tgz', 'widget-1.2.3.tar.gz', 'widget-1.2.3-py3-none-any.whl', 'mychart-0.1.0.tgz', 'plain.tar.gz', 'tool.bin'];
    const result = await runSignet(['sign-package', '--key', join(dir, 'cosign.key'), '--openpgp-key', ed.secretKeyPath, ...files], {
      cwd: pkgDir,
      env: { COSIGN_PASSWORD: cosignPassword, SIGNET_OPENPGP_PASSPHRASE: ed.passphrase },
    });
    expect(result.code, result.stderr).toBe(0);
    const kinds = Object.fromEntries(
      result.stdout
        .trim()
        .split('\n')
        .map((line) => line.split('\t').slice(0, 2) as [string, string]),
    );
    expect(kinds).toEqual({
      'acme-widget-1.2.3.tgz': 'npm',
      'widget-1.2.3.tar.gz': 'sdist',
      'widget-1.2.3-py3-none-any.whl': 'wheel',
      'mychart-0.1.0.tgz': 'helm',
      'plain.tar.gz': 'tarball',
      'tool.bin': 'file',
    });
    const pub = readFileSync(join(dir, 'cosign.pub'), 'utf8');
    for (const file of files) {
      sigstoreVerify(JSON.parse(readFileSync(join(pkgDir, `${file}.sigstore.json`), 'utf8')), pub, readFileSync(join(pkgDir, file)));
      expect((await runSignet(['verify-blob', '--key', join(dir, 'cosign.pub'), '--bundle', `${file}.sigstore.json`, file], { cwd: pkgDir })).code).toBe(0);
      if (file.startsWith('mychart')) continue;
      expect(gpgVerify(ed, [`${file}.asc`, file], pkgDir).validsig).toBe(ed.fingerprint);
      expect(sqVerify(ed, ['--detached', `${file}.asc`, file], pkgDir).status).toBe(0);
    }
  });

  it('writes a Helm .prov: clear-signed, verifiable by gpg and sq, with the chart metadata and the archive sha256 helm compares', () => {
    const prov = readFileSync(join(pkgDir, 'mychart-0.1.0.tgz.prov'), 'utf8');
    expect(prov).toMatch(/^-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n/);
    const gpg = gpgVerify(ed, ['mychart-0.1.0.tgz.prov'], pkgDir);
    expect(gpg.status, gpg.stderr).toBe(0);
    expect(gpg.validsig).toBe(ed.fingerprint);
    const sq = sqVerify(ed, ['mychart-0.1.0.tgz.prov'], pkgDir);
    expect(sq.status, sq.stderr).toBe(0);
    // The signed text as a verifier recovers it (gpg undoes dash-escaping), parsed the way helm does.
    const body = mustRun('gpg', ['--batch', '--decrypt', join(pkgDir, 'mychart-0.1.0.tgz.prov')], { env: ed.env });
    const parsed = parseHelmProvenanceBody(body);
    expect(parsed.metadata).toMatchObject({ apiVersion: 'v2', name: 'mychart', version: '0.1.0', keywords: ['web', '---'] });
    const sha = mustRun('sha256sum', ['mychart-0.1.0.tgz'], { cwd: pkgDir }).split(' ')[0];
    expect(parsed.files).toEqual({ 'mychart-0.1.0.tgz': `sha256:${sha}` });
    // A changed body no longer verifies.
    writeFileSync(join(pkgDir, 'tampered.prov'), prov.replace('name: mychart', 'name: evilchart'));
    expect(gpgVerify(ed, ['tampered.prov'], pkgDir).status).not.toBe(0);
  });

  it('signs large packages in constant memory (the built CLI under /usr/bin/time, 8 vs 72 MiB)', () => {
    const peakMB = (name: string, mib: number): number => {
      const path = join(pkgDir, name);
      const block = Buffer.alloc(1 << 20);
      for (let i = 0; i < mib; i += 1) appendFileSync(path, block.fill(i));
      const result = tool(
        '/usr/bin/time',
        ['-f', 'peak-kb=%M', process.execPath, join(projectRoot, 'bin', 'signet.js'), 'sign-package', '--openpgp-key', ed.secretKeyPath, path],
        { cwd: pkgDir, env: { PATH: process.env.PATH, SIGNET_OPENPGP_PASSPHRASE: ed.passphrase } },
      );
      expect(result.status, result.stderr).toBe(0);
      expect(gpgVerify(ed, [`${path}.asc`, path], pkgDir).validsig).toBe(ed.fingerprint);
      expect(sqVerify(ed, ['--detached', `${path}.asc`, path], pkgDir).status).toBe(0);
      return Number(/peak-kb=(\d+)/.exec(result.stderr)?.[1] ?? 'NaN') / 1024;
    };
    const small = peakMB('small-1.0.0.tar.gz', 8);
    const large = peakMB('large-1.0.0.tar.gz', 72);
    // Buffering would add about twice the 64 MiB difference; streaming adds nothing.
    expect(large - small).toBeLessThan(30);
  });

  it('a Helm chart without an OpenPGP key is a usage error', async () => {
    const result = await runSignet(['sign-package', '--key', join(dir, 'cosign.key'), 'mychart-0.1.0.tgz'], {
      cwd: pkgDir,
      env: { COSIGN_PASSWORD: cosignPassword },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Helm chart.*--openpgp-key/);
  });
});
