/**
 * {@link Timeouts}: timeout policies and tracker defaults (`nfct timeout`) as a client on a
 * netfilter netlink socket of its own.
 * @module
 */
import { ENOENT } from "../ffi/errno.ts";
import { MessageBuilder } from "../netlink/attribute.ts";
import { NetlinkError } from "../netlink/errors.ts";
import {
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
} from "../netlink/message.ts";
import type { Netns } from "../netlink/netns.ts";
import type { NetlinkSocket, TransportFactory } from "../netlink/socket.ts";
import type { Family } from "./address.ts";
import { nfnlMsgType, nfnlRequest, openNfnlSocket } from "./nfnl.ts";
import { checkKeys } from "./options.ts";
import {
  CTA_TIMEOUT_NAME,
  type DefaultTimeouts,
  IPCTNL_MSG_TIMEOUT_DEFAULT_GET,
  IPCTNL_MSG_TIMEOUT_DEFAULT_SET,
  IPCTNL_MSG_TIMEOUT_DELETE,
  IPCTNL_MSG_TIMEOUT_GET,
  IPCTNL_MSG_TIMEOUT_NEW,
  NFNL_SUBSYS_CTNETLINK_TIMEOUT,
  type TimeoutPolicy,
  type TimeoutProto,
} from "./timeout.ts";
import {
  checkFamily,
  checkObject,
  checkProto,
  checkTimeoutName,
  checkTimeouts,
  decodeTimeoutPolicy,
  encodeTimeoutPolicy,
  validateTimeoutPolicy,
} from "./timeout_codec.ts";

/** Options of {@link Timeouts.open}. */
export interface TimeoutsOpenOptions {
  /** Network namespace whose policies to manage (see {@link Netns}); default: the caller's. */
  netns?: Netns;
  /** Replaces the kernel socket (tests use a scripted transport). */
  transport?: TransportFactory;
}

/** Options of {@link Timeouts.add}. */
export interface AddTimeoutOptions {
  /**
   * Change the timeouts of an existing policy of the same name, family and protocol in place
   * (`NLM_F_REPLACE`; flows holding it see the new values). Without it an existing name fails
   * with `EBUSY`, as `nfct add timeout` does.
   */
  replace?: boolean;
  /** Fail with `EEXIST` if the name exists (`NLM_F_EXCL`), even with `replace`. */
  exclusive?: boolean;
}

const KNOWN_DEFAULT_KEYS: ReadonlySet<string> = new Set([
  "family",
  "proto",
  "timeouts",
  "unknown",
  "otherStates",
]);
const ADD_KEYS: ReadonlySet<string> = new Set(["replace", "exclusive"]);

const msgType = (m: number) => nfnlMsgType(NFNL_SUBSYS_CTNETLINK_TIMEOUT, m);

/**
 * A client for timeout policies on one netlink socket: `nfct timeout` as a library.
 *
 * @example Shorten established TCP flows matched by a rule to 100 s
 * ```ts
 * import { Timeouts } from "@nfct/nfct";
 * using t = Timeouts.open();
 * t.add({
 *   name: "short-tcp",
 *   family: "ipv4",
 *   proto: "tcp",
 *   timeouts: { established: 100, close: 10 },
 * });
 * // iptables -t raw -A PREROUTING -p tcp -j CT --timeout short-tcp
 * const p = t.get("short-tcp");
 * if (p?.proto === "tcp") console.log(p.timeouts.established); // 100
 * ```
 */
export class Timeouts {
  #sock: NetlinkSocket;
  #b = new MessageBuilder(4096);

  /** Use {@link Timeouts.open}. */
  constructor(sock: NetlinkSocket) {
    this.#sock = sock;
  }

  /**
   * Opens a netfilter netlink socket in the caller's namespace, or `options.netns`.
   * @throws {TypeError} on bad options; `SyscallError` when the socket cannot be opened.
   */
  static open(options: TimeoutsOpenOptions = {}): Timeouts {
    return new Timeouts(openNfnlSocket(options, "Timeouts.open options"));
  }

