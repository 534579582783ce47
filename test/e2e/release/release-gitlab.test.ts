/**
 * `/sign-release` on GitLab end to end: the app's server gets Note Hook webhooks at
 * /gitlab/webhook, talks to the local fake GitLab (release, asset links, project uploads,
 * members, award emoji, notes), and what the release links to is checked with gpg, sha256sum,
 * openssl, @sigstore/verify and `signet verify-blob`.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readServerConfig } from '../../../src/server/config.ts';
import { startSignetServer, type RunningServer } from '../../../src/server/server.ts';
import { gitLabHandlers } from '../../../src/gitlab/handler.ts';
import { openSqliteStore } from '../../../src/store/sql-sqlite.ts';
import type { SignetStore } from '../../../src/store/store.ts';
import { post } from '../../helpers/fake-github-webhooks.ts';
import { startFakeGitLab, type FakeGitLab, type FakeGitLabRelease } from '../../helpers/fake-gitlab.ts';
import { freePort } from '../../helpers/postgres.ts';
import { pushTestImage, startRegistry, type TestRegistry } from '../../helpers/sign-registry.ts';
import { RegistryClient } from '../../../src/sign/oci/registry-client.ts';
import { runSignet } from '../../helpers/sign-cli.ts';
import { checkHelmProvenance, checkSignedRelease, makeHelmChart, makeReleaseFixture, type ReleaseFixture } from '../../helpers/release-fixtures.ts';

const SECRET = 'gitlab-release-token';
const PROJECT_ID = 314;
const FULL_NAME = 'group/released';
const MAINTAINER = { id: 21, username: 'maya' };
const DEVELOPER = { id: 22, username: 'dev-dan' };
let fixture: ReleaseFixture;
let gitlab: FakeGitLab;
let store: SignetStore;
let server: RunningServer;
let dir: string;
let hookUrl: string;
let nextNoteId = 700;
let registry: TestRegistry;
/** The app's release settings; a test adds SIGNET_RELEASE_IMAGES to it. */
let releaseEnv: Record<string, string>;

const ASSETS = [
  { name: 'tool-1.2.0.tar.gz', content: Buffer.from('gitlab release tarball\n'.repeat(300)) },
  { name: 'tool_1.2.0_amd64.deb', content: Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256)) },
];

