/** Markdown text as a reader sees it: backslash escapes and the three entities undone (for asserting on escaped output). */
export function readMarkdown<T extends string | undefined>(text: T): T {
  return (
    text === undefined
      ? text
      : text
          .replace(/\\([!-/:-@[-`{-~])/g, '$1')
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>')
          .replace(/&amp;/g, '&')
  ) as T;
}
