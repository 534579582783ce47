import { parentPort, workerData } from 'node:worker_threads';
import type { SignetError } from '../core/errors.ts';
import { verifyCommitObject, type VerifyObjectOptions } from '../core/verify-object.ts';
import { buildRegistries, type RegistrySources } from '../keys/load-registries.ts';
import type { HashAlgorithm } from './hash-algorithm.ts';

/** What the pool sends a worker at start: which keys to trust, and the clock. */
export interface VerifyWorkerSetup {
  hashAlgorithm: HashAlgorithm;
  sources: RegistrySources;
  now: number;
  sshVerifyTime?: number;
}

// A worker thread of the verification pool: it builds its own registries and verifies the
// batches of raw commit objects it is sent (already read and hash-checked by the main thread),
// answering { id, results } or { id, error }.
const setup = workerData as VerifyWorkerSetup;
const registriesReady = buildRegistries(setup.sources);
const options: VerifyObjectOptions = {
  hash: setup.hashAlgorithm,
  now: new Date(setup.now),
  ...(setup.sshVerifyTime !== undefined ? { sshVerifyTime: new Date(setup.sshVerifyTime) } : {}),
};

parentPort!.on('message', async (message: { id: number; oids: string[]; objects: Uint8Array[] }) => {
  try {
    const registries = await registriesReady;
    const results = [];
    for (let index = 0; index < message.oids.length; index++) {
      results.push(await verifyCommitObject(message.oids[index]!, message.objects[index]!, registries, options));
    }
    parentPort!.postMessage({ id: message.id, results });
  } catch (error) {
    parentPort!.postMessage({ id: message.id, error: { code: (error as SignetError).code ?? 'INTERNAL', message: (error as Error).message } });
  }
});
