/**
 * A real OCI registry for tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1, storage
 * in a temp dir, htpasswd basic auth; images built with umoci and pushed with skopeo.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { mustRun } from './sign-cli.ts';

export interface TestRegistry {
  host: string;
  user: string;
  password: string;
  /** DOCKER_CONFIG directory whose config.json holds the credentials. */
  dockerConfig: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export async function startRegistry(dir: string): Promise<TestRegistry> {
  const port = await freePort();
  const user = 'signer';
  const password = 'registry-pass';
  // bcrypt via Python's crypt ($2b$ → $2a$, the prefix Go's bcrypt has always read).
  const hash = mustRun('python3', ['-c', 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))', password])
    .trim()
    .replace(/^\$2b\$/, '$2a$');
  writeFileSync(join(dir, 'htpasswd'), `${user}:${hash}\n`);
  mkdirSync(join(dir, 'storage'));
  writeFileSync(
    join(dir, 'registry.yml'),
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      `  filesystem:`,
      `    rootdirectory: ${join(dir, 'storage')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  secret: signet-test-secret',
      'auth:',
      '  htpasswd:',
      '    realm: signet-test',
      `    path: ${join(dir, 'htpasswd')}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', join(dir, 'registry.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const response = await fetch(`http://${host}/v2/`);
      if (response.status === 200 || response.status === 401) break;
    } catch {
      // not up yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill();
      throw new Error(`docker-registry did not start: ${stderr.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const dockerConfig = join(dir, 'docker-config');
  mkdirSync(dockerConfig);
  writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } } }));
  return {
    host,
    user,
    password,
    dockerConfig,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Builds a one-file image with umoci and pushes it with skopeo; returns the pushed manifest digest. */
export function pushTestImage(dir: string, registry: TestRegistry, repository: string, tag: string, content: string): string {
  const layout = join(dir, `layout-${tag}`);
  mustRun('umoci', ['init', '--layout', layout]);
  mustRun('umoci', ['new', '--image', `${layout}:${tag}`]);
  writeFileSync(join(dir, `${tag}.txt`), content);
  mustRun('umoci', ['insert', '--rootless', '--image', `${layout}:${tag}`, join(dir, `${tag}.txt`), `/${tag}.txt`]);
  mustRun('skopeo', [
    'copy',
    '--insecure-policy',
    '--dest-tls-verify=false',
    '--dest-creds',
    `${registry.user}:${registry.password}`,
    `oci:${layout}:${tag}`,
    `docker://${registry.host}/${repository}:${tag}`,
  ]);
  const raw = mustRun('skopeo', [
    'inspect',
    '--tls-verify=false',
    '--creds',
    `${registry.user}:${registry.password}`,
    '--format',
    '{{.Digest}}',
    `docker://${registry.host}/${repository}:${tag}`,
  ]);
  return raw.trim();
}
