import { errorKindOf } from '../core/errors.ts';
import { EXIT_OUTAGE, EXIT_USAGE } from './io.ts';

/** The exit status of a command that threw: an outage is 3 (CI may retry), anything else 2. */
export function exitStatusOf(error: unknown): number {
  return errorKindOf(error) === 'outage' ? EXIT_OUTAGE : EXIT_USAGE;
}
