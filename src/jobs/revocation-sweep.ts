/**
 * Revocation sweep: keys the registry revoked, or that were removed from it since an earlier
 * sweep, and the commits on protected refs they signed after that. The sweep remembers the
 * registry between runs (a snapshot in the job state), since a removed key is no longer in
 * any file to ask.
 */
import { join } from 'node:path';
import type { DesiredIssue } from '../core/report/issue-sync.ts';
import {
  findCommitsAfterWithdrawal,
  updateSnapshot,
  withdrawnKeys,
  type RegistrySnapshot,
  type RevocationFinding,
  type SweepCommit,
  type WithdrawnKey,
} from '../core/report/key-watch.ts';
import { parseRevokedKeys } from '../core/ssh/index.ts';
import { commitsInPeriod, CommitVerifier, peelToCommit, protectedRefs } from '../report/collect.ts';
import { registryKeyReports, revokedSshFingerprints } from '../report/registry-keys.ts';
import { isoDay } from '../report/render-markdown.ts';
import { VerdictRecords } from '../store/verdict-records.ts';
import { forEachRepository, issueTracker, repositoryContext, type JobEnvironment, type JobRun } from './context.ts';
import { syncIssues } from './issue-tracker.ts';
import { slug } from './ports.ts';
import { markdownCode, markdownText } from '../core/render/markdown-text.ts';
import { terminalText } from '../core/render/terminal-text.ts';

const DAY = 86_400;

