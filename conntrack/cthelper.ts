/**
 * Userspace conntrack helpers (`nfnetlink_cthelper`, what `nfct helper` manages): register a
 * helper whose packets go to a userspace queue (conntrackd's helpers), list, get, delete,
 * flush, disable. Needs `CONFIG_NF_CT_NETLINK_HELPER` (Linux 3.6+); on a kernel without it every
 * request fails with {@link NetlinkError} `EINVAL`, which {@link Helpers} explains.
 * @module
 */
import { EINVAL } from "../ffi/errno.ts";
import { AttributeReader, MessageBuilder } from "../netlink/attribute.ts";
import { NetlinkError } from "../netlink/errors.ts";
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLMSG_HDRLEN } from "../netlink/message.ts";
import type { Netns } from "../netlink/netns.ts";
import type { NetlinkSocket, TransportFactory } from "../netlink/socket.ts";
import type { Family } from "./address.ts";
import * as C from "./constants.ts";
import { familyName, familyNumber } from "./family.ts";
import { HELPER_NAME_MAX } from "./flow_validate.ts";
import { nfnlMsgType, nfnlRequest, openNfnlSocket } from "./nfnl.ts";
import { checkName } from "./options.ts";

// linux/netfilter/nfnetlink.h
const NFNL_SUBSYS_CTHELPER = 9;
// linux/netfilter/nfnetlink_cthelper.h: enum nfnl_cthelper_msg_types
const NFNL_MSG_CTHELPER_NEW = 0;
const NFNL_MSG_CTHELPER_GET = 1;
const NFNL_MSG_CTHELPER_DEL = 2;
// enum nfnl_cthelper_type
const NFCTH_NAME = 1;
const NFCTH_TUPLE = 2;
const NFCTH_QUEUE_NUM = 3;
const NFCTH_POLICY = 4;
const NFCTH_PRIV_DATA_LEN = 5;
const NFCTH_STATUS = 6;
// enum nfnl_cthelper_tuple_type
const NFCTH_TUPLE_L3PROTONUM = 1;
const NFCTH_TUPLE_L4PROTONUM = 2;
// enum nfnl_cthelper_policy_type / nfnl_cthelper_pol_type
const NFCTH_POLICY_SET_NUM = 1;
const NFCTH_POLICY_SET = 2;
const NFCTH_POLICY_NAME = 1;
const NFCTH_POLICY_EXPECT_MAX = 2;
const NFCTH_POLICY_EXPECT_TIMEOUT = 3;

/** One expectation policy of a helper (`NFCTH_POLICY_SET`). */
export interface HelperPolicy {
  /** The policy's name (`NFCTH_POLICY_NAME`), at most 15 bytes, e.g. `"ftp"`. */
  name: string;
  /** Most expectations one master may have. */
  expectMax: number;
  /** Seconds an expectation lives. */
  expectTimeout: number;
}

/** A userspace helper as the kernel reports it (`nfct list helper`). */
export interface Helper {
  /** The helper's name (`NFCTH_NAME`), at most 15 bytes; what rules and flows refer to. */
  name: string;
  /** Layer 3 of the packets it helps with (`NFCTH_TUPLE_L3PROTONUM`). */
  family: Family;
  /** Layer 4 of the packets it helps with (`NFCTH_TUPLE_L4PROTONUM`). */
  proto: "tcp" | "udp";
  /** The NFQUEUE its packets go to. */
  queueNum?: number;
  /** Bytes of per-flow private data (`NFCTH_PRIV_DATA_LEN`). */
  privDataLen?: number;
  /** false after `nfct disable helper` (`NFCTH_STATUS`). */
  enabled?: boolean;
  /** Its expectation policies (`NFCTH_POLICY`), at least one. */
  policies: HelperPolicy[];
}

const msgType = (m: number) => nfnlMsgType(NFNL_SUBSYS_CTHELPER, m);

/** Why a cthelper request failed with `EINVAL` when the kernel has no such subsystem. */
export const NO_CTHELPER_HINT =
  "this kernel has no nfnetlink_cthelper (CONFIG_NF_CT_NETLINK_HELPER is off and no module can be loaded): userspace helpers cannot be managed here";

