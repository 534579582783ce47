import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SignetError } from '../../core/errors.ts';
import { parsePolicy } from '../../core/policy/index.ts';
import { runPreReceive } from '../../hook/pre-receive.ts';
import { openRepository } from '../../git/repository.ts';
import { EXIT_OK, type CliIO } from '../io.ts';

/** Every hook signet writes carries this marker, so uninstall never removes someone else's hook. */
export const HOOK_MARKER = 'signet-pre-receive-hook';

const HELP = `usage: signet hook pre-receive            (run by git; reads <old> <new> <ref> lines)
       signet hook install --repo BARE.git --policy FILE [--binary PATH [--copy] | --script] [--force]
       signet hook install --repo BARE.git --uninstall

install writes hooks/pre-receive as a small script that runs one installed signet executable
(dist/signet from 'npm run build', this executable, or --binary PATH), so a server with many
repositories keeps one copy; that executable must not be writable by anyone but its owner
(root or you). --copy copies the executable into the repository instead (GitHub Enterprise
Server, whose hooks run in a chroot, needs it). With --script, or without a built executable,
the script runs this signet with node. Each sets 'signet.policy' in the repository's config.
`;

export async function runHook(argv: string[], io: CliIO): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'pre-receive') return runPreReceive(io);
  if (sub === 'install') return install(rest, io);
  if (sub === 'uninstall') return install([...rest, '--uninstall'], io);
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.stdout.write(HELP);
    return sub === undefined ? 2 : EXIT_OK;
  }
  throw new SignetError('USAGE', `unknown hook subcommand '${sub}' (pre-receive, install, uninstall)`);
}

function install(argv: string[], io: CliIO): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      repo: { type: 'string' },
      policy: { type: 'string' },
      binary: { type: 'string' },
      script: { type: 'boolean' },
      copy: { type: 'boolean' },
      force: { type: 'boolean' },
      uninstall: { type: 'boolean' },
    },
    strict: true,
  });
  if (!values.repo) throw new SignetError('USAGE', 'hook install needs --repo BARE.git');
  const repo = openRepository({ path: values.repo, cwd: io.cwd, env: {} });
  const hookPath = join(repo.commonDir, 'hooks', 'pre-receive');
  const configPath = join(repo.commonDir, 'config');
  const existing = existsSync(hookPath) ? readFileSync(hookPath) : undefined;
  const ours = existing?.includes(HOOK_MARKER) ?? false;

  if (values.uninstall) {
    if (existing && !ours) throw new SignetError('USAGE', `${hookPath} is not signet's hook; leaving it alone`);
    rmSync(hookPath, { force: true });
    try {
      execFileSync('git', ['config', '--file', configPath, '--unset', 'signet.policy'], { stdio: 'ignore' });
    } catch {
      // not set: nothing to undo
    }
    io.stdout.write(`signet: removed the pre-receive hook from ${repo.commonDir}\n`);
    return EXIT_OK;
  }

  if (!values.policy) throw new SignetError('USAGE', 'hook install needs --policy FILE');
  const policyPath = resolve(io.cwd, values.policy);
  // Refuse to install a hook that would reject every push because its policy is broken.
  parsePolicy(readPolicyText(policyPath), policyPath);
  if (existing && !ours && !values.force) throw new SignetError('USAGE', `${hookPath} already exists and is not signet's; use --force to replace it`);

  const binary = values.script ? undefined : values.binary ? resolve(io.cwd, values.binary) : findExecutable();
  if (values.copy && !binary)
    throw new SignetError('USAGE', '--copy needs the built executable (npm run build, or --binary PATH); it does not go with --script');
  if (binary && !values.copy) refuseWritableByOthers(binary);
  rmSync(hookPath, { force: true });
  if (binary && values.copy) {
    copyFileSync(binary, hookPath);
  } else if (binary) {
    // One installed executable for every repository: the hook only names it.
    writeFileSync(
      hookPath,
      `#!/bin/sh\n# ${HOOK_MARKER}: installed by 'signet hook install'; runs the signet executable below\nexec ${shellQuote(binary)} hook pre-receive\n`,
    );
  } else {
    const script = join(packageRoot(), 'bin', 'signet.js');
    writeFileSync(hookPath, `#!/bin/sh\n# ${HOOK_MARKER}: installed by 'signet hook install'\nexec '${process.execPath}' '${script}' hook pre-receive\n`);
  }
  chmodSync(hookPath, 0o755);
  execFileSync('git', ['config', '--file', configPath, 'signet.policy', policyPath]);
  const what = binary ? (values.copy ? 'a copy of the signet executable' : `a script that runs ${binary}`) : 'a node script';
  io.stdout.write(`signet: installed ${what} as ${hookPath}\nsignet: policy ${policyPath}\n`);
  return EXIT_OK;
}

/**
 * The hook runs the named executable on every push, so whoever can change that file (or swap
 * it in its directory) decides every push: refuse one that others than its owner can write,
 * or whose owner is neither root nor us.
 */
function refuseWritableByOthers(binary: string): void {
  const uid = process.getuid?.() ?? 0;
  for (const [path, what] of [
    [binary, 'the executable'],
    [dirname(binary), 'its directory'],
  ] as const) {
    let info;
    try {
      info = statSync(path);
    } catch {
      throw new SignetError('USAGE', `${path}: cannot read ${what} the hook would run`);
    }
    const sticky = (info.mode & 0o1000) !== 0;
    if ((info.mode & 0o022) !== 0 && !(what === 'its directory' && sticky)) {
      throw new SignetError(
        'USAGE',
        `${path}: ${what} is writable by group or others, and every push would run what they put there; chmod go-w it, or use --copy`,
      );
    }
    if (info.uid !== 0 && info.uid !== uid) {
      throw new SignetError(
        'USAGE',
        `${path}: ${what} belongs to uid ${info.uid}, neither root nor you, and every push would run what they put there; use --copy`,
      );
    }
  }
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The checkout or installed package this signet runs from (the bundle lives in dist/…). */
function packageRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(directory, 'package.json')) && existsSync(join(directory, 'bin', 'signet.js'))) return directory;
    const parent = dirname(directory);
    if (parent === directory) throw new SignetError('INTERNAL', 'cannot find the signet package (bin/signet.js) to install a script hook; use --binary');
    directory = parent;
  }
}

function readPolicyText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new SignetError('CONFIG_INVALID', `${path}: cannot read the policy`);
  }
}

/** The single-executable build: this process itself when it is one, else dist/signet. */
function findExecutable(): string | undefined {
  if (isSingleExecutable()) return process.execPath;
  const candidate = join(packageRoot(), 'dist', 'signet');
  return existsSync(candidate) ? candidate : undefined;
}

function isSingleExecutable(): boolean {
  return typeof SIGNET_SEA !== 'undefined' && SIGNET_SEA;
}

declare const SIGNET_SEA: boolean | undefined;
