/**
 * Inflates one zlib stream of a known size, reusing one zlib handle for every entry.
 *
 * Why: `inflateSync` builds a Transform stream, a zlib handle and its state for every call and
 * closes them after: ~7 µs of main-thread CPU an entry (with the optimiser held back, as a
 * verify run starts), where the inflation itself of a commit is ~2 µs. A verify run inflates one
 * entry per commit on the thread that also feeds the signature checks, so this is time the checks
 * wait for. Here one handle is written to synchronously and reset between entries.
 *
 * The handle is Node's own (`Inflate#_handle`, written to as `inflateSync` itself does): if the
 * running Node does not have the shape this relies on, every call goes to `inflateSync` instead.
 * Either way the result is the same and the checks are the same: zlib's (the stream must end,
 * its Adler-32 must match) and the caller's (exactly `size` bytes, never more).
 */
import { constants, Inflate, inflateSync } from 'node:zlib';

interface ZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOffset: number, inLength: number, output: Uint8Array, outOffset: number, outLength: number): void;
  reset(): void;
  close(): void;
  onerror: (message: string, errno: number) => void;
}

interface Reusable {
  stream: Inflate;
  handle: ZlibHandle;
  /** Written by the handle after each write: [output bytes left, input bytes left]. */
  state: Uint32Array;
  error: Error | undefined;
}

let reusable: Reusable | undefined;
/** Set once the running Node turns out not to have the handle this relies on. */
let unavailable = false;

function open(): Reusable | undefined {
  if (unavailable) return undefined;
  const stream = new Inflate() as Inflate & { _handle?: ZlibHandle; _writeState?: Uint32Array };
  const handle = stream._handle;
  const state = stream._writeState;
  if (!handle || typeof handle.writeSync !== 'function' || typeof handle.reset !== 'function' || !(state instanceof Uint32Array) || state.length < 2) {
    unavailable = true;
    stream.close();
    return undefined;
  }
  const opened: Reusable = { stream, handle, state, error: undefined };
  // Node reports a zlib error (bad data, bad checksum, unexpected end) by calling this; the
  // stream's own handler would destroy the stream, which is then of no further use.
  handle.onerror = (message: string) => {
    opened.error = new Error(message);
  };
  return opened;
}

/**
 * The zlib stream at the start of `input` (bytes after its end are ignored), inflated; throws
 * unless it ends within `input` and inflates to exactly `size` bytes.
 */
export function inflateEntry(input: Uint8Array, size: number): Buffer {
  const inflater = (reusable ??= open());
  if (!inflater) return checkedSize(inflateSync(input, { maxOutputLength: Math.max(size, 1), chunkSize: Math.max(size + 1, 64) }), size);
  // One byte more than expected: a stream that inflates to more than `size` fills it and is refused.
  const output = Buffer.allocUnsafe(size + 1);
  inflater.error = undefined;
  inflater.state[0] = 0;
  try {
    inflater.handle.writeSync(constants.Z_FINISH, input, 0, input.length, output, 0, output.length);
  } finally {
    // Whatever happened, the next entry starts from a fresh stream.
    inflater.handle.reset();
  }
  if (inflater.error) throw inflater.error;
  const produced = output.length - inflater.state[0]!;
  // Z_FINISH with room left in the output means zlib saw the stream's end (else Node reports
  // "unexpected end of file"); no room left means the stream had more than `size` bytes.
  return checkedSize(output.subarray(0, produced), size);
}

function checkedSize(inflated: Buffer, size: number): Buffer {
  if (inflated.length !== size)
    throw new Error(`inflates to ${inflated.length === size + 1 ? 'more than ' + size : inflated.length} bytes, header says ${size}`);
  return inflated;
}

/** Closes the shared handle (tests: the next entry opens a fresh one). */
export function releaseInflater(): void {
  reusable?.stream.close();
  reusable = undefined;
}
