/**
 * The expectation requests behind the client's `*Expect` verbs (`conntrack -L/-G/-I/-D expect`,
 * `-S expect`), on a socket and builder the client lends, and {@link compileExpectFilter}, the
 * userspace part of a dump's filter.
 * @module
 */
import { ENOENT } from "../ffi/errno.ts";
import type { MessageBuilder } from "../netlink/attribute.ts";
import { NetlinkError } from "../netlink/errors.ts";
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL } from "../netlink/message.ts";
import type { NetlinkSocket } from "../netlink/socket.ts";
import { addressFamily } from "./address.ts";
import * as C from "./constants.ts";
import type { Expectation, ExpectCpuStats, ExpectFilter, ExpectKey } from "./expect.ts";
import { decodeExpect, ExpectDecoder } from "./expect_decode.ts";
import { encodeExpect } from "./expect_encode.ts";
import { validateExpect } from "./expect_validate.ts";
import { familyNumber } from "./family.ts";
import { compileFilter } from "./filter.ts";
import type { Flow } from "./flow.ts";
import { HELPER_NAME_MAX } from "./flow_validate.ts";
import { beginRequest, nfnlMsgType, nfnlRequest } from "./nfnl.ts";
import { checkKeys, checkName, checkU16, isObject } from "./options.ts";
import { decodeExpectCpuStats } from "./stats.ts";
import { encodeTuple, protoNumber, validateTuple } from "./tuple.ts";

/** The `nlmsg_type` of expectation message `m` (`IPCTNL_MSG_EXP_*`). */
const expType = (m: number) => nfnlMsgType(C.NFNL_SUBSYS_CTNETLINK_EXP, m);

const EXPECT_FILTER_KEYS: ReadonlySet<string> = new Set(Object.keys(
  {
    family: 1,
    proto: 1,
    src: 1,
    dst: 1,
    sport: 1,
    dport: 1,
    helper: 1,
    master: 1,
  } satisfies Record<keyof ExpectFilter, 1>,
));
const EXPECT_MASTER_KEYS: ReadonlySet<string> = new Set(["proto", "orig", "zone"]);

/**
 * Compiles an {@link ExpectFilter} into a userspace predicate (kernel parts are sent separately).
 * Unknown keys, `null` or `undefined` values and an empty `master` are a `TypeError`: a filter
 * key that is present must constrain.
 */
export function compileExpectFilter(filter: ExpectFilter = {}): (e: Expectation) => boolean {
  const raw: unknown = filter;
  if (!isObject(raw)) throw new TypeError("Invalid expectation filter: expected an object");
  checkKeys(raw, EXPECT_FILTER_KEYS, "expectation filter", false);
  const { helper, master, ...rest } = filter;
  if (helper !== undefined) checkName(helper, HELPER_NAME_MAX, "expectation filter helper");
  if (master !== undefined) {
    const m: unknown = master;
    if (!isObject(m)) {
      throw new TypeError("Invalid expectation filter master: expected { proto, orig }");
    }
    checkKeys(m, EXPECT_MASTER_KEYS, "expectation filter master", false);
    if (master.proto === undefined || master.orig === undefined) {
      throw new TypeError("Invalid expectation filter master: expected { proto, orig }");
    }
    // A dumped expectation's master (a MasterTuple, with its proto) serves as orig too.
    const mp = protoNumber(master.proto);
    validateTuple(master.orig, mp, filter.family, "master.orig");
    if (master.zone !== undefined) checkU16(master.zone, "expectation filter master.zone");
  }
  const cf = compileFilter(rest);
  return (e) => {
    if (helper !== undefined && e.helper !== helper) return false;
    if (cf.empty) return true;
    return cf.match({ family: e.family, proto: e.proto, orig: e.tuple, reply: e.tuple } as Flow);
  };
}

/** Streams the expectation table (`conntrack -L expect`), filtered. */
export function* dumpExpectations(
  sock: NetlinkSocket,
  b: MessageBuilder,
  filter: ExpectFilter | undefined,
): Generator<Expectation, void, void> {
  const match = compileExpectFilter(filter);
  // A dump of one master's expectations needs the family (EOPNOTSUPP with AF_UNSPEC).
  const family = filter?.family ??
    (filter?.master ? addressFamily(filter.master.orig.src) : undefined);
  const seq = sock.nextSeq();
  const at = beginRequest(b.reset(), {
    type: expType(C.IPCTNL_MSG_EXP_GET),
    flags: NLM_F_DUMP,
    seq,
    family: family ? familyNumber(family) : C.AF_UNSPEC,
  });
  if (filter?.master) {
    const mp = protoNumber(filter.master.proto);
    encodeTuple(b, C.CTA_EXPECT_MASTER, filter.master.orig, mp);
    if (filter.master.zone !== undefined) b.u16(C.CTA_EXPECT_ZONE, filter.master.zone);
  }
  b.end(at);
  sock.send(b.bytes());
  const dec = new ExpectDecoder();
  for (const r of sock.replies(seq, "Cannot dump expectations", true)) {
    const e = dec.decode(r.dv, r.offset, r.length);
    if (match(e)) yield e;
  }
}

/** `conntrack -G expect`: one expectation by its tuple; `undefined` when there is none. */
export function getExpectation(
  sock: NetlinkSocket,
  b: MessageBuilder,
  key: ExpectKey,
): Expectation | undefined {
  const e = validateExpect(key, "key");
  try {
    return nfnlRequest(sock, b, {
      type: expType(C.IPCTNL_MSG_EXP_GET),
      flags: NLM_F_ACK,
      family: familyNumber(e.family),
      op: "Cannot get expectation",
      body: (b) => encodeExpect(b, e, "key"),
      each: decodeExpect,
    })[0];
  } catch (err) {
    if (err instanceof NetlinkError && err.errno === ENOENT) return undefined;
    throw err;
  }
}

/** `conntrack -I expect`. */
export function createExpectation(
  sock: NetlinkSocket,
  b: MessageBuilder,
  exp: Partial<Expectation>,
): void {
  const e = validateExpect(exp, "create");
  nfnlRequest(sock, b, {
    type: expType(C.IPCTNL_MSG_EXP_NEW),
    flags: NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
    family: familyNumber(e.family),
    op: "Cannot create expectation",
    body: (b) => encodeExpect(b, e, "create"),
  });
}

/** `conntrack -D expect`: by tuple (and id, when given). */
export function deleteExpectation(sock: NetlinkSocket, b: MessageBuilder, key: ExpectKey): void {
  const e = validateExpect(key, "key");
  nfnlRequest(sock, b, {
    type: expType(C.IPCTNL_MSG_EXP_DELETE),
    flags: NLM_F_ACK,
    family: familyNumber(e.family),
    op: "Cannot delete expectation",
    body: (b) => encodeExpect(b, e, "key"),
  });
}

/** Per-CPU expectation statistics (`IPCTNL_MSG_EXP_GET_STATS_CPU`, `conntrack -S expect`). */
export function expectationStats(sock: NetlinkSocket, b: MessageBuilder): ExpectCpuStats[] {
  return nfnlRequest(sock, b, {
    type: expType(C.IPCTNL_MSG_EXP_GET_STATS_CPU),
    flags: NLM_F_DUMP,
    op: "Cannot read expectation statistics",
    each: decodeExpectCpuStats,
  });
}
