/**
 * `signet … | head`: when the reader goes away, a write fails with EPIPE (Node ignores SIGPIPE),
 * which would end the process with an unhandled 'error' stack trace. We end at once, quietly,
 * with 141 (128 + SIGPIPE), what a shell reports for `yes | head`: not 0, because output that
 * was cut short must not read as a verification that passed (`set -o pipefail` sees it).
 */
export const EXIT_CLOSED_PIPE = 141;

export function endQuietlyWhenReaderLeaves(streams: NodeJS.WritableStream[], exit: (code: number) => void = (code) => process.exit(code)): void {
  for (const stream of streams) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') {
        exit(EXIT_CLOSED_PIPE);
        return;
      }
      throw error;
    });
  }
}
