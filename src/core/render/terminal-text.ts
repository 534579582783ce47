/**
 * Text for a terminal (the pusher's `git push` output, the CLI's text output). Whoever wrote a
 * commit, a user ID or a ref name may have put control sequences in it: ESC starts CSI/OSC
 * sequences (clear the screen, change the window title, hyperlinks), a bare CR rewrites the line
 * the reader sees, a newline forges a new `remote:` or `GL-HOOK-ERR:` line, and bidi controls
 * reorder what is shown. Each such character becomes a visible escape (`\x1b`, `\r`, `\u202e`);
 * everything else, backslashes included, stays as it was so the text stays readable, and escaping
 * twice changes nothing. Lone UTF-16 surrogates (what broken input can leave) become U+FFFD.
 * Pure.
 */

// C0 (incl. TAB, LF, CR, ESC), DEL, C1 (incl. CSI U+009B, OSC U+009D), and the invisible or
// reordering format characters: ALM U+061C, ZW space/joiners and LRM/RLM U+200B–U+200F, line and
// paragraph separators and the embeddings/overrides U+2028–U+202E, word joiner … isolates
// U+2060–U+2069, BOM U+FEFF, interlinear annotation U+FFF9–U+FFFB, lone surrogates.
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function visible(char: string): string {
  const named = NAMED[char];
  if (named) return named;
  const code = char.charCodeAt(0);
  if (code >= 0xd800 && code <= 0xdfff) return '\ufffd';
  return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One line of terminal text: no control, bidi or invisible character survives, none is dropped silently. */
export function terminalText(text: string): string {
  return text.replace(UNSAFE, visible);
}

/** True when `text` holds nothing a terminal would act on (what terminalText guarantees of its output). */
export function isTerminalSafe(text: string): boolean {
  UNSAFE.lastIndex = 0;
  const safe = !UNSAFE.test(text);
  UNSAFE.lastIndex = 0;
  return safe;
}
