/**
 * A scripted {@link Transport} for protocol edge cases (after mdlayher/netlink's `nltest`), and
 * builders for the replies the kernel sends.
 *
 * The transport never blocks: `recv()` hands back the next queued step, and throws
 * {@link ScriptExhausted} when nothing is queued (where a real socket would wait forever), so a
 * code path that keeps reading fails the test instead of hanging it.
 *
 * Replies echo the sequence number of what was actually sent: queue a function
 * (`(t) => errorMessage(t.lastRequest(), 2)`), which is built when `recv()` reaches it, or
 * answer every send from `onSend`.
 * @module
 */
import { SyscallError } from "../../ffi/errno.ts";
import {
  HOST_LE,
  type MessageHeader,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_MULTI,
  NLMSG_ALIGN,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MISS_TYPE,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  readHeader,
  writeHeader,
} from "../../netlink/message.ts";
import type { Transport, TransportFactory } from "../../netlink/socket.ts";
import { fixtureUrl, readHexLines } from "./hex.ts";

/** One message of a datagram that was sent. */
export interface SentMessage {
  header: MessageHeader;
  /** The whole message, header included (a copy). */
  bytes: Uint8Array;
}

/** What the next `recv()` does. */
export type Step =
  /** Hand back this datagram. */
  | Uint8Array
  /** Build the datagram when `recv()` reaches this step (to echo what was sent by then). */
  | ((t: ScriptedTransport) => Uint8Array)
  /** Throw this (e.g. a {@link SyscallError} `ENOBUFS`). */
  | { throws: unknown }
  /** Report a datagram of `length` bytes that did not fit the buffer (`MSG_TRUNC`). */
  | { truncated: number };

/** `recv()` found nothing queued: a real socket would block here forever. */
export class ScriptExhausted extends Error {
  override name = "ScriptExhausted";
}

/** Options of a {@link ScriptedTransport}. */
export interface ScriptedOptions {
  portId?: number;
  /** What `receiveBufferSize()` reports (it sizes the client's batches). */
  receiveBufferSize?: number;
  /** Called after each `send()` with the datagram's messages: queue the answer here. */
  onSend?: (t: ScriptedTransport, messages: SentMessage[]) => void;
}

/** A {@link Transport} that plays back queued steps and records what was sent. */
export class ScriptedTransport implements Transport {
  readonly portId: number;
  /** Every datagram sent, as copies. */
  readonly sent: Uint8Array[] = [];
  /** Steps `recv()` has not reached yet. */
  readonly queue: Step[] = [];
  /** Number of `recv()` calls so far. */
  recvCalls = 0;
  /** Number of `close()` calls so far. */
  closeCalls = 0;
  onSend?: (t: ScriptedTransport, messages: SentMessage[]) => void;
  #rcvbuf: number;

  constructor(options: ScriptedOptions = {}) {
    this.portId = options.portId ?? 0x1234;
    this.#rcvbuf = options.receiveBufferSize ?? 8 << 20;
    this.onSend = options.onSend;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.closeCalls > 0;
  }

  /** Queues steps for `recv()`. */
  push(...steps: Step[]): this {
    this.queue.push(...steps);
    return this;
  }

  /** Makes the next `recv()` throw `SyscallError("recvfrom", ENOBUFS)`, as an overrun socket does. */
  failNextRecvWithENOBUFS(): this {
    return this.push({ throws: new SyscallError("recvfrom", 105) });
  }

  /** Makes the next `recv()` report a `length`-byte datagram that did not fit. */
  truncateNextRecv(length: number): this {
    return this.push({ truncated: length });
  }

  send(buf: Uint8Array): void {
    if (this.closed) throw new Error("ScriptedTransport: send() after close()");
    const copy = buf.slice();
    this.sent.push(copy);
    this.onSend?.(this, splitMessages(copy));
  }

