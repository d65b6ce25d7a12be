/**
 * nfnetlink requests: the one place where a request's headers are written. Every request nfct
 * sends — ctnetlink flows and expectations, cttimeout policies, cthelper helpers, one at a time
 * or batched — starts with {@link beginRequest}; {@link nfnlRequest} also sends it and reads
 * its replies, on a socket {@link openNfnlSocket} opens for a client of its own.
 *
 * ```
 *  0               4       6       8               12              16
 *  +---------------+-------+-------+---------------+---------------+
 *  | nlmsg_len     | type  | flags | nlmsg_seq     | nlmsg_pid     |  struct nlmsghdr (host order)
 *  +-------+-------+-------+-------+---------------+---------------+
 *  | family|version| res_id (be16) | attributes (TLV, payload big-endian) ...
 *  +-------+-------+---------------+                                  struct nfgenmsg
 *  type = subsystem << 8 | message; flags = NLM_F_REQUEST | NLM_F_ACK, NLM_F_DUMP, ...
 * ```
 * @module
 */
import type { MessageBuilder } from "../netlink/attribute.ts";
import { NETLINK_NETFILTER, NLM_F_DUMP, NLM_F_REQUEST } from "../netlink/message.ts";
import type { Netns } from "../netlink/netns.ts";
import { NetlinkSocket, type TransportFactory } from "../netlink/socket.ts";
import { AF_UNSPEC, NFNETLINK_V0 } from "./constants.ts";
import { checkKeys, isObject } from "./options.ts";

/**
 * The `nlmsg_type` of message `msg` of nfnetlink subsystem `subsys` (`NFNL_SUBSYS_*`):
 * `subsys << 8 | msg`, e.g. `IPCTNL_MSG_CT_GET` of `NFNL_SUBSYS_CTNETLINK` is `0x101`.
 */
export function nfnlMsgType(subsys: number, msg: number): number {
  return (subsys << 8) | msg;
}

/**
 * Writes the 4-byte `nfgenmsg` that follows the `nlmsghdr` of every nfnetlink message:
 * `family` (`AF_*`, 0 for all), `version` (`NFNETLINK_V0`) and `resId` (big-endian; the CPU in
 * per-CPU statistics replies, else 0).
 */
export function writeNfgenmsg(
  b: MessageBuilder,
  family: number,
  version: number = NFNETLINK_V0,
  resId = 0,
): void {
  b.raw([family, version, resId >> 8, resId & 0xff]);
}

/** The headers of one request: what {@link beginRequest} writes. */
export interface RequestHeader {
  /** `nlmsg_type`: {@link nfnlMsgType} of the subsystem and message. */
  type: number;
  /** `NLM_F_*` flags besides `NLM_F_REQUEST`, which every request carries. */
  flags: number;
  /** `nlmsg_seq`: the socket's `nextSeq()`; the kernel echoes it in every reply. */
  seq: number;
  /** `nfgen_family`: `AF_INET`, `AF_INET6`, or `AF_UNSPEC` (0, the default) for both. */
  family?: number;
  /**
   * `nfgenmsg.version`: `NFNETLINK_V0` (the default); 1 makes a ctnetlink flush honour the
   * family.
   */
  version?: number;
}

/**
 * Appends a request's `nlmsghdr` and `nfgenmsg` to `b` and returns the message's offset: write
 * the attributes next, then call `b.end(offset)`, which fills in `nlmsg_len`.
 */
export function beginRequest(b: MessageBuilder, h: RequestHeader): number {
  const at = b.begin(h.type, NLM_F_REQUEST | h.flags, h.seq);
  writeNfgenmsg(b, h.family ?? AF_UNSPEC, h.version ?? NFNETLINK_V0);
  return at;
}

/** One request for {@link nfnlRequest}. */
export interface NfnlRequest<T> {
  /** `nlmsg_type`: {@link nfnlMsgType} of the subsystem and message. */
  type: number;
  /**
   * `NLM_F_*` flags besides `NLM_F_REQUEST`: `NLM_F_ACK` for a request answered by an
   * acknowledgement, `NLM_F_DUMP` for a dump (answered up to `NLMSG_DONE`).
   */
  flags: number;
  /** `nfgen_family` (default `AF_UNSPEC`). */
  family?: number;
  /** `nfgenmsg.version` (default `NFNETLINK_V0`). */
  version?: number;
  /** What is being done, for errors: `Cannot delete expectation: ENOENT (...)`. */
  op: string;
  /** Writes the attributes (after the nfgenmsg). */
  body?: (b: MessageBuilder) => void;
  /** Decodes each data reply (the message at `offset`, `length` bytes with its header). */
  each?: (dv: DataView, offset: number, length: number) => T;
}

/**
 * Builds request `req` in `b` (reset first), sends it on `sock` and returns its data replies,
 * decoded by `req.each` (none without it), read up to the acknowledgement or, for a dump, to
 * `NLMSG_DONE`.
 * @throws {NetlinkError} when the kernel answers with an error (`req.op` starts its message).
 */
export function nfnlRequest<T>(sock: NetlinkSocket, b: MessageBuilder, req: NfnlRequest<T>): T[] {
  b.reset();
  const seq = sock.nextSeq();
  const at = beginRequest(b, {
    type: req.type,
    flags: req.flags,
    seq,
    family: req.family,
    version: req.version,
  });
  req.body?.(b);
  b.end(at);
  sock.send(b.bytes());
  const out: T[] = [];
  const each = req.each;
  for (const r of sock.replies(seq, req.op, (req.flags & NLM_F_DUMP) === NLM_F_DUMP)) {
    if (each) out.push(each(r.dv, r.offset, r.length));
  }
  return out;
}

const OPEN_KEYS: ReadonlySet<string> = new Set(["netns", "transport"]);

/**
 * Opens the netfilter netlink socket of a client that has one (`Timeouts`, `Helpers`): in the
 * caller's namespace, in `options.netns`, or on `options.transport` (tests). `what` names the
 * options in errors (`Timeouts.open options`).
 * @throws {TypeError} on unknown keys, or both `netns` and `transport`; `SyscallError` when
 * the socket or the namespace cannot be opened.
 */
export function openNfnlSocket(
  options: { netns?: Netns; transport?: TransportFactory },
  what: string,
): NetlinkSocket {
  if (!isObject(options)) throw new TypeError(`Invalid ${what}: expected an object`);
  checkKeys(options, OPEN_KEYS, what);
  if (options.transport) {
    if (options.netns !== undefined) {
      throw new TypeError("Cannot open: the netns and transport options exclude each other");
    }
    return new NetlinkSocket(options.transport);
  }
  return NetlinkSocket.open(NETLINK_NETFILTER, { netns: options.netns });
}
