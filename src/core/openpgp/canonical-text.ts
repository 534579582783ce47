/**
 * The bytes gpg 2.2 hashes for a canonical-text (type 0x01) signature: every line ending
 * becomes CRLF. gpg's text filter (textfilter.c, default --no-rfc2440-text) splits at LF, drops
 * all trailing CR characters of each line and appends CRLF where an LF was; a last line
 * without LF keeps no line ending. Trailing spaces and tabs are kept, and a lone CR inside a line
 * stays as it is.
 */
export function canonicalText(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length * 2);
  let length = 0;
  let lineStart = 0;
  for (let index = 0; index <= data.length; index += 1) {
    const atEnd = index === data.length;
    if (!atEnd && data[index] !== 0x0a) continue;
    let lineEnd = index;
    while (lineEnd > lineStart && data[lineEnd - 1] === 0x0d) lineEnd -= 1;
    out.set(data.subarray(lineStart, lineEnd), length);
    length += lineEnd - lineStart;
    if (!atEnd) {
      out[length] = 0x0d;
      out[length + 1] = 0x0a;
      length += 2;
    }
    lineStart = index + 1;
  }
  return out.subarray(0, length);
}