beforeAll(async () => {
  fixture = await makeReleaseFixture();
  dir = mkdtempSync(join(tmpdir(), 'signet-release-gitlab-'));
  gitlab = await startFakeGitLab();
  gitlab.projects.set(PROJECT_ID, fixture.bare);
  gitlab.projectPaths.set(PROJECT_ID, FULL_NAME);
  gitlab.members.set(`${PROJECT_ID}:${MAINTAINER.id}`, 40);
  gitlab.members.set(`${PROJECT_ID}:${DEVELOPER.id}`, 30);
  store = openSqliteStore(join(dir, 'signet.sqlite'));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const config = readServerConfig({
    APP_ID: '1', PRIVATE_KEY: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), WEBHOOK_SECRET: 'unused',
    PORT: String(await freePort()), HOST: '127.0.0.1', LOG_LEVEL: 'silent', SIGNET_CACHE_DIR: join(dir, 'cache'),
    GITLAB_URL: gitlab.url, GITLAB_TOKEN: gitlab.token, GITLAB_WEBHOOK_SECRET: SECRET,
  }, dir);
  // A real registry (Debian's docker-registry, htpasswd auth); credentials from DOCKER_CONFIG.
  mkdirSync(join(dir, 'registry'));
  registry = await startRegistry(join(dir, 'registry'));
  releaseEnv = { ...fixture.env, DOCKER_CONFIG: registry.dockerConfig };
  // The keys come from explicit settings here (production reads process.env).
  server = await startSignetServer(config, { store, extraHandlers: (deps) => gitLabHandlers(config.gitlab!, deps, { release: { env: releaseEnv, cwd: dir } }) });
  hookUrl = `${server.url}/gitlab/webhook`;
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await store?.close();
  await gitlab?.stop();
  await registry?.stop();
  fixture?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function note(user: { id: number; username: string }, text: string, iid = 3) {
  const noteId = nextNoteId++;
  const payload = {
    object_kind: 'note', event_type: 'note', user: { ...user, name: user.username }, project_id: PROJECT_ID,
    project: { id: PROJECT_ID, name: 'released', path_with_namespace: FULL_NAME, default_branch: 'main', git_http_url: `https://gitlab.example/${FULL_NAME}.git`, web_url: `https://gitlab.example/${FULL_NAME}` },
    object_attributes: { id: noteId, note: text, noteable_type: 'Issue', author_id: user.id },
    issue: { iid, id: iid + 5000, title: 'Release 1.2.0' },
  };
  const before = gitlab.notes.length;
  const response = await post(hookUrl, { 'content-type': 'application/json', 'x-gitlab-event': 'Note Hook', 'x-gitlab-token': SECRET }, JSON.stringify(payload));
  expect([200, 202]).toContain(response.status);
  // GitLab is answered within its webhook timeout; the work may go on after a 202.
  for (let i = 0; i < 300 && gitlab.notes.length === before; i++) await new Promise((r) => setTimeout(r, 50));
  return { noteId, answers: gitlab.notes.slice(before) };
}

const filesOf = (release: FakeGitLabRelease) => new Map(release.links.map((link) => [link.name, gitlab.uploads.get(new URL(link.url).pathname)!]));
const uploads = () => gitlab.requests.filter((r) => r.method === 'POST' && r.path === `/projects/${PROJECT_ID}/uploads`);
const rowsOf = (body: string) => body.split('\n').filter((l) => l.startsWith('| `')).map((l) => l.split(' | ').map((c) => c.replace(/^\| /, '').replace(/ \|$/, '').trim()));

describe('/sign-release on GitLab', () => {
  let release: FakeGitLabRelease;

  it('a Maintainer signs the release: eyes, uploads linked to the release, one note; independent tools verify', async () => {
    release = gitlab.addRelease(PROJECT_ID, 'v1.2.0', fixture.tagCommit, ASSETS);
    const { noteId, answers } = await note(MAINTAINER, '/sign-release v1.2.0');
    expect(gitlab.awards).toContainEqual({ project: PROJECT_ID, noteable: 'issues', iid: 3, noteId, name: 'eyes' });
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ noteable: 'issues', iid: 3 });
    const rows = rowsOf(answers[0]!.body);
    expect(rows).toHaveLength(10);
    expect(rows.every((r) => r[2] === 'uploaded')).toBe(true);
    expect(uploads()).toHaveLength(10);
    expect(release.links).toHaveLength(12);
    // Links point at the GitLab host's project uploads.
    expect(release.links.every((link) => link.url.startsWith(`${gitlab.url}/-/project/${PROJECT_ID}/uploads/`))).toBe(true);

    const check = await checkSignedRelease(fixture, filesOf(release), ASSETS.map((a) => a.name));
    expect(check.gpgChecksums).toMatchObject({ status: 0, validsig: fixture.gpg.fingerprint });
    expect(check.gpgAssets.map((r) => r.status)).toEqual([0, 0]);
    expect(check.sha256sum.status).toBe(0);
    expect(check.openssl).toEqual([0, 0]);
    expect(check.sigstore).toEqual([undefined, undefined]);
    expect(check.attestations).toEqual([undefined, undefined]);
    expect(check.signetVerifyBlob.code).toBe(0);
    const provenance = JSON.parse(Buffer.from((JSON.parse(filesOf(release).get('release.provenance.sigstore.json')!.toString()) as { dsseEnvelope: { payload: string } }).dsseEnvelope.payload, 'base64').toString()) as { predicate: any };
    expect(provenance.predicate.buildDefinition.resolvedDependencies[0].digest).toEqual({ gitCommit: fixture.tagCommit });
    expect((await store.listAudit(`gitlab:${FULL_NAME}`, 1))[0]).toMatchObject({ event: 'note./sign-release', outcome: 'signed', detail: { counts: { uploaded: 10 } } });
  }, 30_000);

  it('a second run uploads and links nothing', async () => {
    const before = uploads().length;
    const ids = release.links.map((l) => l.id);
    const { answers } = await note(MAINTAINER, 'again please\n/sign-release v1.2.0');
    expect(uploads()).toHaveLength(before);
    expect(release.links.map((l) => l.id)).toEqual(ids);
    expect(rowsOf(answers[0]!.body).every((r) => r[2] === 'kept: already there and valid')).toBe(true);
  }, 30_000);

  it('a Developer is refused politely and nothing is read or written', async () => {
    const requestsBefore = gitlab.requests.length;
    const { answers } = await note(DEVELOPER, '/sign-release v1.2.0');
    expect(answers[0]!.body).toContain('@dev-dan thank you');
    expect(gitlab.requests.slice(requestsBefore).filter((r) => r.path.includes('/releases') || r.path.includes('/uploads'))).toEqual([]);
    expect((await store.listAudit(`gitlab:${FULL_NAME}`, 1))[0]).toMatchObject({ outcome: 'refused' });
  }, 30_000);

  it('a failing upload is reported in the note, the rest is linked', async () => {
    const flaky = gitlab.addRelease(PROJECT_ID, 'v1.2.1', fixture.tagCommit, ASSETS);
    gitlab.faults.push({ method: 'POST', path: /\/releases\/v1\.2\.1\/assets\/links$/, status: 500, times: 1 });
    const { answers } = await note(MAINTAINER, '/sign-release v1.2.1');
    const rows = rowsOf(answers[0]!.body);
    expect(rows.filter((r) => r[2]!.startsWith('failed'))).toHaveLength(1);
    expect(rows.filter((r) => r[2]!.startsWith('failed'))[0]![2]).toContain('HTTP 500');
    expect(answers[0]!.body).toContain('1 of 10 failed');
    expect(flaky.links).toHaveLength(2 + 8);
  }, 30_000);

  it('a Helm chart asset also gets a .prov that gpg verifies and helm would accept; a rerun keeps it; a tampered one is replaced', async () => {
    const chart = makeHelmChart(fixture, 'gitlab-chart', '1.0.0');
    const release = gitlab.addRelease(PROJECT_ID, 'v1.4.0', fixture.tagCommit, [{ name: chart.file, content: chart.content }]);
    const { answers } = await note(MAINTAINER, '/sign-release v1.4.0');
    const statusOf = (body: string, name: string) => rowsOf(body).find((r) => r[0] === `\`${name}\``)?.[2];
    expect(statusOf(answers[0]!.body, `${chart.file}.prov`)).toBe('uploaded');
    // .sig, .sigstore.json, .asc, .prov, checksums.txt(.asc), provenance (no lockfile at v1.4.0: no SBOM).
    expect(release.links.map((l) => l.name).sort()).toEqual([
      'checksums.txt', 'checksums.txt.asc', chart.file, `${chart.file}.asc`, `${chart.file}.prov`, `${chart.file}.sig`, `${chart.file}.sigstore.json`, 'release.provenance.sigstore.json',
    ]);
    const check = checkHelmProvenance(fixture, chart.file, chart.content, filesOf(release).get(`${chart.file}.prov`)!);
    expect(check.gpg.status, check.gpg.stderr).toBe(0);
    expect(check.gpg.validsig).toBe(fixture.gpg.fingerprint);
    expect(check.files).toEqual({ [chart.file]: `sha256:${check.sha256sum}` });
    expect(check.metadata).toMatchObject({ name: 'gitlab-chart', version: '1.0.0' });

    const before = uploads().length;
    const again = await note(MAINTAINER, '/sign-release v1.4.0');
    expect(uploads()).toHaveLength(before);
    expect(statusOf(again.answers[0]!.body, `${chart.file}.prov`)).toBe('kept: already there and valid');

    // A .prov whose files section names another digest (re-signed by nobody) is replaced.
    const provLink = release.links.find((l) => l.name === `${chart.file}.prov`)!;
    const path = new URL(provLink.url).pathname;
    gitlab.uploads.set(path, Buffer.from(gitlab.uploads.get(path)!.toString().replace(check.sha256sum, '0'.repeat(64))));
    expect(checkHelmProvenance(fixture, chart.file, chart.content, gitlab.uploads.get(path)!).gpg.status).not.toBe(0);
    // And the chart's .asc becomes a good signature by the same key over other data (checksums.txt):
    // the streamed check of the .asc against the chart must notice.
    const ascPath = new URL(release.links.find((l) => l.name === `${chart.file}.asc`)!.url).pathname;
    gitlab.uploads.set(ascPath, filesOf(release).get('checksums.txt.asc')!);
    const third = await note(MAINTAINER, '/sign-release v1.4.0');
    expect(statusOf(third.answers[0]!.body, `${chart.file}.prov`)).toBe('replaced');
    expect(statusOf(third.answers[0]!.body, `${chart.file}.asc`)).toBe('replaced');
    expect(rowsOf(third.answers[0]!.body).filter((r) => r[2] === 'kept: already there and valid')).toHaveLength(5);
    expect(uploads()).toHaveLength(before + 2);
    const replaced = release.links.filter((l) => l.name === `${chart.file}.prov`);
    expect(replaced).toHaveLength(1);
    const recheck = checkHelmProvenance(fixture, chart.file, chart.content, gitlab.uploads.get(new URL(replaced[0]!.url).pathname)!);
    expect(recheck.gpg.status).toBe(0);
    expect(recheck.files).toEqual({ [chart.file]: `sha256:${check.sha256sum}` });
  }, 30_000);

  it('signs the images the configuration names, by digest, once', async () => {
    // Built with umoci, pushed with skopeo.
    const digest = pushTestImage(join(dir, 'registry'), registry, 'group/tool', 'v1.3.0', 'release image layer\n');
    const client = new RegistryClient(registry.host, { env: releaseEnv });
    const release = gitlab.addRelease(PROJECT_ID, 'v1.3.0', fixture.tagCommit, ASSETS.slice(0, 1));
    releaseEnv.SIGNET_RELEASE_IMAGES = `${registry.host}/group/tool:{tag}, ${registry.host}/group/missing:{tag}`;
    try {
      const { answers } = await note(MAINTAINER, '/sign-release v1.3.0');
      const rows = rowsOf(answers[0]!.body);
      const pinned = `${registry.host}/group/tool@${digest}`;
      // Both of cosign's formats: the legacy .sig tag, and a v3 bundle (docker-registry 2.8 has no
      // referrers API, so under the fallback tag sha256-<hex>).
      expect(rows.filter((r) => r[0] === `\`${pinned}\``).map((r) => [r[1], r[2]])).toEqual([
        // The raw Markdown: the cells are markdownText, so parentheses are backslash-escaped.
        ['cosign image signature \\(legacy .sig\\)', `uploaded: pushed ${digest.replace(':', '-')}.sig`],
        ['cosign v3 signature \\(sigstore bundle referrer\\)', expect.stringMatching(/^uploaded: pushed sha256:[0-9a-f]{64} \\\(fallback tag\\\)$/)],
      ]);
      expect(rows.find((r) => r[0] === `\`${registry.host}/group/missing:v1.3.0\``)?.[2]).toMatch(/^failed: .*no such manifest/);
      expect(answers[0]!.body).toContain(`signet verify-image --key cosign.pub -a release=v1.3.0 ${pinned}`);
      // One asset: .sig, .sigstore.json, .asc, checksums.txt(.asc), provenance (no lockfile at v1.3.0: no SBOM);
      // image signatures live in the registry, not on the release.
      expect(release.links).toHaveLength(1 + 6);
      // signet verify-image, as the comment says, with the public key.
      writeFileSync(join(dir, 'cosign.pub'), fixture.cosignPublicPem);
      const verified = await runSignet(['verify-image', '--key', 'cosign.pub', '-a', 'release=v1.3.0', pinned], { cwd: dir, env: releaseEnv });
      expect(verified.code, verified.stderr).toBe(0);
      expect(verified.stderr).toContain(`Verified 2 signature(s) on ${digest} (legacy, bundle)`);
      expect(JSON.parse(verified.stdout)[0].critical.image['docker-manifest-digest']).toBe(digest);
      // Signed by another key, neither format verifies.
      writeFileSync(join(dir, 'other.pub'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }));
      expect((await runSignet(['verify-image', '--key', 'other.pub', pinned], { cwd: dir, env: releaseEnv })).code).toBe(1);
      // Again: nothing new in the registry.
      const sigTags = [`${digest.replace(':', '-')}.sig`, digest.replace(':', '-')];
      const before = await Promise.all(sigTags.map(async (t) => (await client.getManifest('group/tool', t))?.digest));
      const again = await note(MAINTAINER, '/sign-release v1.3.0');
      expect(rowsOf(again.answers[0]!.body).filter((r) => r[0] === `\`${pinned}\``).map((r) => r[2])).toEqual(['kept: already signed for this release', 'kept: already signed for this release']);
      const after = await Promise.all(sigTags.map(async (t) => (await client.getManifest('group/tool', t))?.digest));
      for (const d of before) expect(d).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(after).toEqual(before);
    } finally {
      delete releaseEnv.SIGNET_RELEASE_IMAGES;
    }
  }, 30_000);
  it('signs the images the policy on the default branch names; an unreadable policy is said, the assets still signed', async () => {
    // The policy lands on main (the default branch), not at the release's tag.
    const work = join(dir, 'policy-work');
    const gitIn = (args: string[]) => execFileSync('git', args, { cwd: work, env: { ...process.env, GIT_AUTHOR_NAME: 'M', GIT_AUTHOR_EMAIL: 'm@example.com', GIT_COMMITTER_NAME: 'M', GIT_COMMITTER_EMAIL: 'm@example.com' } });
    execFileSync('git', ['clone', '-q', fixture.bare, work]);
    const setPolicy = (text: string) => {
      mkdirSync(join(work, '.gitlab'), { recursive: true });
      writeFileSync(join(work, '.gitlab', 'signet.yml'), text);
      gitIn(['add', '.gitlab/signet.yml']);
      gitIn(['commit', '-q', '-m', 'policy']);
      gitIn(['push', '-q', 'origin', 'HEAD:main']);
    };
    const digest = pushTestImage(join(dir, 'registry'), registry, 'group/app', 'v1.5.0', 'policy-named image\n');
    setPolicy(`version: 1\nrules:\n  - refs: [refs/heads/main]\n    require_signed_commits: true\nrelease:\n  images: ["${registry.host}/group/app:{tag}"]\n`);
    gitlab.addRelease(PROJECT_ID, 'v1.5.0', fixture.tagCommit, ASSETS.slice(0, 1));
    const pinned = `${registry.host}/group/app@${digest}`;
    const { answers } = await note(MAINTAINER, '/sign-release v1.5.0');
    expect(rowsOf(answers[0]!.body).filter((r) => r[0] === `\`${pinned}\``).map((r) => r[2]?.split(':')[0])).toEqual(['uploaded', 'uploaded']);
    writeFileSync(join(dir, 'cosign.pub'), fixture.cosignPublicPem);
    const verified = await runSignet(['verify-image', '--key', 'cosign.pub', '-a', 'release=v1.5.0', pinned], { cwd: dir, env: releaseEnv });
    expect(verified.code, verified.stderr).toBe(0);

    // A policy that does not parse: no image signed, the answer says why, the asset is signed.
    setPolicy('version: 1\nrules: []\nrelease:\n  images: ["ghcr.io/o/app:{tag}"]\n');
    const release = gitlab.addRelease(PROJECT_ID, 'v1.6.0', fixture.tagCommit, ASSETS.slice(0, 1));
    const second = await note(MAINTAINER, '/sign-release v1.6.0');
    expect(second.answers[0]!.body).toMatch(/the policy's release\.images were not read, so no image was signed: invalid policy \.gitlab\/signet\.yml:2/);
    expect(rowsOf(second.answers[0]!.body).some((r) => r[0]!.includes('ghcr.io'))).toBe(false);
    expect(release.links).toHaveLength(1 + 6);
    gitIn(['rm', '-q', '.gitlab/signet.yml']);
    gitIn(['commit', '-q', '-m', 'no policy']);
    gitIn(['push', '-q', 'origin', 'HEAD:main']);
  }, 30_000);
});
