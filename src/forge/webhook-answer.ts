/**
 * What a webhook route answers when a delivery could not be handled because of an outage (the
 * store, the forge or the time budget; docs/architecture.md "Errors"): 503 with Retry-After, so
 * the sender — or an admin pressing "redeliver" — tries again. Nothing was posted, so nothing
 * passed. Any other delivery that got this far is answered 2xx as before (its verdict or its
 * failure is on the check run and in the audit trail); bad input was refused with 4xx earlier.
 */
import { errorCodeOf, kindOfCode, type ErrorKind, type SignetErrorCode } from '../core/errors.ts';

/** Seconds a sender is asked to wait before retrying after an outage. */
export const RETRY_AFTER_SECONDS = 60;

export interface OutageAnswer {
  status: 503;
  headers: { 'retry-after': string };
  body: { error: string; code: SignetErrorCode };
}

function answer(code: SignetErrorCode): OutageAnswer {
  return {
    status: 503,
    headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
    body: { error: 'signet could not check this delivery: a service it needs is unavailable; nothing was posted, try again', code },
  };
}

/** The 503 answer for a check that was not posted because of an outage, else undefined. */
export function outageAnswerOfFailure(failure: { kind: ErrorKind; code: SignetErrorCode } | undefined): OutageAnswer | undefined {
  return failure?.kind === 'outage' ? answer(failure.code) : undefined;
}

/** The 503 answer for an error thrown while handling a delivery, when it is an outage. */
export function outageAnswerOfError(error: unknown): OutageAnswer | undefined {
  const code = errorCodeOf(error);
  return kindOfCode(code) === 'outage' ? answer(code) : undefined;
}
