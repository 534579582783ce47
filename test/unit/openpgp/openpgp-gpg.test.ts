import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOnThreadPool } from '../../../src/core/native-verify.ts';
import { loadOpenPgpRegistry, verifyOpenPgpSignature, verifyOpenPgpSignatureWithOpenPgpJs, type OpenPgpRegistry } from '../../../src/core/openpgp/index.ts';
import { expectedLetter, GpgHome, mapLimited, type GpgVerification } from '../../helpers/openpgp-gpg.ts';
import { buildScenarios, unknownKeyCase, type Scenario, type SignatureCase } from '../../helpers/openpgp-scenarios.ts';

// Differential test against gpg 2.2: every signature below was made by real gpg, and the letter
// we must give is computed by running `gpg --status-fd 1 --verify` in a keyring holding exactly
// the registry's keys at ultimate owner trust, then reading its status lines as git does.

const now = Math.floor(Date.now() / 1000);
let scenarios: Scenario[] = [];
let verifier: GpgHome;
let registry: OpenPgpRegistry;
const cases: SignatureCase[] = [];
const extraHomes: GpgHome[] = [];

beforeAll(async () => {
  const [built, unknown, home] = await Promise.all([buildScenarios(now), unknownKeyCase(now), GpgHome.create()]);
  scenarios = built;
  verifier = home;
  extraHomes.push(unknown.home);
  const publicKeys = scenarios.flatMap((scenario) => scenario.publicKeys);
  await verifier.importKeys(publicKeys);
  await verifier.trustUltimately(scenarios.flatMap((scenario) => scenario.fingerprints));
  registry = await loadOpenPgpRegistry(publicKeys.map((text, index) => ({ name: `key-${index}.asc`, text })));
  cases.push(...scenarios.flatMap((scenario) => scenario.cases), unknown.case);
});

afterAll(async () => {
  await Promise.all([...scenarios.flatMap((scenario) => scenario.homes), ...extraHomes, verifier].filter(Boolean).map((home) => home.dispose()));
});

describe('OpenPGP verdicts equal gpg 2.2 as git reads it', () => {
  it('covers every scenario with the letter gpg gives', async () => {
    const seen = new Set<string>();
    const mismatches: string[] = [];
    // gpg runs are the slow part: several at once, all reading the same keyring.
    const gpgAnswers = await mapLimited(cases, 4, (testCase) => verifier.verify(testCase.signature, testCase.payload, testCase.at));
    for (const [index, testCase] of cases.entries()) {
      const options = { now: new Date(testCase.at * 1000) };
      const gpg: GpgVerification | undefined = gpgAnswers[index];
      if (!gpg) throw new Error('missing gpg answer');
      const ours = await verifyOpenPgpSignature(registry, testCase.payload, testCase.signature, options);
      // The cryptography on the thread pool (as `signet verify` runs it) gives the same verdict.
      expect(await verifyOpenPgpSignature(registry, testCase.payload, testCase.signature, { ...options, runner: runOnThreadPool }), testCase.name).toEqual(
        ours,
      );
      const reference = await verifyOpenPgpSignatureWithOpenPgpJs(registry, testCase.payload, testCase.signature, options);
      seen.add(ours.status);
      if (process.env.SIGNET_SHOW)
        process.stdout.write(
          `${testCase.name.padEnd(70)} gpg ${gpg.letter} ours ${ours.status} ${ours.reason} ref ${reference.status} | ${ours.detail ?? ''}\n`,
        );
      const want = expectedLetter(gpg.letter);
      if (ours.status !== want)
        mismatches.push(`${testCase.name}: gpg ${gpg.letter}, ours ${ours.status} (${ours.reason}: ${ours.detail ?? ''})\n${gpg.status}`);
      if (testCase.openpgpJsDiffers) {
        // The documented divergence must still be what happens, or the comment is stale.
        expect(reference.status, `${testCase.name}: ${testCase.openpgpJsDiffers}`).not.toBe(ours.status);
      } else if (reference.status !== ours.status) {
        mismatches.push(`${testCase.name}: fast path ${ours.status} (${ours.detail ?? ''}), openpgp.js ${reference.status} (${reference.detail ?? ''})`);
      }
      if (gpg.validKey && ['G', 'X', 'Y', 'R'].includes(ours.status)) {
        expect(ours.key, testCase.name).toBe(gpg.validKey);
        expect(ours.primaryKey, testCase.name).toBe(gpg.validPrimary);
      }
      if (gpg.userId && ours.status !== 'E') expect(ours.signer, testCase.name).toBe(gpg.userId);
    }
    expect(mismatches).toEqual([]);
    // The scenarios are meant to reach every letter an OpenPGP signature can get.
    expect([...seen].sort()).toEqual(['B', 'E', 'G', 'R', 'X', 'Y']);
  });
});
