import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SignetError } from '../../core/errors.ts';
import { isRecord } from '../../core/sign/encoding.ts';

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv): string | undefined {
  if (env.DOCKER_CONFIG) return join(env.DOCKER_CONFIG, 'config.json');
  return env.HOME ? join(env.HOME, '.docker', 'config.json') : undefined;
}

/** The keys docker itself has used for a registry in `auths`. */
function authKeys(registry: string): string[] {
  if (registry === 'docker.io' || registry === 'index.docker.io' || registry === 'registry-1.docker.io') {
    return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];
  }
  return [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`];
}

function runHelper(helper: string, registry: string): Promise<RegistryCredentials | undefined> {
  return new Promise((resolve) => {
    const child = spawn(`docker-credential-${helper}`, ['get'], { stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => {
      if (code !== 0) return resolve(undefined);
      try {
        const value: unknown = JSON.parse(out);
        if (isRecord(value) && typeof value.Username === 'string' && typeof value.Secret === 'string')
          resolve({ username: value.Username, password: value.Secret });
        else resolve(undefined);
      } catch {
        resolve(undefined);
      }
    });
    child.stdin.end(registry);
  });
}

/**
 * Credentials for a registry from the docker client's config: `auths` entries (`auth` =
 * base64 user:password, or `username`/`password`), then `credHelpers` / `credsStore` helpers.
 * No config, no entry: anonymous.
 */
export async function lookupCredentials(registry: string, env: NodeJS.ProcessEnv): Promise<RegistryCredentials | undefined> {
  const path = dockerConfigPath(env);
  if (!path) return undefined;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    throw new SignetError('CONFIG_INVALID', `${path} is not valid JSON`);
  }
  if (!isRecord(config)) return undefined;
  const helpers = isRecord(config.credHelpers) ? config.credHelpers : {};
  const helper = helpers[registry];
  if (typeof helper === 'string') return runHelper(helper, registry);
  const found = credentialsFromAuths(config, registry);
  if (found) return found;
  if (typeof config.credsStore === 'string') return runHelper(config.credsStore, registry);
  return undefined;
}

/**
 * The `auths` entry for a registry in a docker config or a Kubernetes image pull secret
 * (`.dockerconfigjson` has the same shape): `auth` = base64 user:password, or username/password.
 */
export function credentialsFromAuths(config: unknown, registry: string): RegistryCredentials | undefined {
  const auths = isRecord(config) && isRecord(config.auths) ? config.auths : {};
  for (const key of authKeys(registry)) {
    const entry = auths[key];
    if (!isRecord(entry)) continue;
    if (typeof entry.auth === 'string' && entry.auth !== '') {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (typeof entry.username === 'string' && typeof entry.password === 'string') return { username: entry.username, password: entry.password };
  }
  return undefined;
}
