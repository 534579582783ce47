import { errorCodeOf, SignetError } from '../core/errors.ts';
import { terminalText } from '../core/render/terminal-text.ts';
import { exitStatusOf } from './exit-status.ts';
import type { CliIO, CommandRunner } from './io.ts';
import { EXIT_USAGE } from './io.ts';

/**
 * One table of commands, each loaded only when called so that `signet verify` does not pay
 * for the signing pipelines' imports (start-up time is part of the hook's budget).
 */
const commands: Record<string, { summary: string; load: () => Promise<CommandRunner> }> = {
  attest: {
    summary: 'sign an in-toto attestation (SPDX SBOM, SLSA provenance) about files or an image',
    load: async () => (await import('./commands/attest.ts')).runAttest,
  },
  'verify-attestation': {
    summary: 'verify an in-toto attestation bundle about files or an image',
    load: async () => (await import('./commands/verify-attestation.ts')).runVerifyAttestation,
  },
  'sign-image': {
    summary: 'sign a container image in an OCI registry (cosign legacy .sig or v3 bundle referrer)',
    load: async () => (await import('./commands/sign-image.ts')).runSignImage,
  },
  'verify-image': {
    summary: 'verify cosign-format signatures on a container image with a public key',
    load: async () => (await import('./commands/verify-image.ts')).runVerifyImage,
  },
  'sign-package': {
    summary: 'sign release packages: .asc + .sigstore.json each, Helm charts .prov',
    load: async () => (await import('./commands/sign-package.ts')).runSignPackage,
  },
  checksums: {
    summary: 'write checksums.txt (sha256sum format) and its OpenPGP signature checksums.txt.asc',
    load: async () => (await import('./commands/checksums.ts')).runChecksums,
  },
  'generate-key-pair': {
    summary: 'write a cosign-compatible encrypted key pair (cosign.key, cosign.pub)',
    load: async () => (await import('./commands/generate-key-pair.ts')).runGenerateKeyPair,
  },
  'sign-blob': {
    summary: 'sign a file as cosign sign-blob does (base64 signature, sigstore bundle)',
    load: async () => (await import('./commands/sign-blob.ts')).runSignBlob,
  },
  'verify-blob': {
    summary: 'verify a blob signature or sigstore bundle with a public key',
    load: async () => (await import('./commands/verify-blob.ts')).runVerifyBlob,
  },
  verify: {
    summary: 'verify commit and tag signatures in a revision range',
    load: async () => (await import('./commands/verify.ts')).runVerify,
  },
  hook: {
    summary: 'run (pre-receive), install or uninstall the server-side hook',
    load: async () => (await import('./commands/hook.ts')).runHook,
  },
  report: {
    summary: 'compliance report of a local repository over a period (markdown, json, svg chart)',
    load: async () => (await import('./commands/report.ts')).runReport,
  },
  serve: {
    summary: 'run the GitHub App and GitLab bot server (what npm start runs; settings from the environment)',
    load: async () => (await import('./commands/serve.ts')).runServe,
  },
  jobs: {
    summary: 'run scheduled jobs by hand (key-expiry, revocation-sweep, compliance-report), list or run their schedules',
    load: async () => (await import('./commands/jobs.ts')).runJobs,
  },
  admission: {
    summary: 'Kubernetes admission webhook: only signed images run (admission --listen …, admission manifests)',
    load: async () => (await import('./commands/admission.ts')).runAdmission,
  },
  audit: {
    summary: 'audit export --since DATE: every decision (hook, app, jobs) as JSON lines',
    load: async () => (await import('./commands/audit.ts')).runAudit,
  },
  policy: {
    summary: 'check a policy file: policy check FILE',
    load: async () =>
      (await import('./commands/policy-check.ts')).makeRunPolicy({ checkKeyFile: (await import('../keys/check-key-file.ts')).checkKeyFileContents }),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: signet <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'signet <command> --help' or 'signet help <command>' for a command's options; 'signet --version' (-V) for the version.\n`;
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  // `signet help verify` is `signet verify --help`.
  if (argv[0] === 'help' && argv[1] !== undefined) return main([argv[1], '--help'], io);
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    // The runtime matters to a server admin: the single executable carries its own Node.
    io.stdout.write(`signet ${SIGNET_VERSION} (node ${process.version})\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    io.stderr.write(`signet: unknown command '${name}' (see 'signet --help')\n`);
    return EXIT_USAGE;
  }
  try {
    const run = await command.load();
    // --help anywhere before `--` (`signet hook install --help`) shows the command's help, which
    // each command prints for a leading --help, whatever else the line holds.
    const end = rest.indexOf('--');
    const asksHelp = (end < 0 ? rest : rest.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
    return await run(asksHelp ? ['--help'] : rest, io);
  } catch (error) {
    // Last line of defence: one clear line, never a stack trace with key material in it. The
    // message may quote what an attacker wrote (a ref name, a user ID): terminalText keeps its
    // control characters from acting on the terminal or forging a second line.
    const classified = error instanceof SignetError || errorCodeOf(error) === 'USAGE';
    const message = classified ? (error as Error).message : `internal error: ${(error as Error)?.message ?? String(error)}`;
    io.stderr.write(`signet ${terminalText(name)}: ${terminalText(message)}\n`);
    return exitStatusOf(error);
  }
}

declare const SIGNET_VERSION: string;
