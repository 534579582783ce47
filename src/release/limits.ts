/**
 * How much of a release signet downloads: per asset and per run, so an endless or huge asset
 * (anyone who can edit a release can add one) cannot fill the disk or hold the app for hours.
 * Downloads are written to disk as they stream, and the cap is enforced while streaming.
 */
import { SignetError } from '../core/errors.ts';

export interface ReleaseLimits {
  /** Bytes one asset may have (GitHub's own per-file limit for release assets is 2 GiB). */
  maxAssetBytes: number;
  /** Bytes one run may download in all, inputs and the existing outputs it checks. */
  maxRunBytes: number;
}

export const RELEASE_MAX_ASSET_ENV = 'SIGNET_RELEASE_MAX_ASSET_BYTES';
export const RELEASE_MAX_RUN_ENV = 'SIGNET_RELEASE_MAX_RUN_BYTES';

export const DEFAULT_RELEASE_LIMITS: ReleaseLimits = { maxAssetBytes: 2 * 1024 ** 3, maxRunBytes: 8 * 1024 ** 3 };

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `1048576`, `512M`, `2G` (binary units). */
export function parseByteSize(name: string, value: string): number {
  const match = /^\s*(\d+)\s*([kmg]?)(?:i?b)?\s*$/i.exec(value);
  const bytes = match ? Number(match[1]) * UNITS[match[2]!.toLowerCase()]! : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new SignetError('CONFIG_INVALID', `${name}: "${value.slice(0, 40)}" is not a size (a positive number of bytes, or with K, M or G)`);
  return bytes;
}

export function releaseLimitsFromEnv(env: NodeJS.ProcessEnv): ReleaseLimits {
  const asset = env[RELEASE_MAX_ASSET_ENV];
  const run = env[RELEASE_MAX_RUN_ENV];
  return {
    maxAssetBytes: asset ? parseByteSize(RELEASE_MAX_ASSET_ENV, asset) : DEFAULT_RELEASE_LIMITS.maxAssetBytes,
    maxRunBytes: run ? parseByteSize(RELEASE_MAX_RUN_ENV, run) : DEFAULT_RELEASE_LIMITS.maxRunBytes,
  };
}

export function formatBytes(bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) if (bytes >= size) return `${+(bytes / size).toFixed(1)} ${unit}`;
  return `${bytes} bytes`;
}
