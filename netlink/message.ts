/**
 * Netlink message framing with no I/O: `nlmsghdr`, alignment, `NLMSG_ERROR` with extended ACK.
 *
 * ```
 * struct nlmsghdr (16 bytes, host byte order)
 *  0               4       6       8               12              16
 *  +---------------+-------+-------+---------------+---------------+
 *  | nlmsg_len     | type  | flags | nlmsg_seq     | nlmsg_pid     |
 *  +---------------+-------+-------+---------------+---------------+
 * ```
 * @module
 */

/** `NLMSG_ALIGNTO` (linux/netlink.h). */
export const NLMSG_ALIGNTO = 4;
/** `NLMSG_HDRLEN`: the aligned size of `struct nlmsghdr`. */
export const NLMSG_HDRLEN = 16;

/** `NLMSG_ALIGN(len)`. */
export function NLMSG_ALIGN(len: number): number {
  return (len + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);
}

// Control message types (linux/netlink.h).
export const NLMSG_NOOP = 0x1;
export const NLMSG_ERROR = 0x2;
export const NLMSG_DONE = 0x3;
export const NLMSG_OVERRUN = 0x4;
/** Types below this are control messages. */
export const NLMSG_MIN_TYPE = 0x10;

// nlmsg_flags (linux/netlink.h).
export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_ECHO = 0x08;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP_FILTERED = 0x20;
/** GET requests. */
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_ATOMIC = 0x400;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
/** NEW requests. */
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** Flags on `NLMSG_ERROR` acknowledgements. */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

// enum nlmsgerr_attrs (linux/netlink.h).
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;
export const NLMSGERR_ATTR_COOKIE = 3;
export const NLMSGERR_ATTR_POLICY = 4;
export const NLMSGERR_ATTR_MISS_TYPE = 5;
export const NLMSGERR_ATTR_MISS_NEST = 6;

// Socket constants (linux/netlink.h, sys/socket.h).
export const AF_NETLINK = 16;
export const NETLINK_ROUTE = 0;
export const NETLINK_NETFILTER = 12;
export const SOL_NETLINK = 270;
export const NETLINK_ADD_MEMBERSHIP = 1;
export const NETLINK_DROP_MEMBERSHIP = 2;
/** A broadcast this socket could not take fails for the sender (who may deliver it again). */
export const NETLINK_BROADCAST_ERROR = 4;
export const NETLINK_NO_ENOBUFS = 5;
/** Receive multicasts from every namespace that has an nsid here; the nsid comes as a cmsg. */
export const NETLINK_LISTEN_ALL_NSID = 8;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;
export const NETLINK_GET_STRICT_CHK = 12;

/** True when this machine stores integers little-endian (netlink headers are host order). */
export const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * One message in a receive buffer, as a socket hands it out: valid until the next datagram is
 * read into the same buffer.
 */
export interface Reply {
  /** The receive buffer (shared, overwritten by the next datagram). */
  readonly dv: DataView;
  /** Offset of the message's `nlmsghdr` in `dv`. */
  readonly offset: number;
  /** The message's length including its header. */
  readonly length: number;
  /** `nlmsg_type`. */
  readonly type: number;
  /** `nlmsg_flags`. */
  readonly flags: number;
  /** `nlmsg_seq`: the sequence number of the request it answers. */
  readonly seq: number;
}

