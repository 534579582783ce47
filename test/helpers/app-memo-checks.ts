/**
 * Checks of one pull request across installations, for the verdict memo's end-to-end tests: the
 * same commits copied into other installations' repositories (served by the same `git
 * http-backend`), a check delivered through Probot's real Server, and the memo's counters read
 * around it.
 */
import { execFileSync } from 'node:child_process';
import { expect } from 'vitest';
import { join } from 'node:path';
import type { VerdictMemo } from '../../src/checks/verdict-memo.ts';
import { SECRET, tableRows, type AppHarness } from './fake-github-app.ts';
import { deliver, example, retarget } from './fake-github-webhooks.ts';

export interface Target {
  fullName: string;
  cloneUrl: string;
  installationId: number;
}

export function memoOf(harness: AppHarness): VerdictMemo {
  const memo = harness.server.deps.verdictMemo;
  if (!memo) throw new Error('the server runs without a verdict memo');
  return memo;
}

export type Head = 'feature-good' | 'feature-email';

/** A pull request event for `target` whose head is `head`, based on the original main. */
function pullRequest(harness: AppHarness, target: Target, action: string, head: Head): Record<string, unknown> {
  const payload = retarget(example('pull_request', action), target);
  const pull = payload.pull_request as Record<string, any>;
  payload.number = 1;
  pull.number = 1;
  pull.head = { ...pull.head, sha: harness.repo.heads[head], ref: head, repo: { ...pull.head.repo, full_name: target.fullName } };
  pull.base = { ...pull.base, sha: harness.repo.heads.main, ref: 'main', repo: { ...pull.base.repo, full_name: target.fullName } };
  return payload;
}

/** Delivers the event and returns the completed check run of that repository. */
export async function check(
  harness: AppHarness,
  target: Target,
  action = 'synchronize',
  head: Head = 'feature-good',
): Promise<{ conclusion: string; rows: string[][]; title: string }> {
  const before = harness.github.checkRuns.length;
  const response = await deliver(harness.hookUrl, SECRET, 'pull_request', pullRequest(harness, target, action, head));
  expect(response.status).toBe(200);
  const runs = harness.github.checkRuns.slice(before).filter((run) => run.repository === target.fullName);
  expect(runs).toHaveLength(1);
  const current = runs[0]!.current as { conclusion: string; output: { summary: string; title: string } };
  return { conclusion: current.conclusion, rows: tableRows(current.output.summary), title: current.output.title };
}

/** The counters' change over `work`. */
export async function delta<T>(memo: VerdictMemo, work: () => Promise<T>): Promise<{ result: T; hits: number; misses: number; expired: number }> {
  const before = memo.statistics;
  const result = await work();
  const after = memo.statistics;
  return { result, hits: after.hits - before.hits, misses: after.misses - before.misses, expired: after.expired - before.expired };
}

export function git(args: string[], cwd: string, home: string): string {
  return execFileSync('git', args, {
    cwd,
    env: { PATH: process.env.PATH, HOME: home, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
}

/** Another installation's repository holding a copy of the harness's, served by the same backend. */
export function mirror(harness: AppHarness, fullName: string, installationId: number, scratch: string): Target {
  const bare = join(harness.repo.root, `${fullName}.git`);
  git(['clone', '-q', '--mirror', harness.repo.bare, bare], scratch, scratch);
  harness.github.repositories.set(fullName, bare);
  return { fullName, cloneUrl: `${harness.backend.origin}/${fullName}.git`, installationId };
}
