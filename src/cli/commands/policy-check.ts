/**
 * `signet policy check FILE`: validates a policy file the way the hook and the app will read
 * it, and checks that the key files it names exist. Problems go to stderr as
 * `FILE:LINE:COL: path: message` (editors and CI annotate them); exit 2 if there are any.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkPolicy } from '../../core/policy/index.ts';
import type { KeyFileRef, Policy, PolicyProblem, PolicyRule } from '../../core/policy/index.ts';
import type { CliIO, CommandRunner } from '../io.ts';
import { EXIT_OK, EXIT_USAGE } from '../io.ts';

export interface PolicyCommandOptions {
  /**
   * Checks a key file's contents once it is known to exist (e.g. that a keyring parses).
   * Gets the absolute path; resolves to a problem message, or undefined when the file is fine.
   */
  checkKeyFile?: (absolutePath: string, kind: KeyFileRef['kind']) => Promise<string | undefined>;
}

const USAGE = `usage: signet policy check FILE

Validates a signet policy file (see docs/policy.md) and checks that the key files it names
exist (paths are relative to the policy file). Prints FILE:LINE:COL: field: problem for each
problem and exits 2, or prints a summary of the rules and exits 0.
`;

export function makeRunPolicy(options: PolicyCommandOptions = {}): CommandRunner {
  return async (argv: string[], io: CliIO): Promise<number> => {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { help: { type: 'boolean', short: 'h' } } });
    } catch (error) {
      io.stderr.write(`signet policy: ${(error as Error).message}\n${USAGE}`);
      return EXIT_USAGE;
    }
    if (parsed.values.help) {
      io.stdout.write(USAGE);
      return EXIT_OK;
    }
    const [subcommand, file, ...extra] = parsed.positionals;
    if (subcommand !== 'check' || file === undefined || extra.length > 0) {
      io.stderr.write(subcommand !== undefined && subcommand !== 'check' ? `signet policy: unknown subcommand '${subcommand}'\n${USAGE}` : USAGE);
      return EXIT_USAGE;
    }
    return checkFile(file, io, options);
  };
}

export const runPolicy: CommandRunner = makeRunPolicy();

async function checkFile(file: string, io: CliIO, options: PolicyCommandOptions): Promise<number> {
  const absolute = path.resolve(io.cwd, file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    io.stderr.write(`signet policy check: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}\n`);
    return EXIT_USAGE;
  }
  const { policy, problems } = checkPolicy(text, file);
  if (policy) problems.push(...(await keyFileProblems(policy, path.dirname(absolute), options)));
  if (problems.length > 0 || !policy) {
    for (const problem of problems) io.stderr.write(`${formatProblem(file, problem)}\n`);
    return EXIT_USAGE;
  }
  io.stdout.write(summary(file, policy));
  return EXIT_OK;
}

export function formatProblem(file: string, problem: PolicyProblem): string {
  return `${file}:${problem.line}:${problem.column}: ${problem.path ? `${problem.path}: ` : ''}${problem.message}`;
}

async function keyFileProblems(policy: Policy, baseDir: string, options: PolicyCommandOptions): Promise<PolicyProblem[]> {
  const problems: PolicyProblem[] = [];
  for (const ref of policy.keys.files) {
    const at = { path: ref.field, line: ref.line, column: ref.column };
    const absolute = path.resolve(baseDir, ref.file);
    let isFile = false;
    try {
      isFile = (await stat(absolute)).isFile();
    } catch {
      problems.push({ ...at, message: `key file ${ref.file} does not exist (looked for ${absolute})` });
      continue;
    }
    if (!isFile) {
      problems.push({ ...at, message: `key file ${ref.file} is not a regular file (${absolute})` });
      continue;
    }
    const problem = await options.checkKeyFile?.(absolute, ref.kind);
    if (problem) problems.push({ ...at, message: `key file ${ref.file}: ${problem}` });
  }
  return problems;
}

function summary(file: string, policy: Policy): string {
  const lines = [`${file}: valid policy (version ${policy.version}), ${policy.rules.length} rule${policy.rules.length === 1 ? '' : 's'}`];
  const { keys } = policy;
  const keyParts = [
    ...keys.openpgp.map((keyring) => `OpenPGP keyring ${keyring}`),
    ...(keys.sshAllowedSigners ? [`SSH allowed signers ${keys.sshAllowedSigners}`] : []),
    ...(keys.sshRevokedKeys ? [`SSH revoked keys ${keys.sshRevokedKeys}`] : []),
    ...(keys.x509Roots ?? []).map((roots) => `X.509 roots ${roots}`),
    ...(keys.x509Crls ?? []).map((crl) => `X.509 CRL ${crl}`),
    ...(keys.forgeAccounts ? ['keys registered on forge accounts'] : []),
  ];
  lines.push(
    `keys: ${keyParts.length > 0 ? keyParts.join('; ') : 'none named in the policy'}; GitHub web-flow key ${keys.trustWebFlow ? 'trusted' : 'not trusted'}`,
  );
  const groups = Object.entries(policy.groups);
  if (groups.length > 0) lines.push(`groups: ${groups.map(([name, members]) => `${name} (${members.length})`).join(', ')}`);
  for (const rule of policy.rules) lines.push(...describeRule(rule));
  return `${lines.join('\n')}\n`;
}

function describeRule(rule: PolicyRule): string[] {
  const out = [`rules[${rule.index}] ${rule.refs.join(', ')}:`];
  const signing: string[] = [];
  if (rule.requireSignedCommits) signing.push('commits');
  if (rule.requireSignedTags) signing.push('annotated tags');
  if (rule.requireSignedPush) signing.push('pushes (git push --signed)');
  if (signing.length > 0) {
    const details = [`accept ${rule.accept.join(', ')}`];
    details.push(rule.signers ? `signers ${rule.signers.join(', ')}` : 'any registry key');
    if (rule.requireEmailMatch) details.push('e-mail must match the key');
    details.push(rule.refuseSha1 ? 'SHA-1 refused' : 'SHA-1 allowed');
    out.push(`  signed ${signing.join(', ')} required (${details.join('; ')})`);
  }
  for (const pathRule of rule.paths) {
    const who = pathRule.signers ? pathRule.signers.join(', ') : "the rule's signers";
    out.push(`  changes to ${pathRule.match.join(', ')}: signed by ${who}${pathRule.threshold > 1 ? `, ${pathRule.threshold} different signers` : ''}`);
  }
  const forbidden = [...(rule.forbidForcePush ? ['force pushes'] : []), ...(rule.forbidDeletion ? ['deletion'] : [])];
  if (forbidden.length > 0) out.push(`  forbidden: ${forbidden.join(', ')}`);
  return out;
}
