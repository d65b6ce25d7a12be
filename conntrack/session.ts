/**
 * {@link Session}: what a {@link Conntrack} client runs on — its netlink sockets (one, plus more
 * opened on demand for requests made while dumps are being iterated), the message builders and
 * the one way to send a request and read its replies. Internal: the public class is the client.
 * @module
 */
import { MessageBuilder } from "../netlink/attribute.ts";
import { NETLINK_NETFILTER, NLM_F_ACK, NLM_F_DUMP } from "../netlink/message.ts";
import { DEFAULT_RECEIVE_BUFFER, NetlinkSocket } from "../netlink/socket.ts";
import {
  LibcTransport,
  type LibcTransportOptions,
  type TransportFactory,
} from "../netlink/transport.ts";
import { type Netns, NetnsHandle } from "../netlink/netns.ts";
import * as C from "./constants.ts";
import { familyNumber } from "./family.ts";
import type { Flow, FlowPurpose } from "./flow.ts";
import { FlowDecoder } from "./flow_decode.ts";
import { encodeFlow } from "./flow_encode.ts";
import { beginRequest, nfnlMsgType } from "./nfnl.ts";
import { checkOpenOptions } from "./options.ts";
import { type CpuStats, decodeCpuStats, decodeGlobalStats, type GlobalStats } from "./stats.ts";

/** Options of {@link Conntrack.open}. */
export interface OpenOptions {
  /** Receive buffer to ask for, in bytes (default 8 MiB; `SO_RCVBUFFORCE` when privileged). */
  receiveBufferSize?: number;
  /**
   * Replaces the kernel socket: called for each socket the client opens (tests pass a scripted
   * {@link Transport}). Excludes `netns`.
   */
  transport?: TransportFactory;
  /**
   * Network namespace whose table to manage: `"/run/netns/NAME"` (or any namespace file), a
   * pid (that process's namespace), or `{ fd }` (an open namespace fd, borrowed). Default: the
   * calling thread's. Every socket the client opens is created there; see {@link Netns}.
   * Needs `CAP_SYS_ADMIN` to enter the namespace (`ip netns exec` needs the same).
   */
  netns?: Netns;
}

/** The nlmsg type of ctnetlink message `m`. */
export const msgType = (m: number): number => nfnlMsgType(C.NFNL_SUBSYS_CTNETLINK, m);
/** nfgenmsg version 1: a flush honours the family (with 0 a family "filter" flushes everything). */
export const NFNETLINK_V1 = 1;
/** Replies per batch: an acknowledgement costs about 1 KiB of receive buffer (truesize). */
const REPLY_COST = 1024;

/**
 * Frees the socket of a dump whose iterator was dropped half-way (neither finished nor
 * `return()`ed) once the runtime collects it: until then the dump keeps its socket, and
 * {@link Session.socket} opens another for the next request.
 */
const abandoned = new FinalizationRegistry<{ sock: NetlinkSocket; id: number }>(({ sock, id }) =>
  sock.abandon(id)
);

/** A client's sockets, builders and request plumbing. */
export class Session {
  readonly factory: TransportFactory;
  /** The main socket; it owns the namespace handle, which it closes last. */
  readonly sock: NetlinkSocket;
  /** Sockets opened for requests made while others are busy with dumps. */
  #more: NetlinkSocket[] = [];
  /** The builder of single requests and dump requests. */
  readonly b: MessageBuilder = new MessageBuilder(64 * 1024);
  /** The builder of batches (a lazy batch may iterate a dump of this session meanwhile). */
  batchBuilder: MessageBuilder | undefined;
  readonly dec: FlowDecoder = new FlowDecoder();
  #batchMax = 0;
  #reqSeq = 0;
  /** The namespace the session was opened in (event sockets are opened there too). */
  readonly netns: NetnsHandle | undefined;
  /** True with a caller's transport (tests): no scratch namespace can mirror it. */
  readonly custom: boolean;
  /** Filter shapes whose kernel flush was proven (true) or could not be (false); see flush.ts. */
  readonly proven: Map<string, boolean> = new Map();

  constructor(factory: TransportFactory, netns?: NetnsHandle, custom = false) {
    this.factory = factory;
    this.netns = netns;
    this.custom = custom;
    this.sock = new NetlinkSocket(factory, netns && (() => netns.close()));
  }

  /** Checks `options` and opens a session as {@link Conntrack.open} describes. */
  static open(options: OpenOptions = {}): Session {
    checkOpenOptions(options);
    const opts: LibcTransportOptions = {
      receiveBufferSize: options.receiveBufferSize ?? DEFAULT_RECEIVE_BUFFER,
    };
    if (options.netns !== undefined) {
      if (options.transport) {
        throw new TypeError("Cannot open: the netns and transport options exclude each other");
      }
      // Opened once: the main socket, the second one and any reopened socket all land there.
      const ns = NetnsHandle.open(options.netns);
      return Session.in(ns, opts);
    }
    if (options.transport) return new Session(options.transport, undefined, true);
    return new Session(() => new LibcTransport(NETLINK_NETFILTER, opts));
  }

