import { readFile } from 'node:fs/promises';
import { watch } from 'node:fs';
import { resolve } from 'node:path';
import pino from 'pino';
import { SignetError } from '../../core/errors.ts';
import { admissionManifests } from '../../admission/manifests.ts';
import { loadAdmissionPolicy } from '../../admission/load-policy.ts';
import { startAdmissionServer } from '../../admission/server.ts';
import { parseCommandArgs, requireString, runCommand } from '../../sign/cli-support.ts';
import type { CommandRunner } from '../io.ts';
import { EXIT_OK } from '../io.ts';

const USAGE = [
  'usage: signet admission --listen HOST:PORT --tls-cert FILE --tls-key FILE --policy FILE [--trusted-root FILE] [--allow-http-registry]',
  '       signet admission check --policy FILE [--trusted-root FILE]',
  '       signet admission manifests --image IMAGE --ca-bundle FILE [--namespace NS] [--name NAME] [--timeout-seconds N]',
].join('\n');

async function readRequired(path: string, flag: string, cwd: string): Promise<Buffer> {
  try {
    return await readFile(resolve(cwd, path));
  } catch (error) {
    throw new SignetError('CONFIG_INVALID', `${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function listenAddress(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65_535) throw new SignetError('USAGE', `--listen must be HOST:PORT, not '${text}'`);
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

/**
 * `signet admission`: the Kubernetes admission webhook (docs/admission.md). The policy file is
 * re-read when it changes or on SIGHUP; a policy that no longer parses keeps the old one in
 * force and says so (a typo must not open the cluster).
 */
export const runAdmission: CommandRunner = (argv, io) =>
  runCommand('admission', io, async () => {
    const sub = argv[0] === 'manifests' || argv[0] === 'check' ? argv[0] : undefined;
    const { values, positionals } = parseCommandArgs(
      sub ? argv.slice(1) : argv,
      {
        listen: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        policy: { type: 'string' },
        'allow-http-registry': { type: 'boolean', default: false },
        'trusted-root': { type: 'string' },
        image: { type: 'string' },
        'ca-bundle': { type: 'string' },
        namespace: { type: 'string', default: 'signet-system' },
        name: { type: 'string', default: 'signet-admission' },
        'timeout-seconds': { type: 'string', default: '10' },
      },
      USAGE,
    );
    if (values.help) {
      io.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    }
    if (positionals.length > 0) throw new SignetError('USAGE', `unexpected argument '${positionals[0]}'\n${USAGE}`);
    if (sub === 'manifests') {
      const timeout = Number(values['timeout-seconds']);
      if (!Number.isInteger(timeout) || timeout < 1 || timeout > 30)
        throw new SignetError('USAGE', "--timeout-seconds must be 1 to 30 (the API server's limit)");
      const ca = (await readRequired(requireString(values['ca-bundle'], '--ca-bundle'), '--ca-bundle', io.cwd)).toString('utf8');
      if (!ca.includes('-----BEGIN CERTIFICATE-----'))
        throw new SignetError('CONFIG_INVALID', `--ca-bundle ${String(values['ca-bundle'])}: not a PEM certificate`);
      io.stdout.write(
        admissionManifests({
          namespace: String(values.namespace),
          name: String(values.name),
          image: requireString(values.image, '--image'),
          caBundlePem: ca,
          timeoutSeconds: timeout,
        }),
      );
      return EXIT_OK;
    }
    const policyFile = resolve(io.cwd, requireString(values.policy, '--policy'));
    const trustedRoot = typeof values['trusted-root'] === 'string' ? resolve(io.cwd, values['trusted-root']) : undefined;
    const loaded = await loadAdmissionPolicy(policyFile, trustedRoot);
    if (sub === 'check') {
      io.stdout.write(
        `${policyFile}: ${loaded.policy.policies.length} polic${loaded.policy.policies.length === 1 ? 'y' : 'ies'} (${loaded.policy.policies.map((entry) => `${entry.name}: ${entry.mode}`).join(', ')}); no_match: ${loaded.policy.noMatch}\n`,
      );
      return EXIT_OK;
    }
    const { host, port } = listenAddress(requireString(values.listen, '--listen'));
    const cert = await readRequired(requireString(values['tls-cert'], '--tls-cert'), '--tls-cert', io.cwd);
    const key = await readRequired(requireString(values['tls-key'], '--tls-key'), '--tls-key', io.cwd);
    const log = pino({ base: { name: 'signet-admission' }, messageKey: 'message' }, pino.destination({ dest: 2, sync: true }));
    const started = await startAdmissionServer(loaded, { cert, key, log, env: io.env, allowHttp: values['allow-http-registry'] === true }, host, port);
    log.info({ host, port: started.port, policy: policyFile, policies: loaded.policy.policies.length }, 'listening');
    let reloading: Promise<void> = Promise.resolve();
    const reload = () => {
      reloading = reloading.then(async () => {
        try {
          const next = await loadAdmissionPolicy(policyFile, trustedRoot);
          if (next.hash === started.service.policyHash) return;
          started.service.reload(next);
          log.info({ policy: policyFile }, 'policy reloaded; caches dropped');
        } catch (error) {
          log.error({ policy: policyFile, err: (error as Error).message }, 'policy not reloaded; the previous policy stays in force');
        }
      });
    };
    const watcher = watch(policyFile, { persistent: false }, reload);
    process.on('SIGHUP', reload);
    await new Promise<void>((done) => {
      const stop = () => {
        watcher.close();
        started.server.close(() => done());
        started.server.closeAllConnections();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    return EXIT_OK;
  });
