import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignatureVerdict } from '../../../src/core/verdict.ts';
import { openPostgresStore } from '../../../src/store/sql-postgres.ts';
import { openSqliteStore } from '../../../src/store/sql-sqlite.ts';
import { openStore, type SignetStore } from '../../../src/store/store.ts';
import { startPostgres, type TestPostgres } from '../../helpers/postgres.ts';

const good: SignatureVerdict = { status: 'G', format: 'ssh', reason: 'valid', key: 'SHA256:abc', signer: 'alice@example.com' };
const other: SignatureVerdict = { status: 'R', format: 'openpgp', reason: 'revoked_key' };

let dir: string;
let postgres: TestPostgres;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'signet-store-'));
  postgres = await startPostgres();
});

afterAll(() => {
  postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function contract(name: string, open: () => Promise<SignetStore>): void {
  describe(name, () => {
    let store: SignetStore;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store.close();
    });

    it('keeps the first verdict of a commit and never overwrites it', async () => {
      const base = { repository: 'github:o/r', ref: 'refs/heads/main', recordedAt: '2025-01-01T00:00:00.000Z' };
      await store.recordFirstVerdicts([{ ...base, commit: 'a'.repeat(40), verdict: good, delivery: 'd1' }]);
      await store.recordFirstVerdicts([
        { ...base, commit: 'a'.repeat(40), verdict: other, delivery: 'd2' },
        { ...base, commit: 'b'.repeat(40), verdict: other, delivery: 'd2' },
      ]);
      const found = await store.lookupVerdicts('github:o/r', ['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40)]);
      expect(found.get('a'.repeat(40))).toEqual(good);
      expect(found.get('b'.repeat(40))).toEqual(other);
      expect(found.has('c'.repeat(40))).toBe(false);
      // Another repository with the same commit id is another record.
      expect((await store.lookupVerdicts('github:o/other', ['a'.repeat(40)])).size).toBe(0);
      expect((await store.lookupVerdicts('github:o/r', [])).size).toBe(0);
    });

    it('looks up more commits than one statement takes', async () => {
      const commits = Array.from({ length: 1200 }, (_, i) => i.toString(16).padStart(40, '0'));
      await store.recordFirstVerdicts(
        commits.map((commit) => ({ repository: 'github:o/many', commit, verdict: good, recordedAt: 'x', ref: 'r', delivery: 'd' })),
      );
      expect((await store.lookupVerdicts('github:o/many', commits)).size).toBe(1200);
    });

    it('appends audit entries and lists them newest first', async () => {
      await store.appendAudit({
        at: '2025-01-01T00:00:00Z',
        forge: 'github',
        repository: 'github:o/audit',
        event: 'push',
        delivery: 'd1',
        headSha: 'f'.repeat(40),
        outcome: 'success',
        detail: { commits: 3 },
      });
      await store.appendAudit({
        at: '2025-01-01T00:00:01Z',
        forge: 'gitlab',
        repository: 'github:o/audit',
        event: 'merge_request',
        delivery: 'd2',
        outcome: 'error',
        detail: { error: 'fetch failed' },
      });
      const entries = await store.listAudit('github:o/audit', 10);
      expect(entries.map((e) => e.delivery)).toEqual(['d2', 'd1']);
      expect(entries[0]).toMatchObject({ forge: 'gitlab', outcome: 'error', detail: { error: 'fetch failed' } });
      expect(entries[0]!.headSha).toBeUndefined();
      expect(entries[1]).toMatchObject({ headSha: 'f'.repeat(40), detail: { commits: 3 } });
    });

    it('gives a claim to one caller, lets an expired unfinished claim be taken over, never a completed one', async () => {
      const now = new Date('2025-01-01T00:00:00Z');
      const claim = { repository: 'github:o/claims', headSha: 'e'.repeat(40), trigger: 'delivery-1', leaseMs: 60_000 };
      expect(await store.claimCheck({ ...claim, owner: 'one', now })).toBe(true);
      expect(await store.claimCheck({ ...claim, owner: 'two', now: new Date(now.getTime() + 1000) })).toBe(false);
      // The first owner died: after the lease, another may take it.
      expect(await store.claimCheck({ ...claim, owner: 'two', now: new Date(now.getTime() + 61_000) })).toBe(true);
      await store.completeCheck(claim.repository, claim.headSha, claim.trigger, { checkRunId: '7', conclusion: 'success' });
      expect(await store.claimCheck({ ...claim, owner: 'three', now: new Date(now.getTime() + 10_000_000) })).toBe(false);
      // A released claim is free again at once.
      const other = { ...claim, trigger: 'delivery-2' };
      expect(await store.claimCheck({ ...other, owner: 'one', now })).toBe(true);
      await store.releaseCheck(other.repository, other.headSha, other.trigger);
      expect(await store.claimCheck({ ...other, owner: 'two', now })).toBe(true);
    });
  });
}

contract('SQLite store', async () => openSqliteStore(join(dir, 'nested', 'signet.sqlite')));
contract('PostgreSQL store', async () => openPostgresStore(postgres.url));

describe('openStore', () => {
  it('chooses PostgreSQL when DATABASE_URL is set, SQLite otherwise', async () => {
    const sqlite = await openStore({ SIGNET_SQLITE_PATH: 'db/x.sqlite' }, dir);
    expect(sqlite.kind).toBe('sqlite');
    await sqlite.close();
    const pgStore = await openStore({ DATABASE_URL: postgres.url }, dir);
    expect(pgStore.kind).toBe('postgres');
    await pgStore.close();
  });

  it('SQLite data survives reopening the file', async () => {
    const path = join(dir, 'reopen.sqlite');
    const first = openSqliteStore(path);
    await first.recordFirstVerdicts([{ repository: 'r', commit: '1'.repeat(40), verdict: good, recordedAt: 't', ref: 'x', delivery: 'd' }]);
    await first.close();
    const second = openSqliteStore(path);
    expect((await second.lookupVerdicts('r', ['1'.repeat(40)])).get('1'.repeat(40))).toEqual(good);
    await second.close();
  });

  it('many PostgreSQL clients racing for one claim: exactly one wins', async () => {
    const stores = await Promise.all([1, 2, 3, 4].map(() => openPostgresStore(postgres.url)));
    try {
      const now = new Date();
      for (let round = 0; round < 5; round++) {
        const results = await Promise.all(
          stores.flatMap((store, i) =>
            [0, 1].map((j) =>
              store.claimCheck({ repository: 'github:o/race', headSha: 'd'.repeat(40), trigger: `round-${round}`, owner: `${i}-${j}`, leaseMs: 60_000, now }),
            ),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      }
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});
