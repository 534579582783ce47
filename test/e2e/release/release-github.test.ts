/**
 * `/sign-release` on GitHub end to end: Probot's real server gets signed issue_comment
 * webhooks, talks to the local fake GitHub (release by tag, assets, uploads at the release's
 * upload_url, permissions, reactions, comments), and what lands on the release is checked with
 * gpg, sha256sum, openssl, @sigstore/verify and `signet verify-blob`. Probot spaces comments
 * by 3 s (GitHub's advice for requests that notify), which sets this file's pace.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readServerConfig } from '../../../src/server/config.ts';
import { startSignetServer, type RunningServer } from '../../../src/server/server.ts';
import { openSqliteStore } from '../../../src/store/sql-sqlite.ts';
import type { SignetStore } from '../../../src/store/store.ts';
import { startFakeGitHub, type FakeGitHub, type FakeRelease } from '../../helpers/fake-github.ts';
import { deliver, example, retarget } from '../../helpers/fake-github-webhooks.ts';
import { freePort } from '../../helpers/postgres.ts';
import { checkHelmProvenance, checkSignedRelease, makeHelmChart, makeReleaseFixture, type ReleaseFixture } from '../../helpers/release-fixtures.ts';

const SECRET = 'release-webhook-secret';
const FULL_NAME = 'octo-org/released';
let fixture: ReleaseFixture;
let github: FakeGitHub;
let store: SignetStore;
let server: RunningServer;
let dir: string;
let hookUrl: string;
let nextCommentId = 9000;

const ASSETS = [
  { name: 'demo-1.2.0.tar.gz', content: Buffer.from('pretend tarball \u0000\u0001\u00ff bytes\n'.repeat(500), 'latin1') },
  { name: 'demo-linux-amd64', content: Buffer.from([0x7f, 0x45, 0x4c, 0x46, ...Array.from({ length: 3000 }, (_, i) => i % 256)]) },
];

beforeAll(async () => {
  fixture = await makeReleaseFixture();
  Object.assign(process.env, fixture.env);
  dir = mkdtempSync(join(tmpdir(), 'signet-release-app-'));
  github = await startFakeGitHub();
  github.repositories.set(FULL_NAME, fixture.bare);
  github.permissions.set('maintainer-mia', { permission: 'write', role_name: 'maintain' });
  github.permissions.set('admin-ada', { permission: 'admin', role_name: 'admin' });
  github.permissions.set('writer-will', { permission: 'write', role_name: 'write' });
  store = openSqliteStore(join(dir, 'signet.sqlite'));
  const config = readServerConfig({
    APP_ID: String(github.appId), PRIVATE_KEY: github.privateKey, WEBHOOK_SECRET: SECRET,
    GHE_HOST: github.host, GHE_PROTOCOL: 'http', PORT: String(await freePort()), HOST: '127.0.0.1', LOG_LEVEL: (process.env.TEST_LOG_LEVEL ?? 'silent') as 'silent',
    SIGNET_CACHE_DIR: join(dir, 'cache'), SIGNET_GITHUB_WRITE_INTERVAL_MS: '0', SIGNET_INSTANCE_ID: 'release-test',
  }, dir);
  server = await startSignetServer(config, { store });
  hookUrl = `${server.url}/api/github/webhooks`;
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await store?.close();
  await github?.stop();
  for (const name of Object.keys(fixture?.env ?? {})) delete process.env[name];
  fixture?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function commentPayload(login: string, body: string, options: { issue?: number; pull?: boolean; id?: number } = {}) {
  const payload = retarget(example('issue_comment', 'created'), { fullName: FULL_NAME, cloneUrl: `https://github.example/${FULL_NAME}.git`, installationId: 77 });
  const issue = payload.issue as Record<string, unknown>;
  Object.assign(issue, { number: options.issue ?? 5 });
  if (options.pull) issue.pull_request = { url: 'x' };
  else delete issue.pull_request;
  const id = options.id ?? nextCommentId++;
  Object.assign(payload.comment as object, { id, body, user: { ...((payload.comment as { user?: object }).user ?? {}), login, type: 'User' } });
  return { payload, id };
}

async function command(login: string, body: string, options: { issue?: number; pull?: boolean; id?: number; delivery?: string } = {}) {
  const { payload, id } = commentPayload(login, body, options);
  const before = github.comments.length;
  const response = await deliver(hookUrl, SECRET, 'issue_comment', payload, options.delivery ? { id: options.delivery } : {});
  expect(response.status).toBe(200);
  return { id, answers: github.comments.slice(before) };
}

const uploadsTo = (release: FakeRelease) => github.requests.filter((r) => r.method === 'POST' && r.path === `/repos/${FULL_NAME}/releases/${release.id}/assets`);
const filesOf = (release: FakeRelease) => new Map(release.assets.map((a) => [a.name, a.content]));
const rowsOf = (body: string) => body.split('\n').filter((l) => l.startsWith('| `')).map((l) => l.split(' | ').map((c) => c.replace(/^\| /, '').replace(/ \|$/, '').trim()));

describe('/sign-release on GitHub', () => {
  let release: FakeRelease;

  it('a maintainer signs a release with two assets: reaction, uploads, result comment; independent tools verify', async () => {
    release = github.addRelease(FULL_NAME, 'v1.2.0', ASSETS);
    const { id, answers } = await command('maintainer-mia', 'Ship it.\n/sign-release v1.2.0\n');
    expect(github.reactions).toContainEqual({ repository: FULL_NAME, commentId: id, content: 'eyes' });
    expect(answers).toHaveLength(1);
    const body = answers[0]!.body;
    expect(answers[0]!.issueNumber).toBe(5);
    const rows = rowsOf(body);
    // 2 assets × (.sig, .sigstore.json, .asc) + checksums.txt(.asc) + 2 attestations.
    expect(rows).toHaveLength(10);
    expect(rows.every((r) => r[2] === 'uploaded')).toBe(true);
    expect(body).toContain('gpg --verify checksums.txt.asc checksums.txt');
    expect(body).toContain('sha256sum --check checksums.txt');
    expect(body).toContain("signet verify-blob --key cosign.pub --bundle 'demo-1.2.0.tar.gz.sigstore.json' 'demo-1.2.0.tar.gz'");
    expect(body).toContain(fixture.gpg.fingerprint);
    expect(release.assets.map((a) => a.name).sort()).toEqual([
      'checksums.txt', 'checksums.txt.asc',
      'demo-1.2.0.tar.gz', 'demo-1.2.0.tar.gz.asc', 'demo-1.2.0.tar.gz.sig', 'demo-1.2.0.tar.gz.sigstore.json',
      'demo-linux-amd64', 'demo-linux-amd64.asc', 'demo-linux-amd64.sig', 'demo-linux-amd64.sigstore.json',
      'release.provenance.sigstore.json', 'release.spdx.sigstore.json',
    ]);
    expect(uploadsTo(release)).toHaveLength(10);

    const check = await checkSignedRelease(fixture, filesOf(release), ASSETS.map((a) => a.name));
    expect(check.gpgChecksums).toMatchObject({ status: 0, validsig: fixture.gpg.fingerprint });
    expect(check.gpgAssets.map((r) => r.validsig)).toEqual([fixture.gpg.fingerprint, fixture.gpg.fingerprint]);
    expect(check.sha256sum.status).toBe(0);
    expect(check.sha256sum.stdout).toContain('demo-linux-amd64: OK');
    expect(check.openssl).toEqual([0, 0]);
    expect(check.sigstore).toEqual([undefined, undefined]);
    expect(check.attestations).toEqual([undefined, undefined]);
    expect(check.signetVerifyBlob.code).toBe(0);

    // The provenance names the tag's commit and the delivery; the SBOM describes the lockfile at the tag.
    const statement = (name: string) => {
      const bundle = JSON.parse(filesOf(release).get(name)!.toString()) as { dsseEnvelope: { payload: string } };
      return JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString()) as { subject: Array<{ name: string }>; predicate: any };
    };
    const provenance = statement('release.provenance.sigstore.json');
    expect(provenance.subject.map((s) => s.name)).toEqual(['demo-1.2.0.tar.gz', 'demo-linux-amd64']);
    expect(provenance.predicate.buildDefinition.resolvedDependencies[0]).toEqual({ uri: `git+https://github.example/${FULL_NAME}@refs/tags/v1.2.0`, digest: { gitCommit: fixture.tagCommit } });
    expect(provenance.predicate.runDetails.builder.id).toBe('https://signet.test/app');
    const sbom = statement('release.spdx.sigstore.json');
    expect(JSON.stringify(sbom.predicate.packages)).toContain('pkg:npm/left-pad@1.3.0');

    // No secret in what was said.
    for (const secret of [fixture.gpg.passphrase, 'PRIVATE KEY', fixture.env.COSIGN_PASSWORD!]) expect(body).not.toContain(secret);
    const audit = await store.listAudit(`github:${FULL_NAME}`, 1);
    expect(audit[0]).toMatchObject({ event: 'issue_comment./sign-release', outcome: 'signed', detail: { tag: 'v1.2.0', commenter: 'maintainer-mia', counts: { uploaded: 10 } } });
  }, 30_000);

  it('running it again uploads nothing: every output is already there and valid', async () => {
    const before = uploadsTo(release).length;
    const names = release.assets.map((a) => a.id);
    const { answers } = await command('admin-ada', '/sign-release v1.2.0', { pull: true, issue: 6 });
    expect(uploadsTo(release)).toHaveLength(before);
    expect(release.assets.map((a) => a.id)).toEqual(names);
    expect(github.requests.filter((r) => r.method === 'DELETE')).toHaveLength(0);
    expect(rowsOf(answers[0]!.body).map((r) => r[2])).toEqual(Array(10).fill('kept: already there and valid'));
  }, 30_000);

  it('the same delivery twice signs once', async () => {
    const { payload } = commentPayload('admin-ada', '/sign-release v1.2.0');
    const before = github.comments.length;
    await deliver(hookUrl, SECRET, 'issue_comment', payload, { id: 'same-delivery' });
    await deliver(hookUrl, SECRET, 'issue_comment', payload, { id: 'same-delivery' });
    expect(github.comments.length - before).toBe(1);
  }, 30_000);

  it('a collaborator without maintain gets a polite refusal and nothing is touched', async () => {
    const other = github.addRelease(FULL_NAME, 'v2.0.0', ASSETS);
    for (const login of ['writer-will', 'stranger-sam']) {
      const requestsBefore = github.requests.length;
      const { id, answers } = await command(login, '/sign-release v2.0.0');
      expect(github.reactions).toContainEqual({ repository: FULL_NAME, commentId: id, content: 'eyes' });
      expect(answers).toHaveLength(1);
      expect(answers[0]!.body).toContain(`@${login} thank you`);
      expect(answers[0]!.body).toContain('needs maintain or admin permission');
      const touched = github.requests.slice(requestsBefore).filter((r) => r.path.includes('/releases'));
      expect(touched).toEqual([]);
    }
    expect(other.assets).toHaveLength(2);
    expect((await store.listAudit(`github:${FULL_NAME}`, 1))[0]).toMatchObject({ outcome: 'refused', detail: { commenter: 'stranger-sam' } });
  }, 30_000);

  it('an upload answered 500 is a failed row in the table; the rest is uploaded; a rerun completes it', async () => {
    const flaky = github.addRelease(FULL_NAME, 'v3.0.0', ASSETS);
    github.faults.push({ method: 'POST', path: new RegExp(`/releases/${flaky.id}/assets$`), uploadName: 'demo-linux-amd64.sigstore.json', status: 500, times: 5 });
    const { answers } = await command('maintainer-mia', '/sign-release v3.0.0');
    const body = answers[0]!.body;
    expect(body).toContain('could not finish signing release `v3.0.0`: 1 of 10 failed');
    const failed = rowsOf(body).filter((r) => r[2]!.startsWith('failed'));
    expect(failed.map((r) => r[0])).toEqual(['`demo-linux-amd64.sigstore.json`']);
    expect(failed[0]![2]).toMatch(/500/);
    // The repository has no tag v3.0.0, so there is no lockfile to describe: said, not hidden.
    expect(rowsOf(body).find((r) => r[0] === '`release.spdx.sigstore.json`')?.[2]).toBe('skipped: no package-lock.json at v3.0.0 to describe');
    expect(flaky.assets).toHaveLength(2 + 8);
    expect((await store.listAudit(`github:${FULL_NAME}`, 1))[0]).toMatchObject({ outcome: 'failed' });
    github.faults.length = 0;
    // Meanwhile someone broke a signature: the rerun uploads the missing one, replaces the broken one, keeps the rest.
    const sig = flaky.assets.find((a) => a.name === 'demo-linux-amd64.sig')!;
    sig.content = Buffer.from('MEUCIQDtampered\n');
    const deletesBefore = github.requests.filter((r) => r.method === 'DELETE').length;
    const again = await command('maintainer-mia', '/sign-release v3.0.0');
    const rows = rowsOf(again.answers[0]!.body);
    const statusOf = (name: string) => rows.find((r) => r[0] === `\`${name}\``)?.[2];
    expect(statusOf('demo-linux-amd64.sigstore.json')).toBe('uploaded');
    expect(statusOf('demo-linux-amd64.sig')).toBe('replaced');
    expect(rows.filter((r) => r[2]!.startsWith('kept'))).toHaveLength(7);
    expect(github.requests.filter((r) => r.method === 'DELETE')).toHaveLength(deletesBefore + 1);
    expect(flaky.assets).toHaveLength(11);
    expect(flaky.assets.filter((a) => a.name === 'demo-linux-amd64.sig')).toHaveLength(1);
    const check = await checkSignedRelease(fixture, filesOf(flaky), ASSETS.map((a) => a.name));
    expect(check.sigstore).toEqual([undefined, undefined]);
    expect(check.openssl).toEqual([0, 0]);
  }, 30_000);

  it('a Helm chart asset also gets a .prov (gpg verifies it; its files section holds the chart sha256); a rerun keeps it', async () => {
    const chart = makeHelmChart(fixture, 'webchart', '0.4.0');
    const charts = github.addRelease(FULL_NAME, 'v4.0.0', [{ name: chart.file, content: chart.content }, ASSETS[1]!]);
    const { answers } = await command('maintainer-mia', '/sign-release v4.0.0');
    const rows = rowsOf(answers[0]!.body);
    expect(rows.find((r) => r[0] === `\`${chart.file}.prov\``)?.[2]).toBe('uploaded');
    // Only the chart gets one; its .sig, bundle and .asc are made as for any asset.
    expect(charts.assets.map((a) => a.name).filter((n) => n.endsWith('.prov'))).toEqual([`${chart.file}.prov`]);
    expect(charts.assets.map((a) => a.name)).toEqual(expect.arrayContaining([`${chart.file}.sig`, `${chart.file}.sigstore.json`, `${chart.file}.asc`]));
    expect(answers[0]!.body).toContain(`gpg --verify '${chart.file}.prov'`);
    const prov = filesOf(charts).get(`${chart.file}.prov`)!;
    expect(prov.toString()).toMatch(/^-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n/);
    const check = checkHelmProvenance(fixture, chart.file, chart.content, prov);
    expect(check.gpg.status, check.gpg.stderr).toBe(0);
    expect(check.gpg.validsig).toBe(fixture.gpg.fingerprint);
    expect(check.files).toEqual({ [chart.file]: `sha256:${check.sha256sum}` });
    expect(check.metadata).toMatchObject({ apiVersion: 'v2', name: 'webchart', version: '0.4.0', keywords: ['web', '---'] });
    expect(filesOf(charts).get('checksums.txt')!.toString()).toContain(`${check.sha256sum}  ${chart.file}\n`);

    const uploads = uploadsTo(charts).length;
    const again = await command('maintainer-mia', '/sign-release v4.0.0');
    expect(uploadsTo(charts)).toHaveLength(uploads);
    expect(rowsOf(again.answers[0]!.body).find((r) => r[0] === `\`${chart.file}.prov\``)?.[2]).toBe('kept: already there and valid');
  }, 30_000);

  it('an unknown tag is answered, not ignored', async () => {
    const missing = await command('maintainer-mia', '/sign-release v9.9.9');
    expect(missing.answers[0]!.body).toContain('there is no release tagged `v9.9.9`');
    expect((await store.listAudit(`github:${FULL_NAME}`, 1))[0]).toMatchObject({ outcome: 'error', detail: { reason: 'no such release' } });
  }, 30_000);
});
