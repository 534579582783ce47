/**
 * The pure parts of /sign-release: the command, who may give it, what a release's assets
 * turn into, the webhook plans on both forges, the answer's Markdown, and key loading errors
 * that never carry key material.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { planGitHubEvent } from '../../../src/app/plan.ts';
import { encryptCosignPrivateKey } from '../../../src/core/sign/cosign-key.ts';
import { planGitLabEvent } from '../../../src/gitlab/plan.ts';
import { gitHubMaySign, gitLabMaySign, mentionsSignRelease, parseSignReleaseCommand } from '../../../src/release/command.ts';
import { releaseImageRefs } from '../../../src/release/images.ts';
import { loadReleaseSigners } from '../../../src/release/keys.ts';
import { isSignetOutputName, planReleaseSigning } from '../../../src/release/plan.ts';
import { renderReleaseComment, renderRefusal } from '../../../src/release/render.ts';
import { example, retarget } from '../../helpers/fake-github-webhooks.ts';

describe('the command', () => {
  it('reads the tag from a line of its own', () => {
    expect(parseSignReleaseCommand('/sign-release v1.2.0')).toEqual({ tag: 'v1.2.0' });
    expect(parseSignReleaseCommand('LGTM\n  /sign-release release/2024.1  \nthanks')).toEqual({ tag: 'release/2024.1' });
    expect(parseSignReleaseCommand('please /sign-release v1')).toBeUndefined();
    expect(parseSignReleaseCommand('/sign-release v1 now')).toBeUndefined();
    expect(parseSignReleaseCommand('/sign-releasev1')).toBeUndefined();
  });

  it('refuses tags git would refuse or that could break out of a URL or a table', () => {
    for (const tag of ['../etc', 'a..b', '-rf', 'v1|x', 'v1`x', 'x.lock', 'dir/', '%2e%2e', 'a'.repeat(129)]) {
      expect(parseSignReleaseCommand(`/sign-release ${tag}`), tag).toBeUndefined();
    }
    expect(mentionsSignRelease('/sign-release ../etc')).toBe(true);
    expect(mentionsSignRelease('/sign-release')).toBe(true);
    expect(mentionsSignRelease('see /sign-release')).toBe(false);
  });

  it('lets only maintain and admin (GitHub), Maintainer and Owner (GitLab) sign', () => {
    expect(gitHubMaySign({ permission: 'write', role_name: 'maintain' })).toBe(true);
    expect(gitHubMaySign({ permission: 'admin', role_name: 'admin' })).toBe(true);
    expect(gitHubMaySign({ permission: 'write', role_name: 'write' })).toBe(false);
    expect(gitHubMaySign({ permission: 'read', role_name: 'triage' })).toBe(false);
    expect(gitHubMaySign({})).toBe(false);
    expect([10, 20, 30, 40, 50, '50', undefined].map(gitLabMaySign)).toEqual([false, false, false, true, true, false, false]);
  });
});

describe('the plan of outputs', () => {
  it("signs the release's own files and never its own outputs", () => {
    const plan = planReleaseSigning(['b.tgz', 'a.whl', 'a.whl.sig', 'checksums.txt', 'checksums.txt.asc', 'x.sigstore.json', 'release.spdx.sigstore.json', 'c.prov'], { openpgp: true, cosign: true });
    expect(plan.inputs).toEqual(['a.whl', 'b.tgz']);
    expect(plan.outputs.map((o) => o.name)).toEqual([
      'a.whl.sig', 'a.whl.sigstore.json', 'a.whl.asc', 'b.tgz.sig', 'b.tgz.sigstore.json', 'b.tgz.asc',
      'checksums.txt', 'checksums.txt.asc', 'release.spdx.sigstore.json', 'release.provenance.sigstore.json',
    ]);
    // Every output name is recognised as one: a second run plans the same outputs.
    expect(plan.outputs.every((o) => isSignetOutputName(o.name))).toBe(true);
    expect(planReleaseSigning([...plan.inputs, ...plan.outputs.map((o) => o.name)], { openpgp: true, cosign: true })).toEqual(plan);
  });

  it('adds a .prov for the inputs found to be Helm charts (OpenPGP key only), and recognises it as an output', () => {
    const charts = new Set(['chart-0.1.0.tgz']);
    const plan = planReleaseSigning(['chart-0.1.0.tgz', 'plain.tar.gz'], { openpgp: true, cosign: false }, charts);
    expect(plan.outputs.map((o) => o.name)).toEqual(['chart-0.1.0.tgz.asc', 'chart-0.1.0.tgz.prov', 'plain.tar.gz.asc', 'checksums.txt', 'checksums.txt.asc']);
    expect(plan.outputs.find((o) => o.name.endsWith('.prov'))).toMatchObject({ kind: 'helm-provenance', input: 'chart-0.1.0.tgz' });
    expect(planReleaseSigning([...plan.inputs, ...plan.outputs.map((o) => o.name)], { openpgp: true, cosign: false }, charts)).toEqual(plan);
    const cosignOnly = planReleaseSigning(['chart-0.1.0.tgz'], { openpgp: false, cosign: true }, charts);
    expect(cosignOnly.outputs.some((o) => o.kind === 'helm-provenance')).toBe(false);
    expect(cosignOnly.notes.join()).toContain('no Helm .prov for chart-0.1.0.tgz');
  });

  it('says what a missing key leaves out', () => {
    const pgpOnly = planReleaseSigning(['a.bin'], { openpgp: true, cosign: false });
    expect(pgpOnly.outputs.map((o) => o.name)).toEqual(['a.bin.asc', 'checksums.txt', 'checksums.txt.asc']);
    expect(pgpOnly.notes.join()).toContain('SIGNET_RELEASE_COSIGN_KEY');
    expect(planReleaseSigning([], { openpgp: true, cosign: true }).notes).toEqual(['the release has no assets to sign']);
  });
});

describe('configured images', () => {
  it('fills in the tag and drops empty entries', () => {
    expect(releaseImageRefs(' ghcr.io/o/app:{tag}, ,127.0.0.1:5000/o/cli:{tag}-slim ', 'v1.2.0')).toEqual(['ghcr.io/o/app:v1.2.0', '127.0.0.1:5000/o/cli:v1.2.0-slim']);
    expect(releaseImageRefs(undefined, 'v1')).toEqual([]);
    // The policy's images first, then the setting's, each once.
    expect(releaseImageRefs('ghcr.io/o/cli:{tag}, ghcr.io/o/app:{tag}', 'v2', ['ghcr.io/o/app:{tag}', 'ghcr.io/o/app:v2'])).toEqual(['ghcr.io/o/app:v2', 'ghcr.io/o/cli:v2']);
  });
});

describe('webhook plans', () => {
  const info = { fullName: 'o/r', cloneUrl: 'https://github.example/o/r.git', installationId: 1 };
  const comment = (body: string, user: Record<string, unknown>, pull = false) => {
    const payload = retarget(example('issue_comment', 'created'), info);
    if (pull) (payload.issue as Record<string, unknown>).pull_request = { url: 'x' };
    else delete (payload.issue as Record<string, unknown>).pull_request;
    Object.assign(payload.comment as object, { id: 12, body, user });
    return payload;
  };

  it('GitHub: a comment on an issue or a pull request; never from a bot', () => {
    expect(planGitHubEvent('issue_comment', comment('/sign-release v1.0.0', { login: 'mia', type: 'User' }), 'd1')).toMatchObject({ kind: 'sign-release', tag: 'v1.0.0', commentId: 12, commenter: 'mia', trigger: 'sign-release:12' });
    expect(planGitHubEvent('issue_comment', comment('/sign-release v1.0.0', { login: 'mia', type: 'User' }, true), 'd1')).toMatchObject({ kind: 'sign-release' });
    const malformed = planGitHubEvent('issue_comment', comment('/sign-release ../x', { login: 'mia', type: 'User' }), 'd1');
    expect(malformed.kind).toBe('sign-release');
    expect('tag' in malformed).toBe(false);
    expect(planGitHubEvent('issue_comment', comment('/sign-release v1.0.0', { login: 'signet[bot]', type: 'Bot' }), 'd1')).toMatchObject({ kind: 'ignore' });
    // /signet recheck still means what it meant.
    expect(planGitHubEvent('issue_comment', comment('/signet recheck', { login: 'mia', type: 'User' }, true), 'd1')).toMatchObject({ kind: 'recheck-pull' });
  });

  it('GitLab: a note on an issue or a merge request', () => {
    const project = { id: 5, path_with_namespace: 'g/p', git_http_url: 'https://gitlab.example/g/p.git' };
    const note = (type: string, extra: Record<string, unknown>) => ({ object_kind: 'note', user: { id: 3, username: 'maya' }, project, object_attributes: { id: 99, note: '/sign-release v2', noteable_type: type }, ...extra });
    expect(planGitLabEvent('Note Hook', note('Issue', { issue: { iid: 4 } }), 'd')).toMatchObject({ kind: 'sign-release', tag: 'v2', noteable: 'issues', iid: 4, noteId: 99, userId: 3 });
    expect(planGitLabEvent('Note Hook', note('MergeRequest', { merge_request: { iid: 8 } }), 'd')).toMatchObject({ kind: 'sign-release', noteable: 'merge_requests', iid: 8 });
    expect(planGitLabEvent('Note Hook', note('Commit', {}), 'd')).toMatchObject({ kind: 'ignore' });
  });
});

describe('the answer', () => {
  it('escapes what it quotes and lists the commands for what was made', () => {
    const body = renderReleaseComment({
      tag: 'v1', inputs: ['a|b<c>.bin'], notes: [],
      rows: [
        { asset: 'a|b<c>.bin.asc', made: 'OpenPGP detached signature', status: 'uploaded' },
        { asset: 'checksums.txt', made: 'SHA-256 checksums', status: 'kept', detail: 'already there and valid' },
        { asset: 'checksums.txt.asc', made: 'x', status: 'failed', detail: 'HTTP 500\nsecond line' },
      ],
    });
    // In a code span entities are shown as they are: `<` stays `<`, the pipe is `\|` (GFM's cell rule).
    expect(body).toContain('| `a\\|b<c>.bin.asc` | OpenPGP detached signature | uploaded |');
    expect(body).toContain('failed: HTTP 500␤second line |');
    expect(body).toContain('1 of 3 failed');
    expect(body).toContain('sha256sum --check checksums.txt');
    expect(body).not.toContain('gpg --verify checksums.txt.asc');
    expect(renderRefusal('will', 'v1')).toContain('@will thank you');
  });
});

describe('keys', () => {
  it('errors name the variable, never the key or the password', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const key = await encryptCosignPrivateKey(privateKey, 'right-password');
    const wrong = await loadReleaseSigners({ SIGNET_RELEASE_COSIGN_KEY: key, COSIGN_PASSWORD: 'wrong-password' }, '/').then(() => '', (e: Error) => e.message);
    expect(wrong).toContain('env://SIGNET_RELEASE_COSIGN_KEY');
    expect(wrong).not.toContain(key.split('\n')[1]!.slice(0, 20));
    expect(wrong).not.toContain('wrong-password');
    const missing = await loadReleaseSigners({ SIGNET_RELEASE_OPENPGP_KEY: '/nonexistent/release.asc' }, '/').then(() => '', (e: Error) => e.message);
    expect(missing).toContain('/nonexistent/release.asc');
    expect(await loadReleaseSigners({}, '/')).toEqual({});
    const loaded = await loadReleaseSigners({ SIGNET_RELEASE_COSIGN_KEY: key, COSIGN_PASSWORD: 'right-password' }, '/');
    expect(loaded.cosign?.keyId).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });
});
