/**
 * Network namespace ids (nsids), over rtnetlink (`ip netns list-id`, `ip netns set NAME auto`).
 *
 * A namespace can give another one a small integer id, private to itself: the *peer*'s nsid
 * *in* this namespace. The kernel uses them to say where something comes from across
 * namespaces: a netlink socket with `NETLINK_LISTEN_ALL_NSID` receives multicasts from every
 * namespace that has an nsid in the socket's own, each tagged with that nsid. Ids are assigned
 * by `RTM_NEWNSID` (what `ip netns set` sends), and by the kernel itself when it needs one (a
 * veth whose peer lives elsewhere, for instance).
 *
 * ```text
 * request: nlmsghdr | struct rtgenmsg { u8 family; } + 3 pad | NETNSA_FD u32 [| NETNSA_NSID s32]
 * reply (RTM_GETNSID): RTM_NEWNSID with NETNSA_NSID s32 (-1: NETNSA_NSID_NOT_ASSIGNED)
 * ```
 * Attributes are host-endian (rtnetlink, unlike nfnetlink). net/core/net_namespace.c:
 * `rtnl_net_newid()`, `rtnl_net_getid()`.
 * @module
 */
import { EEXIST, EINVAL } from "../ffi/errno.ts";
import * as sys from "../ffi/syscalls.ts";
import { readDir } from "../ffi/host.ts";
import { AttributeReader, MessageBuilder } from "./attribute.ts";
import { NetlinkError } from "./errors.ts";
import { HOST_LE, NETLINK_ROUTE, NLM_F_ACK, NLM_F_REQUEST, NLMSG_HDRLEN } from "./message.ts";
import type { Netns, NetnsHandle } from "./netns.ts";
import { NetlinkSocket } from "./socket.ts";

/** rtnetlink message types (linux/rtnetlink.h). */
export const RTM_NEWNSID = 88;
export const RTM_GETNSID = 90;
/** `NETNSA_*` attributes (linux/net_namespace.h). */
export const NETNSA_NSID = 1;
export const NETNSA_PID = 2;
export const NETNSA_FD = 3;
/** The nsid the kernel reports for a namespace that has none here. */
export const NETNSA_NSID_NOT_ASSIGNED = -1;

/** Where `ip netns add` puts its namespace files. */
export const NAMED_NETNS_DIR = "/run/netns";

const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
/** sizeof(struct rtgenmsg), aligned: one byte of family, padded to 4. */
const RTGENMSG_LEN = 4;

/**
 * The nsids of one namespace (the one its rtnetlink socket lives in): which id it gives each
 * peer, and assigning new ones. Needs `CAP_NET_ADMIN` there to assign.
 */
export class NsidTable {
  #sock: NetlinkSocket;
  #b = new MessageBuilder(64);
  #attrs = new AttributeReader();

  constructor(sock: NetlinkSocket) {
    this.#sock = sock;
  }

  /** Opens an rtnetlink socket in `netns` (default: the caller's namespace). */
  static open(netns?: Netns | NetnsHandle): NsidTable {
    return new NsidTable(NetlinkSocket.open(NETLINK_ROUTE, { netns }));
  }