function helperKey(
  name: string,
  family?: Family,
  proto?: "tcp" | "udp",
): (b: MessageBuilder) => void {
  checkName(name, HELPER_NAME_MAX, "helper name");
  if (name === "") throw new RangeError("Invalid helper name: it is empty");
  if (family !== undefined && family !== "ipv4" && family !== "ipv6") {
    throw new TypeError(`Invalid helper family: ${String(family)}`);
  }
  if (proto !== undefined && proto !== "tcp" && proto !== "udp") {
    throw new TypeError(`Invalid helper proto: ${String(proto)}, tcp or udp`);
  }
  return (b) => {
    b.string(NFCTH_NAME, name);
    if (family !== undefined) {
      const t = b.nest(NFCTH_TUPLE);
      b.u16(NFCTH_TUPLE_L3PROTONUM, familyNumber(family));
      if (proto !== undefined) {
        b.u8(NFCTH_TUPLE_L4PROTONUM, proto === "tcp" ? C.IPPROTO_TCP : C.IPPROTO_UDP);
      }
      b.endNest(t);
    }
  };
}

function decodeHelper(dv: DataView, offset: number, length: number): Helper {
  const h: Helper = { name: "", family: "ipv4", proto: "tcp", policies: [] };
  const r = new AttributeReader().reset(dv, offset + NLMSG_HDRLEN + 4, offset + length, "helper");
  const n = new AttributeReader();
  const p = new AttributeReader();
  while (r.next()) {
    if (r.type === NFCTH_NAME) h.name = r.string();
    else if (r.type === NFCTH_QUEUE_NUM) h.queueNum = r.u32();
    else if (r.type === NFCTH_PRIV_DATA_LEN) h.privDataLen = r.u32();
    else if (r.type === NFCTH_STATUS) h.enabled = r.u32() === 1;
    else if (r.type === NFCTH_TUPLE) {
      n.enter(r, "helper tuple");
      while (n.next()) {
        if (n.type === NFCTH_TUPLE_L3PROTONUM) h.family = familyName(n.u16()) ?? "ipv4";
        else if (n.type === NFCTH_TUPLE_L4PROTONUM) {
          h.proto = n.u8() === C.IPPROTO_UDP ? "udp" : "tcp";
        }
      }
    } else if (r.type === NFCTH_POLICY) {
      n.enter(r, "helper policies");
      while (n.next()) {
        if (n.type < NFCTH_POLICY_SET) continue;
        const pol: HelperPolicy = { name: "", expectMax: 0, expectTimeout: 0 };
        p.enter(n, "helper policy");
        while (p.next()) {
          if (p.type === NFCTH_POLICY_NAME) pol.name = p.string();
          else if (p.type === NFCTH_POLICY_EXPECT_MAX) pol.expectMax = p.u32();
          else if (p.type === NFCTH_POLICY_EXPECT_TIMEOUT) pol.expectTimeout = p.u32();
        }
        h.policies.push(pol);
      }
    }
  }
  return h;
}

/**
 * A client for userspace helpers (`nfct helper`). On a kernel without `nfnetlink_cthelper`
 * every method throws {@link NetlinkError} `EINVAL` whose message says so.
 *
 * @example Register a userspace FTP helper whose packets go to NFQUEUE 5 (conntrackd's)
 * ```ts
 * import { Helpers } from "@nfct/nfct";
 * using helpers = Helpers.open();
 * helpers.add({
 *   name: "ftp",
 *   family: "ipv4",
 *   proto: "tcp",
 *   queueNum: 5,
 *   policies: [{ name: "ftp", expectMax: 1, expectTimeout: 300 }],
 * });
 * for (const h of helpers.list()) console.log(h.name, h.queueNum, h.enabled);
 * ```
 */
export class Helpers {
  #sock: NetlinkSocket;
  #b = new MessageBuilder(1024);

  /** Use {@link Helpers.open}. */
  constructor(sock: NetlinkSocket) {
    this.#sock = sock;
  }

  /**
   * Opens a netfilter netlink socket in the caller's namespace, or `options.netns`
   * (`options.transport` replaces the kernel socket: tests use a scripted one).
   * @throws {TypeError} on bad options; `SyscallError` when the socket cannot be opened.
   */
  static open(options: { netns?: Netns; transport?: TransportFactory } = {}): Helpers {
    return new Helpers(openNfnlSocket(options, "Helpers.open options"));
  }

