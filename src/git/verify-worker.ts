import { parentPort, workerData } from 'node:worker_threads';
import { SignetError } from '../core/errors.ts';
import { verifyCommitObject, type VerifyObjectOptions } from '../core/verify-object.ts';
import { buildRegistries, type RegistrySources } from '../keys/load-registries.ts';
import type { HashAlgorithm } from './hash-algorithm.ts';
import { ObjectStore } from './object-store.ts';

/** What the pool sends a worker at start: where the objects are and which keys to trust. */
export interface VerifyWorkerSetup {
  directories: string[];
  hashAlgorithm: HashAlgorithm;
  sources: RegistrySources;
  now: number;
  sshVerifyTime?: number;
}

// A worker thread of the verification pool: it opens its own object store and registries
// and verifies the batches of commit ids it is sent, answering { id, results } or { id, error }.
const setup = workerData as VerifyWorkerSetup;
const store = new ObjectStore(setup.directories, setup.hashAlgorithm);
const registriesReady = buildRegistries(setup.sources);
const options: VerifyObjectOptions = {
  hash: setup.hashAlgorithm,
  now: new Date(setup.now),
  ...(setup.sshVerifyTime !== undefined ? { sshVerifyTime: new Date(setup.sshVerifyTime) } : {}),
};

parentPort!.on('message', async (message: { id: number; oids: string[] }) => {
  try {
    const registries = await registriesReady;
    const results = [];
    for (const oid of message.oids) {
      const object = store.read(oid);
      if (object.type !== 'commit') throw new SignetError('OBJECT_MALFORMED', `${oid} is a ${object.type}, not a commit`);
      results.push(await verifyCommitObject(oid, object.data, registries, options));
    }
    parentPort!.postMessage({ id: message.id, results });
  } catch (error) {
    parentPort!.postMessage({ id: message.id, error: { code: (error as SignetError).code ?? 'INTERNAL', message: (error as Error).message } });
  }
});