  /** A session whose sockets are created in namespace `ns` (which it then owns). */
  static in(
    ns: NetnsHandle,
    opts: LibcTransportOptions = { receiveBufferSize: DEFAULT_RECEIVE_BUFFER },
  ): Session {
    const nsOpts: LibcTransportOptions = { ...opts, netns: ns };
    return new Session(() => new LibcTransport(NETLINK_NETFILTER, nsOpts), ns);
  }

  /**
   * A socket that is not in the middle of a dump: the main one, or another (opened when all
   * are busy: dumps being iterated, or dropped half-way and not yet collected).
   */
  socket(): NetlinkSocket {
    if (!this.sock.busy) return this.sock;
    for (const s of this.#more) if (!s.busy && !s.closed) return s;
    const s = new NetlinkSocket(this.factory);
    this.#more.push(s);
    return s;
  }

  /**
   * The replies of `g`, a dump on `sock` about to start, watched: if the caller drops the
   * iterator half-way, the socket is freed once the runtime collects it.
   */
  *watched<T>(sock: NetlinkSocket, g: Generator<T, void, void>): Generator<T, void, void> {
    const token = {};
    abandoned.register(g, { sock, id: sock.useId + 1 }, token);
    try {
      yield* g;
    } finally {
      abandoned.unregister(token);
    }
  }

  /** Starts a request of ctnetlink message `msg` in {@link b}; returns its offset for {@link request}. */
  begin(
    sock: NetlinkSocket,
    msg: number,
    flags: number,
    family: number,
    version = C.NFNETLINK_V0,
  ): number {
    this.#reqSeq = sock.nextSeq();
    return beginRequest(this.b.reset(), {
      type: msgType(msg),
      flags,
      seq: this.#reqSeq,
      family,
      version,
    });
  }

  /** Sends the built message and returns its data replies (decoded by `each`) until the ACK. */
  request<T>(
    sock: NetlinkSocket,
    at: number,
    op: string,
    each?: (dv: DataView, off: number, len: number) => T,
  ): T[] {
    const b = this.b;
    b.end(at);
    const seq = this.#reqSeq;
    sock.send(b.bytes());
    const out: T[] = [];
    for (const r of sock.replies(seq, op, false)) {
      if (each) out.push(each(r.dv, r.offset, r.length));
    }
    return out;
  }

  /** One acknowledged request about one (validated) flow; its decoded data replies. */
  flowRequest(msg: number, flags: number, f: Flow, purpose: FlowPurpose, op: string): Flow[] {
    const sock = this.socket();
    const at = this.begin(sock, msg, NLM_F_ACK | flags, familyNumber(f.family));
    encodeFlow(this.b, f, purpose);
    return this.request(sock, at, op, (dv, o, l) => this.dec.decode(dv, o, l));
  }

  /** Sends a whole-table dump request of `msg` on `sock` (no filter); returns its seq. */
  sendTableDump(sock: NetlinkSocket, msg: number, family = C.AF_UNSPEC): number {
    const seq = sock.nextSeq();
    const b = this.b.reset();
    const at = beginRequest(b, { type: msgType(msg), flags: NLM_F_DUMP, seq, family });
    b.end(at);
    sock.send(b.bytes());
    return seq;
  }

  /** Requests per batch: the receive buffer must hold a reply for each. */
  batchLimit(sock: NetlinkSocket): number {
    if (!this.#batchMax) {
      this.#batchMax = Math.max(16, Math.floor(sock.receiveBufferSize() / REPLY_COST));
    }
    return this.#batchMax;
  }

  /** Entries and `nf_conntrack_max` (`IPCTNL_MSG_CT_GET_STATS`). */
  globalStats(): GlobalStats {
    const sock = this.socket();
    const at = this.begin(sock, C.IPCTNL_MSG_CT_GET_STATS, NLM_F_ACK, C.AF_UNSPEC);
    const r = this.request(sock, at, "Cannot read conntrack statistics", decodeGlobalStats);
    if (!r[0]) throw new RangeError("Cannot read conntrack statistics: the kernel sent no reply");
    return r[0];
  }

  /** Number of entries in the table; O(1) in the kernel. */
  count(): number {
    return this.globalStats().entries;
  }

  /** Per-CPU statistics (`IPCTNL_MSG_CT_GET_STATS_CPU`). */
  stats(): CpuStats[] {
    const sock = this.socket();
    const seq = this.sendTableDump(sock, C.IPCTNL_MSG_CT_GET_STATS_CPU);
    const out: CpuStats[] = [];
    for (const r of sock.replies(seq, "Cannot read per-CPU statistics", true)) {
      out.push(decodeCpuStats(r.dv, r.offset, r.length));
    }
    return out;
  }

  /** Closes the sockets; idempotent. */
  close(): void {
    try {
      for (const s of this.#more) s.close();
    } finally {
      this.sock.close(); // closes the namespace handle too, after every socket
    }
  }
}
