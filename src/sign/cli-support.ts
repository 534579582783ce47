import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SignetError } from '../core/errors.ts';
import type { CliIO } from '../cli/io.ts';
import { EXIT_USAGE } from '../cli/io.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with strict options; a parse error becomes one usage line (exit 2). */
export function parseCommandArgs<T extends Options>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new SignetError('USAGE', `${(error as Error).message.split('\n')[0] ?? 'bad arguments'}\n${usage}`);
  }
}

/** Parses `-a key=value` annotations (cosign's flag). */
export function parseAnnotations(values: string[] | undefined): Record<string, string> {
  const annotations: Record<string, string> = {};
  for (const value of values ?? []) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new SignetError('USAGE', `annotation '${value}' must be key=value`);
    annotations[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return annotations;
}

/** Runs a command body, turning SignetErrors into one stderr line and exit 2. */
export async function runCommand(name: string, io: CliIO, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof SignetError) {
      io.stderr.write(`signet ${name}: ${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
}

export function requireString(value: string | boolean | undefined | (string | boolean)[], flag: string): string {
  if (typeof value !== 'string' || value === '') throw new SignetError('USAGE', `${flag} is required`);
  return value;
}
