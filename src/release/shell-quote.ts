/**
 * POSIX shell quoting for the copy-paste commands in the `/sign-release` answer. Asset and link
 * names are chosen by whoever edits the release: a name is pasted into a shell only inside
 * single quotes, with each `'` written as `'\''`; a name starting with `-` gets `./` so no tool
 * reads it as an option. A name with control characters (newline, CR, ESC, NUL, C1) or Unicode
 * bidi controls cannot be shown safely in a one-line command: it is left out, with a note.
 * Pure. (A project-wide escaping module may replace this; keep the behaviour and the tests.)
 */

// C0, DEL, C1, and the bidi controls that reorder what a reader sees (U+061C, U+200E/F, U+202A–E, U+2066–9).
const UNQUOTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** The word as one single-quoted shell word, or undefined when it cannot be shown safely. */
export function shellQuote(word: string): string | undefined {
  if (UNQUOTABLE.test(word)) return undefined;
  return `'${word.replace(/'/g, "'\\''")}'`;
}

/** A file name as a shell argument: like shellQuote, and never taken for an option. */
export function shellQuoteFileName(name: string): string | undefined {
  return shellQuote(name.startsWith('-') ? `./${name}` : name);
}

/** A word as it is when the shell reads it literally (image references, `release=TAG`), else quoted. */
export function shellWord(word: string): string | undefined {
  return /^[A-Za-z0-9._+/@=:,%][A-Za-z0-9._+/@=:,%-]*$/.test(word) ? word : shellQuote(word);
}
