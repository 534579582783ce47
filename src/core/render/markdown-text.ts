/**
 * Markdown that untrusted text cannot break out of (check runs, commit statuses, merge-request
 * notes, issue bodies, release comments, compliance reports). A commit subject, an author's name,
 * a user ID, a ref or tag name or an asset name is written by whoever pushed or edited the
 * release: in our Markdown it must stay the text it is, never a link, an image, raw HTML (an
 * `<!--` that hides the rest), an autolink, a heading, emphasis that spans cells, math, a table
 * break, or the end of a code span.
 *
 * One representation everywhere:
 * - ASCII punctuation that Markdown (GFM, GitLab) gives meaning to inline is backslash-escaped;
 *   `<`, `>` and `&` become entities, so no HTML, comment or `<autolink>` can start;
 * - `-`, `+` and `1.` / `1)` are escaped at the start (no list item), `://` and `www.` are broken
 *   (no bare-URL autolink);
 * - newline and CR become ␤ and ␍, other C0 controls and DEL their control pictures (␀, ␛, ␡),
 *   C1 and bidi/invisible controls a visible `\u202e`: no row ends, nothing is reordered;
 * - text longer than MARKDOWN_TEXT_LIMIT is cut, with …
 *
 * The `Markdown` type is a string brand: only the functions here make it, and `md` accepts only
 * `Markdown` (or numbers) between its pieces, so interpolating raw text into a renderer's output
 * does not compile. Pure.
 */

declare const markdownBrand: unique symbol;
/** Text that is safe to place in Markdown as it is: made only by this module. */
export type Markdown = string & { readonly [markdownBrand]: true };

/** 100 KB of input at most per piece of untrusted text (GitHub caps a check summary at 65 535). */
export const MARKDOWN_TEXT_LIMIT = 100_000;

const PUNCTUATION = /[\\`*_{}[\]()#!|~$^<>&]/g;
const ENTITIES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;' };
// C0, DEL, C1, and the invisible or reordering characters (as terminal-text.ts lists them), lone surrogates.
const CONTROL =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function visibleControl(char: string): string {
  if (char === '\n') return '␤';
  if (char === '\r') return '␍';
  const code = char.charCodeAt(0);
  if (code < 0x20) return String.fromCharCode(0x2400 + code);
  if (code === 0x7f) return '␡';
  if (code >= 0xd800 && code <= 0xdfff) return '\ufffd';
  // Shown as the text `\u202e`: the backslash is escaped so Markdown prints it.
  return `\\\\u${code.toString(16).padStart(4, '0')}`;
}

function cut(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

/** Untrusted text as inline Markdown that renders as exactly that text (controls made visible). */
export function markdownText(text: string, limit = MARKDOWN_TEXT_LIMIT): Markdown {
  const escaped = cut(text, limit)
    .replace(PUNCTUATION, (c) => ENTITIES[c] ?? `\\${c}`)
    .replace(CONTROL, visibleControl)
    .replace(/:\/\//g, '\\://')
    .replace(/(www)\./gi, '$1\\.')
    .replace(/^(\d+)([.)])/, '$1\\$2')
    .replace(/^[-+=]/, '\\$&');
  return escaped as Markdown;
}

/**
 * Untrusted text as an inline code span: the fence is one backtick longer than the longest run of
 * backticks inside, so the text cannot close it. In a table cell (`inTable`), `|` is written `\|`
 * (GFM splits cells before it reads code spans). Newlines and controls are made visible as in
 * markdownText; entities mean nothing inside code, so `<` stays `<`.
 */
export function markdownCode(text: string, options: { inTable?: boolean; limit?: number } = {}): Markdown {
  let body = cut(text, options.limit ?? MARKDOWN_TEXT_LIMIT).replace(CONTROL, (c) =>
    c === '\n' || c === '\r' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f || (c.charCodeAt(0) >= 0xd800 && c.charCodeAt(0) <= 0xdfff)
      ? visibleControl(c)
      : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  if (options.inTable) body = body.replace(/\|/g, '\\|');
  const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  // A span that starts or ends with a backtick (or is all spaces) needs one space of padding, which Markdown strips.
  const pad = body.startsWith('`') || body.endsWith('`') || (body.length > 0 && body.trim() === '') ? ' ' : '';
  if (body.length === 0) return '' as Markdown;
  return `${fence}${pad}${body}${pad}${fence}` as Markdown;
}

/** Markdown written by signet itself (constants, structure): the caller vouches for it. */
export function trustedMarkdown(text: string): Markdown {
  return text as Markdown;
}

/**
 * A Markdown template: every interpolation must already be Markdown (from markdownText,
 * markdownCode, another md) or a number, so raw text cannot slip in.
 */
export function md(strings: TemplateStringsArray, ...values: Array<Markdown | number>): Markdown {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += String(value) + (strings[i + 1] ?? '');
  });
  return out as Markdown;
}

/** Lines of Markdown joined with `separator` (a newline by default). */
export function joinMarkdown(parts: Markdown[], separator = '\n'): Markdown {
  return parts.join(separator) as Markdown;
}
