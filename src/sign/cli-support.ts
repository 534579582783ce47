import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SignetError } from '../core/errors.ts';
import { terminalText } from '../core/render/terminal-text.ts';
import { exitStatusOf } from '../cli/exit-status.ts';
import type { CliIO } from '../cli/io.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

const KEYLESS =
  'is not taken by signet: keyless signing reads the OIDC token from SIGSTORE_ID_TOKEN (or GitHub Actions), keyless verification takes --certificate-identity and --certificate-oidc-issuer (docs/signing.md)';
const NO_TLOG =
  'talks to a Rekor server; signet does not query one: keyless bundles carry their log entry and are checked offline, key signatures with the key alone';
/**
 * cosign flags people script with that signet does not take: each refused with a sentence
 * naming the flag and what signet does instead (never Node's "Unknown option" message).
 */
const COSIGN_REFUSED: Record<string, string> = {
  '--fulcio-url': KEYLESS,
  '--oidc-issuer': KEYLESS,
  '--oidc-client-id': KEYLESS,
  '--oidc-provider': KEYLESS,
  '--identity-token': KEYLESS,
  '--certificate': KEYLESS,
  '--certificate-chain': KEYLESS,
  '--output-certificate': KEYLESS,
  '--certificate-identity': KEYLESS,
  '--certificate-identity-regexp': KEYLESS,
  '--certificate-oidc-issuer': KEYLESS,
  '--certificate-oidc-issuer-regexp': KEYLESS,
  '--rekor-url': NO_TLOG,
  '--sk': 'uses a hardware security key; signet reads a cosign key file (--key cosign.key)',
  '--slot': 'uses a hardware security key; signet reads a cosign key file (--key cosign.key)',
  '--timestamp-server-url': 'asks an RFC 3161 timestamp authority; signet does not: the signature carries no trusted time',
  '--rfc3161-timestamp': 'gives an RFC 3161 timestamp; signet does not read one: the signature carries no trusted time',
  '--registry-referrers-mode':
    'chooses how cosign stores a signature; signet stores a v3 bundle as an OCI referrer with --format bundle, a legacy .sig tag with --format legacy',
};
/** cosign flags that ask for what signet always does: accepted and ignored. */
const COSIGN_ALREADY: Record<string, (value: string | undefined) => boolean> = {
  '--yes': (value) => value !== 'false', // signet never asks for confirmation
  '-y': (value) => value === undefined,
  '--tlog-upload': (value) => value === 'false', // signet never uploads (=true is refused below)
  '--insecure-ignore-tlog': (value) => value !== 'false', // signet never reads a transparency log
  '--insecure-ignore-sct': (value) => value !== 'false',
  '--offline': (value) => value !== 'false', // signet's key-based verification is offline
};

/**
 * Drops the cosign flags signet honours by nature; refuses the others with a sentence, unless
 * the command takes the flag itself (the keyless commands take --fulcio-url, --rekor-url,
 * --timestamp-server-url and the --certificate-* identity flags).
 */
function cosignFlags(argv: string[], defined: ReadonlySet<string>): string[] {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      kept.push(...argv.slice(i));
      break;
    }
    const eq = arg.indexOf('=');
    const name = arg.startsWith('-') ? (eq > 0 ? arg.slice(0, eq) : arg) : '';
    const value = eq > 0 ? arg.slice(eq + 1) : undefined;
    if (defined.has(name)) {
      kept.push(arg);
      continue;
    }
    const already = COSIGN_ALREADY[name];
    if (already?.(value)) continue;
    if (name === '--tlog-upload') throw new SignetError('USAGE', `cosign's --tlog-upload ${NO_TLOG}; drop the flag, or pass --tlog-upload=false`);
    const refused = COSIGN_REFUSED[name];
    if (refused) throw new SignetError('USAGE', `cosign's ${name} ${refused}`);
    kept.push(arg);
  }
  return kept;
}

/** node:util parseArgs with strict options; a parse error becomes one usage line (exit 2). */
export function parseCommandArgs<T extends Options>(argv: string[], options: T, usage: string) {
  const args = cosignFlags(argv, new Set(Object.keys(options).map((name) => `--${name}`)));
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message.split('\n')[0] ?? 'bad arguments';
    const unknown = /^Unknown option '([^']+)'/.exec(message);
    throw new SignetError('USAGE', `${unknown ? `unknown option ${unknown[1]}` : message}\n${usage}`);
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

/** Runs a command body, turning SignetErrors into stderr lines and exit 2 (3 for an outage). */
export async function runCommand(name: string, io: CliIO, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof SignetError) {
      // Usage errors carry the usage text after the first line; each line is made inert.
      io.stderr.write(`signet ${name}: ${error.message.split('\n').map(terminalText).join('\n')}\n`);
      return exitStatusOf(error);
    }
    throw error;
  }
}

export function requireString(value: string | boolean | undefined | (string | boolean)[], flag: string): string {
  if (typeof value !== 'string' || value === '') throw new SignetError('USAGE', `${flag} is required`);
  return value;
}

/**
 * cosign's -o/--output for its verify commands: json (the default: the verified payloads on
 * stdout) or text (only the "Verified …" line, on stdout).
 */
export function outputFormat(value: string | boolean | undefined | (string | boolean)[]): 'json' | 'text' {
  const output = value === undefined ? 'json' : String(value);
  if (output !== 'json' && output !== 'text') throw new SignetError('USAGE', `-o/--output must be json or text, not '${output}'`);
  return output;
}

/** One line for an image none of whose signatures or attestations verified: each one's failure, or `nothing` when there were none. */
export function whyNoneVerified(checks: ReadonlyArray<{ format: string; reason: string; detail: string }>, nothing: string): string {
  return checks.length === 0 ? nothing : checks.map((check) => `${check.format} ${check.reason}: ${check.detail}`).join('; ');
}

/** What a verify command prints once something verified, in the format `outputFormat` chose. */
export type VerifiedReport = (verified: string, payloads: unknown[]) => void;

/**
 * -o text: the "Verified …" line is the output; -o json (default): it goes to stderr, the
 * payloads (a JSON array) to stdout, as cosign does.
 */
export function verifiedReport(value: Parameters<typeof outputFormat>[0], io: Pick<CliIO, 'stdout' | 'stderr'>): VerifiedReport {
  const output = outputFormat(value);
  return (verified, payloads) => {
    if (output === 'text') io.stdout.write(`${verified}\n`);
    else {
      io.stderr.write(`${verified}\n`);
      io.stdout.write(`${JSON.stringify(payloads)}\n`);
    }
  };
}