  recv(buf: Uint8Array, wait: boolean): number {
    if (this.closed) throw new Error("ScriptedTransport: recv() after close()");
    this.recvCalls++;
    const step = this.queue.shift();
    if (step === undefined) {
      if (!wait) return -1;
      throw new ScriptExhausted(
        "ScriptedTransport: recv() with nothing queued would block forever",
      );
    }
    if (step instanceof Uint8Array || typeof step === "function") {
      const d = typeof step === "function" ? step(this) : step;
      buf.set(d.subarray(0, Math.min(d.length, buf.length)));
      return d.length;
    }
    if ("throws" in step) throw step.throws;
    return step.truncated;
  }

  receiveBufferSize(): number {
    return this.#rcvbuf;
  }

  close(): void {
    this.closeCalls++;
  }

  /** Every message sent so far, in order. */
  sentMessages(): SentMessage[] {
    return this.sent.flatMap(splitMessages);
  }

  /** The first message of the last datagram sent: the request a reply answers. */
  lastRequest(): SentMessage {
    const d = this.sent.at(-1);
    if (!d) throw new Error("ScriptedTransport: nothing was sent yet");
    return splitMessages(d)[0];
  }
}

/** A factory of scripted transports that remembers each one it opened. */
export interface ScriptedFactory {
  factory: TransportFactory;
  /** Every transport opened so far, oldest first. */
  opened: ScriptedTransport[];
}

/** Makes a {@link TransportFactory} whose transports are set up by `setup` (called with each and its index). */
export function scriptedFactory(
  setup: (t: ScriptedTransport, index: number) => void = () => {},
  options: ScriptedOptions = {},
): ScriptedFactory {
  const opened: ScriptedTransport[] = [];
  return {
    opened,
    factory: () => {
      const t = new ScriptedTransport({ portId: 0x1000 + opened.length, ...options });
      opened.push(t);
      setup(t, opened.length - 1);
      return t;
    },
  };
}

/** Splits a datagram into its messages. @throws {RangeError} on malformed framing. */
export function splitMessages(d: Uint8Array): SentMessage[] {
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const out: SentMessage[] = [];
  for (let off = 0; off < d.length;) {
    const header = readHeader(dv, off, d.length);
    out.push({ header, bytes: d.slice(off, off + header.len) });
    off += NLMSG_ALIGN(header.len);
  }
  return out;
}

/** Concatenates messages into one datagram, each padded to `NLMSG_ALIGNTO`. */
export function datagram(...messages: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(messages.reduce((s, m) => s + NLMSG_ALIGN(m.length), 0));
  let off = 0;
  for (const m of messages) {
    out.set(m, off);
    off += NLMSG_ALIGN(m.length);
  }
  return out;
}

/** A copy of a datagram with every message's `nlmsg_seq` (and `nlmsg_pid`, if given) rewritten. */
export function reseq(d: Uint8Array, seq: number, pid?: number): Uint8Array {
  const out = d.slice();
  const dv = new DataView(out.buffer);
  for (let off = 0; off < out.length;) {
    const h = readHeader(dv, off, out.length);
    dv.setUint32(off + 8, seq, HOST_LE);
    if (pid !== undefined) dv.setUint32(off + 12, pid, HOST_LE);
    off += NLMSG_ALIGN(h.len);
  }
  return out;
}

function message(
  type: number,
  flags: number,
  seq: number,
  pid: number,
  body: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(NLMSG_HDRLEN + body.length);
  writeHeader(new DataView(out.buffer), 0, { len: out.length, type, flags, seq, pid });
  out.set(body, NLMSG_HDRLEN);
  return out;
}

/** Extended-ACK details to attach to an error (`NLMSGERR_ATTR_*` TLVs, host byte order). */
export interface ExtAck {
  /** `NLMSGERR_ATTR_MSG`. */
  message?: string;
  /** `NLMSGERR_ATTR_OFFS`. */
  offset?: number;
  /** `NLMSGERR_ATTR_MISS_TYPE`. */
  missingType?: number;
}

