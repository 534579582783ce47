import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, tempDir } from '../../helpers/git.ts';
import { projectRoot } from '../../helpers/sign-cli.ts';

/**
 * `signet … | head`: every command that prints ends quietly when its reader goes away — exit
 * 141 (what a shell reports for a process ended by SIGPIPE), no stack trace — whether the
 * reader leaves before the first byte or after the first line.
 */
interface Outcome {
  code: number | null;
  stderr: string;
  sawFirstLine: boolean;
}

function runIntoClosingPipe(args: string[], cwd: string, when: 'at-once' | 'after-first-line', env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(projectRoot, 'bin', 'signet.js'), ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let sawFirstLine = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    if (when === 'at-once') child.stdout.destroy();
    else {
      let seen = '';
      child.stdout.on('data', (chunk: Buffer) => {
        seen += chunk.toString('utf8');
        if (seen.includes('\n')) {
          sawFirstLine = true;
          child.stdout.destroy();
        }
      });
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`signet ${args.join(' ')} did not end`));
    }, 50_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, sawFirstLine });
    });
  });
}

describe('every printing command ends quietly when its reader goes away', () => {
  const dir = tempDir('closed-pipe');
  const repo = join(dir.path, 'repo');
  // Enough commits that verify and report write more than a pipe holds (64 KiB).
  const COMMITS = 3000;
  const commands: Array<{ name: string; args: string[] }> = [
    { name: 'help', args: ['--help'] },
    { name: 'version', args: ['--version'] },
    { name: 'verify (text)', args: ['verify', '--repo', repo, 'main'] },
    { name: 'verify (json)', args: ['verify', '--repo', repo, '--format', 'json', 'main'] },
    { name: 'verify --help', args: ['verify', '--help'] },
    { name: 'report (markdown)', args: ['report', '--repo', repo, '--since', '2020-01-01'] },
    { name: 'report (json)', args: ['report', '--repo', repo, '--since', '2020-01-01', '--format', 'json'] },
    { name: 'report (svg)', args: ['report', '--repo', repo, '--since', '2020-01-01', '--format', 'svg'] },
    { name: 'audit export', args: ['audit', 'export', '--since', '2020-01-01', '--log', join(dir.path, 'audit.log')] },
    { name: 'jobs list', args: ['jobs', 'list', '--config', join(dir.path, 'jobs.yml')] },
    { name: 'policy check', args: ['policy', 'check', join(dir.path, 'policy.yml')] },
    { name: 'hook --help', args: ['hook', '--help'] },
    ...[
      'attest',
      'verify-attestation',
      'sign-image',
      'verify-image',
      'sign-package',
      'checksums',
      'generate-key-pair',
      'sign-blob',
      'verify-blob',
      'report',
      'jobs',
      'audit',
      'policy',
    ].map((command) => ({ name: `${command} --help`, args: [command, '--help'] })),
  ];

  beforeAll(() => {
    git(dir.path, ['init', '-q', '-b', 'main', repo]);
    const stream: string[] = [];
    for (let i = 1; i <= COMMITS; i++) {
      const message = `commit number ${i}\n`;
      stream.push('commit refs/heads/main', `committer Test <test@example.com> ${1_700_000_000 + i * 60} +0000`, `data ${Buffer.byteLength(message)}`, message);
    }
    git(repo, ['fast-import', '--quiet'], { input: `${stream.join('\n')}\n` });
    const lines: string[] = [];
    for (let i = 0; i < 2000; i++) {
      lines.push(
        JSON.stringify({
          level: 30,
          time: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString(),
          component: 'pre-receive',
          event: 'push',
          ref: 'refs/heads/main',
          allowed: true,
          pusher: 'alice',
          repository: 'org/repo',
          commits: [],
        }),
      );
    }
    writeFileSync(join(dir.path, 'audit.log'), `${lines.join('\n')}\n`);
    writeFileSync(join(dir.path, 'jobs.yml'), `timezone: UTC\nstate_dir: ${join(dir.path, 'state')}\njobs:\n  key-expiry: {}\n`);
    writeFileSync(join(dir.path, 'policy.yml'), 'version: 1\nrules:\n  - refs: [refs/heads/main]\n    forbid_force_push: true\n');
  }, 60_000);
  afterAll(() => dir.remove());

  for (const { name, args } of commands) {
    it(`${name}: reader gone before the first byte → exit 141, no stack trace`, async () => {
      const outcome = await runIntoClosingPipe(args, dir.path, 'at-once');
      expect(outcome.stderr).not.toMatch(/EPIPE|node:internal|\n\s+at /);
      expect(outcome.code).toBe(141);
    });
  }

  for (const { name, args } of commands.filter((command) => /verify \(|report \(|audit export/.test(command.name))) {
    // A report is a summary that fits in the pipe's buffer: it may be written whole before the
    // reader leaves (exit 0); verify and audit export write far more than the buffer holds.
    const fits = name.startsWith('report');
    it(`${name}: reader gone after the first line → exit ${fits ? '0 or ' : ''}141, no stack trace`, async () => {
      const outcome = await runIntoClosingPipe(args, dir.path, 'after-first-line');
      expect(outcome.sawFirstLine).toBe(true);
      expect(outcome.stderr).not.toMatch(/EPIPE|node:internal|\n\s+at /);
      expect(fits ? [0, 141] : [141]).toContain(outcome.code);
    });
  }
});
