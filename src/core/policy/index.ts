/** The policy engine: parse and validate a policy file, then decide ref updates against it. */
export { checkPolicy, parsePolicy } from './parse.ts';
export { commitRulesForRef, evaluateRefUpdate, ruleCovers, rulesForRef } from './evaluate.ts';
export { globMatches, globProblem } from './glob.ts';
export { entryMatches, parseSignerEntry } from './signers.ts';
export type * from './types.ts';