function tlvs(ext: ExtAck): Uint8Array {
  const parts: Uint8Array[] = [];
  const tlv = (type: number, payload: Uint8Array) => {
    const a = new Uint8Array(NLMSG_ALIGN(4 + payload.length));
    const dv = new DataView(a.buffer);
    dv.setUint16(0, 4 + payload.length, HOST_LE);
    dv.setUint16(2, type, HOST_LE);
    a.set(payload, 4);
    parts.push(a);
  };
  const u32 = (v: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, HOST_LE);
    return b;
  };
  if (ext.message !== undefined) {
    const s = new TextEncoder().encode(ext.message);
    const p = new Uint8Array(s.length + 1);
    p.set(s);
    tlv(NLMSGERR_ATTR_MSG, p);
  }
  if (ext.offset !== undefined) tlv(NLMSGERR_ATTR_OFFS, u32(ext.offset));
  if (ext.missingType !== undefined) tlv(NLMSGERR_ATTR_MISS_TYPE, u32(ext.missingType));
  return datagram(...parts);
}

const hasTlvs = (ext: ExtAck) =>
  ext.message !== undefined || ext.offset !== undefined || ext.missingType !== undefined;

/** Options of {@link errorMessage}. */
export interface ErrorReplyOptions extends ExtAck {
  /**
   * `NLM_F_CAPPED` (default true, as with `NETLINK_CAP_ACK`): echo only the request's header;
   * false echoes the whole request.
   */
  capped?: boolean;
  /** `nlmsg_pid` of the reply (the receiving socket's port id). */
  pid?: number;
}

/**
 * An `NLMSG_ERROR` answering `req`: `errno` 0 is an acknowledgement. Extended-ACK TLVs are added
 * (with `NLM_F_ACK_TLVS`) when `message`, `offset` or `missingType` is given.
 */
export function errorMessage(
  req: SentMessage,
  errno: number,
  options: ErrorReplyOptions = {},
): Uint8Array {
  const capped = options.capped ?? true;
  const echo = capped ? req.bytes.subarray(0, NLMSG_HDRLEN) : req.bytes;
  const ext = tlvs(options);
  const body = new Uint8Array(4 + NLMSG_ALIGN(echo.length) + ext.length);
  new DataView(body.buffer).setInt32(0, -errno, HOST_LE);
  body.set(echo, 4);
  body.set(ext, 4 + NLMSG_ALIGN(echo.length));
  const flags = (capped ? NLM_F_CAPPED : 0) | (hasTlvs(options) ? NLM_F_ACK_TLVS : 0);
  return message(NLMSG_ERROR, flags, req.header.seq, options.pid ?? req.header.pid, body);
}

/** An acknowledgement of `req` (an `NLMSG_ERROR` with error 0). */
export function ackMessage(req: SentMessage, options: ErrorReplyOptions = {}): Uint8Array {
  return errorMessage(req, 0, options);
}

/**
 * The `NLMSG_DONE` ending a dump of `req`. As the kernel writes it (netlink_dump_done): an int
 * (0, or the dump's negative errno), then extended-ACK TLVs with `NLM_F_ACK_TLVS` if any.
 */
export function doneMessage(req: SentMessage, errno = 0, ext: ExtAck = {}): Uint8Array {
  const t = tlvs(ext);
  const body = new Uint8Array(4 + t.length);
  new DataView(body.buffer).setInt32(0, -errno, HOST_LE);
  body.set(t, 4);
  return message(
    NLMSG_DONE,
    NLM_F_MULTI | (hasTlvs(ext) ? NLM_F_ACK_TLVS : 0),
    req.header.seq,
    req.header.pid,
    body,
  );
}

/** A data message of `type` answering `req` (`NLM_F_MULTI` unless `flags` says otherwise). */
export function dataMessage(
  req: SentMessage,
  type: number,
  body: Uint8Array,
  flags = NLM_F_MULTI,
): Uint8Array {
  return message(type, flags, req.header.seq, req.header.pid, body);
}

/**
 * The datagrams of `test/fixtures/real_dump_<name>.hex` (captured from the kernel by
 * scripts/capture_real_dump.ts): one datagram per line, `#` lines are comments.
 */
export function loadRealDump(name: string): Uint8Array[] {
  return readHexLines(fixtureUrl(`real_dump_${name}.hex`));
}