  #request(type: number, flags: number, peerFd: number, nsid?: number): number {
    const seq = this.#sock.nextSeq();
    const b = this.#b.reset();
    const at = b.begin(type, NLM_F_REQUEST | flags, seq);
    b.raw(new Uint8Array(RTGENMSG_LEN)); // struct rtgenmsg { AF_UNSPEC } + padding
    b.u32host(NETNSA_FD, peerFd);
    if (nsid !== undefined) b.u32host(NETNSA_NSID, nsid >>> 0);
    b.end(at);
    this.#sock.send(b.bytes());
    return seq;
  }

  /**
   * The nsid the peer namespace open on `peerFd` has here, or undefined when it has none
   * (`RTM_GETNSID`, like `ip netns list-id`).
   */
  get(peerFd: number): number | undefined {
    const seq = this.#request(RTM_GETNSID, NLM_F_ACK, peerFd); // the ACK ends replies()
    let nsid: number | undefined;
    for (const r of this.#sock.replies(seq, "Cannot read a namespace id (RTM_GETNSID)", false)) {
      if (r.type !== RTM_NEWNSID) continue;
      const a = this.#attrs.reset(
        r.dv,
        r.offset + NLMSG_HDRLEN + RTGENMSG_LEN,
        r.offset + r.length,
        "RTM_NEWNSID",
      );
      while (a.next()) {
        if (a.type !== NETNSA_NSID) continue;
        if (a.len !== 4) {
          throw new RangeError(
            `Cannot read a namespace id: NETNSA_NSID holds ${a.len} bytes, expected 4`,
          );
        }
        nsid = a.dv.getInt32(a.pos, HOST_LE);
      }
    }
    return nsid === undefined || nsid < 0 ? undefined : nsid;
  }

  /**
   * Gives the peer namespace open on `peerFd` an nsid here if it has none (`RTM_NEWNSID` with
   * `NETNSA_NSID` -1: the kernel picks the lowest free one, like `ip netns set NAME auto`);
   * returns its nsid either way.
   * @throws {NetlinkError} e.g. `EPERM` without `CAP_NET_ADMIN` in this namespace.
   */
  assign(peerFd: number): number {
    const have = this.get(peerFd);
    if (have !== undefined) return have;
    const seq = this.#request(RTM_NEWNSID, NLM_F_ACK, peerFd, NETNSA_NSID_NOT_ASSIGNED);
    try {
      for (
        const _ of this.#sock.replies(seq, "Cannot assign a namespace id (RTM_NEWNSID)", false)
      ) { /* ACK only */ }
    } catch (e) {
      // Someone else assigned one meanwhile: fine, read it below.
      if (!(e instanceof NetlinkError && e.errno === EEXIST)) throw e;
    }
    const got = this.get(peerFd);
    if (got === undefined) {
      throw new RangeError(
        "Cannot assign a namespace id: the kernel acknowledged but reports none",
      );
    }
    return got;
  }

  /** The nsid this namespace gives itself, if any (rare: `ip netns set` on its own name). */
  self(): number | undefined {
    const fd = sys.open(
      "/proc/thread-self/ns/net",
      O_RDONLY | O_CLOEXEC,
      "Cannot open the current network namespace",
    );
    try {
      return this.get(fd);
    } finally {
      sys.close(fd);
    }
  }

  close(): void {
    this.#sock.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Options of {@link scanNamedNetns}. */
interface ScanOptions {
  /** Give each named namespace without an nsid one (see {@link NsidTable.assign}). */
  assign?: boolean;
  /** The directory to scan; default {@link NAMED_NETNS_DIR}. */
  dir?: string;
}

/**
 * The nsid → name map of the named namespaces (`/run/netns/*`) as `table`'s namespace sees
 * them. A name whose file cannot be opened (removed meanwhile, not a namespace) is skipped; a
 * missing directory is an empty map. Two names of one namespace: the first in order wins.
 */
function scanNamedNetns(table: NsidTable, options: ScanOptions = {}): Map<number, string> {
  const dir = options.dir ?? NAMED_NETNS_DIR;
  const names = new Map<number, string>();
  let entries: string[];
  try {
    entries = readDir(dir).sort();
  } catch {
    return names;
  }
  for (const name of entries) {
    let fd: number;
    try {
      fd = sys.open(`${dir}/${name}`, O_RDONLY | O_CLOEXEC);
    } catch {
      continue;
    }
    try {
      const nsid = options.assign ? table.assign(fd) : table.get(fd);
      if (nsid !== undefined && !names.has(nsid)) names.set(nsid, name);
    } catch (e) {
      // Not a namespace file (EINVAL from the kernel): skip it. Anything else is real.
      if (!(e instanceof NetlinkError && e.errno === EINVAL)) throw e;
    } finally {
      sys.close(fd);
    }
  }
  return names;
}

/** What an event stream needs to name namespaces (the real one is {@link NetnsNames}). */
export interface NetnsResolver {
  /** The nsid the listener's namespace gives itself, if any: its own events carry it. */
  readonly self: number | undefined;
  /** The name of the namespace with `nsid`, if it has one. */
  name(nsid: number): string | undefined;
  /** Looks at the named namespaces again (assigning ids to new ones when configured to). */
  refresh(): void;
  close(): void;
}

/**
 * Names of the namespaces events come from: nsid → `/run/netns` name, as the namespace of
 * `table` sees them. Built by scanning {@link NAMED_NETNS_DIR}; an nsid not found is looked up
 * again by a fresh scan, at most once per `rescanMs`, so namespaces added later are named too.
 */
export class NetnsNames implements NetnsResolver {
  #table: NsidTable;
  #assign: boolean;
  #names = new Map<number, string>();
  #self: number | undefined;
  #scanned = -Infinity;
  #rescanMs: number;

  /** Takes `table` (closed with this); scans at once (assigning ids first when `assign`). */
  constructor(table: NsidTable, options: { assign?: boolean; rescanMs?: number } = {}) {
    this.#table = table;
    this.#assign = options.assign === true;
    this.#rescanMs = options.rescanMs ?? 1000;
    this.#self = table.self();
    this.refresh();
  }

  /** The nsid the table's namespace gives itself (its own events are tagged with it), if any. */
  get self(): number | undefined {
    return this.#self;
  }

  /** Scans the named namespaces again (and assigns ids to new ones when assigning). */
  refresh(): void {
    this.#names = scanNamedNetns(this.#table, { assign: this.#assign });
    this.#scanned = performance.now();
  }

  /** The name of the namespace with `nsid`, or undefined when no named namespace has it. */
  name(nsid: number): string | undefined {
    const n = this.#names.get(nsid);
    if (n !== undefined || performance.now() - this.#scanned < this.#rescanMs) return n;
    this.refresh();
    return this.#names.get(nsid);
  }

  close(): void {
    this.#table.close();
  }
}
