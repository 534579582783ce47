/**
 * The tools the tests run, from scripts/prerequisites.txt (the one list .ci/run installs and the
 * README shows): which are missing, each as one line saying how to install it.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { findPostgresBin } from './postgres.ts';

export interface Prerequisite {
  debianPackage: string;
  commands: string[];
}

export function readPrerequisites(path = 'scripts/prerequisites.txt'): Prerequisite[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [debianPackage, ...commands] = line.split(/\s+/);
      return { debianPackage: debianPackage!, commands: commands.filter((command) => command !== '-') };
    });
}

function onPath(command: string, env: NodeJS.ProcessEnv): boolean {
  return (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .some((dir) => {
      try {
        accessSync(join(dir, command), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

/** One line per missing command: what is missing and the apt-get line that installs it. */
export function missingPrerequisites(list: Prerequisite[], env: NodeJS.ProcessEnv = process.env): string[] {
  const lines: string[] = [];
  for (const { debianPackage, commands } of list) {
    for (const command of commands) {
      // PostgreSQL's server is not on PATH on Debian; the test helper finds it (PG_BIN too).
      const found = command === 'initdb' ? hasPostgres(env) : onPath(command, env);
      if (!found)
        lines.push(`missing ${command}: sudo apt-get install ${debianPackage}${command === 'initdb' ? ' (or set PG_BIN to a PostgreSQL bin directory)' : ''}`);
    }
  }
  return lines;
}

function hasPostgres(env: NodeJS.ProcessEnv): boolean {
  try {
    findPostgresBin(env);
    return true;
  } catch {
    return false;
  }
}
