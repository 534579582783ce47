import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ociDigest } from '../../../src/core/sign/encoding.ts';
import { parseImageReference } from '../../../src/core/sign/image-reference.ts';
import { digestFile } from '../../../src/sign/file-digest.ts';
import { lookupCredentials } from '../../../src/sign/oci/docker-credentials.ts';
import { parseChallenge, RegistryClient } from '../../../src/sign/oci/registry-client.ts';
import { makeTempDir, runSignet } from '../../helpers/sign-cli.ts';
import { startFakeRegistry, type FakeRegistry } from '../../helpers/sign-fake-registry.ts';

let tmp: ReturnType<typeof makeTempDir>;
let registry: FakeRegistry;
let env: NodeJS.ProcessEnv;
let imageDigest: string;

beforeAll(async () => {
  tmp = makeTempDir('signet-registry-client-');
  registry = await startFakeRegistry();
  const dockerConfig = join(tmp.dir, 'docker');
  mkdirSync(dockerConfig);
  writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [registry.host]: { username: registry.user, password: registry.password } } }));
  env = { DOCKER_CONFIG: dockerConfig, COSIGN_PASSWORD: 'pw' };
  expect((await runSignet(['generate-key-pair'], { cwd: tmp.dir, env })).code).toBe(0);
  // Push a small image with signet's own client: config, one layer, manifest.
  const client = new RegistryClient(registry.host, { env });
  const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  const layer = Buffer.from('layer bytes');
  await client.putBlob('acme/app', config);
  await client.putBlob('acme/app', layer);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: ociDigest(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: ociDigest(layer), size: layer.length }],
    }),
  );
  imageDigest = (await client.putManifest('acme/app', 'v1', manifest, 'application/vnd.oci.image.manifest.v1+json')).digest;
});
afterAll(async () => {
  await registry?.stop();
  tmp?.cleanup();
});

describe('registry client', () => {
  it('gets a bearer token with the docker config credentials for the scope it needs', () => {
    expect(registry.tokenScopes).toContain('repository:acme/app:pull,push');
  });

  it('signs in bundle format through the referrers API (no fallback tag) and verifies', async () => {
    const signed = await runSignet(['sign-image', '--key', 'cosign.key', '--format', 'bundle', `${registry.host}/acme/app@${imageDigest}`], {
      cwd: tmp.dir,
      env,
    });
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout).toMatch(/\treferrers-api\n$/);
    expect(registry.tags.has(`acme/app:sha256-${imageDigest.slice(7)}`)).toBe(false);
    const verified = await runSignet(['verify-image', '--key', 'cosign.pub', `${registry.host}/acme/app:v1`], { cwd: tmp.dir, env });
    expect(verified.code, verified.stderr).toBe(0);
  });

  it('refuses a manifest whose bytes do not match the digest asked for', async () => {
    const client = new RegistryClient(registry.host, { env });
    const [digest, entry] = [...registry.manifests.entries()][0] ?? [];
    if (!digest || !entry) throw new Error('no manifest stored');
    registry.manifests.set(digest, { ...entry, bytes: Buffer.concat([entry.bytes, Buffer.from(' ')]) });
    await expect(client.getManifest('acme/app', digest)).rejects.toThrow(/digest is sha256:/);
    registry.manifests.set(digest, entry);
  });

  it('without credentials the token request is refused: one clear error', async () => {
    const result = await runSignet(['verify-image', '--key', 'cosign.pub', `${registry.host}/acme/app:v1`], { cwd: tmp.dir, env: {} });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/token request for repository:acme\/app:pull refused \(HTTP 401\)/);
  });
});