  #request(msg: number, flags: number, op: string, body: (b: MessageBuilder) => void): Helper[] {
    try {
      return nfnlRequest(this.#sock, this.#b, {
        type: msgType(msg),
        flags,
        op,
        body,
        each: decodeHelper,
      });
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === EINVAL && !this.#hasSubsystem()) {
        throw new NetlinkError(`${op} (${NO_CTHELPER_HINT})`, EINVAL, {}, { cause: e });
      }
      throw e;
    }
  }

  /** Whether the kernel knows the subsystem: an empty dump, which has nothing else to refuse. */
  #hasSubsystem(): boolean {
    try {
      nfnlRequest(this.#sock, this.#b, {
        type: msgType(NFNL_MSG_CTHELPER_GET),
        flags: NLM_F_DUMP,
        op: "probe",
      });
      return true;
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === EINVAL) return false;
      throw e;
    }
  }

  /** Every helper (`nfct list helper`). */
  list(): Helper[] {
    return this.#request(NFNL_MSG_CTHELPER_GET, NLM_F_DUMP, "Cannot list helpers", () => {});
  }

  /** One helper by name, optionally family and proto (`nfct get helper NAME [inet|inet6 [tcp|udp]]`). */
  get(name: string, family?: Family, proto?: "tcp" | "udp"): Helper[] {
    return this.#request(
      NFNL_MSG_CTHELPER_GET,
      NLM_F_ACK,
      `Cannot get helper ${name}`,
      helperKey(name, family, proto),
    );
  }

  /** Deletes a helper (`nfct delete helper NAME [inet|inet6 [tcp|udp]]`). */
  delete(name: string, family?: Family, proto?: "tcp" | "udp"): void {
    this.#request(
      NFNL_MSG_CTHELPER_DEL,
      NLM_F_ACK,
      `Cannot delete helper ${name}`,
      helperKey(name, family, proto),
    );
  }

  /** Deletes every helper (`nfct flush helper`). */
  flush(): void {
    this.#request(NFNL_MSG_CTHELPER_DEL, NLM_F_ACK, "Cannot flush helpers", () => {});
  }

  /**
   * Registers a helper whose packets go to NFQUEUE `queueNum` (`nfct add helper NAME FAMILY
   * PROTO`, which takes the policies from conntrackd's helper of that name).
   */
  add(
    h: {
      name: string;
      family: Family;
      proto: "tcp" | "udp";
      queueNum?: number;
      privDataLen?: number;
      policies: HelperPolicy[];
    },
  ): void {
    if (!Array.isArray(h.policies) || h.policies.length === 0) {
      throw new TypeError("Invalid helper: give at least one expectation policy");
    }
    const key = helperKey(h.name, h.family, h.proto);
    this.#request(
      NFNL_MSG_CTHELPER_NEW,
      NLM_F_ACK | NLM_F_CREATE,
      `Cannot add helper ${h.name}`,
      (b) => {
        key(b);
        b.u32(NFCTH_QUEUE_NUM, h.queueNum ?? 0);
        const pn = b.nest(NFCTH_POLICY);
        b.u32(NFCTH_POLICY_SET_NUM, h.policies.length);
        h.policies.forEach((p, i) => {
          const s = b.nest(NFCTH_POLICY_SET + i);
          b.string(NFCTH_POLICY_NAME, p.name);
          b.u32(NFCTH_POLICY_EXPECT_MAX, p.expectMax);
          b.u32(NFCTH_POLICY_EXPECT_TIMEOUT, p.expectTimeout);
          b.endNest(s);
        });
        b.endNest(pn);
        b.u32(NFCTH_PRIV_DATA_LEN, h.privDataLen ?? 0);
      },
    );
  }

  /** Stops queueing a helper's packets to userspace (`nfct disable helper NAME FAMILY PROTO`). */
  disable(name: string, family: Family, proto: "tcp" | "udp"): void {
    const key = helperKey(name, family, proto);
    this.#request(
      NFNL_MSG_CTHELPER_NEW,
      NLM_F_ACK | NLM_F_CREATE,
      `Cannot disable helper ${name}`,
      (b) => {
        key(b);
        b.u32(NFCTH_STATUS, 0);
      },
    );
  }

  /** Closes the socket; idempotent. */
  close(): void {
    this.#sock.close();
  }

  /** Closes the socket at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }
}
