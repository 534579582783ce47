import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
       signet hook install --repo BARE.git --policy FILE [--binary PATH | --script] [--force]
       signet hook install --repo BARE.git --uninstall

install copies the self-contained executable (dist/signet, from 'npm run build') into
hooks/pre-receive and sets 'signet.policy' in the repository's config. With --script, or
without a built executable, it writes a small script that runs this signet with node instead.
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
  rmSync(hookPath, { force: true });
  if (binary) {
    copyFileSync(binary, hookPath);
  } else {
    const script = join(packageRoot(), 'bin', 'signet.js');
    writeFileSync(hookPath, `#!/bin/sh\n# ${HOOK_MARKER}: installed by 'signet hook install'\nexec '${process.execPath}' '${script}' hook pre-receive\n`);
  }
  chmodSync(hookPath, 0o755);
  execFileSync('git', ['config', '--file', configPath, 'signet.policy', policyPath]);
  io.stdout.write(`signet: installed ${binary ? 'the signet executable' : 'a node script'} as ${hookPath}\nsignet: policy ${policyPath}\n`);
  return EXIT_OK;
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
