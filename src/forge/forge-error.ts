/**
 * A failure outside the verifier (the forge's API, git over HTTP, the policy file), with the
 * stage it happened in, so the check run can say what broke in one line a maintainer can act on.
 */
export type ForgeStage = 'fetch' | 'policy' | 'keys' | 'api' | 'verify' | 'timeout' | 'limit';

export class ForgeError extends Error {
  constructor(
    readonly stage: ForgeStage,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
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

/** One line for people: what broke and why; never a stack trace. */
export function describeFailure(error: unknown): { stage: ForgeStage; line: string } {
  if (error instanceof ForgeError) return { stage: error.stage, line: `signet ${STAGE_TEXT[error.stage]}: ${error.message}` };
  const message = (error as Error)?.message ?? String(error);
  return { stage: 'verify', line: `signet ${STAGE_TEXT.verify}: ${message.split('\n')[0]}` };
}
