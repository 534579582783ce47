/**
 * The verdict cache's records are found through an open-addressing index over one buffer
 * (src/store/record-arena.ts). Commit ids are chosen by whoever makes the commits: ids ground to
 * share a long prefix must not crowd one run of slots (each lookup a scan: a quadratic run), and
 * a lookup must never answer with another id's record.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RecordArena } from '../../../src/store/record-arena.ts';

const ID = /^[0-9a-f]{40}$/;
const line = (id: string, text: string): string => `${id}\t${text}\n`;

describe('the record arena', () => {
  it('finds 20,000 ids that share their first 32 hex digits, quickly, and no id it was not given', () => {
    const arena = RecordArena.empty(4 << 20);
    const prefix = 'ab'.repeat(16);
    const ids = Array.from({ length: 20_000 }, (_, index) => `${prefix}${index.toString(16).padStart(8, '0')}`);
    const started = performance.now();
    for (const id of ids) {
      const text = line(id, `record of ${id}`);
      expect(arena.append(text, 40, Buffer.byteLength(text))).toBe(true);
    }
    for (const id of ids) expect(arena.line(arena.find(id))).toBe(`${id}\trecord of ${id}`);
    // A hash of the prefix alone put all of them in one run of slots: ~200 million comparisons.
    expect(performance.now() - started).toBeLessThan(2000);
    expect(arena.find(`${prefix}ffffffff`)).toBe(-1);
    expect(arena.find('cd'.repeat(20))).toBe(-1);
    expect(arena.size).toBe(20_000);
  });

  it('never answers with another id: ids differing in their last digit, and a SHA-1-long prefix of a SHA-256 id', () => {
    // Whoever makes the commits chooses their ids (and, under SHA-1, can grind long shared
    // prefixes): a hit must compare the whole id and its end, never a prefix or the hash alone.
    const arena = RecordArena.empty(1 << 20);
    // As an attacker who knew the per-process seed: ids whose slots collide with the lookups below,
    // so that each lookup meets the other id's record (without the seed, a miss would prove nothing).
    const slotOf = (id: string): number => (arena as unknown as { hash(id: string): number }).hash(id) & 1023;
    let long = '';
    for (let index = 0; !long; index++) {
      const candidate = createHash('sha256').update(String(index)).digest('hex');
      if (slotOf(candidate) === slotOf(candidate.slice(0, 40))) long = candidate;
    }
    let stem = '';
    for (let index = 0; !stem; index++) {
      const candidate = createHash('sha1').update(String(index)).digest('hex').slice(0, 39);
      if (slotOf(`${candidate}0`) === slotOf(`${candidate}f`)) stem = candidate;
    }
    // The last sibling (…f) is the one not stored: its lookup starts at …0's slot.
    const siblings = Array.from({ length: 16 }, (_, digit) => `${stem}${digit.toString(16)}`);
    for (const id of [long, ...siblings.slice(0, 15)]) {
      const text = line(id, `record of ${id}`);
      expect(arena.append(text, id.length, Buffer.byteLength(text))).toBe(true);
    }
    expect(arena.find(long.slice(0, 40))).toBe(-1);
    expect(arena.find(`${long}0`)).toBe(-1);
    for (const id of siblings.slice(0, 15)) expect(arena.line(arena.find(id))).toBe(`${id}\trecord of ${id}`);
    expect(arena.find(siblings[15]!)).toBe(-1);
    expect(arena.line(arena.find(long))).toBe(`${long}\trecord of ${long}`);
  });

  it('drops the oldest earlier lines for room, keeps finding the rest, and refuses a file whose line has no id', () => {
    const bytes = Buffer.alloc(4096);
    const ids = Array.from({ length: 10 }, (_, index) => index.toString(16).repeat(40).slice(0, 40));
    let written = 0;
    for (const id of ids) written += bytes.write(line(id, 'x'.repeat(50)), written);
    const arena = RecordArena.over(bytes, 0, written, ID)!;
    expect(arena.size).toBe(10);
    expect(arena.holdsEarlier).toBe(true);
    arena.dropEarlier(100);
    expect(arena.find(ids[0]!)).toBe(-1);
    expect(arena.find(ids[1]!)).toBe(-1);
    for (const id of ids.slice(2)) expect(arena.line(arena.find(id))).toBe(`${id}\t${'x'.repeat(50)}`);
    const fresh = 'f'.repeat(40);
    expect(arena.append(line(fresh, 'new'), 40, 45)).toBe(true);
    expect(arena.line(arena.find(fresh))).toBe(`${fresh}\tnew`);

    const planted = Buffer.from(`${ids[0]}\tok\nnot-an-id\tx\n`);
    expect(RecordArena.over(planted, 0, planted.length, ID)).toBeUndefined();
    const cut = Buffer.from(`${ids[0]}\tno newline`);
    expect(RecordArena.over(cut, 0, cut.length, ID)).toBeUndefined();
  });
});
