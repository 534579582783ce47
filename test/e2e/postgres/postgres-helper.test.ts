import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findPostgresBin } from '../../helpers/postgres.ts';
import { bundleForNode } from '../../helpers/node-module.ts';

/**
 * The PostgreSQL tests' server runs as whoever runs the tests (root only through the postgres
 * user), finds its binaries without a hard-coded version, and says in one line what is missing.
 */
describe('test PostgreSQL server', () => {
  const node = process.execPath;
  const script = `
    const { startPostgres } = await import(${JSON.stringify(bundleForNode('test/helpers/postgres.ts'))});
    const { default: pg } = await import('pg');
    const server = await startPostgres();
    try {
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      const { rows } = await client.query('select 1 + 1 as two');
      await client.end();
      console.log(JSON.stringify({ two: rows[0].two }));
    } finally {
      server.stop();
    }
  `;

  it('starts, answers and stops when the tests run as an ordinary user', () => {
    // As root, run the helper as the unprivileged `nobody` (what a developer's account is).
    const asUser = process.getuid?.() === 0 ? ['runuser', '-u', 'nobody', '--', node] : [node];
    const result = spawnSync(asUser[0]!, [...asUser.slice(1), '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 90_000,
      env: { ...process.env, HOME: '/tmp' },
    });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ two: 2 });
  });

  it('finds the server binaries through PG_BIN, or pg_config --bindir', () => {
    const bindir = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' }).stdout.trim();
    expect(findPostgresBin({ PATH: process.env.PATH })).toBe(bindir);
    expect(findPostgresBin({ PATH: process.env.PATH, PG_BIN: bindir })).toBe(bindir);
  });

  it('says in one line what is missing', () => {
    expect(() => findPostgresBin({ PATH: process.env.PATH, PG_BIN: '/nonexistent/bin' })).toThrow(
      /^PG_BIN=\/nonexistent\/bin holds no initdb and pg_ctl: point it at a PostgreSQL server's bin directory/,
    );
    try {
      findPostgresBin({ PG_BIN: '/nonexistent/bin' });
    } catch (error) {
      expect((error as Error).message).not.toContain('\n');
    }
  });
});
