import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PolicyRule } from '../core/policy/index.ts';
import { recordsUnavailable } from './records-unavailable.ts';

interface RefRuleRecord {
  ref: string;
  /** The commit rules the ref was judged under when an update of it was accepted. */
  rules: PolicyRule[];
}

/**
 * Which commit rules each ref has been judged under, across policy changes: JSON lines in
 * `<repo>/signet/ref-rules.jsonl`, one line per ref and distinct rule set (a ref that keeps its
 * rules adds nothing). A ref's history counts as judged for another ref only if every rule set
 * it was ever judged under covers that ref's rules, so tightening a rule does not turn history
 * accepted under the old, weaker rule into history judged under the new one. Never pruned, not
 * even when the ref is deleted: a forgotten set could only make a ref look judged more strictly
 * than it was.
 */
export class RefRuleRecords {
  private records: Map<string, { keys: Set<string>; sets: PolicyRule[][] }> | undefined;

  constructor(readonly path: string) {}

  /** Every rule set recorded for `ref`, oldest first; undefined when none was recorded. */
  setsFor(ref: string): PolicyRule[][] | undefined {
    return this.load().get(ref)?.sets;
  }

  /** Records that `ref` was judged under `rules` (no-op when that set is already recorded). */
  recordAll(entries: Iterable<{ ref: string; rules: PolicyRule[] }>): void {
    const records = this.load();
    const lines: string[] = [];
    for (const { ref, rules } of entries) {
      if (rules.length === 0) continue;
      const key = JSON.stringify(rules);
      const known = records.get(ref) ?? { keys: new Set<string>(), sets: [] };
      if (known.keys.has(key)) continue;
      known.keys.add(key);
      known.sets.push(rules);
      records.set(ref, known);
      lines.push(JSON.stringify({ ref, rules } satisfies RefRuleRecord));
    }
    if (lines.length === 0) return;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      // A line cut short by a crash is skipped when read (below) and written again on the next push.
      appendFileSync(this.path, `\n${lines.join('\n')}\n`);
    } catch (error) {
      throw recordsUnavailable(this.path, 'write', error);
    }
  }

  private load(): Map<string, { keys: Set<string>; sets: PolicyRule[][] }> {
    if (this.records) return this.records;
    this.records = new Map();
    let text = '';
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw recordsUnavailable(this.path, 'read', error);
    }
    for (const line of text.split('\n')) {
      if (line.length === 0) continue;
      let record: RefRuleRecord;
      try {
        record = JSON.parse(line) as RefRuleRecord;
      } catch {
        continue;
      }
      if (typeof record?.ref !== 'string' || !Array.isArray(record.rules)) continue;
      const key = JSON.stringify(record.rules);
      const known = this.records.get(record.ref) ?? { keys: new Set<string>(), sets: [] };
      if (known.keys.has(key)) continue;
      known.keys.add(key);
      known.sets.push(record.rules);
      this.records.set(record.ref, known);
    }
    return this.records;
  }
}