describe('pieces', () => {
  it('parses challenges, references and docker config entries', async () => {
    expect(parseChallenge('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:a/b:pull' },
    });
    expect(parseImageReference('busybox')).toEqual({ registry: 'docker.io', repository: 'library/busybox' });
    expect(parseImageReference('localhost:5000/a/b:v1')).toEqual({ registry: 'localhost:5000', repository: 'a/b', tag: 'v1' });
    expect(parseImageReference(`ghcr.io/acme/app@sha256:${'a'.repeat(64)}`)).toEqual({
      registry: 'ghcr.io',
      repository: 'acme/app',
      digest: `sha256:${'a'.repeat(64)}`,
    });
    expect(() => parseImageReference('ghcr.io/Acme/app')).toThrow(/invalid repository/);
    const home = join(tmp.dir, 'home');
    mkdirSync(join(home, '.docker'), { recursive: true });
    writeFileSync(
      join(home, '.docker', 'config.json'),
      JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('me:secret:with:colons').toString('base64') } } }),
    );
    expect(await lookupCredentials('docker.io', { HOME: home })).toEqual({ username: 'me', password: 'secret:with:colons' });
    expect(await lookupCredentials('ghcr.io', { HOME: home })).toBeUndefined();
  });

  it('credential helpers are asked over stdin', async () => {
    const bin = join(tmp.dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'docker-credential-fake'), '#!/bin/sh\nread host\necho "{\\"Username\\":\\"u-$host\\",\\"Secret\\":\\"s\\"}"\n', { mode: 0o755 });
    const configDir = join(tmp.dir, 'helper-config');
    mkdirSync(configDir);
    writeFileSync(join(configDir, 'config.json'), JSON.stringify({ credHelpers: { 'registry.example.com': 'fake' } }));
    const previous = process.env.PATH;
    process.env.PATH = `${bin}:${previous ?? ''}`;
    try {
      expect(await lookupCredentials('registry.example.com', { DOCKER_CONFIG: configDir })).toEqual({ username: 'u-registry.example.com', password: 's' });
    } finally {
      process.env.PATH = previous;
    }
  });

  it('progress shows on a TTY stderr only, and hashing is unaffected', async () => {
    const file = join(tmp.dir, 'p.bin');
    writeFileSync(file, Buffer.alloc(3 << 20, 1));
    const tty = Object.assign(new PassThrough(), { isTTY: true });
    let shown = '';
    tty.on('data', (chunk: Buffer) => {
      shown += chunk.toString('utf8');
    });
    const withTty = await digestFile(file, 'sha256', { progressTo: tty, label: 'p.bin' });
    expect(shown).toMatch(/\rp\.bin 100% {2}3\.0 MiB \/ 3\.0 MiB/);
    expect(shown.endsWith('\n')).toBe(true);
    const pipe = new PassThrough();
    let piped = '';
    pipe.on('data', (chunk: Buffer) => {
      piped += chunk.toString('utf8');
    });
    const withPipe = await digestFile(file, 'sha256', { progressTo: pipe });
    expect(piped).toBe('');
    expect(withTty.digest.equals(withPipe.digest)).toBe(true);
    expect(withTty.size).toBe(3 << 20);
  });
});

describe('a registry that is down is an outage (exit 3), a refusal is not (exit 2)', () => {
  /** A registry answering every request with `status`; `close` hangs up without an answer. */
  async function stubRegistry(answer: number | 'close'): Promise<{ host: string; stop: () => Promise<void> }> {
    const server = createServer((req, res) => {
      if (answer === 'close') return void req.socket.destroy();
      res.writeHead(answer, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: `stub ${answer}` }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
      stop: () => {
        server.closeAllConnections();
        return new Promise((resolve) => server.close(() => resolve()));
      },
    };
  }

  it.each([
    [503, 3, /registry 127\.0\.0\.1:\d+: .*failed \(HTTP 503: stub 503\)/],
    [429, 3, /\(HTTP 429: stub 429\)/],
    ['close', 3, /cannot reach registry 127\.0\.0\.1:\d+/],
    [403, 2, /\(HTTP 403: stub 403\)/],
  ] as const)('verify-image against a registry answering %s exits %i', async (answer, code, line) => {
    const stub = await stubRegistry(answer);
    try {
      const result = await runSignet(['verify-image', '--key', 'cosign.pub', `${stub.host}/acme/app:v1`], { cwd: tmp.dir, env });
      expect(result.stderr).toMatch(line);
      expect(result.code).toBe(code);
    } finally {
      await stub.stop();
    }
  });
});