export interface RevocationFindingData {
  key: string;
  kind: 'openpgp' | 'ssh';
  names: string[];
  how: WithdrawnKey['how'];
  since: string | null;
  commit: string;
  ref: string;
  status: string;
  signedAt: string;
  acceptedAt?: string;
  why: RevocationFinding['why'];
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

function describeWhy(finding: RevocationFinding): string {
  switch (finding.why) {
    case 'signed-after':
      return `signed ${iso(finding.signedAt)}, after the key was ${finding.key.how}`;
    case 'accepted-after':
      return `signed ${iso(finding.signedAt)} (before) but first accepted ${iso(finding.acceptedAt!)}, after the key was ${finding.key.how}: the date may be forged`;
    case 'time-unknown':
      return 'the registry does not say since when the key is revoked';
  }
}

export function revocationIssue(key: WithdrawnKey, findings: RevocationFinding[], repository: string): DesiredIssue {
  // Ref names are the pushers' text, key names the key makers': escaped, never raw.
  const lines = findings
    .slice(0, 50)
    .map((f) => `- ${markdownCode(f.commit.slice(0, 12))} on ${markdownCode(f.ref, { limit: 1_000 })} (${f.status}): ${describeWhy(f)}`);
  if (findings.length > 50) lines.push(`- … and ${findings.length - 50} more (\`signet jobs run revocation-sweep --format json\`)`);
  const since = key.since !== undefined ? ` on ${isoDay(key.since)}` : '';
  return {
    id: `revoked-key:${key.id}`,
    title: terminalText(`${findings.length} commit${findings.length === 1 ? '' : 's'} signed by ${key.how} key ${key.names[0] ?? key.id}`),
    body: [
      `The ${key.kind === 'openpgp' ? 'OpenPGP' : 'SSH'} key ${markdownCode(key.id)} (${key.names.length > 0 ? markdownText(key.names.join(', '), 2_000) : 'no names'}) was ${key.how}${since} from the signing registry of **${markdownText(repository)}**.`,
      `These commits on protected refs carry its signature after that:`,
      '',
      ...lines,
      '',
      'Check each with its author. To clear them, revert or re-sign them with a valid key; signet closes this issue when no such commit is left on the protected refs.',
    ].join('\n'),
  };
}

export async function runRevocationSweep(environment: JobEnvironment): Promise<JobRun> {
  const settings = environment.config.jobs['revocation-sweep'];
  return forEachRepository(environment, 'revocation-sweep', async (repository) => {
    const context = await repositoryContext(repository);
    const now = environment.now();
    const nowSeconds = Math.floor(now.getTime() / 1000);
    try {
      const keys = await registryKeyReports(context.sources);
      const snapshotKey = `snapshots/${slug(repository.name)}.json`;
      const snapshot = updateSnapshot(await environment.state.read<RegistrySnapshot>(snapshotKey), keys, now.toISOString());
      await environment.state.write(snapshotKey, snapshot);
      const revokedFile = context.sources.revokedKeys
        ? revokedSshFingerprints(parseRevokedKeys(context.sources.revokedKeys.bytes, context.sources.revokedKeys.name))
        : new Set<string>();
      const revokedSsh = [...new Set([...revokedFile, ...keys.filter((k) => k.kind === 'ssh' && k.revoked).map((k) => k.id)])].map((id) => ({
        id,
        names: keys.find((k) => k.id === id)?.names ?? [],
      }));
      const withdrawn = withdrawnKeys(snapshot, revokedSsh);

      const findings: RevocationFinding[] = [];
      if (withdrawn.length > 0) {
        const verifier = new CommitVerifier(context, now);
        const records = new VerdictRecords(join(context.repo.commonDir, 'signet', 'verdicts'));
        const commits: SweepCommit[] = [];
        for (const ref of protectedRefs(context.repo, context.policy, undefined).branches) {
          const target = context.repo.refs.resolve(ref);
          const tip = target ? peelToCommit(context.repo, target) : undefined;
          if (!tip) continue;
          for (const { oid, time } of commitsInPeriod(context.repo, tip, nowSeconds - settings.lookbackDays * DAY, nowSeconds + DAY)) {
            const { verdict } = await verifier.verify(oid);
            const accepted = records.lookup(oid)?.acceptedAt;
            commits.push({
              oid,
              ref,
              committedAt: time,
              status: verdict.status,
              ...(verdict.signedAt !== undefined ? { signedAt: verdict.signedAt } : {}),
              ...(verdict.key ? { key: verdict.key } : {}),
              ...(verdict.primaryKey ? { primaryKey: verdict.primaryKey } : {}),
              ...(accepted ? { acceptedAt: Math.floor(Date.parse(accepted) / 1000) } : {}),
            });
          }
        }
        findings.push(...findCommitsAfterWithdrawal(withdrawn, commits));
      }
      const data: RevocationFindingData[] = findings.map((f) => ({
        key: f.key.id,
        kind: f.key.kind,
        names: f.key.names,
        how: f.key.how,
        since: f.key.since !== undefined ? iso(f.key.since) : null,
        commit: f.commit,
        ref: f.ref,
        status: f.status,
        signedAt: iso(f.signedAt),
        ...(f.acceptedAt !== undefined ? { acceptedAt: iso(f.acceptedAt) } : {}),
        why: f.why,
      }));
      await environment.state.write(`revocation-sweep/${slug(repository.name)}.json`, {
        at: now.toISOString(),
        withdrawn: withdrawn.map((k) => ({ id: k.id, how: k.how, since: k.since ?? null })),
        findings: data,
      });

      const byKey = new Map<string, { key: WithdrawnKey; findings: RevocationFinding[] }>();
      for (const finding of findings) {
        const entry = byKey.get(finding.key.id) ?? { key: finding.key, findings: [] };
        entry.findings.push(finding);
        byKey.set(finding.key.id, entry);
      }
      const tracker = environment.dryRun ? undefined : issueTracker(environment, repository);
      const issues = tracker
        ? await syncIssues(
            tracker,
            'revoked-key',
            settings.label,
            [...byKey.values()].map(({ key, findings: f }) => revocationIssue(key, f, repository.name)),
            () =>
              `No commit signed by this key after it was withdrawn is left on the protected refs of ${repository.name} (checked ${now.toISOString()}): closing.`,
          )
        : undefined;
      return {
        outcome: findings.length > 0 ? 'findings' : 'ok',
        findings: findings.length,
        ...(issues ? { issues: { created: issues.created, updated: issues.updated, closed: issues.closed, unchanged: issues.unchanged } } : {}),
        data: { withdrawn: withdrawn.map((k) => ({ id: k.id, how: k.how })), findings: data },
      };
    } finally {
      context.repo.objects.close();
    }
  });
}
