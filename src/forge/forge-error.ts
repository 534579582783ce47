/**
 * A failure outside the verifier (the forge's API, git over HTTP, the policy file), with the
 * stage it happened in, so the check run can say what broke in one line a maintainer can act
 * on, and a code (src/core/errors.ts) so it can say whether to fix something or try again.
 */
import { kindOfCode, SignetError, type ErrorKind, type SignetErrorCode } from '../core/errors.ts';
import { forgeCodeOf } from './http-error.ts';

export type ForgeStage = 'fetch' | 'policy' | 'keys' | 'api' | 'verify' | 'timeout' | 'limit';

/** The code of a stage's failure when its cause does not say (a git fetch that failed with no HTTP status or socket code). */
const STAGE_CODE: Record<ForgeStage, SignetErrorCode> = {
  fetch: 'FORGE_REJECTED',
  policy: 'POLICY_INVALID',
  keys: 'KEYRING_INVALID',
  api: 'FORGE_REJECTED',
  verify: 'INTERNAL',
  timeout: 'TIMEOUT',
  limit: 'LIMIT_EXCEEDED',
};

export class ForgeError extends SignetError {
  constructor(
    readonly stage: ForgeStage,
    message: string,
    options?: { cause?: unknown; code?: SignetErrorCode },
  ) {
    // A timeout is a timeout whatever the aborted call says; otherwise the cause decides.
    super(options?.code ?? (stage === 'timeout' ? 'TIMEOUT' : forgeCodeOf(options?.cause)) ?? STAGE_CODE[stage], message, options);
    this.name = 'ForgeError';
  }
}

const STAGE_TEXT: Record<ForgeStage, string> = {
  fetch: 'could not fetch the commits',
  policy: 'could not read the policy',
  keys: 'could not load the signing keys',
  api: 'could not talk to the forge API',
  verify: 'could not verify the commits',
  timeout: 'did not finish in time',
  limit: 'refused to check this much',
};

/**
 * One line for people: what broke and why; never a stack trace. With it, the code and its kind:
 * the check run of an outage says "could not check, try again" (src/forge/report.ts failureReport).
 */
export function describeFailure(error: unknown): { stage: ForgeStage; code: SignetErrorCode; kind: ErrorKind; line: string } {
  const stage: ForgeStage = error instanceof ForgeError ? error.stage : 'verify';
  const code = error instanceof SignetError ? error.code : (forgeCodeOf(error) ?? 'INTERNAL');
  const kind = kindOfCode(code);
  const because = `${STAGE_TEXT[stage]}: ${((error as Error)?.message ?? String(error)).split('\n')[0]}`;
  return { stage, code, kind, line: `signet ${because}` };
}
