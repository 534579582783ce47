/** Sizes libuv's thread pool and delays V8's optimising compiler; see process-tuning.js. */
export function tuneProcess(): void;
