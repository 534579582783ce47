import fc from 'fast-check';

// Property tests draw a new seed each run and print it when one fails (fast-check reports
// `seed` and `path`), so developers' runs keep exploring. CI sets SIGNET_FC_SEED: a CI verdict
// must be reproducible, and a seed that finds a bug becomes a fixed test case beside the
// property (as in test/e2e/rev/rev-walk.test.ts). Tests that pass their own seed keep it.
const seed = process.env.SIGNET_FC_SEED;
if (seed !== undefined && seed !== '') {
  if (!/^-?\d+$/.test(seed)) throw new Error(`SIGNET_FC_SEED must be an integer, not '${seed}'`);
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: Number(seed) });
}
