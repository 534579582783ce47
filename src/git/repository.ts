import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { SignetError } from '../core/errors.ts';
import { configValue, readGitConfig } from './git-config.ts';
import type { HashAlgorithm } from './hash-algorithm.ts';
import { listObjectDirectories, parseAlternateEnvironment } from './object-directories.ts';
import { parseMaxObjectBytes } from './object-size-limit.ts';
import { ObjectStore } from './object-store.ts';
import { RefStore } from './refs.ts';

export interface Repository {
  gitDir: string;
  commonDir: string;
  hashAlgorithm: HashAlgorithm;
  objects: ObjectStore;
  refs: RefStore;
}

export interface OpenRepositoryOptions {
  /** A work tree, a .git directory or a bare repository; default: GIT_DIR, then the working directory. */
  path?: string;
  cwd: string;
  /**
   * The environment git gives hooks and commands: GIT_DIR, GIT_OBJECT_DIRECTORY,
   * GIT_ALTERNATE_OBJECT_DIRECTORIES (the pre-receive quarantine). Pass {} to ignore it.
   */
  env: NodeJS.ProcessEnv;
}

export function openRepository(options: OpenRepositoryOptions): Repository {
  const start = options.path ?? options.env.GIT_DIR ?? options.cwd;
  const gitDir = findGitDir(resolve(options.cwd, start), options.path === undefined && options.env.GIT_DIR === undefined);
  const commonDir = readCommonDir(gitDir);
  const config = readGitConfig(join(commonDir, 'config'));
  const format = (configValue(config, 'extensions.objectformat') ?? 'sha1').toLowerCase();
  if (format !== 'sha1' && format !== 'sha256') {
    throw new SignetError('REPOSITORY_INVALID', `${gitDir}: unknown object format '${format}'`);
  }
  const primary = options.env.GIT_OBJECT_DIRECTORY ? resolve(options.cwd, options.env.GIT_OBJECT_DIRECTORY) : join(commonDir, 'objects');
  const alternates = parseAlternateEnvironment(options.env.GIT_ALTERNATE_OBJECT_DIRECTORIES).map((dir) => resolve(options.cwd, dir));
  // The repository's own store always belongs to the search path, also when the primary is a quarantine.
  alternates.push(join(commonDir, 'objects'));
  const objects = new ObjectStore(listObjectDirectories(primary, alternates), format);
  objects.shallow = readShallow(commonDir, format);
  // The environment's, never the repository's config: a repository copied in CI is the pusher's.
  objects.maxObjectBytes = parseMaxObjectBytes(options.env.SIGNET_MAX_OBJECT_BYTES, 'SIGNET_MAX_OBJECT_BYTES');
  return { gitDir, commonDir, hashAlgorithm: format, objects, refs: new RefStore(gitDir, commonDir) };
}

/**
 * `shallow` in the repository (git's shallow.c, is_repository_shallow): one commit id a line,
 * the boundary of a clone or fetch made with --depth. A line that is not an id is an error, as
 * git's "bad shallow line" is: a walk past a boundary we misread would fail or differ from git.
 */
function readShallow(commonDir: string, format: HashAlgorithm): ReadonlySet<string> {
  let text: string;
  try {
    text = readFileSync(join(commonDir, 'shallow'), 'latin1');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw new SignetError('REPOSITORY_INVALID', `${join(commonDir, 'shallow')}: ${(error as Error).message}`);
  }
  const idPattern = format === 'sha1' ? /^[0-9a-f]{40}$/ : /^[0-9a-f]{64}$/;
  const shallow = new Set<string>();
  text.split('\n').forEach((line, index) => {
    if (line === '') return;
    if (!idPattern.test(line)) throw new SignetError('REPOSITORY_INVALID', `${join(commonDir, 'shallow')}, line ${index + 1}: not a ${format} commit id`);
    shallow.add(line);
  });
  return shallow;
}

function isGitDir(path: string): boolean {
  if (!existsSync(join(path, 'HEAD'))) return false;
  return existsSync(join(path, 'commondir')) || (existsSync(join(path, 'objects')) && existsSync(join(path, 'refs')));
}

function findGitDir(start: string, discover: boolean): string {
  let current = start;
  for (;;) {
    const dotGit = join(current, '.git');
    if (existsSync(dotGit)) {
      if (statSync(dotGit).isDirectory()) return dotGit;
      const pointer = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'));
      if (pointer) return resolve(current, pointer[1]!.trim());
    }
    if (existsSync(current) && isGitDir(current)) return current;
    const parent = dirname(current);
    if (!discover || parent === current) break;
    current = parent;
  }
  throw new SignetError('REPOSITORY_INVALID', `${start}: not a git repository`);
}

function readCommonDir(gitDir: string): string {
  try {
    const relative = readFileSync(join(gitDir, 'commondir'), 'utf8').trim();
    return isAbsolute(relative) ? relative : resolve(gitDir, relative);
  } catch {
    return gitDir;
  }
}
