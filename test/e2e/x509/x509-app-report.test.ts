/**
 * The X.509 and keyless trust a policy names reaches every face: the app and bot (policy and key
 * files read from the default branch through the forge) and `signet report` build the same
 * registries as the hook and `signet verify --policy`. An openssl-made CMS commit signature by a
 * leaf of a test CA is G with the policy's roots, and not G without them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCommitObject } from '../../../src/core/verify-object.ts';
import { buildCheckRegistries } from '../../../src/forge/forge-keys.ts';
import { loadPolicy } from '../../../src/forge/policy-source.ts';
import { loadReportContext } from '../../../src/report/collect.ts';
import { git, gitBytes, tempDir } from '../../helpers/git.ts';
import { opensslSignedCommit, TestCa } from '../../helpers/x509-gpgsm.ts';

describe('X.509 trust from the policy in the app and in reports', () => {
  const dir = tempDir('x509-faces');
  const repo = join(dir.path, 'repo');
  let commit: string;
  let ca: TestCa;
  const policyText = (roots: boolean) => `version: 1
${roots ? 'keys:\n  x509_roots: [keys/corp-ca.pem]\n' : ''}rules:
  - refs: [refs/heads/main]
    require_signed_commits: true
`;

  beforeAll(() => {
    git(dir.path, ['init', '-q', '-b', 'main', repo]);
    ca = new TestCa(dir.path, 'corp');
    const leaf = ca.issue('dev', 'dev@example.com');
    commit = opensslSignedCommit(repo, leaf, 'signed by corporate PKI');
  }, 120_000);
  afterAll(() => dir.remove());

  const verify = async (registries: Parameters<typeof verifyCommitObject>[2]) =>
    (await verifyCommitObject(commit, gitBytes(repo, ['cat-file', 'commit', commit]), registries, { hash: 'sha1', now: new Date() })).verdict;

  it('the app reads keys.x509_roots from the default branch and judges the commit G; without them not G', async () => {
    const files = new Map<string, Uint8Array>([
      ['.github/signet.yml', Buffer.from(policyText(true))],
      ['.github/keys/corp-ca.pem', readFileSync(ca.certificate)],
    ]);
    const loaded = await loadPolicy(async (path) => files.get(path), ['.github/signet.yml']);
    expect(loaded?.files.x509Roots?.map((file) => file.name)).toEqual(['.github/keys/corp-ca.pem']);
    const { registries } = await buildCheckRegistries(loaded!.files, []);
    const verdict = await verify(registries);
    expect(verdict).toMatchObject({ status: 'G', format: 'x509', signer: 'dev@example.com' });

    const without = await loadPolicy(async (path) => (path === '.github/signet.yml' ? Buffer.from(policyText(false)) : undefined), ['.github/signet.yml']);
    expect((await verify((await buildCheckRegistries(without!.files, [])).registries)).status).not.toBe('G');
  });

  it('a root the policy names but the default branch lacks is an error, not a silent pass', async () => {
    await expect(
      loadPolicy(async (path) => (path === '.github/signet.yml' ? Buffer.from(policyText(true)) : undefined), ['.github/signet.yml']),
    ).rejects.toThrow(/keys\.x509_roots\[0\] names \.github\/keys\/corp-ca\.pem, which is not on the default branch/);
  });

  it("signet report builds its registries with the policy's X.509 roots", async () => {
    const policyDir = join(dir.path, 'policy');
    git(dir.path, ['init', '-q', policyDir]);
    writeFileSync(join(policyDir, 'policy.yml'), policyText(true).replace('keys/corp-ca.pem', 'corp-ca.pem'));
    writeFileSync(join(policyDir, 'corp-ca.pem'), readFileSync(ca.certificate));
    const context = await loadReportContext({ repo, cwd: dir.path, policy: join(policyDir, 'policy.yml') });
    expect((await verify(context.registries)).status).toBe('G');
  });
});
