import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SignetError } from '../core/errors.ts';

export interface KeySourceContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface SecretText {
  text: string;
  /** How errors name it: the path or `env://NAME`, never its content. */
  what: string;
}

/**
 * Key material from a file or, as cosign spells it, `env://NAME` (a CI secret in a variable).
 * Errors name where the key was looked for and nothing of what was there.
 */
export async function readKeyMaterial(ref: string, context: KeySourceContext): Promise<SecretText> {
  if (ref.startsWith('env://')) {
    const name = ref.slice('env://'.length);
    const value = context.env[name];
    if (value === undefined || value === '') throw new SignetError('CONFIG_INVALID', `${ref}: environment variable ${name} is not set`);
    return { text: value, what: ref };
  }
  const path = resolve(context.cwd, ref);
  try {
    return { text: await readFile(path, 'utf8'), what: ref };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SignetError('CONFIG_INVALID', `cannot read key ${ref}: ${code === 'ENOENT' ? 'no such file' : (code ?? 'read failed')}`);
  }
}
