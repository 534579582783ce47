/**
 * Buffers output lines and writes them in 64 KiB pieces, waiting for 'drain' when the
 * reader is slower than we are: a 100,000-commit report neither costs a system call per line
 * nor piles up in memory behind a slow pipe.
 */
export class LineWriter {
  private pending: string[] = [];
  private size = 0;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  /**
   * Queues a line; returns a promise only when the buffer was written out and the reader may
   * need waiting for: a caller awaits that alone, not one promise per line.
   */
  line(text: string): Promise<void> | undefined {
    this.pending.push(text, '\n');
    this.size += text.length + 1;
    return this.size >= 64 * 1024 ? this.flush() : undefined;
  }

  async flush(): Promise<void> {
    if (this.size === 0) return;
    const chunk = this.pending.join('');
    this.pending = [];
    this.size = 0;
    if (!this.stream.write(chunk)) await new Promise<void>((resolve) => this.stream.once('drain', () => resolve()));
  }
}
