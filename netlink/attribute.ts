/**
 * Netlink attributes (TLVs): a reader that checks every length, and a message builder.
 *
 * ```
 * struct nlattr (4 bytes, host byte order), payload padded to NLA_ALIGNTO
 *  0        2        4
 *  +--------+--------+------------------+-----+
 *  | nla_len|nla_type| payload          | pad |
 *  +--------+--------+------------------+-----+
 *  nla_type bit 15: NLA_F_NESTED, bit 14: NLA_F_NET_BYTEORDER (masked off when read)
 * ```
 *
 * Headers are host-endian. Integer payloads are read and written big-endian ("network order"),
 * because that is what nfnetlink carries; this file is the one place that decides it.
 * @module
 */
import { HOST_LE, type MessageHeader, NLMSG_HDRLEN, writeHeader } from "./message.ts";

/** `NLA_ALIGNTO`: attributes start on 4-byte boundaries. */
export const NLA_ALIGNTO = 4;
/** `NLA_HDRLEN`: the size of `struct nlattr`. */
export const NLA_HDRLEN = 4;
/** `NLA_F_NESTED`: the payload is itself attributes. */
export const NLA_F_NESTED = 1 << 15;
/** `NLA_F_NET_BYTEORDER`: the payload is in network byte order. */
export const NLA_F_NET_BYTEORDER = 1 << 14;
/** `NLA_TYPE_MASK`: the type bits of `nla_type`, both flags off. */
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

/** `NLA_ALIGN(len)`. */
export function NLA_ALIGN(len: number): number {
  return (len + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1);
}

/**
 * The walker's one step (the kernel's `nla_ok()`): the `nla_len` of the attribute at `p` when its
 * header and payload fit in `[p, end)`, else 0: trailing bytes too short for a header, a length
 * below the header (zero included), or past `end`. The next attribute starts at
 * `p + NLA_ALIGN(len)`, which may be past `end` when the last one is unpadded. Every walk goes
 * through here: {@link AttributeReader}, and the loops of hot paths that cannot afford a cursor.
 */
export function nlaLength(dv: DataView, p: number, end: number): number {
  if (end - p < NLA_HDRLEN) return 0;
  const len = dv.getUint16(p, HOST_LE);
  return len < NLA_HDRLEN || len > end - p ? 0 : len;
}

/** The type of the attribute at `p`, {@link NLA_F_NESTED} and {@link NLA_F_NET_BYTEORDER} masked off. */
export function nlaType(dv: DataView, p: number): number {
  return dv.getUint16(p + 2, HOST_LE) & NLA_TYPE_MASK;
}

// Payloads of exactly one width, read big-endian (nfnetlink's order): the value, or -1 when the
// payload at `pos` is not `len` = that width.
/** A u8 payload, or -1 unless `len` is 1. */
export function payloadU8(dv: DataView, pos: number, len: number): number {
  return len === 1 ? dv.getUint8(pos) : -1;
}
/** A big-endian u16 payload, or -1 unless `len` is 2. */
export function payloadU16(dv: DataView, pos: number, len: number): number {
  return len === 2 ? dv.getUint16(pos, false) : -1;
}
/** A big-endian u32 payload, or -1 unless `len` is 4. */
export function payloadU32(dv: DataView, pos: number, len: number): number {
  return len === 4 ? dv.getUint32(pos, false) : -1;
}
/** A big-endian u64 payload as a number (exact below 2^53), or -1 unless `len` is 8. */
export function payloadU64n(dv: DataView, pos: number, len: number): number {
  return len === 8 ? dv.getUint32(pos, false) * 0x100000000 + dv.getUint32(pos + 4, false) : -1;
}

