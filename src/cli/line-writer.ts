/**
 * Buffers output lines and writes them in 64 KiB pieces, waiting for 'drain' when the
 * reader is slower than we are: a 100,000-commit report neither costs a system call per line
 * nor piles up in memory behind a slow pipe.
 */
export class LineWriter {
  private pending: string[] = [];
  private size = 0;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  async line(text: string): Promise<void> {
    this.pending.push(text, '\n');
    this.size += text.length + 1;
    if (this.size >= 64 * 1024) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.size === 0) return;
    const chunk = this.pending.join('');
    this.pending = [];
    this.size = 0;
    if (!this.stream.write(chunk)) await new Promise<void>((resolve) => this.stream.once('drain', () => resolve()));
  }
}
