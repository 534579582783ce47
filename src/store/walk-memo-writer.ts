import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import type { Hmac } from 'node:crypto';
import type { CommitResult } from '../core/verify-object.ts';
import { SignetError } from '../core/errors.ts';
import { HEADER_LENGTH, MAGIC, mac, VERSION, type MemoRevisions } from './walk-memo-records.ts';

const FLUSH_BYTES = 64 * 1024;

/**
 * Distinct shared verdicts a writer numbers (and a replay holds) before the table starts again
 * (`r`): with --now every OpenPGP verdict differs (its signature time), and a million of them
 * held as JSON by the writer and as objects by the replay was hundreds of megabytes.
 */
const MAX_SHARED_VERDICTS = 4096;

/** The copied records are written this much at a time. */
const COPY_CHARS = 1 << 20;

/** Streams the memo to a temporary file as results come, so a million-commit range is never held whole. */
export class MemoWriter {
  private readonly fd: number;
  private readonly hmac: Hmac;
  private readonly numbers = new Map<string, number>();
  private pending: string[] = [];
  private pendingLength = 0;
  /** An earlier memo's records were copied: nothing is added after them (their numbers are their own). */
  private copying = false;

  constructor(
    directory: string,
    private readonly temporary: string,
    secret: Buffer,
    private readonly key: string,
    revisions: MemoRevisions,
  ) {
    mkdirSync(directory, { recursive: true });
    this.fd = openSync(temporary, 'wx', 0o600);
    writeSync(this.fd, Buffer.alloc(HEADER_LENGTH, 0x20));
    this.hmac = mac(secret, key);
    this.push(`t\t${JSON.stringify({ include: revisions.include, exclude: revisions.exclude, parsed: revisions.parsed })}\n`);
  }

  /**
   * Whole lines of an earlier memo's checked records, in order, the first piece starting with
   * its `t` line: that becomes `r` (the verdict numbers start again), the rest is copied as is.
   */
  copy(text: string): void {
    let from = 0;
    if (!this.copying) {
      this.copying = true;
      this.push('r\n');
      from = text.indexOf('\n') + 1;
    }
    // In pieces cut at line ends: a piece's text can be long (a record of megabytes).
    while (from < text.length) {
      const to = from + COPY_CHARS >= text.length ? text.length : text.indexOf('\n', from + COPY_CHARS) + 1 || text.length;
      this.push(text.slice(from, to));
      from = to;
    }
  }

  add(result: CommitResult, reusable: boolean): void {
    if (this.copying) throw new SignetError('INTERNAL', 'walk memo: a record added after the copied ones');
    let number = '-';
    if (reusable) {
      const shared = JSON.stringify({ verdict: result.verdict, mergetags: result.mergetags });
      let known = this.numbers.get(shared);
      if (known === undefined) {
        if (this.numbers.size >= MAX_SHARED_VERDICTS) {
          this.numbers.clear();
          this.push('r\n');
        }
        known = this.numbers.size;
        this.numbers.set(shared, known);
        this.push(`v\t${shared}\n`);
      }
      number = String(known);
    }
    const plain = !/[\n\r]/.test(result.subject);
    this.push(`${plain ? 'c' : 'C'}\t${result.commit}\t${number}\t${result.parents.join(' ')}\t${plain ? result.subject : JSON.stringify(result.subject)}\n`);
  }

  /** Writes the header over its placeholder and returns the temporary file's name. */
  finish(): string {
    this.flush();
    const header = `${MAGIC} ${VERSION} ${this.key} ${this.hmac.digest('hex')}\n`;
    writeSync(this.fd, Buffer.from(header, 'latin1'), 0, HEADER_LENGTH, 0);
    closeSync(this.fd);
    return this.temporary;
  }

  discard(): void {
    closeSync(this.fd);
    rmSync(this.temporary, { force: true });
  }

  private push(line: string): void {
    this.pending.push(line);
    this.pendingLength += line.length;
    if (this.pendingLength >= FLUSH_BYTES) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const bytes = Buffer.from(this.pending.join(''), 'utf8');
    this.pending = [];
    this.pendingLength = 0;
    this.hmac.update(bytes);
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
  }
}
