/**
 * The verdict memo's and the installation shares' settings (docs/app.md "Settings"): read,
 * defaulted, and refused with one line naming the variable.
 */
import { describe, expect, it } from 'vitest';
import { readServerConfig } from '../../../src/server/config.ts';

const gitlab = { GITLAB_URL: 'https://gitlab.example.com', GITLAB_TOKEN: 'token', GITLAB_WEBHOOK_SECRET: 'secret' };

describe('memo and share settings', () => {
  it('defaults to 500,000 entries, 128 MiB, 64 registries and two checks per installation', () => {
    const config = readServerConfig(gitlab, '/tmp');
    expect(config.memo).toEqual({ maxEntries: 500_000, maxBytes: 128 * 1024 * 1024, maxRegistries: 64, maxRegistryBytes: 64 * 1024 * 1024 });
    expect(config.checksPerInstallation).toBe(2);
  });

  it('reads each bound, sizes with binary units, and 0 entries (no memo)', () => {
    const config = readServerConfig(
      {
        ...gitlab,
        SIGNET_MEMO_MAX_ENTRIES: '0',
        SIGNET_MEMO_MAX_BYTES: '64M',
        SIGNET_MEMO_MAX_REGISTRIES: '8',
        SIGNET_MEMO_MAX_REGISTRY_BYTES: '16M',
        SIGNET_CHECKS_PER_INSTALLATION: '4',
      },
      '/tmp',
    );
    expect(config.memo).toEqual({ maxEntries: 0, maxBytes: 64 * 1024 * 1024, maxRegistries: 8, maxRegistryBytes: 16 * 1024 * 1024 });
    expect(config.checksPerInstallation).toBe(4);
  });

  it('refuses a value that is not a whole number, naming the variable', () => {
    expect(() => readServerConfig({ ...gitlab, SIGNET_MEMO_MAX_ENTRIES: '1e3' }, '/tmp')).toThrow(
      "SIGNET_MEMO_MAX_ENTRIES must be a whole number of at least 0, not '1e3'",
    );
    expect(() => readServerConfig({ ...gitlab, SIGNET_MEMO_MAX_BYTES: '0' }, '/tmp')).toThrow(/^SIGNET_MEMO_MAX_BYTES: /);
    expect(() => readServerConfig({ ...gitlab, SIGNET_CHECKS_PER_INSTALLATION: '0' }, '/tmp')).toThrow(/SIGNET_CHECKS_PER_INSTALLATION/);
  });
});
