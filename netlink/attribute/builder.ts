/**
 * {@link MessageBuilder}: writes netlink messages and their attributes, every length checked.
 * @module
 */
import { HOST_LE, type MessageHeader, NLMSG_HDRLEN, writeHeader } from "../message.ts";
import {
  NLA_ALIGN,
  NLA_F_NESTED,
  NLA_HDRLEN,
  NLA_MAX_LEN,
  NLA_MAX_PAYLOAD,
  NLA_TYPE_MASK,
  NLMSG_MAX_LEN,
} from "./nla.ts";

const utf8enc = new TextEncoder();

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