/** A decoded `nlmsghdr`. */
export interface MessageHeader {
  len: number;
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

/**
 * Why the `nlmsghdr` at `off` does not fit inside `end` (no room for a header, or a length that
 * does not fit), or `undefined` when it does. Allocates nothing for a good header.
 */
export function headerError(dv: DataView, off: number, end: number): RangeError | undefined {
  if (end - off < NLMSG_HDRLEN) {
    return new RangeError(
      `Cannot read netlink message: ${end - off} bytes left, a header needs ${NLMSG_HDRLEN}`,
    );
  }
  const len = dv.getUint32(off, HOST_LE);
  if (len < NLMSG_HDRLEN || len > end - off) {
    return new RangeError(
      `Cannot read netlink message: length ${len} does not fit the ${end - off} bytes left`,
    );
  }
  return undefined;
}

/** Reads the `nlmsghdr` at `off`, checking that it fits inside `end` ({@link headerError}). */
export function readHeader(dv: DataView, off: number, end: number): MessageHeader {
  const bad = headerError(dv, off, end);
  if (bad) throw bad;
  const len = dv.getUint32(off, HOST_LE);
  return {
    len,
    type: dv.getUint16(off + 4, HOST_LE),
    flags: dv.getUint16(off + 6, HOST_LE),
    seq: dv.getUint32(off + 8, HOST_LE),
    pid: dv.getUint32(off + 12, HOST_LE),
  };
}

/** Writes a `nlmsghdr` at `off`. */
export function writeHeader(dv: DataView, off: number, h: MessageHeader): void {
  dv.setUint32(off, h.len, HOST_LE);
  dv.setUint16(off + 4, h.type, HOST_LE);
  dv.setUint16(off + 6, h.flags, HOST_LE);
  dv.setUint32(off + 8, h.seq, HOST_LE);
  dv.setUint32(off + 12, h.pid, HOST_LE);
}

/** The body of an `NLMSG_ERROR` message: an error (0 for an ACK) and extended-ACK details. */
export interface ErrorMessage {
  /** Positive errno; 0 means this is an acknowledgement. */
  errno: number;
  /** The header of the request this answers. */
  request: MessageHeader;
  /** `NLMSGERR_ATTR_MSG`: the kernel's explanation, when it gave one. */
  message?: string;
  /** `NLMSGERR_ATTR_OFFS`: byte offset in the request of the attribute it objected to. */
  offset?: number;
  /** `NLMSGERR_ATTR_MISS_TYPE`: the attribute type that was missing. */
  missingType?: number;
}

/**
 * Decodes the `struct nlmsgerr` of the `NLMSG_ERROR` message at `off` (length `len`).
 *
 * ```
 *  16            20                36 (or 16 + 4 + original request)
 *  +-------------+-----------------+---------------------------------
 *  | int error   | nlmsghdr of req | [payload unless NLM_F_CAPPED] [ext-ack TLVs if NLM_F_ACK_TLVS]
 * ```
 */
export function readError(dv: DataView, off: number, len: number, flags: number): ErrorMessage {
  if (len < NLMSG_HDRLEN + 4 + NLMSG_HDRLEN) {
    throw new RangeError(
      `Cannot read netlink error message: ${len} bytes is shorter than struct nlmsgerr`,
    );
  }
  const error = dv.getInt32(off + NLMSG_HDRLEN, HOST_LE);
  if (error > 0) {
    throw new RangeError(
      `Cannot read netlink error message: error ${error} is not a negative errno`,
    );
  }
  const reqOff = off + NLMSG_HDRLEN + 4;
  const request: MessageHeader = {
    len: dv.getUint32(reqOff, HOST_LE),
    type: dv.getUint16(reqOff + 4, HOST_LE),
    flags: dv.getUint16(reqOff + 6, HOST_LE),
    seq: dv.getUint32(reqOff + 8, HOST_LE),
    pid: dv.getUint32(reqOff + 12, HOST_LE),
  };
  const out: ErrorMessage = { errno: error === 0 ? 0 : -error, request }; // never -0 for an ACK
  // The echoed request: its header when capped, else all of it (a corrupt length means no TLVs).
  const echo = flags & NLM_F_CAPPED ? NLMSG_HDRLEN : request.len;
  if (flags & NLM_F_ACK_TLVS && echo >= NLMSG_HDRLEN && echo <= len) {
    readExtAck(dv, reqOff + NLMSG_ALIGN(echo), off + len, out);
  }
  return out;
}

/** The body of an `NLMSG_DONE`: how the dump ended, and extended-ACK details. */
export interface DoneMessage {
  /** Positive errno when the dump failed part-way; 0 when it completed. */
  errno: number;
  /** `NLMSGERR_ATTR_MSG`: the kernel's explanation, when it gave one. */
  message?: string;
  /** `NLMSGERR_ATTR_OFFS`. */
  offset?: number;
  /** `NLMSGERR_ATTR_MISS_TYPE`. */
  missingType?: number;
}

/**
 * Decodes the `NLMSG_DONE` message at `off` (length `len`). Unlike `NLMSG_ERROR` it echoes no
 * request (linux/net/netlink/af_netlink.c, `netlink_dump_done`):
 *
 * ```
 *  16            20
 *  +-------------+----------------------------------
 *  | int error   | [ext-ack TLVs if NLM_F_ACK_TLVS]
 * ```
 * A DONE without a body (very old kernels) or with a non-negative `error` is a completed dump.
 */
export function readDone(dv: DataView, off: number, len: number, flags: number): DoneMessage {
  if (len < NLMSG_HDRLEN + 4) return { errno: 0 };
  const error = dv.getInt32(off + NLMSG_HDRLEN, HOST_LE);
  const out: DoneMessage = { errno: error < 0 ? -error : 0 };
  if (flags & NLM_F_ACK_TLVS) readExtAck(dv, off + NLMSG_HDRLEN + 4, off + len, out);
  return out;
}

/** Reads extended-ACK TLVs in `[p, end)` into `out`; stops quietly at anything malformed. */
function readExtAck(dv: DataView, p: number, end: number, out: DoneMessage): void {
  while (p + 4 <= end) {
    const alen = dv.getUint16(p, HOST_LE);
    const atype = dv.getUint16(p + 2, HOST_LE) & 0x3fff;
    if (alen < 4 || p + alen > end) break; // extended ACK is advisory: never fail on it
    if (atype === NLMSGERR_ATTR_MSG) {
      let e = p + alen;
      while (e > p + 4 && dv.getUint8(e - 1) === 0) e--;
      out.message = new TextDecoder().decode(
        new Uint8Array(dv.buffer, dv.byteOffset + p + 4, e - p - 4),
      );
    } else if (atype === NLMSGERR_ATTR_OFFS && alen >= 8) {
      out.offset = dv.getUint32(p + 4, HOST_LE);
    } else if (atype === NLMSGERR_ATTR_MISS_TYPE && alen >= 8) {
      out.missingType = dv.getUint32(p + 4, HOST_LE);
    }
    p += NLMSG_ALIGN(alen);
  }
}
