/** Sizes libuv's thread pool and delays V8's optimising compiler; see process-tuning.js. */
export function tuneProcess(): void;
/** Switches the optimising compiler on now, if tuneProcess delayed it. */
export function optimiseNow(): void;
/** Sets the young generation's growth factor for its size now, for a loop that never lets the event loop turn; false once done. */
export function holdYoungGeneration(): boolean;
