/**
 * A keyring the policy lists may hold a key signet cannot use (here on secp256k1, which gpg
 * reads and signet does not check yet): it is skipped with one warning naming file and key.
 * `signet verify` always printed it; the hook, the check run / commit status and `signet report`
 * built the same registries and said nothing. Each face now shows it once — and the file name
 * is the policy author's text, so it reaches the pusher's terminal only through forPusher and a
 * summary only as escaped Markdown.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../../src/core/policy/index.ts';
import { decideSignatures } from '../../../src/forge/decide.ts';
import { buildCheckRegistries } from '../../../src/forge/forge-keys.ts';
import { scopeOf } from '../../../src/forge/scope.ts';
import { openRepository } from '../../../src/git/repository.ts';
import { buildComplianceReport } from '../../../src/report/collect.ts';
import { renderReportMarkdown } from '../../../src/report/render-markdown.ts';
import { makeHookFixture, type HookFixture } from '../../helpers/hook-fixture.ts';
import { GpgHome as AsyncGpgHome } from '../../helpers/openpgp-gpg.ts';

/** A keyring file name with a terminal escape and Markdown in it (YAML's "\e" is ESC). */
const KEYRING = 'mixed\u001b[31m<b>*x*<i>.asc';
const POLICY = `version: 1
keys:
  openpgp: ["keys/mixed\\e[31m<b>*x*<i>.asc"]
rules:
  - refs: [refs/heads/main]
    require_signed_commits: true
`;

/** The warning lines the hook sent, as git shows them. */
const warningLines = (stderr: string) => stderr.split('\n').filter((line) => line.startsWith('remote: signet: warning: skipped '));

describe('keyring warnings reach every face, once and escaped', () => {
  /** A second GnuPG home for the key signet skips, and that key's fingerprint. */
  let coinHome: AsyncGpgHome;
  let coin: string;
  let fixture: HookFixture;

  beforeAll(async () => {
    fixture = makeHookFixture('keyring-warnings', POLICY, ['Alice']);
    coinHome = await AsyncGpgHome.create();
    coin = await coinHome.generate('Coin <coin@example.com>', 'secp256k1', 'sign', '0');
    // One usable key (alice) and one signet skips: a file with no usable key at all is an error.
    writeFileSync(join(fixture.conf, 'keys', KEYRING), fixture.people[0]!.armoredPublicKey + (await coinHome.exportPublic(coin)));
  }, 60_000);
  afterAll(async () => {
    fixture?.remove();
    await coinHome?.dispose();
  });

  it('the hook prints the warning once per push, accepted or refused, with no control byte from the file name', () => {
    const host = fixture.serve('hook');
    fixture.commit(host, fixture.people[0], 'a.txt', 'a\n', 'signed by alice');
    const accepted = host.push(['origin', 'main']);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(warningLines(accepted.stderr)).toHaveLength(1);
    expect(warningLines(accepted.stderr)[0]).toContain(coin);
    expect(warningLines(accepted.stderr)[0]).toContain('secp256k1');
    expect(accepted.stderr).not.toContain('\u001b');

    fixture.commit(host, undefined, 'b.txt', 'b\n', 'unsigned');
    const refused = host.push(['origin', 'main']);
    expect(refused.code).not.toBe(0);
    expect(warningLines(refused.stderr)).toHaveLength(1);
    expect(refused.stderr).not.toContain('\u001b');
  });

  it('the check run summary lists it as escaped Markdown, the title (GitLab commit status) counts it', async () => {
    const host = fixture.fresh('check');
    const repo = openRepository({ path: host.server, cwd: host.server, env: {} });
    const checkRegistries = await buildCheckRegistries(
      { keyrings: [{ name: KEYRING, text: readFileSync(join(fixture.conf, 'keys', KEYRING), 'latin1') }] },
      [],
    );
    const head = host.ref('refs/heads/main')!;
    const scope = scopeOf([{ ref: 'refs/heads/main', oldOid: null, newOid: head }], repo, 'main');
    const { report } = await decideSignatures({ repo, policy: parsePolicy(POLICY, 'policy.yml'), checkRegistries, scope, now: new Date() });
    expect(report.conclusion).toBe('success');
    expect(report.title).toMatch(/\(1 keyring warning\)$/);
    const line = report.summary.split('\n').find((l) => l.startsWith('- keyring warning: '));
    expect(line).toContain(coin);
    expect(line).not.toMatch(/<b>|\*x\*|\u001b/);
    repo.objects.close();
  });

  it('signet report lists it (JSON and Markdown), escaped', async () => {
    const host = fixture.fresh('report');
    const now = new Date();
    const report = await buildComplianceReport({ cwd: host.server, since: new Date(now.getTime() - 86_400_000), until: now, now, policy: fixture.policyPath });
    expect(report.keyringWarnings).toHaveLength(1);
    expect(report.keyringWarnings![0]).toContain(coin);
    const markdown = renderReportMarkdown(report);
    const section = markdown.slice(markdown.indexOf('### Keyring warnings'));
    expect(section).toContain(coin);
    expect(section).not.toMatch(/<b>|\*x\*|\u001b/);
  });
});
