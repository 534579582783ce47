/**
 * The one escaping function per medium: Markdown (markdown-text.ts) and terminal
 * (terminal-text.ts). Markdown output is rendered by the real cmark-gfm (GitHub's parser, with
 * its table and autolink extensions), so "no link" means the parser made none.
 */
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { markdownCode, markdownText, md, MARKDOWN_TEXT_LIMIT } from '../../../src/core/render/markdown-text.ts';
import { isTerminalSafe, terminalText } from '../../../src/core/render/terminal-text.ts';
import { HOSTILE_CORPUS } from '../../helpers/hostile-corpus.ts';
import { commitRow, tagRow } from '../../../src/cli/render/verify-output.ts';
import type { TagResult } from '../../../src/core/verify-object.ts';

function gfm(markdown: string): string {
  return execFileSync('cmark-gfm', ['--unsafe', '-e', 'table', '-e', 'autolink', '-e', 'strikethrough'], { input: markdown, encoding: 'utf8' });
}

/** What the parser's HTML must never hold when only escaped text was interpolated. */
function expectInert(html: string): void {
  expect(html).not.toMatch(/<a |<img |<!--|<h[1-6]>|<em>|<strong>|<del>|<ul>|<ol>|<blockquote>|<script|<code>/);
}

const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.constantFrom(...HOSTILE_CORPUS.filter((s) => s.length < 1000)),
  fc
    .array(
      fc.constantFrom('[', ']', '(', ')', '!', '<', '>', '`', '|', '*', '_', '~', '#', '\n', '\r', '\\', '&', ':', '/', 'www.', 'http', '-', '1.', ' ', 'x'),
      { maxLength: 30 },
    )
    .map((parts) => parts.join('')),
);

describe('markdownText', () => {
  it('renders every corpus string as inert text in a paragraph and in a table row (cmark-gfm)', () => {
    for (const text of HOSTILE_CORPUS) {
      const escaped = markdownText(text);
      expect(escaped).not.toMatch(/[\n\r\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
      expectInert(gfm(`start ${escaped}\n`));
      const table = gfm(`| a | b |\n| --- | --- |\n| ${escaped} | end |\n`);
      expectInert(table);
      // Still one row of two cells: no pipe or newline of the text broke the table.
      expect(table.match(/<tr>/g)).toHaveLength(2);
      expect(table.match(/<td>/g)).toHaveLength(2);
      expect(table).toMatch(/<td>end<\/td>/);
    }
  });

  it('is a fixed rendering: what the reader sees is the text (controls as pictures), for arbitrary input', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(hostile, (text) => {
        const html = gfm(`| a |\n| --- |\n| ${markdownText(text)} |\n`);
        expectInert(html);
        expect(html.match(/<td>/g)).toHaveLength(1);
      }),
      { numRuns: 400 },
    );
  });

  it('keeps the text readable: plain words pass unchanged, distinct inputs stay distinct', () => {
    expect(markdownText('fix the parser for v2')).toBe('fix the parser for v2');
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), (a, b) => {
        fc.pre(a !== b && !/[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb\ud800-\udfff␀-␡␤]/.test(a + b));
        expect(markdownText(a)).not.toBe(markdownText(b));
      }),
    );
  });

  it('cuts text past the limit with …', () => {
    const long = markdownText('a'.repeat(MARKDOWN_TEXT_LIMIT * 2));
    expect(long.length).toBe(MARKDOWN_TEXT_LIMIT);
    expect(long.endsWith('…')).toBe(true);
  });
});

describe('markdownCode', () => {
  it('can never be closed from inside: the parser shows exactly one code span holding the text', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('`', '``', '```', 'a', ' ', '<!--', '|', '[x](y)'), { minLength: 1, maxLength: 12 }).map((p) => p.join('')),
        (text) => {
          fc.pre(text.trim() !== '');
          const html = gfm(`before ${markdownCode(text)} after\n`);
          expect(html.match(/<code>/g)).toHaveLength(1);
          expect(html).toMatch(/^<p>before <code>.*<\/code> after<\/p>\n$/s);
          expect(html).not.toMatch(/<a |<!--/);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('in a table cell keeps pipes inside the cell', () => {
    const html = gfm(`| a | b |\n| --- | --- |\n| ${markdownCode('x | y `z`', { inTable: true })} | end |\n`);
    expect(html).toContain('<td><code>x | y `z`</code></td>');
    expect(html.match(/<td>/g)).toHaveLength(2);
  });

  it('a ref named x`<!-- stays in its code span', () => {
    const html = gfm(`refs ${markdownCode('refs/heads/x`<!--')}\n\n| t |\n| --- |\n| row |\n`);
    expect(html).toContain('<code>refs/heads/x`&lt;!--</code>');
    expect(html).toContain('<td>row</td>');
  });
});

describe('md', () => {
  it('joins Markdown pieces and numbers as they are', () => {
    expect(md`| ${markdownText('a|b')} | ${3} |`).toBe('| a\\|b | 3 |');
  });
});

describe('terminalText', () => {
  it('leaves no control, bidi or invisible character and no newline in any output', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.constantFrom(...HOSTILE_CORPUS)), (text) => {
        const shown = terminalText(text);
        expect(isTerminalSafe(shown)).toBe(true);
        expect(shown).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
        // Escaping twice changes nothing (no double backslashes piling up in re-rendered lines).
        expect(terminalText(shown)).toBe(shown);
      }),
    );
  });

  it('shows each control as a visible escape and keeps the rest', () => {
    expect(terminalText('a\u001b]0;t\u0007b\rc\nd\u202ee\u0085f')).toBe('a\\x1b]0;t\\x07b\\rc\\nd\\u202ee\\u0085f');
    expect(terminalText('plain text, ünïcode ✓')).toBe('plain text, ünïcode ✓');
    expect(terminalText('lone \ud800')).toBe('lone \ufffd');
  });
});

describe('signet verify table rows', () => {
  it('carry no control or bidi character from the subject, signer, verdict detail or mergetag names', () => {
    for (const text of HOSTILE_CORPUS.filter((s) => s.length < 1000)) {
      const verdict = { status: 'B' as const, format: 'openpgp' as const, reason: 'unknown_key' as const, signer: text, detail: text };
      const row = commitRow({
        commit: 'a'.repeat(40),
        parents: [],
        subject: text,
        verdict,
        mergetags: [{ tag: 'b'.repeat(40), name: text, target: 'c'.repeat(40), subject: text, verdict } as unknown as TagResult],
      });
      expect(isTerminalSafe(row), JSON.stringify(row)).toBe(true);
      const tag = tagRow({ tag: 'b'.repeat(40), name: text, target: 'c'.repeat(40), subject: text, verdict } as unknown as TagResult);
      expect(isTerminalSafe(tag), JSON.stringify(tag)).toBe(true);
    }
  });
});
