import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SignetError, type SignetErrorCode } from '../core/errors.ts';
import { verifyCommitObject, verifyTagObject, type CommitResult, type KeyRegistries, type TagResult, type VerifyObjectOptions } from '../core/verify-object.ts';
import type { RegistrySources } from '../keys/load-registries.ts';
import type { Repository } from './repository.ts';
import { listCommits } from './rev-walk.ts';
import type { RevisionSet, TagReference } from './revisions.ts';
import type { VerifyWorkerSetup } from './verify-worker.ts';

export interface VerifyRangeOptions {
  now: Date;
  sshVerifyTime?: Date;
  /** Called every few hundred commits: (done, total). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Verify on every core: worker threads load the same key material and take batches of
   * commits while this thread takes its share. Needs the worker script (the built bundle).
   */
  parallel?: { workerUrl: URL; sources: RegistrySources; minCommits?: number; /** threads in all, this one included */ threads?: number };
}

const BATCH = 256;
/** Below this many commits a worker's start-up costs more than it saves. */
const DEFAULT_PARALLEL_MIN = 1500;

export async function verifyTags(repo: Repository, tags: TagReference[], registries: KeyRegistries, options: VerifyRangeOptions): Promise<Array<TagResult & { ref?: string }>> {
  const results: Array<TagResult & { ref?: string }> = [];
  for (const tag of tags) {
    const object = repo.objects.read(tag.oid);
    const result = await verifyTagObject(tag.oid, object.data, registries, objectOptions(repo, options));
    results.push(tag.ref ? { ...result, ref: tag.ref } : result);
  }
  return results;
}

/**
 * Verifies every commit of a revision set, newest first, yielding results as it goes so a
 * 100,000-commit range never holds more than the walk's id list (and a few batches) in memory.
 */
export async function* verifyCommits(repo: Repository, revisions: RevisionSet, registries: KeyRegistries, options: VerifyRangeOptions): AsyncGenerator<CommitResult> {
  const oids = listCommits(repo.objects, revisions.include, revisions.exclude);
  const verifyOptions = objectOptions(repo, options);
  const verifyBatch = async (batch: string[]): Promise<CommitResult[]> => {
    const results: CommitResult[] = [];
    for (const oid of batch) {
      const object = repo.objects.read(oid);
      if (object.type !== 'commit') throw new SignetError('OBJECT_MALFORMED', `${oid} is a ${object.type}, not a commit`);
      results.push(await verifyCommitObject(oid, object.data, registries, verifyOptions));
    }
    return results;
  };
  const batches: string[][] = [];
  for (let start = 0; start < oids.length; start += BATCH) batches.push(oids.slice(start, start + BATCH));

  const threads = options.parallel?.threads ?? Math.min(availableParallelism(), 4);
  const workers = options.parallel && oids.length >= (options.parallel.minCommits ?? DEFAULT_PARALLEL_MIN) ? threads - 1 : 0;
  const readBatch = (batch: string[]): Uint8Array[] =>
    batch.map((oid) => {
      const object = repo.objects.read(oid);
      if (object.type !== 'commit') throw new SignetError('OBJECT_MALFORMED', `${oid} is a ${object.type}, not a commit`);
      return object.data;
    });
  const pool = workers > 0 ? new WorkerPool(workers, options.parallel!.workerUrl, {
    hashAlgorithm: repo.hashAlgorithm,
    sources: options.parallel!.sources,
    now: options.now.getTime(),
    ...(options.sshVerifyTime ? { sshVerifyTime: options.sshVerifyTime.getTime() } : {}),
  }, batches, readBatch) : undefined;

  let done = 0;
  try {
    for (let index = 0; index < batches.length; index++) {
      let results: CommitResult[];
      if (!pool) {
        results = await verifyBatch(batches[index]!);
      } else {
        // Take unassigned batches ourselves while the one we need next is still out.
        while (!pool.isReady(index) && pool.hasUnassigned()) {
          const mine = pool.takeNext();
          pool.complete(mine, await verifyBatch(batches[mine]!));
          await new Promise((resolve) => setImmediate(resolve)); // let worker replies in
        }
        results = await pool.result(index);
      }
      for (const result of results) yield result;
      done += results.length;
      options.onProgress?.(done, oids.length);
    }
  } finally {
    await pool?.close();
  }
}

function objectOptions(repo: Repository, options: VerifyRangeOptions): VerifyObjectOptions {
  return { hash: repo.hashAlgorithm, now: options.now, ...(options.sshVerifyTime ? { sshVerifyTime: options.sshVerifyTime } : {}) };
}

type BatchReply = { id: number; results: CommitResult[] } | { id: number; error: { code: SignetErrorCode; message: string } };

/** Hands out batches in order, two in flight per worker, and keeps results until asked for. */
class WorkerPool {
  private readonly workers: Worker[] = [];
  private next = 0;
  private readonly results = new Map<number, CommitResult[]>();
  private readonly waiting = new Map<number, { resolve: (results: CommitResult[]) => void; reject: (error: Error) => void }>();
  private failure: Error | undefined;

  constructor(
    count: number,
    url: URL,
    setup: VerifyWorkerSetup,
    private readonly batches: string[][],
    private readonly readBatch: (batch: string[]) => Uint8Array[],
  ) {
    for (let i = 0; i < count; i++) {
      const worker = new Worker(url, { workerData: setup });
      worker.on('message', (reply: BatchReply) => this.onReply(worker, reply));
      worker.on('error', (error) => this.fail(new SignetError('INTERNAL', `verification worker failed: ${error.message}`)));
      this.workers.push(worker);
      this.assign(worker);
      this.assign(worker);
    }
  }

  isReady(index: number): boolean {
    return this.results.has(index) || this.failure !== undefined;
  }

  hasUnassigned(): boolean {
    return this.next < this.batches.length;
  }

  takeNext(): number {
    return this.next++;
  }

  complete(index: number, results: CommitResult[]): void {
    this.results.set(index, results);
    this.waiting.get(index)?.resolve(results);
  }

  result(index: number): Promise<CommitResult[]> {
    if (this.failure) return Promise.reject(this.failure);
    const ready = this.results.get(index);
    if (ready) {
      this.results.delete(index);
      return Promise.resolve(ready);
    }
    return new Promise((resolve, reject) => this.waiting.set(index, { resolve: (results) => { this.results.delete(index); resolve(results); }, reject }));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private assign(worker: Worker): void {
    if (this.next >= this.batches.length) return;
    const id = this.next++;
    try {
      // The objects travel with the batch (this thread read and checked them during the walk).
      worker.postMessage({ id, oids: this.batches[id], objects: this.readBatch(this.batches[id]!) });
    } catch (error) {
      this.fail(error as Error);
    }
  }

  private onReply(worker: Worker, reply: BatchReply): void {
    if ('error' in reply) {
      this.fail(new SignetError(reply.error.code, reply.error.message));
      return;
    }
    this.complete(reply.id, reply.results);
    this.assign(worker);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }
}
