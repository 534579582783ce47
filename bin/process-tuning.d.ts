/** Sizes libuv's thread pool and delays V8's optimising compiler; see process-tuning.js. */
export function tuneProcess(): void;
/** Switches the optimising compiler on now, if tuneProcess delayed it. */
export function optimiseNow(): void;
