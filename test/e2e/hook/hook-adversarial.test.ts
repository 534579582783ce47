import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git } from '../../helpers/git.ts';
import { makeHookFixture, type HookFixture } from '../../helpers/hook-fixture.ts';
import type { HookServer } from '../../helpers/hook-server.ts';
import { GpgHome, type GpgIdentity } from '../../helpers/signing-keys.ts';

/**
 * The pre-receive hook against an attacker who can push to any ref, with real `git push` into
 * bare repositories: each case is a way around a protected ref that worked once (issue 11) or
 * a variation of one. A refusal must leave every ref of the server as it was.
 */
const POLICY = `version: 1
keys:
  openpgp: [keys/registry.asc]
rules:
  - refs: [refs/heads/main]
    require_signed_commits: true
    signers: [alice@example.com]
    forbid_force_push: true
    forbid_deletion: true
  - refs: ["refs/heads/release/*"]
    require_signed_commits: true
    signers: [alice@example.com]
  - refs: ["refs/heads/feature/*"]
    require_signed_commits: true
  - refs: ["refs/heads/strict/*"]
    require_signed_commits: true
    signers: [bob@example.com]
  - refs: ["refs/tags/v*"]
    require_signed_tags: true
`;

describe('pre-receive hook against an attacker', () => {
  let fixture: HookFixture;
  let gpg: GpgHome;
  let alice: GpgIdentity;
  let bob: GpgIdentity;
  let serial = 0;

  beforeAll(() => {
    fixture = makeHookFixture('hook-adversarial', POLICY, ['Alice', 'Bob']);
    gpg = fixture.gpg;
    alice = fixture.people[0]!;
    bob = fixture.people[1]!;
  }, 60_000);
  afterAll(() => fixture?.remove());

  /** A fresh server whose main holds one commit signed by alice (pushed through the hook). */
  function fresh(name: string, options: { binary?: boolean } = {}): HookServer {
    return fixture.fresh(name, { ...options, file: 'f0.txt', content: '0\n' });
  }
  /** A commit on the work tree's current branch, signed by `who` (unsigned when undefined). */
  function make(host: HookServer, who: GpgIdentity | undefined, message: string): string {
    serial += 1;
    return fixture.commit(host, who, `f${serial}.txt`, `${serial}\n`, message);
  }
  function expectAccepted(result: { code: number; stderr: string }): void {
    expect(result.stderr).not.toMatch(/rejected|internal error/);
    expect(result.code, result.stderr).toBe(0);
  }
  /** The push fails, the hook said why, and no ref of the server moved. */
  function expectRefused(host: HookServer, args: string[], why: RegExp): string {
    const before = host.refs();
    const result = host.push(args);
    expect(result.code, result.stderr).not.toBe(0);
    expect(result.stderr).toMatch(why);
    expect(host.refs()).toBe(before);
    return result.stderr;
  }
  /** What the forge does without pre-receive: write a ref straight into the server. */
  function forgeWrites(host: HookServer, oid: string, ref: string): void {
    git(host.work, ['branch', '-f', 'forge-tmp', oid]);
    host.onServer(['fetch', '-q', host.work, `+refs/heads/forge-tmp:${ref}`]);
  }

  describe('commits already on the server are judged for the ref they reach', () => {
    it('refuses fast-forwarding main to an unsigned commit that came in through a branch without a rule', () => {
      const host = fresh('via-unruled');
      const unsigned = make(host, undefined, 'unsigned via topic');
      expectAccepted(host.push(['origin', 'HEAD:refs/heads/topic']));
      expect(host.ref('refs/heads/topic')).toBe(unsigned);
      expectRefused(host, ['origin', 'HEAD:refs/heads/main'], /not signed/);
    });

    it("refuses main a commit signed by a key main does not allow, which feature/*'s weaker rule accepted", () => {
      const host = fresh('via-weaker');
      make(host, bob, 'bob on a feature branch');
      expectAccepted(host.push(['origin', 'HEAD:refs/heads/feature/b']));
      expectRefused(host, ['origin', 'HEAD:refs/heads/main'], /not an allowed signer/);
      // strict/* allows bob but not alice: main's rule does not cover it, so main's own
      // alice-signed history is judged there too, and refused.
      expectRefused(host, ['origin', 'HEAD:refs/heads/strict/x'], /signed by Alice .* not an allowed signer \(bob@example\.com\)/);
    });

    it('refuses commits the forge wrote to refs/pull/* or refs/merge-requests/* without pre-receive', () => {
      const host = fresh('via-forge');
      const unsigned = make(host, undefined, 'outside contributor');
      forgeWrites(host, unsigned, 'refs/pull/1/head');
      expectRefused(host, ['origin', `${unsigned}:refs/heads/main`], /not signed/);
      forgeWrites(host, unsigned, 'refs/merge-requests/1/head');
      expectRefused(host, ['origin', `${unsigned}:refs/heads/main`], /not signed/);
      // A signed one from the same place is judged too, and passes on its merits.
      git(host.work, ['reset', '-q', '--hard', 'HEAD~1']);
      const signed = make(host, alice, 'signed contribution');
      forgeWrites(host, signed, 'refs/pull/2/head');
      expectAccepted(host.push(['origin', `${signed}:refs/heads/main`]));
    });

    it('accepts commits judged under a rule that covers main (release/*), and history main started with', () => {
      const host = fixture.serve('adoption');
      // History from before signet: unsigned, written without the hook.
      make(host, undefined, 'legacy 1');
      make(host, undefined, 'legacy 2');
      host.onServer(['fetch', '-q', host.work, '+refs/heads/main:refs/heads/main']);
      make(host, alice, 'first signed');
      expectAccepted(host.push(['origin', 'main']));
      // New branches from main under rules main's rule covers (same signers, or any key).
      expectAccepted(host.push(['origin', 'main:refs/heads/release/1']));
      expectAccepted(host.push(['origin', 'main:refs/heads/feature/new']));
      // bob's rule is not covered by main's: main's unsigned history never met it.
      expectRefused(host, ['origin', 'main:refs/heads/strict/1'], /not signed/);
      // Signed by alice on release/1, then main fast-forwards to it: judged under the same rule.
      make(host, alice, 'release fix');
      expectAccepted(host.push(['origin', 'HEAD:refs/heads/release/1']));
      expectAccepted(host.push(['origin', 'HEAD:refs/heads/main']));
    });
  });

  describe('first verdicts', () => {
    it("does not let a revoked key's commit, parked on a branch while the key was trusted, reach main", () => {
      const conf2 = join(fixture.dir, 'conf-revoked');
      mkdirSync(conf2, { recursive: true });
      writeFileSync(join(conf2, 'policy.yml'), POLICY.replace('keys/registry.asc', 'registry.asc'));
      writeFileSync(join(conf2, 'registry.asc'), alice.armoredPublicKey + bob.armoredPublicKey);
      const host = fixture.serve('revoked', { policyPath: join(conf2, 'policy.yml') });
      make(host, alice, 'initial');
      expectAccepted(host.push(['-q', 'origin', 'main']));
      git(host.work, ['checkout', '-q', '-b', 'parked']);
      const parked = make(host, alice, 'parked while alice was trusted');
      expectAccepted(host.push(['origin', 'HEAD:refs/heads/feature/parked']));
      // alice's key is compromised and revoked: the registry now holds the revoked key.
      const revoker = new GpgHome(join(fixture.dir, 'gnupg-revoker'));
      revoker.gpg(['--import'], alice.armoredPublicKey);
      const certificate = readFileSync(join(gpg.home, 'openpgp-revocs.d', `${alice.fingerprint}.rev`), 'utf8').replace(/^:-----BEGIN/m, '-----BEGIN');
      revoker.gpg(['--import'], certificate);
      writeFileSync(join(conf2, 'registry.asc'), revoker.gpg(['--armor', '--export', alice.fingerprint]) + bob.armoredPublicKey);
      expectRefused(host, ['origin', `${parked}:refs/heads/main`], /revoked/);
    });
  });

  describe('policy changes', () => {
    it('does not count history accepted under a weaker, since tightened rule as judged under the new one', () => {
      const conf3 = join(fixture.dir, 'conf-tightened');
      mkdirSync(conf3, { recursive: true });
      writeFileSync(join(conf3, 'registry.asc'), alice.armoredPublicKey + bob.armoredPublicKey);
      const before = POLICY.replace('keys/registry.asc', 'registry.asc');
      writeFileSync(
        join(conf3, 'policy.yml'),
        before.replace(
          'refs: ["refs/heads/release/*"]\n    require_signed_commits: true\n    signers: [alice@example.com]',
          'refs: ["refs/heads/release/*"]\n    require_signed_commits: true\n    signers: [alice@example.com, bob@example.com]',
        ),
      );
      const host = fixture.serve('tightened', { policyPath: join(conf3, 'policy.yml') });
      make(host, alice, 'initial');
      expectAccepted(host.push(['-q', 'origin', 'main']));
      const base = host.ref('refs/heads/main')!;
      make(host, bob, 'bob, while release/* allowed him');
      expectAccepted(host.push(['origin', 'HEAD:refs/heads/release/1']));
      // The admin tightens release/* to main's rule.
      writeFileSync(join(conf3, 'policy.yml'), before);
      expectRefused(host, ['origin', 'HEAD:refs/heads/main'], /bob, while release\/\* allowed him.*not an allowed signer/);
      // A release branch judged only under the new rule vouches for main as before.
      git(host.work, ['reset', '-q', '--hard', base]);
      make(host, alice, 'alice on release/2');
      expectAccepted(host.push(['origin', 'HEAD:refs/heads/release/2']));
      const records = readFileSync(join(host.server, 'signet', 'ref-rules.jsonl'), 'utf8');
      expect(records).toMatch(/"ref":"refs\/heads\/release\/1"/);
      expectAccepted(host.push(['origin', 'HEAD:refs/heads/main']));
    });
  });

  describe('several refs in one push', () => {
    it('judges every ref against the refs before the push: one cannot ride on another', () => {
      const host = fresh('ride');
      const unsigned = make(host, undefined, 'rides along');
      expectRefused(host, ['origin', `${unsigned}:refs/heads/topic`, `${unsigned}:refs/heads/main`], /not signed/);
      const byBob = make(host, bob, 'bob rides along');
      expectRefused(host, ['origin', `${byBob}:refs/heads/feature/r`, `${byBob}:refs/heads/main`], /not an allowed signer/);
      // Even a ref under the same rule, created in the same push, does not vouch for main.
      expectRefused(host, ['origin', `${byBob}:refs/heads/release/r`, `${byBob}:refs/heads/main`], /not an allowed signer/);
      git(host.work, ['reset', '-q', '--hard', host.ref('refs/heads/main')!]);
      const good = make(host, alice, 'good');
      expectAccepted(host.push(['origin', `${good}:refs/heads/release/r`, `${good}:refs/heads/main`]));
      expect(host.ref('refs/heads/main')).toBe(good);
    });
  });

  describe('symbolic refs', () => {
    it("judges a push through refs/heads/master → refs/heads/main by main's rule, force-push rule included", () => {
      const host = fresh('symref');
      host.onServer(['symbolic-ref', 'refs/heads/master', 'refs/heads/main']);
      const base = host.ref('refs/heads/main')!;
      const unsigned = make(host, undefined, 'through the alias');
      expectRefused(host, ['origin', `${unsigned}:refs/heads/master`], /not signed/);
      // Both names in one push: both are judged.
      expectRefused(host, ['origin', `${unsigned}:refs/heads/master`, `${unsigned}:refs/heads/main`], /not signed/);
      // A force push through the alias: main forbids it.
      git(host.work, ['checkout', '-q', '--orphan', 'rewrite']);
      const rewritten = make(host, alice, 'rewritten history');
      expectRefused(host, ['-f', 'origin', `${rewritten}:refs/heads/master`], /force-pushing refs\/heads\/main is forbidden/);
      // Deleting through the alias: main forbids that too.
      expectRefused(host, ['origin', ':refs/heads/master'], /deleting refs\/heads\/main is forbidden/);
      git(host.work, ['checkout', '-q', 'main']);
      git(host.work, ['reset', '-q', '--hard', base]);
      const good = make(host, alice, 'good through the alias');
      expectAccepted(host.push(['origin', `${good}:refs/heads/master`]));
      expect(host.ref('refs/heads/main')).toBe(good);
      expect(host.onServer(['symbolic-ref', 'refs/heads/master'])).toBe('refs/heads/main');
    });
  });

  describe('tags', () => {
    it('refuses a signed tag pushed under another name, and lightweight tags, under a signed-tag rule', () => {
      const host = fresh('tags');
      git(host.work, [...gpg.gitSigningConfig(alice), 'tag', '-s', '-m', 'release candidate', 'v1.0-rc1'], { env: gpg.env() });
      const stderr = expectRefused(host, ['origin', 'refs/tags/v1.0-rc1:refs/tags/v1.0'], /tag object named 'v1\.0-rc1'/);
      expect(stderr).toMatch(/push to refs\/tags\/v1\.0 rejected/);
      // The same object under its own name is fine.
      expectAccepted(host.push(['origin', 'refs/tags/v1.0-rc1']));
      // Once on the server, it still cannot be copied to another name.
      expectRefused(host, ['origin', 'refs/tags/v1.0-rc1:refs/tags/v1.0'], /must be pushed under its own name/);
      git(host.work, ['tag', 'v2.0']);
      expectRefused(host, ['origin', 'refs/tags/v2.0'], /lightweight tag/);
      // A lightweight tag that points at the signed tag object: the name still differs.
      git(host.work, ['tag', 'v3.0', 'v1.0-rc1']);
      expectRefused(host, ['origin', 'refs/tags/v3.0'], /tag object named 'v1\.0-rc1'/);
    });
  });

  describe('replace refs and notes', () => {
    it('refuses pushing a replace ref, which would make git show another commit in place of a signed one', () => {
      const host = fresh('replace-push');
      const main = host.ref('refs/heads/main')!;
      git(host.work, ['checkout', '-q', '--orphan', 'evil']);
      const evil = make(host, undefined, 'evil twin');
      git(host.work, ['replace', main, evil]);
      expectRefused(host, ['origin', `refs/replace/${main}`], /replace refs need a policy rule/);
    });

    it('reads the objects a push brings, never a replacement the server holds for them', () => {
      const host = fresh('replace-server');
      const unsigned = make(host, undefined, 'unsigned, replaced on the server');
      forgeWrites(host, unsigned, 'refs/pull/7/head');
      git(host.work, ['checkout', '-q', '-b', 'side', 'HEAD~1']);
      const signed = make(host, alice, 'signed stand-in');
      forgeWrites(host, signed, 'refs/pull/8/head');
      host.onServer(['replace', unsigned, signed]);
      // git itself now shows the signed stand-in for the unsigned commit.
      expect(host.onServer(['log', '-1', '--format=%s', unsigned])).toBe('signed stand-in');
      expectRefused(host, ['origin', `${unsigned}:refs/heads/main`], /unsigned, replaced on the server/);
    });

    it('lets notes through (they do not change what a commit is) and judges them when a rule names them', () => {
      const host = fresh('notes');
      git(host.work, ['notes', 'add', '-m', 'reviewed', 'HEAD']);
      expectAccepted(host.push(['origin', 'refs/notes/commits']));
      expect(host.onServer(['notes', 'show', 'main'])).toBe('reviewed');
    });
  });

  describe('deletion, re-creation, odd names', () => {
    it('refuses re-creating a deleted protected ref with commits it never judged', () => {
      const host = fresh('recreate');
      make(host, bob, 'bob on feature');
      expectAccepted(host.push(['origin', 'HEAD:refs/heads/feature/x']));
      expectAccepted(host.push(['origin', ':refs/heads/feature/x']));
      const unsigned = make(host, undefined, 'unsigned on the re-created branch');
      expectRefused(host, ['origin', `${unsigned}:refs/heads/feature/x`], /not signed/);
      expectRefused(host, ['origin', ':refs/heads/main'], /deleting refs\/heads\/main is forbidden/);
    });

    it('treats a name differing only in case as another ref, whose commits main judges again', () => {
      const host = fresh('case');
      const unsigned = make(host, undefined, 'unsigned on MAIN');
      const main = host.ref('refs/heads/main');
      expectAccepted(host.push(['origin', `${unsigned}:refs/heads/MAIN`]));
      expect(host.ref('refs/heads/main')).toBe(main);
      expectRefused(host, ['origin', `${unsigned}:refs/heads/main`], /not signed/);
    });

    it('never gets a name git refuses (.., trailing .lock, control characters) to the hook', () => {
      const host = fresh('odd-names');
      const unsigned = make(host, undefined, 'odd');
      for (const name of ['refs/heads/a..b', 'refs/heads/main.lock', 'refs/heads/x\u0001y', 'refs/heads/main/../main']) {
        const before = host.refs();
        const result = host.push(['origin', `${unsigned}:${name}`]);
        expect(result.code, name).not.toBe(0);
        expect(host.refs()).toBe(before);
      }
    });
  });

  describe('ref storage', () => {
    it('fails closed on a repository whose refs are not in files (reftable): it could not see symbolic refs', () => {
      const host = fresh('reftable');
      // git 2.39 ignores extensions in a version-0 repository, so the push itself still works.
      host.onServer(['config', 'extensions.refStorage', 'reftable']);
      make(host, alice, 'signed');
      expectRefused(host, ['origin', 'HEAD:refs/heads/main'], /refs are stored as 'reftable'.*No ref was updated/s);
    });
  });

  describe("the policy is the server's file", () => {
    it('judges a push that rewrites policy files in the repository by the server policy', () => {
      const host = fresh('policy-in-push');
      writeFileSync(join(host.work, 'policy.yml'), 'version: 1\nrules: []\n');
      mkdirSync(join(host.work, '.github'), { recursive: true });
      writeFileSync(join(host.work, '.github', 'signet.yml'), 'version: 1\nrules: []\n');
      git(host.work, ['add', 'policy.yml', '.github/signet.yml']);
      git(host.work, ['commit', '-q', '-m', 'relax the policy']);
      // Push options reach the hook only as GIT_PUSH_OPTION_*: they cannot name another policy.
      host.onServer(['config', 'receive.advertisePushOptions', 'true']);
      expectRefused(host, ['-o', 'SIGNET_POLICY=/dev/null', 'origin', 'HEAD:refs/heads/main'], /relax the policy.*not signed|not signed/);
    });
  });

  describe('the single executable', () => {
    beforeAll(() => {
      execFileSync(process.execPath, ['scripts/build-sea.mjs'], { stdio: 'pipe' });
    }, 240_000);

    it('holds the core cases: rule-less branch, forge ref, alias, renamed tag', () => {
      const host = fresh('binary', { binary: true });
      const unsigned = make(host, undefined, 'unsigned');
      expectAccepted(host.push(['origin', `${unsigned}:refs/heads/topic`]));
      expectRefused(host, ['origin', `${unsigned}:refs/heads/main`], /not signed/);
      forgeWrites(host, unsigned, 'refs/pull/1/head');
      expectRefused(host, ['origin', `${unsigned}:refs/heads/main`], /not signed/);
      host.onServer(['symbolic-ref', 'refs/heads/master', 'refs/heads/main']);
      expectRefused(host, ['origin', `${unsigned}:refs/heads/master`], /not signed/);
      git(host.work, [...gpg.gitSigningConfig(alice), 'tag', '-s', '-m', 'rc', 'v1.0-rc1', 'HEAD~1'], { env: gpg.env() });
      expectRefused(host, ['origin', 'refs/tags/v1.0-rc1:refs/tags/v1.0'], /must be pushed under its own name/);
    });
  });
});
