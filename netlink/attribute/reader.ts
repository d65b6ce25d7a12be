/**
 * {@link AttributeReader}: the cursor over attributes that every decoder reads with.
 * @module
 */
import { HOST_LE } from "../message.ts";
import * as nla from "./nla.ts";

// The layout as module constants, not imported bindings: V8 re-reads an imported binding at
// every use (a load and a hole check), and a decoder runs this for every attribute of a dump.
// next() and the getters write nla.ts's step and payload readers out rather than call them: a
// dump runs much of its decoding before the JIT inlines calls, and through those calls a flow
// decode took ~20% longer on Bun. reader_test.ts checks the walk equals nla.ts's step.
const { NLA_F_NESTED: F_NESTED, NLA_HDRLEN: HDRLEN, NLA_TYPE_MASK: TYPE_MASK } = nla;

const LE = HOST_LE;

const utf8 = new TextDecoder();

/**
 * The one attribute walker: every decoder (flows, expectations, stats, timeouts, helpers, nsids)
 * and the wire formatter read attributes through it. Reuse one reader per nesting depth:
 * `reset()` it over a region (or `enter()` the nest another reader is on), then
 * `while (r.next())` and read `r.type` / the typed getters.
 *
 * Every length is checked before it is used, so hostile bytes cannot make it read outside the
 * region or loop: `next()` throws `RangeError` on trailing bytes too short for a header, an
 * `nla_len` below the 4-byte header (zero included) or past the end of the region (for a nest:
 * of the nest), and the typed getters throw `RangeError` unless the payload has exactly their
 * width. A last attribute whose padding is missing is accepted, as the kernel accepts it.
 * Callers that must not throw (the wire formatter) catch `RangeError` and step aside.
 *
 * @example
 * ```ts
 * import { AttributeReader, MessageBuilder } from "@nfct/nfct";
 * const b = new MessageBuilder();
 * b.u32(8, 42); // CTA_MARK
 * const r = new AttributeReader().reset(new DataView(b.buf.buffer), 0, b.length, "example");
 * while (r.next()) if (r.type === 8) console.log(r.u32()); // 42
 * ```
 */
export class AttributeReader {
  /** The buffer being read. */
  dv: DataView;
  /** Offset of the current attribute's payload. */
  pos = 0;
  /** Length of the current attribute's payload. */
  len = 0;
  /** Type of the current attribute, flags masked off. */
  type = 0;
  /** True when the current attribute had `NLA_F_NESTED` set. */
  nestedFlag = false;
  #next = 0;
  #end = 0;
  /** What is being read, for error messages. */
  what = "attributes";

  /** A reader with nothing to read yet: `reset()` or `enter()` it. */
  constructor(dv: DataView = new DataView(new ArrayBuffer(0))) {
    this.dv = dv;
  }

  /**
   * Starts walking `[start, end)` of `dv`; `what` names the region in error messages.
   * @throws {RangeError} if the region is not inside `dv`.
   */
  reset(dv: DataView, start: number, end: number, what = "attributes"): this {
    if (!(start >= 0 && start <= end && end <= dv.byteLength)) {
      throw new RangeError(
        `Cannot read ${what}: region ${start}..${end} is outside the ${dv.byteLength}-byte buffer`,
      );
    }
    this.dv = dv;
    this.#next = start;
    this.#end = end;
    this.what = what;
    return this;
  }

  /** Starts walking the payload of `parent`'s current attribute (a nest): it ends where the nest ends. */
  enter(parent: AttributeReader, what: string): this {
    this.dv = parent.dv;
    this.#next = parent.pos;
    this.#end = parent.pos + parent.len;
    this.what = what;
    return this;
  }

  /**
   * Moves to the next attribute; false at the end of the region.
   * @throws {RangeError} if the next attribute's header or length does not fit the region.
   */
  next(): boolean {
    const p = this.#next, end = this.#end;
    if (p >= end) return false;
    // nla.ts's nlaLength and NLA_ALIGN, written out (see the top of the file)
    const dv = this.dv;
    const len = end - p < HDRLEN ? 0 : dv.getUint16(p, LE);
    if (len < HDRLEN || len > end - p) this.#misfit(p);
    const t = dv.getUint16(p + 2, LE);
    this.type = t & TYPE_MASK;
    this.nestedFlag = (t & F_NESTED) !== 0;
    this.pos = p + HDRLEN;
    this.len = len - HDRLEN;
    const next = p + ((len + 3) & ~3);
    this.#next = next < end ? next : end;
    return true;
  }

  /** Throws the RangeError of the attribute at `p`, whose header or length does not fit. */
  #misfit(p: number): never {
    const left = this.#end - p;
    if (left < HDRLEN) {
      throw new RangeError(
        `Cannot read ${this.what}: ${left} trailing bytes are too short for an attribute`,
      );
    }
    const len = this.dv.getUint16(p, LE);
    throw new RangeError(
      `Cannot read ${this.what}: attribute length ${len} at offset ${p} does not fit (${left} bytes left)`,
    );
  }

  /** Throws the RangeError of a payload that is not the `n` bytes of a `kind`. */
  #wrongSize(n: number, kind: string): never {
    throw new RangeError(
      `Cannot read ${this.what}: attribute ${this.type} should hold ${kind} (${n} bytes), has ${this.len}`,
    );
  }

  /** A u8 payload. @throws {RangeError} unless the payload is 1 byte. */
  u8(): number {
    if (this.len !== 1) this.#wrongSize(1, "u8");
    return this.dv.getUint8(this.pos);
  }
  /** Big-endian u16. @throws {RangeError} unless the payload is 2 bytes. */
  u16(): number {
    if (this.len !== 2) this.#wrongSize(2, "u16");
    return this.dv.getUint16(this.pos, false);
  }
  /** Big-endian u32. @throws {RangeError} unless the payload is 4 bytes. */
  u32(): number {
    if (this.len !== 4) this.#wrongSize(4, "u32");
    return this.dv.getUint32(this.pos, false);
  }
  /** Big-endian u64 as a BigInt. @throws {RangeError} unless the payload is 8 bytes. */
  u64(): bigint {
    if (this.len !== 8) this.#wrongSize(8, "u64");
    return this.dv.getBigUint64(this.pos, false);
  }
  /** Big-endian u64 as a number (exact below 2^53). @throws {RangeError} unless the payload is 8 bytes. */
  u64n(): number {
    if (this.len !== 8) this.#wrongSize(8, "u64");
    const dv = this.dv, pos = this.pos;
    return dv.getUint32(pos, false) * 0x100000000 + dv.getUint32(pos + 4, false);
  }
  /** A copy of the payload. */
  bytes(): Uint8Array {
    const b = this.dv.buffer as ArrayBuffer;
    return new Uint8Array(
      b.slice(this.dv.byteOffset + this.pos, this.dv.byteOffset + this.pos + this.len),
    );
  }
  /** A NUL-terminated (or unterminated) string payload. */
  string(): string {
    let e = this.pos + this.len;
    const s = this.pos;
    const dv = this.dv;
    for (let i = s; i < e; i++) {
      if (dv.getUint8(i) === 0) {
        e = i;
        break;
      }
    }
    return utf8.decode(new Uint8Array(dv.buffer, dv.byteOffset + s, e - s));
  }
}
