/**
 * The admission webhook end to end: a real OCI registry (Debian docker-registry) on 127.0.0.1,
 * images built with umoci and pushed with skopeo, signed and attested by signet, and
 * AdmissionReview requests in the shapes the API server sends, over HTTPS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAdmissionPolicy } from '../../../src/admission/load-policy.ts';
import { startAdmissionServer, type AdmissionService } from '../../../src/admission/server.ts';
import { makeTempDir, mustRun, projectRoot, runSignet } from '../../helpers/sign-cli.ts';
import { pushTestImage, startRegistry, type TestRegistry } from '../../helpers/sign-registry.ts';
import type { Server } from 'node:https';
import { startSigstoreServices, type SigstoreServices } from '../../helpers/sigstore-services.ts';

let tmp: ReturnType<typeof makeTempDir>;
let dir: string;
let registry: TestRegistry;
let env: NodeJS.ProcessEnv;
const digests: Record<string, string> = {};
let ca: Buffer;
let cert: Buffer;
let key: Buffer;

function makeTls(): void {
  mustRun(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=signet test CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
    ],
    { cwd: dir },
  );
  mustRun(
    'openssl',
    ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=signet-admission', '-keyout', 'tls.key', '-out', 'tls.csr'],
    { cwd: dir },
  );
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  mustRun(
    'openssl',
    ['x509', '-req', '-in', 'tls.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'tls.crt'],
    { cwd: dir },
  );
  ca = readFileSync(join(dir, 'ca.pem'));
  cert = readFileSync(join(dir, 'tls.crt'));
  key = readFileSync(join(dir, 'tls.key'));
}

const image = (tag: string) => `${registry.host}/acme/app:${tag}`;
const pinned = (tag: string) => `${registry.host}/acme/app@${digests[tag]}`;

beforeAll(async () => {
  tmp = makeTempDir('signet-admission-');
  dir = tmp.dir;
  makeTls();
  registry = await startRegistry(dir);
  env = { DOCKER_CONFIG: registry.dockerConfig, COSIGN_PASSWORD: 'admission-pass' };
  copyFileSync(join(projectRoot, 'package-lock.json'), join(dir, 'package-lock.json'));
  expect((await runSignet(['generate-key-pair'], { cwd: dir, env })).code).toBe(0);
  expect((await runSignet(['generate-key-pair', '--output-key-prefix', 'other'], { cwd: dir, env })).code).toBe(0);
  for (const tag of ['signed', 'unsigned', 'other-key', 'attested', 'moving', 'bundle'])
    digests[tag] = pushTestImage(dir, registry, 'acme/app', tag, `${tag}\n`);
  const sign = async (args: string[]) => {
    const result = await runSignet(args, { cwd: dir, env });
    expect(result.code, result.stderr).toBe(0);
  };
  await sign(['sign-image', '--key', 'cosign.key', pinned('signed')]);
  await sign(['sign-image', '--key', 'cosign.key', '--format', 'bundle', pinned('bundle')]);
  await sign(['sign-image', '--key', 'other.key', pinned('other-key')]);
  await sign(['sign-image', '--key', 'cosign.key', pinned('attested')]);
  await sign(['attest', '--key', 'cosign.key', '--type', 'spdx', '--image', pinned('attested')]);
  await sign(['sign-image', '--key', 'cosign.key', pinned('moving')]);
}, 180_000);

afterAll(async () => {
  await registry?.stop();
  tmp?.cleanup();
});

const cosignPub = () => readFileSync(join(dir, 'cosign.pub'), 'utf8');
const indent = (text: string, spaces: number) =>
  text
    .trim()
    .split('\n')
    .map((line) => `${' '.repeat(spaces)}${line}`)
    .join('\n');

function nativePolicy(extra = ''): string {
  return `version: 1
no_match: deny
cache: { tag_ttl_seconds: 0 }
registries: { timeout_ms: 2000 }
policies:
  - name: acme-signed
    images: ["${registry.host}/acme/**"]
    authorities:
      - name: release-key
        key: { path: cosign.pub }
  - name: sbom-required
    images: ["${registry.host}/acme/app:attested"]
    namespaces: [prod]
    authorities:
      - name: release-key
        key: { path: cosign.pub }
        attestations:
          - name: sbom
            predicate_type: spdx
            conditions:
              - { path: predicate.spdxVersion, matches: "^SPDX-2\\\\.[0-9]+$" }
  - name: warn-only
    images: ["${registry.host}/warn/**"]
    mode: warn
    authorities:
      - name: release-key
        key: { path: cosign.pub }
${extra}`;
}

function clusterImagePolicy(): string {
  return `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: { name: acme-signed }
spec:
  images:
    - glob: "${registry.host}/acme/**"
  authorities:
    - name: release-key
      key:
        data: |
${indent(cosignPub(), 10)}
---
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: { name: warn-only }
spec:
  mode: warn
  images:
    - glob: "${registry.host}/warn/**"
  authorities:
    - key:
        data: |
${indent(cosignPub(), 10)}
---
version: 1
cache: { tag_ttl_seconds: 0 }
policies: []
`;
}

interface Started {
  server: Server;
  service: AdmissionService;
  port: number;
}

async function start(policyText: string, name = 'policy.yml'): Promise<Started> {
  writeFileSync(join(dir, name), policyText);
  const loaded = await loadAdmissionPolicy(join(dir, name));
  return startAdmissionServer(loaded, { cert, key, log: pino({ level: 'silent' }), env, allowHttp: false }, '127.0.0.1', 0);
}

async function stop(started: Started): Promise<void> {
  started.server.closeAllConnections();
  await new Promise<void>((resolve) => started.server.close(() => resolve()));
}

function post(port: number, path: string, body: string | Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

let uidCounter = 0;
function review(kind: string, object: unknown, options: { namespace?: string; operation?: string; dryRun?: boolean; group?: string } = {}) {
  uidCounter += 1;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `705ab4f5-6393-11e8-b7cc-42010a80${String(uidCounter).padStart(4, '0')}`,
      kind: { group: options.group ?? '', version: 'v1', kind },
      resource: { group: options.group ?? '', version: 'v1', resource: `${kind.toLowerCase()}s` },
      requestKind: { group: options.group ?? '', version: 'v1', kind },
      requestResource: { group: options.group ?? '', version: 'v1', resource: `${kind.toLowerCase()}s` },
      name: 'web',
      namespace: options.namespace ?? 'default',
      operation: options.operation ?? 'CREATE',
      userInfo: { username: 'admin', uid: '014fbff9a07c', groups: ['system:authenticated'] },
      object,
      oldObject: null,
      dryRun: options.dryRun ?? false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

const podSpec = (containers: string[], init: string[] = [], ephemeral: string[] = []) => ({
  containers: containers.map((img, i) => ({ name: `c${i}`, image: img })),
  ...(init.length ? { initContainers: init.map((img, i) => ({ name: `init${i}`, image: img })) } : {}),
  ...(ephemeral.length ? { ephemeralContainers: ephemeral.map((img, i) => ({ name: `debug${i}`, image: img, targetContainerName: 'c0' })) } : {}),
});
const pod = (containers: string[], init: string[] = [], ephemeral: string[] = []) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'default' },
  spec: podSpec(containers, init, ephemeral),
});
const deployment = (containers: string[], init: string[] = []) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: podSpec(containers, init) } },
});
const cronJob = (containers: string[]) => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name: 'web' },
  spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { spec: { ...podSpec(containers), restartPolicy: 'OnFailure' } } } } },
});

async function admit(started: Started, body: unknown, path = '/validate') {
  const sent = body as { request: { uid: string } };
  const answer = await post(started.port, path, JSON.stringify(body));
  expect(answer.status).toBe(200);
  const parsed = JSON.parse(answer.body) as {
    apiVersion: string;
    kind: string;
    response: {
      uid: string;
      allowed: boolean;
      status?: { message: string };
      warnings?: string[];
      patch?: string;
      patchType?: string;
      auditAnnotations?: Record<string, string>;
    };
  };
  expect(parsed.apiVersion).toBe('admission.k8s.io/v1');
  expect(parsed.kind).toBe('AdmissionReview');
  expect(parsed.response.uid).toBe(sent.request.uid);
  return parsed.response;
}

describe('signet admission (native policy)', () => {
  let started: Started;
  beforeAll(async () => {
    started = await start(nativePolicy());
  });
  afterAll(async () => stop(started));

  it('admits a Pod whose image is signed by the policy key (legacy .sig and v3 bundle alike)', async () => {
    expect((await admit(started, review('Pod', pod([image('signed')])))).allowed).toBe(true);
    expect((await admit(started, review('Pod', pod([pinned('signed'), image('bundle')])))).allowed).toBe(true);
  });

  it('denies an unsigned image and a wrong key, naming the image and the reason', async () => {
    const unsigned = await admit(started, review('Pod', pod([image('signed'), image('unsigned')])));
    expect(unsigned.allowed).toBe(false);
    expect(unsigned.status?.message).toContain(image('unsigned'));
    expect(unsigned.status?.message).toContain('no signature found');
    const other = await admit(started, review('Pod', pod([image('other-key')])));
    expect(other.allowed).toBe(false);
    expect(other.status?.message).toMatch(/no signature verifies with its key/);
  });

  it('checks init and ephemeral containers and the pod templates of every workload kind', async () => {
    expect((await admit(started, review('Deployment', deployment([image('signed')], [image('unsigned')]), { group: 'apps' }))).allowed).toBe(false);
    expect((await admit(started, review('Deployment', deployment([image('signed')], [image('bundle')]), { group: 'apps' }))).allowed).toBe(true);
    for (const kind of ['ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job']) {
      const object = { ...deployment([image('unsigned')]), kind };
      const answer = await admit(started, review(kind, object, { group: kind === 'Job' ? 'batch' : 'apps' }));
      expect(answer.allowed, kind).toBe(false);
    }
    expect((await admit(started, review('CronJob', cronJob([image('unsigned')]), { group: 'batch' }))).allowed).toBe(false);
    expect((await admit(started, review('CronJob', cronJob([image('signed')]), { group: 'batch' }))).allowed).toBe(true);
    // kubectl debug: an UPDATE of pods/ephemeralcontainers adding an unsigned debug image.
    const debug = await admit(started, review('Pod', pod([image('signed')], [], [image('unsigned')]), { operation: 'UPDATE' }));
    expect(debug.allowed).toBe(false);
    expect(debug.status?.message).toContain(image('unsigned'));
  });

  it('denies an image no policy matches (no_match: deny) and an unparsable reference', async () => {
    const foreign = await admit(started, review('Pod', pod([`${registry.host}/elsewhere/tool:1`])));
    expect(foreign.allowed).toBe(false);
    expect(foreign.status?.message).toContain('no policy matches');
    const broken = await admit(started, review('Pod', pod(['UPPER/Case:tag'])));
    expect(broken.allowed).toBe(false);
  });

  it('requires the attestation where the policy says so, with its field conditions, per namespace', async () => {
    // In prod the SBOM rule applies: 'signed' is not in its glob, 'attested' is and carries an SPDX SBOM.
    expect((await admit(started, review('Pod', pod([image('attested')]), { namespace: 'prod' }))).allowed).toBe(true);
  });

  it('a cache hit still applies every condition (the Kyverno digest-cache bug)', async () => {
    // 'moving' is signed, so acme-signed passes and its facts are cached; then a policy that
    // requires an attestation covers the same digest in prod: the cached facts must not admit it.
    const strict = await start(
      nativePolicy(`  - name: moving-needs-sbom
    images: ["${registry.host}/acme/app:moving"]
    namespaces: [prod]
    authorities:
      - name: release-key
        key: { path: cosign.pub }
        attestations:
          - { name: sbom, predicate_type: spdx }
`),
      'strict.yml',
    );
    try {
      expect((await admit(strict, review('Pod', pod([image('moving')]), { namespace: 'dev' }))).allowed).toBe(true);
      const hits = strict.service.facts.stats.factHits;
      const prod = await admit(strict, review('Pod', pod([image('moving')]), { namespace: 'prod' }));
      expect(strict.service.facts.stats.factHits).toBeGreaterThan(hits);
      expect(prod.allowed).toBe(false);
      expect(prod.status?.message).toMatch(/no sbom attestation/);
      // And the attested image, cached now, still fails a condition it does not meet.
      const conditioned = await start(
        nativePolicy(`  - name: needs-old-spdx
    images: ["${registry.host}/acme/app:attested"]
    authorities:
      - name: release-key
        key: { path: cosign.pub }
        attestations:
          - name: sbom
            predicate_type: spdx
            conditions: [{ path: predicate.spdxVersion, equals: "SPDX-1.0" }]
`),
        'conditioned.yml',
      );
      try {
        expect((await admit(conditioned, review('Pod', pod([image('attested')])))).allowed).toBe(false);
        const again = await admit(conditioned, review('Pod', pod([image('attested')])));
        expect(conditioned.service.facts.stats.factHits).toBeGreaterThan(0);
        expect(again.allowed).toBe(false);
        expect(again.status?.message).toContain('predicate.spdxVersion == "SPDX-1.0"');
      } finally {
        await stop(conditioned);
      }
    } finally {
      await stop(strict);
    }
  });

  it('warn mode admits with a warning', async () => {
    mustRun('skopeo', [
      'copy',
      '--insecure-policy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--src-creds',
      `${registry.user}:${registry.password}`,
      '--dest-creds',
      `${registry.user}:${registry.password}`,
      `docker://${image('unsigned')}`,
      `docker://${registry.host}/warn/tool:1`,
    ]);
    const answer = await admit(started, review('Pod', pod([`${registry.host}/warn/tool:1`])));
    expect(answer.allowed).toBe(true);
    expect(answer.warnings?.join('\n')).toMatch(/warn\/tool:1.*no signature found/);
  });

  it('honours dry run: the same decision, and the review is marked as a dry run', async () => {
    const dry = await admit(started, review('Pod', pod([image('unsigned')]), { dryRun: true }));
    expect(dry.allowed).toBe(false);
    expect((await admit(started, review('Pod', pod([image('signed')]), { dryRun: true }))).allowed).toBe(true);
  });

  it('mutating: pins each tag to the digest that was verified (JSONPatch), leaves digests alone', async () => {
    const answer = await admit(started, review('Pod', pod([image('signed'), pinned('bundle')], [image('bundle')])), '/mutate');
    expect(answer.allowed).toBe(true);
    expect(answer.patchType).toBe('JSONPatch');
    const patch = JSON.parse(Buffer.from(answer.patch ?? '', 'base64').toString('utf8')) as unknown[];
    expect(patch).toEqual([
      { op: 'replace', path: '/spec/initContainers/0/image', value: `${image('bundle')}@${digests.bundle}` },
      { op: 'replace', path: '/spec/containers/0/image', value: `${image('signed')}@${digests.signed}` },
    ]);
    const denied = await admit(started, review('Pod', pod([image('unsigned')])), '/mutate');
    expect(denied.allowed).toBe(false);
    expect(denied.patch).toBeUndefined();
  });

  it('a tag moved after signing to an unsigned image is denied (the digest is what is verified)', async () => {
    expect((await admit(started, review('Pod', pod([image('moving')])))).allowed).toBe(true);
    mustRun('skopeo', [
      'copy',
      '--insecure-policy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--src-creds',
      `${registry.user}:${registry.password}`,
      '--dest-creds',
      `${registry.user}:${registry.password}`,
      `docker://${image('unsigned')}`,
      `docker://${image('moving')}`,
    ]);
    const moved = await admit(started, review('Pod', pod([image('moving')])));
    expect(moved.allowed).toBe(false);
    expect(moved.status?.message).toContain(digests.unsigned);
  });

  it('answers bad requests without a review (400), caps bodies (413), and serves health', async () => {
    expect((await post(started.port, '/validate', '{"kind":"Pod"}')).status).toBe(400);
    const huge = Buffer.alloc(5 * 1024 * 1024, 0x20);
    expect((await post(started.port, '/validate', huge)).status).toBe(413);
    const health = await new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port: started.port, path: '/healthz', ca }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(health).toBe(200);
  });
});

describe('signet admission (ClusterImagePolicy documents)', () => {
  it('gives the same decisions as the native policy', async () => {
    const native = await start(nativePolicy(), 'native.yml');
    const cip = await start(clusterImagePolicy(), 'cip.yml');
    try {
      mustRun('skopeo', [
        'copy',
        '--insecure-policy',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        '--src-creds',
        `${registry.user}:${registry.password}`,
        '--dest-creds',
        `${registry.user}:${registry.password}`,
        `docker://${image('unsigned')}`,
        `docker://${registry.host}/warn/other:1`,
      ]);
      const cases = [
        [image('signed')],
        [image('unsigned')],
        [image('other-key')],
        [image('bundle'), image('signed')],
        [`${registry.host}/warn/other:1`],
        [`${registry.host}/nobody/else:1`],
      ];
      for (const images of cases) {
        const a = await admit(native, review('Pod', pod(images)));
        const b = await admit(cip, review('Pod', pod(images)));
        expect({ images, allowed: b.allowed, warned: (b.warnings ?? []).length > 0 }).toEqual({
          images,
          allowed: a.allowed,
          warned: (a.warnings ?? []).length > 0,
        });
      }
    } finally {
      await stop(native);
      await stop(cip);
    }
  });

  it('refuses fields it does not implement, naming them, instead of ignoring them', async () => {
    const withCue = clusterImagePolicy().replace(
      '      key:\n        data: |',
      '      attestations:\n        - name: x\n          predicateType: spdx\n          policy: { type: cue, data: "predicateType: \\"x\\"" }\n      key:\n        data: |',
    );
    writeFileSync(join(dir, 'cue.yml'), withCue);
    await expect(loadAdmissionPolicy(join(dir, 'cue.yml'))).rejects.toThrow(
      /cue\.yml:\d+:\d+: spec\.authorities\.0\.attestations\.0\.policy: not supported by signet/,
    );
    writeFileSync(
      join(dir, 'ctlog.yml'),
      clusterImagePolicy().replace('    - name: release-key\n', '    - name: release-key\n      ctlog: { url: https://rekor.example }\n'),
    );
    await expect(loadAdmissionPolicy(join(dir, 'ctlog.yml'))).rejects.toThrow(/spec\.authorities\.0\.ctlog: not supported by signet/);
    writeFileSync(
      join(dir, 'regexp.yml'),
      nativePolicy().replace(
        '      - name: release-key\n        key: { path: cosign.pub }\n  - name: sbom',
        '      - name: anyone\n        keyless: { identities: [{ issuer: "https://token.actions.githubusercontent.com", subjectRegExp: "github.com/acme/" }] }\n  - name: sbom',
      ),
    );
    await expect(loadAdmissionPolicy(join(dir, 'regexp.yml'))).rejects.toThrow(/subjectRegExp: the regular expression '[^']*' must be anchored/);
  });
});

describe('keyless authorities (identities under a Sigstore trusted root)', () => {
  let sigstore: SigstoreServices;
  const ISSUER = 'https://token.actions.githubusercontent.com';
  const WORKFLOW = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';
  beforeAll(async () => {
    sigstore = await startSigstoreServices();
    writeFileSync(join(dir, 'trusted_root.json'), JSON.stringify(sigstore.trustedRoot));
    digests.keyless = pushTestImage(dir, registry, 'acme/app', 'keyless', 'keyless\n');
    const signed = await runSignet(['sign-image', '--fulcio-url', sigstore.url, '--rekor-url', sigstore.url, pinned('keyless')], {
      cwd: dir,
      env: { ...env, SIGSTORE_ID_TOKEN: sigstore.token({ iss: ISSUER, sub: WORKFLOW }) },
    });
    expect(signed.code, signed.stderr).toBe(0);
  }, 60_000);
  afterAll(async () => sigstore?.stop());

  const keylessPolicy = (identities: string) =>
    `policies:\n  - name: ci-built\n    images: ["${registry.host}/acme/**"]\n    authorities:\n      - name: release-workflow\n        keyless:\n          identities: ${identities}\n`;
  async function startKeyless(text: string, name: string) {
    writeFileSync(join(dir, name), text);
    const loaded = await loadAdmissionPolicy(join(dir, name), join(dir, 'trusted_root.json'));
    return startAdmissionServer(loaded, { cert, key, log: pino({ level: 'silent' }), env, allowHttp: false }, '127.0.0.1', 0);
  }

  it('admits an image signed keylessly by an allowed identity, exact or by anchored regexp; denies another', async () => {
    const exact = await startKeyless(keylessPolicy(`[{ issuer: "${ISSUER}", subject: "${WORKFLOW}" }]`), 'keyless-exact.yml');
    const regexp = await startKeyless(keylessPolicy(`[{ issuer: "${ISSUER}", subjectRegExp: "^https://github\\\\.com/acme/.*$" }]`), 'keyless-regexp.yml');
    const other = await startKeyless(
      keylessPolicy(
        `[{ issuer: "${ISSUER}", subject: "https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main" }, { issuer: "https://gitlab.com", subjectRegExp: "^.*$" }]`,
      ),
      'keyless-other.yml',
    );
    try {
      expect((await admit(exact, review('Pod', pod([image('keyless')])))).allowed).toBe(true);
      expect((await admit(regexp, review('Pod', pod([image('keyless')])))).allowed).toBe(true);
      const denied = await admit(other, review('Pod', pod([image('keyless')])));
      expect(denied.allowed).toBe(false);
      expect(denied.status?.message).toMatch(/keyless identity check failed/);
      // A key-signed image is not keylessly signed.
      expect((await admit(exact, review('Pod', pod([image('signed')])))).allowed).toBe(false);
    } finally {
      await stop(exact);
      await stop(regexp);
      await stop(other);
    }
  });

  it('reads a ClusterImagePolicy keyless authority the same way', async () => {
    const cip = await startKeyless(
      `apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: { name: ci-built }\nspec:\n  images: [{ glob: "${registry.host}/acme/**" }]\n  authorities:\n    - keyless:\n        url: https://fulcio.sigstore.dev\n        identities:\n          - issuer: ${ISSUER}\n            subjectRegExp: "^https://github\\\\.com/acme/app/.*$"\n`,
      'cip-keyless.yml',
    );
    try {
      expect((await admit(cip, review('Pod', pod([image('keyless')])))).allowed).toBe(true);
      expect((await admit(cip, review('Pod', pod([image('unsigned')])))).allowed).toBe(false);
    } finally {
      await stop(cip);
    }
  });
});

describe('registry outages and the command itself', () => {
  it('a registry that is down denies, with a message naming the image, inside the budget', async () => {
    const down = '127.0.0.1:9';
    const started = await start(`policies:\n  - name: down\n    images: ["${down}/**"]\n    authorities:\n      - key: { path: cosign.pub }\n`, 'down.yml');
    try {
      const t0 = performance.now();
      const answer = await admit(started, review('Pod', pod([`${down}/acme/app:1`])));
      expect(performance.now() - t0).toBeLessThan(8_000);
      expect(answer.allowed).toBe(false);
      expect(answer.status?.message).toContain(`${down}/acme/app:1`);
      expect(answer.status?.message).toMatch(/cannot reach registry/);
    } finally {
      await stop(started);
    }
  });

  it('reads registry credentials from the image pull secrets the policy names (no docker config)', async () => {
    writeFileSync(
      join(dir, 'pull-secret.json'),
      JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${registry.user}:${registry.password}`).toString('base64') } } }),
    );
    const policyText = `registries: { pull_secrets: [${JSON.stringify(join(dir, 'pull-secret.json'))}], timeouts_ms: { "${registry.host}": 2500 } }\npolicies:\n  - name: p\n    images: ["${registry.host}/acme/**"]\n    authorities:\n      - key: { path: cosign.pub }\n`;
    writeFileSync(join(dir, 'secrets.yml'), policyText);
    const loaded = await loadAdmissionPolicy(join(dir, 'secrets.yml'));
    const withSecret = await startAdmissionServer(loaded, { cert, key, log: pino({ level: 'silent' }), env: {}, allowHttp: false }, '127.0.0.1', 0);
    writeFileSync(join(dir, 'no-secrets.yml'), policyText.replace(/pull_secrets: \[[^\]]*\], /, ''));
    const without = await startAdmissionServer(
      await loadAdmissionPolicy(join(dir, 'no-secrets.yml')),
      { cert, key, log: pino({ level: 'silent' }), env: {}, allowHttp: false },
      '127.0.0.1',
      0,
    );
    try {
      expect((await admit(withSecret, review('Pod', pod([image('signed')])))).allowed).toBe(true);
      const denied = await admit(without, review('Pod', pod([image('signed')])));
      expect(denied.allowed).toBe(false);
      expect(denied.status?.message).toMatch(/needs credentials/);
    } finally {
      await stop(withSecret);
      await stop(without);
    }
  });

  it('`signet admission` serves over HTTPS from the built CLI; `admission manifests` prints installable YAML', async () => {
    writeFileSync(join(dir, 'cli.yml'), nativePolicy());
    const child: ChildProcess = spawn(
      process.execPath,
      [join(projectRoot, 'bin', 'signet.js'), 'admission', '--listen', '127.0.0.1:0', '--tls-cert', 'tls.crt', '--tls-key', 'tls.key', '--policy', 'cli.yml'],
      { cwd: dir, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let seen = '';
        const timer = setTimeout(() => reject(new Error(`no listening line: ${seen}`)), 15_000);
        child.stderr?.on('data', (chunk: Buffer) => {
          seen += chunk.toString('utf8');
          const match = /"port":(\d+)/.exec(seen);
          if (match) {
            clearTimeout(timer);
            resolve(Number(match[1]));
          }
        });
      });
      const fake = { server: undefined as unknown as Server, service: undefined as unknown as AdmissionService, port };
      expect((await admit(fake, review('Pod', pod([image('signed')])))).allowed).toBe(true);
      expect((await admit(fake, review('Pod', pod([image('unsigned')])))).allowed).toBe(false);
    } finally {
      child.kill('SIGTERM');
    }
    const manifests = await runSignet(['admission', 'manifests', '--image', 'ghcr.io/acme/signet:1', '--ca-bundle', 'ca.pem'], { cwd: dir, env });
    expect(manifests.code, manifests.stderr).toBe(0);
    const docs = manifests.stdout.split(/^---$/m).map((text) => text.trim());
    expect(docs.map((text) => /^kind: (\S+)/m.exec(text)?.[1])).toEqual([
      'Deployment',
      'Service',
      'ValidatingWebhookConfiguration',
      'MutatingWebhookConfiguration',
    ]);
    expect(manifests.stdout).toContain('failurePolicy: Fail');
    expect(manifests.stdout).toContain(`caBundle: ${ca.toString('base64')}`);
  });
});
