import { SignetError } from '../core/errors.ts';
import { verifyCommitObject, verifyTagObject, type CommitResult, type KeyRegistries, type TagResult, type VerifyObjectOptions } from '../core/verify-object.ts';
import type { Repository } from './repository.ts';
import { listCommits } from './rev-walk.ts';
import type { RevisionSet, TagReference } from './revisions.ts';

export interface VerifyRangeOptions {
  now: Date;
  sshVerifyTime?: Date;
  /** Called every few hundred commits: (done, total). */
  onProgress?: (done: number, total: number) => void;
}

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
 * 100,000-commit range never holds more than the walk's id list in memory.
 */
export async function* verifyCommits(repo: Repository, revisions: RevisionSet, registries: KeyRegistries, options: VerifyRangeOptions): AsyncGenerator<CommitResult> {
  const oids = listCommits(repo.objects, revisions.include, revisions.exclude);
  const verifyOptions = objectOptions(repo, options);
  for (let index = 0; index < oids.length; index++) {
    const oid = oids[index]!;
    const object = repo.objects.read(oid);
    if (object.type !== 'commit') throw new SignetError('OBJECT_MALFORMED', `${oid} is a ${object.type}, not a commit`);
    yield await verifyCommitObject(oid, object.data, registries, verifyOptions);
    if (options.onProgress && (index + 1) % 250 === 0) options.onProgress(index + 1, oids.length);
  }
  options.onProgress?.(oids.length, oids.length);
}

function objectOptions(repo: Repository, options: VerifyRangeOptions): VerifyObjectOptions {
  return { hash: repo.hashAlgorithm, now: options.now, ...(options.sshVerifyTime ? { sshVerifyTime: options.sshVerifyTime } : {}) };
}
