import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePolicy, rulesForRef } from '../../../src/core/policy/index.ts';
import { RefRuleRecords } from '../../../src/store/ref-rule-records.ts';
import { tempDir } from '../../helpers/git.ts';

describe('RefRuleRecords: the rule sets each ref was judged under', () => {
  const dir = tempDir('ref-rules');
  afterAll(() => dir.remove());
  const rules = (signers: string) =>
    rulesForRef(
      parsePolicy(`version: 1\nrules:\n  - refs: [refs/heads/main]\n    require_signed_commits: true\n    signers: [${signers}]\n`, 'p.yml'),
      'refs/heads/main',
    );

  it('keeps each distinct set once per ref, oldest first, across instances', () => {
    const path = join(dir.path, 'a', 'ref-rules.jsonl');
    const first = new RefRuleRecords(path);
    expect(first.setsFor('refs/heads/main')).toBeUndefined();
    first.recordAll([
      { ref: 'refs/heads/main', rules: rules('alice@example.com') },
      { ref: 'refs/heads/topic', rules: [] },
    ]);
    first.recordAll([{ ref: 'refs/heads/main', rules: rules('alice@example.com') }]);
    first.recordAll([{ ref: 'refs/heads/main', rules: rules('bob@example.com') }]);
    const again = new RefRuleRecords(path);
    expect(again.setsFor('refs/heads/main')!.map((set) => set[0]!.signers)).toEqual([['alice@example.com'], ['bob@example.com']]);
    expect(again.setsFor('refs/heads/topic')).toBeUndefined();
    expect(readFileSync(path, 'utf8').trim().split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('skips a line cut short by a crash and records the set again', () => {
    const path = join(dir.path, 'b', 'ref-rules.jsonl');
    new RefRuleRecords(path).recordAll([{ ref: 'refs/heads/main', rules: rules('alice@example.com') }]);
    appendFileSync(path, '{"ref":"refs/heads/main","rules":[{"ind');
    const reader = new RefRuleRecords(path);
    expect(reader.setsFor('refs/heads/main')).toHaveLength(1);
    reader.recordAll([{ ref: 'refs/heads/main', rules: rules('carol@example.com') }]);
    expect(new RefRuleRecords(path).setsFor('refs/heads/main')).toHaveLength(2);
  });
});
