/** The hook's file store of first verdicts: first wins, one append per bucket, torn lines never accept. */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SignatureVerdict } from '../../../src/core/verdict.ts';
import { VerdictRecords, type VerdictRecord } from '../../../src/store/verdict-records.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function directory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'signet-verdicts-'));
  dirs.push(dir);
  return join(dir, 'verdicts');
}

const verdict = (status: SignatureVerdict['status']): SignatureVerdict =>
  ({ status, format: 'openpgp', reason: status === 'G' ? 'valid' : 'unsigned' }) as SignatureVerdict;
const record = (commit: string, status: SignatureVerdict['status'], ref = 'refs/heads/main'): VerdictRecord => ({
  commit,
  verdict: verdict(status),
  acceptedAt: '2026-12-03T00:00:00.000Z',
  ref,
  pusher: 'alice',
});
const id = (n: number, width = 40) => n.toString(16).padStart(4, '0').repeat(16).slice(0, width);

describe('first-verdict records', () => {
  it('keeps the first verdict of a commit, across instances, and never rewrites it', () => {
    const dir = directory();
    const a = new VerdictRecords(dir);
    a.recordFirst(record(id(1), 'G', 'refs/heads/a'));
    a.recordFirst(record(id(1), 'N', 'refs/heads/b'));
    const b = new VerdictRecords(dir);
    b.recordAllFirst([record(id(1), 'E', 'refs/heads/c'), record(id(2), 'G')]);
    const c = new VerdictRecords(dir);
    expect(c.lookup(id(1))).toMatchObject({ ref: 'refs/heads/a', verdict: { status: 'G' } });
    expect(c.lookup(id(2))).toMatchObject({ verdict: { status: 'G' } });
    expect(c.lookup(id(3))).toBeUndefined();
    // id(1) once on disk, whatever was asked later.
    const lines = readFileSync(join(dir, `${id(1).slice(0, 2)}.jsonl`), 'utf8')
      .trim()
      .split('\n');
    expect(lines.filter((line) => line.includes(id(1)))).toHaveLength(1);
  });

  it('writes one file per id prefix, however many commits a push brings', () => {
    const dir = directory();
    const store = new VerdictRecords(dir);
    const many = Array.from({ length: 2000 }, (_, i) => record(`${(i % 7).toString(16).padStart(2, '0')}${id(i).slice(2)}`, 'G'));
    store.recordAllFirst(many);
    expect(readdirSync(dir).sort()).toEqual(['00', '01', '02', '03', '04', '05', '06'].map((p) => `${p}.jsonl`));
    const again = new VerdictRecords(dir);
    for (const r of many) expect(again.lookup(r.commit)?.commit).toBe(r.commit);
  });

  it('skips a torn line and keeps later records apart from it', () => {
    const dir = directory();
    new VerdictRecords(dir).recordFirst(record(id(1), 'G'));
    const path = join(dir, `${id(1).slice(0, 2)}.jsonl`);
    // A write cut short by a crash: half a record, no newline.
    appendFileSync(path, JSON.stringify(record(id(2), 'G')).slice(0, 40));
    const store = new VerdictRecords(dir);
    expect(store.lookup(id(2))).toBeUndefined();
    store.recordFirst(record(id(2), 'N'));
    const fresh = new VerdictRecords(dir);
    expect(fresh.lookup(id(1))?.verdict.status).toBe('G');
    expect(fresh.lookup(id(2))?.verdict.status).toBe('N');
  });

  it('answers nothing for ids that are not commit ids, and refuses to record them', () => {
    const store = new VerdictRecords(directory());
    expect(store.lookup('../../etc/passwd')).toBeUndefined();
    expect(store.lookup(id(1).toUpperCase())).toBeUndefined();
    expect(() => store.recordFirst(record('../x', 'G'))).toThrow(/not a commit id/);
    expect(store.lookup(id(1, 64))).toBeUndefined();
    store.recordFirst(record(id(1, 64), 'G'));
    expect(store.lookup(id(1, 64))?.verdict.status).toBe('G');
  });
});