  #request(
    msg: number,
    flags: number,
    op: string,
    body: (b: MessageBuilder) => void,
  ): TimeoutPolicy[] {
    return nfnlRequest(this.#sock, this.#b, {
      type: msgType(msg),
      flags,
      op,
      body,
      each: (dv, off, len) => {
        const p = decodeTimeoutPolicy(dv, off, len);
        delete (p as { l4proto?: number }).l4proto;
        return p;
      },
    });
  }

  /**
   * Creates a policy (`nfct add timeout NAME FAMILY PROTO STATE SECONDS ...`). States left out
   * take the tracker's current defaults. Throws {@link NetlinkError} `EBUSY` if the name
   * exists (unless `options.replace`), `EINVAL` when replacing one of another protocol.
   */
  add(policy: TimeoutPolicy, options: AddTimeoutOptions = {}): void {
    validateTimeoutPolicy(policy);
    checkObject(options, "add options");
    checkKeys(options, ADD_KEYS, "add options");
    const flags = NLM_F_ACK | NLM_F_CREATE | (options.replace ? NLM_F_REPLACE : 0) |
      (options.exclusive ? NLM_F_EXCL : 0);
    this.#request(
      IPCTNL_MSG_TIMEOUT_NEW,
      flags,
      `Cannot add timeout policy ${policy.name}`,
      (b) => encodeTimeoutPolicy(b, policy),
    );
  }

  /** Every policy of the namespace (`nfct list timeout`), each with all its states. */
  list(): TimeoutPolicy[] {
    return this.#request(
      IPCTNL_MSG_TIMEOUT_GET,
      NLM_F_DUMP,
      "Cannot list timeout policies",
      () => {},
    );
  }

  /** One policy by name (`nfct get timeout NAME`); `undefined` when there is none. */
  get(name: string): TimeoutPolicy | undefined {
    checkTimeoutName(name);
    try {
      return this.#request(
        IPCTNL_MSG_TIMEOUT_GET,
        NLM_F_ACK,
        `Cannot get timeout policy ${name}`,
        (b) => b.string(CTA_TIMEOUT_NAME, name),
      )[0];
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === ENOENT) return undefined;
      throw e;
    }
  }

  /**
   * Deletes a policy (`nfct delete timeout NAME`). Throws {@link NetlinkError} `ENOENT` if there
   * is none, `EBUSY` while a rule or a flow holds it.
   */
  delete(name: string): void {
    checkTimeoutName(name);
    this.#request(
      IPCTNL_MSG_TIMEOUT_DELETE,
      NLM_F_ACK,
      `Cannot delete timeout policy ${name}`,
      (b) => b.string(CTA_TIMEOUT_NAME, name),
    );
  }

  /**
   * Deletes every policy no rule or flow holds (`nfct flush timeout`); held ones stay, without
   * an error (the kernel skips them).
   */
  flush(): void {
    this.#request(IPCTNL_MSG_TIMEOUT_DELETE, NLM_F_ACK, "Cannot flush timeout policies", () => {});
  }

  /**
   * A tracker's default timeouts in this namespace (`nfct default-get timeout FAMILY PROTO`,
   * Linux 3.13+): what `net.netfilter.nf_conntrack_*_timeout*` hold, every state.
   */
  defaultGet(family: Family, proto: TimeoutProto): DefaultTimeouts {
    checkFamily(family, "default timeouts");
    checkProto(proto, "default timeouts");
    const r = this.#request(
      IPCTNL_MSG_TIMEOUT_DEFAULT_GET,
      NLM_F_ACK,
      `Cannot get default ${proto} timeouts`,
      (b) => {
        encodeTimeoutPolicy(b, { family, proto });
      },
    )[0];
    if (!r) throw new RangeError(`Cannot get default ${proto} timeouts: the kernel sent no reply`);
    const { name: _n, use: _u, ...d } = r;
    return d as DefaultTimeouts;
  }

  /**
   * Sets some of a tracker's default timeouts in this namespace (`nfct default-set timeout
   * FAMILY PROTO STATE SECONDS ...`): new flows of every rule without a policy use them, as
   * after writing the matching `nf_conntrack_*_timeout*` sysctls.
   */
  defaultSet(defaults: DefaultTimeouts): void {
    checkObject(defaults, "default timeouts");
    checkKeys(defaults, KNOWN_DEFAULT_KEYS, "default timeouts");
    checkFamily(defaults.family, "default timeouts");
    const proto = checkProto(defaults.proto, "default timeouts");
    checkTimeouts(proto, defaults.timeouts, "default timeouts", true);
    this.#request(
      IPCTNL_MSG_TIMEOUT_DEFAULT_SET,
      NLM_F_ACK,
      `Cannot set default ${proto} timeouts`,
      (b) => encodeTimeoutPolicy(b, defaults),
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
