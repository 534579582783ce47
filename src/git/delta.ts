import { SignetError } from '../core/errors.ts';
import { objectTooLarge } from './object-size-limit.ts';

/**
 * Applies a git pack delta (copy/insert instructions) to its base. `limit`: the result's
 * declared size is refused over `maxBytes` (naming `what`) before its buffer is made.
 */
export function applyDelta(base: Buffer, delta: Buffer, where: string, limit?: { what: string; maxBytes: number }): Buffer {
  let position = 0;
  const readSize = (): number => {
    let size = 0;
    let shift = 0;
    let byte: number;
    do {
      if (position >= delta.length) throw new SignetError('OBJECT_CORRUPT', `${where}: truncated delta header`);
      byte = delta[position++]!;
      size += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return size;
  };
  const baseSize = readSize();
  if (baseSize !== base.length) throw new SignetError('OBJECT_CORRUPT', `${where}: delta base size mismatch`);
  const resultSize = readSize();
  if (limit && resultSize > limit.maxBytes) throw objectTooLarge(limit.what, resultSize, limit.maxBytes);
  const result = Buffer.allocUnsafe(resultSize);
  // Plain views: their subarray and set are V8 built-ins, where Buffer's copy goes through
  // several JavaScript frames per instruction (a deltified commit has dozens).
  const from = new Uint8Array(base.buffer, base.byteOffset, base.length);
  const instructions = new Uint8Array(delta.buffer, delta.byteOffset, delta.length);
  let written = 0;
  while (position < delta.length) {
    const op = delta[position++]!;
    if (op & 0x80) {
      let offset = 0;
      let size = 0;
      for (let bit = 0; bit < 4; bit++) if (op & (1 << bit)) offset |= delta[position++]! << (bit * 8);
      for (let bit = 0; bit < 3; bit++) if (op & (0x10 << bit)) size |= delta[position++]! << (bit * 8);
      offset >>>= 0;
      if (size === 0) size = 0x10000;
      if (offset + size > base.length || written + size > resultSize) throw new SignetError('OBJECT_CORRUPT', `${where}: delta copy out of range`);
      result.set(from.subarray(offset, offset + size), written);
      written += size;
    } else if (op !== 0) {
      if (position + op > delta.length || written + op > resultSize) throw new SignetError('OBJECT_CORRUPT', `${where}: delta insert out of range`);
      result.set(instructions.subarray(position, position + op), written);
      position += op;
      written += op;
    } else {
      throw new SignetError('OBJECT_CORRUPT', `${where}: invalid delta opcode 0`);
    }
  }
  if (written !== resultSize) throw new SignetError('OBJECT_CORRUPT', `${where}: delta result size mismatch`);
  return result;
}
