import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OidSet } from '../../../src/git/oid-set.ts';

const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');

describe('OidSet, the seen-set of a streaming walk', () => {
  it('holds exactly the ids added, across growth', () => {
    const set = new OidSet(20, 8);
    const added = Array.from({ length: 5000 }, (_, index) => sha1(`in ${index}`));
    for (const oid of added) set.add(oid);
    for (const oid of added) set.add(oid);
    expect(set.size).toBe(5000);
    for (const oid of added) expect(set.has(oid)).toBe(true);
    for (let index = 0; index < 5000; index++) expect(set.has(sha1(`out ${index}`))).toBe(false);
  });

  it('tells apart ids that share every byte but the last (no prefix or hash stands for an id)', () => {
    const set = new OidSet(32, 4);
    const base = createHash('sha256').update('x').digest('hex').slice(0, 62);
    for (let last = 0; last < 128; last += 2) set.add(`${base}${last.toString(16).padStart(2, '0')}`);
    for (let last = 0; last < 128; last++) expect(set.has(`${base}${last.toString(16).padStart(2, '0')}`)).toBe(last % 2 === 0);
  });
});
