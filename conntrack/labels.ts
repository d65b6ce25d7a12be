/**
 * Connlabels (`CTA_LABELS`, `CTA_LABELS_MASK`): 128 bits per entry, on the wire a bitmap of 16
 * bytes in host-endian 32-bit words (the kernel's `unsigned long` bits, `NF_CT_LABELS_MAX_SIZE`);
 * in a `Flow` the numbers of the bits that are set.
 * @module
 */
import { HOST_LE } from "../netlink/message.ts";

/** Label bitmap at `pos` (`len` bytes) of `u8` → the numbers of its set bits, ascending. */
export function decodeLabels(u8: Uint8Array, pos: number, len: number): number[] {
  const out: number[] = [];
  const dv = new DataView(u8.buffer, u8.byteOffset + pos, len);
  for (let w = 0; w + 4 <= len; w += 4) {
    let v = dv.getUint32(w, HOST_LE);
    for (let bit = 0; v !== 0; bit++, v >>>= 1) if (v & 1) out.push(w * 8 + bit);
  }
  return out;
}

/**
 * Bit numbers → label bitmap of 16 bytes (128 bits).
 * @throws {RangeError} on a bit that is not an integer 0..127.
 */
export function encodeLabels(bits: readonly number[]): Uint8Array {
  const words = new Uint32Array(4);
  for (const bit of bits) {
    if (!Number.isInteger(bit) || bit < 0 || bit > 127) {
      throw new RangeError(`Invalid label bit ${bit}: must be 0..127`);
    }
    words[bit >>> 5] |= 1 << (bit & 31);
  }
  return new Uint8Array(words.buffer);
}