const utf8 = new TextDecoder();
const utf8enc = new TextEncoder();

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
 * import { AttributeReader, MessageBuilder } from "./mod.ts";
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
    const dv = this.dv;
    const len = nlaLength(dv, p, end);
    if (len === 0) this.#misfit(p);
    const t = dv.getUint16(p + 2, HOST_LE);
    this.type = t & NLA_TYPE_MASK;
    this.nestedFlag = (t & NLA_F_NESTED) !== 0;
    this.pos = p + NLA_HDRLEN;
    this.len = len - NLA_HDRLEN;
    this.#next = Math.min(p + NLA_ALIGN(len), end);
    return true;
  }

  /** Throws the RangeError of the attribute at `p`, whose header or length does not fit. */
  #misfit(p: number): never {
    const left = this.#end - p;
    if (left < NLA_HDRLEN) {
      throw new RangeError(
        `Cannot read ${this.what}: ${left} trailing bytes are too short for an attribute`,
      );
    }
    const len = this.dv.getUint16(p, HOST_LE);
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
    const v = payloadU8(this.dv, this.pos, this.len);
    return v < 0 ? this.#wrongSize(1, "u8") : v;
  }
  /** Big-endian u16. @throws {RangeError} unless the payload is 2 bytes. */
  u16(): number {
    const v = payloadU16(this.dv, this.pos, this.len);
    return v < 0 ? this.#wrongSize(2, "u16") : v;
  }
  /** Big-endian u32. @throws {RangeError} unless the payload is 4 bytes. */
  u32(): number {
    const v = payloadU32(this.dv, this.pos, this.len);
    return v < 0 ? this.#wrongSize(4, "u32") : v;
  }
  /** Big-endian u64 as a BigInt. @throws {RangeError} unless the payload is 8 bytes. */
  u64(): bigint {
    if (this.len !== 8) this.#wrongSize(8, "u64");
    return this.dv.getBigUint64(this.pos, false);
  }
  /** Big-endian u64 as a number (exact below 2^53). @throws {RangeError} unless the payload is 8 bytes. */
  u64n(): number {
    const v = payloadU64n(this.dv, this.pos, this.len);
    return v < 0 ? this.#wrongSize(8, "u64") : v;
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

/** Largest `nla_len` (header + payload): the field is 16 bits wide. */
export const NLA_MAX_LEN = 0xffff;
/** Largest attribute payload: {@link NLA_MAX_LEN} minus the 4-byte header (65531). */
export const NLA_MAX_PAYLOAD = NLA_MAX_LEN - NLA_HDRLEN;
/** Largest `nlmsg_len`: the field is 32 bits wide. */
export const NLMSG_MAX_LEN = 0xffffffff;

/**
 * Builds netlink messages, one or many, into one growable buffer (a batch is many messages
 * sent with one `sendto`). Attribute integers are written big-endian.
 *
 * Every length is checked before it is written: an attribute whose `nla_len` would not fit its
 * 16 bits (a payload over {@link NLA_MAX_PAYLOAD} bytes), a nest that grew past 65535 bytes, a
 * message past 2^32 - 1 bytes, an integer outside its attribute's width, or a string with a NUL
 * byte in it throws `RangeError` (a type outside 0..0xffff too). A length that wrapped would let
 * the payload be read as further attributes by the kernel (attribute injection).
 *
 * After such an error the message being built is dropped: {@link length} goes back to where its
 * {@link begin} started it (or to 0 when no message was begun), so {@link bytes} holds only the
 * messages completed before and nothing half-written can be sent. Callers still `reset()` the
 * builder before starting over, as after any error.
 */
export class MessageBuilder {
  /** The bytes (grown, and so replaced, as needed: read it after writing). */
  buf: Uint8Array;
  /** A view of {@link buf}. */
  dv: DataView;
  /** Bytes written so far. */
  length = 0;
  /** Where the message being built starts (its `nlmsghdr`), or -1 between messages. */
  #msg = -1;

  /** An empty builder with `capacity` bytes to start with. */
  constructor(capacity = 4096) {
    this.buf = new Uint8Array(capacity);
    this.dv = new DataView(this.buf.buffer);
  }

  /** Forgets what was written. */
  reset(): this {
    this.length = 0;
    this.#msg = -1;
    return this;
  }

  /** The bytes written so far (a view, not a copy). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** Drops the message being built and throws `RangeError` with `message`. */
  #fail(message: string): never {
    this.length = this.#msg >= 0 && this.#msg <= this.length ? this.#msg : 0;
    this.#msg = -1;
    throw new RangeError(message);
  }

  #room(n: number): number {
    const at = this.length;
    const need = at + n;
    if (need > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < need) cap *= 2;
      const nb = new Uint8Array(cap);
      nb.set(this.buf.subarray(0, at));
      this.buf = nb;
      this.dv = new DataView(nb.buffer);
    }
    this.length = need;
    return at;
  }

  /** Starts a message; returns its offset, for {@link end}. */
  begin(type: number, flags: number, seq: number, pid = 0): number {
    const at = this.#room(NLMSG_HDRLEN);
    this.#msg = at;
    writeHeader(this.dv, at, { len: 0, type, flags, seq, pid } as MessageHeader);
    return at;
  }

  /** Ends the message started at `start`: writes its length. */
  end(start: number): void {
    this.#pad();
    const len = this.length - start;
    if (len > NLMSG_MAX_LEN) {
      this.#fail(`Cannot encode message: ${len} bytes exceed ${NLMSG_MAX_LEN}`);
    }
    this.dv.setUint32(start, len, HOST_LE);
    this.#msg = -1;
  }

  #pad(): void {
    const al = NLA_ALIGN(this.length);
    if (al !== this.length) {
      const at = this.#room(al - this.length);
      this.buf.fill(0, at, al);
    }
  }

  /** Raw bytes in the message body (e.g. a family header); not padded. */
  raw(bytes: ArrayLike<number>): void {
    const at = this.#room(bytes.length);
    this.buf.set(bytes, at);
  }

  #attr(type: number, payload: number): number {
    if (!Number.isInteger(type) || type < 0 || type > 0xffff) {
      this.#fail(`Cannot encode attribute ${String(type)}: its type must be an integer 0..65535`);
    }
    if (!(payload <= NLA_MAX_PAYLOAD)) {
      this.#fail(
        `Cannot encode attribute ${
          type & NLA_TYPE_MASK
        }: payload of ${payload} bytes exceeds ${NLA_MAX_PAYLOAD}`,
      );
    }
    this.#pad();
    const at = this.#room(NLA_HDRLEN + payload);
    this.dv.setUint16(at, NLA_HDRLEN + payload, HOST_LE);
    this.dv.setUint16(at + 2, type, HOST_LE);
    return at + NLA_HDRLEN;
  }

  #int(type: number, v: number, min: number, max: number, kind: string): void {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      this.#fail(
        `Cannot encode attribute ${type & NLA_TYPE_MASK}: ${
          String(v)
        } is not a ${kind} (${min}..${max})`,
      );
    }
  }

  /** A u8. */
  u8(type: number, v: number): void {
    this.#int(type, v, 0, 0xff, "u8");
    const at = this.#attr(type, 1);
    this.dv.setUint8(at, v);
    this.#pad();
  }
  /** Big-endian u16. */
  u16(type: number, v: number): void {
    this.#int(type, v, 0, 0xffff, "u16");
    const at = this.#attr(type, 2);
    this.dv.setUint16(at, v, false);
    this.#pad();
  }
  /** Big-endian u32 (a negative int32, e.g. `~0`, is written as its two's complement). */
  u32(type: number, v: number): void {
    this.#int(type, v, -0x80000000, 0xffffffff, "u32");
    const at = this.#attr(type, 4);
    this.dv.setUint32(at, v >>> 0, false);
  }
  /** Host-endian u32: for the few nfnetlink attributes that are `NLA_U32`, not `__be32`. */
  u32host(type: number, v: number): void {
    this.#int(type, v, -0x80000000, 0xffffffff, "u32");
    const at = this.#attr(type, 4);
    this.dv.setUint32(at, v >>> 0, HOST_LE);
  }
  /** Big-endian u64. */
  u64(type: number, v: bigint | number): void {
    const n = typeof v === "bigint" ? v : Number.isSafeInteger(v) ? BigInt(v) : -1n;
    if (n < 0n || n > 0xffffffffffffffffn) {
      this.#fail(
        `Cannot encode attribute ${type & NLA_TYPE_MASK}: ${String(v)} is not a u64 (0..2^64-1)`,
      );
    }
    const at = this.#attr(type, 8);
    this.dv.setBigUint64(at, n, false);
  }
  /** Raw payload bytes. */
  data(type: number, v: Uint8Array): void {
    const at = this.#attr(type, v.length); // may grow (replace) this.buf
    this.buf.set(v, at);
    this.#pad();
  }
  /** Appends `len` bytes of `src` from `start` (already-encoded attributes), padded. */
  rawFrom(src: Uint8Array, start: number, len: number): void {
    this.#pad();
    const at = this.#room(len);
    const buf = this.buf;
    for (let i = 0; i < len; i++) buf[at + i] = src[start + i];
    this.#pad();
  }
  /** The first `len` bytes of `src` as the payload (no view or copy allocated). */
  dataFrom(type: number, src: Uint8Array, len: number): void {
    const at = this.#attr(type, len);
    const buf = this.buf;
    for (let i = 0; i < len; i++) buf[at + i] = src[i];
    this.#pad();
  }
  /** A NUL-terminated string (one with a NUL inside would reach the kernel cut short: RangeError). */
  string(type: number, s: string): void {
    const b = utf8enc.encode(s);
    if (b.includes(0)) {
      this.#fail(`Cannot encode attribute ${type & NLA_TYPE_MASK}: the string holds a NUL byte`);
    }
    const at = this.#attr(type, b.length + 1);
    this.buf.set(b, at);
    this.buf[at + b.length] = 0;
    this.#pad();
  }
  /** Starts a nested attribute (with `NLA_F_NESTED`); returns its offset, for {@link endNest}. */
  nest(type: number): number {
    return this.#attr(type | NLA_F_NESTED, 0) - NLA_HDRLEN;
  }
  /** Ends the nested attribute started at `start`: writes its length, at most 65535. */
  endNest(start: number): void {
    const len = this.length - start;
    if (len > NLA_MAX_LEN) {
      const type = this.dv.getUint16(start + 2, HOST_LE) & NLA_TYPE_MASK;
      this.#fail(`Cannot encode nested attribute ${type}: ${len} bytes exceed ${NLA_MAX_LEN}`);
    }
    this.dv.setUint16(start, len, HOST_LE);
  }
}
