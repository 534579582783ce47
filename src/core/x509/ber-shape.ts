/**
 * A strict shape check of BER bytes: every constructed element's children fill exactly the
 * length it declares (or end with the end-of-contents octets when the length is indefinite),
 * and nothing trails. asn1js tolerates a parent whose declared length disagrees with its
 * children, so that a mutated length could be read two ways (found by the property test);
 * refusing such input keeps one reading — the one every other verifier would make.
 */
export function berShapeProblem(bytes: Uint8Array): string | undefined {
  try {
    const end = element(bytes, 0, 0);
    return end === bytes.length ? undefined : `${bytes.length - end} bytes trail the signature`;
  } catch (error) {
    return (error as Error).message;
  }
}

const MAX_DEPTH = 64;

/** Reads one element at `at`; returns where it ends. */
function element(bytes: Uint8Array, at: number, depth: number): number {
  if (depth > MAX_DEPTH) throw new Error('BER nested too deeply');
  if (at >= bytes.length) throw new Error('BER element truncated');
  const first = bytes[at]!;
  let position = at + 1;
  if ((first & 0x1f) === 0x1f) {
    while (true) {
      if (position >= bytes.length) throw new Error('BER tag truncated');
      if ((bytes[position++]! & 0x80) === 0) break;
    }
  }
  const constructed = (first & 0x20) !== 0;
  if (position >= bytes.length) throw new Error('BER length truncated');
  const lengthByte = bytes[position++]!;
  if (lengthByte === 0x80) {
    if (!constructed) throw new Error('BER indefinite length on a primitive element');
    while (true) {
      if (position + 1 < bytes.length && bytes[position] === 0 && bytes[position + 1] === 0) return position + 2;
      position = element(bytes, position, depth + 1);
    }
  }
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    if (count > 4) throw new Error('BER length too long');
    length = 0;
    for (let i = 0; i < count; i++) {
      if (position >= bytes.length) throw new Error('BER length truncated');
      length = length * 256 + bytes[position++]!;
    }
  }
  const end = position + length;
  if (end > bytes.length) throw new Error('BER element longer than its parent');
  if (constructed) {
    while (position < end) position = element(bytes, position, depth + 1);
    if (position !== end) throw new Error('BER children overrun their parent');
  }
  return end;
}
