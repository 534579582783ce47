import { commitTree, git } from './git.ts';

/**
 * A random history: each commit takes one or two earlier commits as parents (merges), with
 * committer times that mostly increase but sometimes go backwards (clock skew), which is
 * what makes git's walk interesting. Branch tips get refs (b0…b5, main at the newest). With
 * `equalDates`, runs of four commits share a committer time (git breaks such ties by queue order).
 * Shared by the rev-list property tests (test/e2e/rev/rev-walk.test.ts,
 * test/unit/git/moved-tip-walk.test.ts).
 */
export function buildHistory(path: string, seed: number, size: number, options: { equalDates?: boolean } = {}): string[] {
  const tree = git(path, ['write-tree']);
  let state = seed;
  const random = (n: number): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
  const commits: string[] = [];
  for (let i = 0; i < size; i++) {
    const parents: string[] = [];
    if (i > 0) parents.push(commits[Math.max(0, i - 1 - random(Math.min(i, 6)))]!);
    if (i > 3 && random(4) === 0) {
      const other = commits[random(i)]!;
      if (!parents.includes(other)) parents.push(other);
    }
    const skew = random(10) === 0 ? -random(5000) : 0;
    const step = options.equalDates ? Math.floor(i / 4) * 400 : i * 100;
    commits.push(commitTree(path, tree, parents, `c${i}`, 1_700_000_000 + step + skew));
  }
  for (let b = 0; b < 6; b++) git(path, ['update-ref', `refs/heads/b${b}`, commits[random(commits.length)]!]);
  git(path, ['update-ref', 'refs/heads/main', commits[commits.length - 1]!]);
  return commits;
}
