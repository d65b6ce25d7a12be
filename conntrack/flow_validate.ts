/**
 * {@link validateFlow}: checks a {@link Flow} before anything is sent, against what each
 * attribute holds and what the kernel accepts (its nla policies and limits), so that a bad
 * value is a `TypeError`/`RangeError` naming the field instead of an `EINVAL` from the kernel,
 * or worse, a request that means something else.
 * @module
 */
import { NLA_F_NET_BYTEORDER, NLA_MAX_PAYLOAD, NLA_TYPE_MASK } from "../netlink/attribute.ts";
import { type Family, parseAddress } from "./address.ts";
import * as C from "./constants.ts";
import { familyNumber } from "./family.ts";
import {
  type Counter,
  type DccpInfo,
  type Flow,
  FLOW_FIELDS,
  type FlowPurpose,
  type NatRange,
  type RawAttribute,
  type SctpInfo,
  type SeqAdj,
  type Synproxy,
  type TcpFlags,
  type TcpInfo,
  type Timestamp,
} from "./flow.ts";
import { encodeLabels } from "./labels.ts";
import {
  checkArray,
  checkBytes,
  checkInt,
  checkKeys,
  checkName,
  checkU16,
  checkU32,
  checkU64,
  checkU8,
  isObject,
} from "./options.ts";
import {
  DCCP_STATES,
  IPPROTO_DCCP,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  SCTP_STATES,
  TCP_STATES,
} from "./protocols.ts";
import { statusBits } from "./status.ts";
import { invertTuple, protoName, protoNumber, validateTuple } from "./tuple.ts";

// Kernel limits of what a flow may carry (Linux net/netfilter, include/net/netfilter).
/**
 * Longest helper name, in bytes: `NF_CT_HELPER_NAME_LEN` (16) minus the NUL, the `.len` of
 * CTA_HELP_NAME in `help_nla_policy` (and of the cthelper and expectation helper names).
 */
export const HELPER_NAME_MAX = 15;
/**
 * `CTA_HELP_INFO` lands in `struct nf_conn_help`'s `char data[32]` (nf_conntrack_helper.h);
 * `nfnl_cthelper_from_nlattr()` copies at most that much, so longer is never meaningful.
 */
const HELPER_INFO_MAX = 32;
/** `TCP_MAX_WSCALE` (include/net/tcp.h): tcp_nla_policy has `NLA_POLICY_MAX(NLA_U8, TCP_MAX_WSCALE)`. */
const TCP_MAX_WSCALE = 14;
/** `CT_DCCP_ROLE_MAX` (nf_conntrack_dccp.h): nlattr_to_dccp() refuses a larger role (EINVAL). */
const DCCP_ROLE_MAX = 1;
/** `CT_DCCP_IGNORE`: nlattr_to_dccp() refuses a state at or above it (EINVAL). */
const DCCP_STATE_LIMIT = 8;
/**
 * `CTA_*` types nfct encodes or decodes itself (CTA_TUPLE_ORIG 1 .. CTA_SYNPROXY 24): an
 * {@link RawAttribute} of one of them would override the flow's own (e.g. the tuple of an
 * update), so `unknown` may not carry them.
 */
const CTA_MODELLED_MAX = C.CTA_SYNPROXY;

const FLOW_KEYS: ReadonlySet<string> = new Set(FLOW_FIELDS);
const keysOf = <T>(o: Record<keyof T, 1>): ReadonlySet<string> => new Set(Object.keys(o));
const TCP_KEYS = keysOf<TcpInfo>({
  state: 1,
  wscaleOrig: 1,
  wscaleReply: 1,
  flagsOrig: 1,
  flagsReply: 1,
});
const TCP_FLAGS_KEYS = keysOf<TcpFlags>({ flags: 1, mask: 1 });
const SCTP_KEYS = keysOf<SctpInfo>({ state: 1, vtagOrig: 1, vtagReply: 1 });
const DCCP_KEYS = keysOf<DccpInfo>({ state: 1, role: 1, handshakeSeq: 1 });
const NAT_KEYS = keysOf<NatRange>({ minIp: 1, maxIp: 1, minPort: 1, maxPort: 1 });
const SEQADJ_KEYS = keysOf<SeqAdj>({ correctionPos: 1, offsetBefore: 1, offsetAfter: 1 });
const SYNPROXY_KEYS = keysOf<Synproxy>({ isn: 1, its: 1, tsoff: 1 });
const COUNTERS_KEYS: ReadonlySet<string> = new Set(["orig", "reply"]);
const COUNTER_KEYS = keysOf<Counter>({ packets: 1, bytes: 1 });
const TIMESTAMP_KEYS = keysOf<Timestamp>({ start: 1, stop: 1 });
const RAW_KEYS = keysOf<RawAttribute>({ type: 1, data: 1 });
/** What an update can change: with none of these, an update would do nothing. */
const UPDATABLE = [
  "status",
  "timeout",
  "mark",
  "tcp",
  "sctp",
  "dccp",
  "helper",
  "labels",
  "seqAdjOrig",
  "seqAdjReply",
  "synproxy",
  "unknown",
] as const;

/** `v` is a plain object whose keys are all in `keys` (no `null` values). */
function sub(v: unknown, keys: ReadonlySet<string>, what: string): Record<string, unknown> {
  if (!isObject(v)) throw new TypeError(`Invalid ${what}: expected an object`);
  checkKeys(v, keys, what);
  return v;
}

/** A conntrack state name: one of `names` (on a key, any string: it is not sent). */
function checkState(
  v: unknown,
  names: readonly string[],
  limit: number,
  purpose: FlowPurpose,
  what: string,
): void {
  if (typeof v !== "string") {
    throw new TypeError(`Invalid ${what}: expected a state name, got ${typeof v}`);
  }
  if (purpose === "key") return;
  const i = names.indexOf(v);
  if (i < 0) {
    throw new TypeError(
      `Invalid ${what} "${v}": expected one of ${names.slice(0, limit).join(", ")}`,
    );
  }
  if (i >= limit) {
    throw new RangeError(
      `Invalid ${what} "${v}": the kernel accepts only ${names.slice(0, limit).join(", ")}`,
    );
  }
}

function checkProtoinfo(f: Partial<Flow>, proto: number, purpose: FlowPurpose): void {
  const only = (key: "tcp" | "sctp" | "dccp", p: number) => {
    // The kernel hands protocol info to the flow's own protocol only: other info is ignored.
    if (purpose !== "key" && proto !== p) {
      throw new TypeError(`Invalid flow.${key}: a ${protoName(proto)} flow has no ${key} info`);
    }
  };
  if (f.tcp !== undefined) {
    only("tcp", IPPROTO_TCP);
    const t = sub(f.tcp, TCP_KEYS, "flow.tcp");
    if (t.state !== undefined) {
      checkState(t.state, TCP_STATES, TCP_STATES.length, purpose, "flow.tcp.state");
    }
    for (const k of ["wscaleOrig", "wscaleReply"]) {
      if (t[k] !== undefined) checkInt(t[k], 0, TCP_MAX_WSCALE, `flow.tcp.${k}`);
    }
    for (const k of ["flagsOrig", "flagsReply"]) {
      if (t[k] === undefined) continue;
      // struct nf_ct_tcp_flags { __u8 flags; __u8 mask; }
      const fl = sub(t[k], TCP_FLAGS_KEYS, `flow.tcp.${k}`);
      checkU8(fl.flags, `flow.tcp.${k}.flags`);
      checkU8(fl.mask, `flow.tcp.${k}.mask`);
    }
  }
  if (f.sctp !== undefined) {
    only("sctp", IPPROTO_SCTP);
    const s = sub(f.sctp, SCTP_KEYS, "flow.sctp");
    if (s.state !== undefined) {
      checkState(s.state, SCTP_STATES, SCTP_STATES.length, purpose, "flow.sctp.state");
    }
    // sctp_nla_policy: CTA_PROTOINFO_SCTP_VTAG_* are NLA_U32.
    if (s.vtagOrig !== undefined) checkU32(s.vtagOrig, "flow.sctp.vtagOrig");
    if (s.vtagReply !== undefined) checkU32(s.vtagReply, "flow.sctp.vtagReply");
  }
  if (f.dccp !== undefined) {
    only("dccp", IPPROTO_DCCP);
    const d = sub(f.dccp, DCCP_KEYS, "flow.dccp");
    if (d.state !== undefined) {
      checkState(d.state, DCCP_STATES, DCCP_STATE_LIMIT, purpose, "flow.dccp.state");
    }
    if (d.role !== undefined) checkInt(d.role, 0, DCCP_ROLE_MAX, "flow.dccp.role");
    if (d.handshakeSeq !== undefined) checkU64(d.handshakeSeq, "flow.dccp.handshakeSeq");
  }
}

function checkNat(v: unknown, family: Family | undefined, what: string): void {
  const n = sub(v, NAT_KEYS, what);
  if (n.minIp !== undefined) parseAddress(n.minIp as string, family, `${what}.minIp`);
  if (n.maxIp !== undefined) parseAddress(n.maxIp as string, family, `${what}.maxIp`);
  if (n.minPort !== undefined) checkU16(n.minPort, `${what}.minPort`);
  if (n.maxPort !== undefined) checkU16(n.maxPort, `${what}.maxPort`);
  if (
    n.minPort !== undefined && n.maxPort !== undefined &&
    (n.minPort as number) > (n.maxPort as number)
  ) {
    throw new RangeError(`Invalid ${what}: minPort ${n.minPort} is above maxPort ${n.maxPort}`);
  }
  if (
    n.minIp === undefined && n.maxIp === undefined && n.minPort === undefined &&
    n.maxPort === undefined
  ) {
    throw new TypeError(
      `Invalid ${what}: an empty NAT range (give minIp/maxIp and/or minPort/maxPort)`,
    );
  }
}

/** All of `keys` present, each a u32 (the kernel refuses a partial nest with EINVAL). */
function checkU32s(v: unknown, keys: ReadonlySet<string>, what: string): void {
  const o = sub(v, keys, what);
  for (const k of keys) {
    if (o[k] === undefined) {
      throw new TypeError(
        `Invalid ${what}: ${k} is missing (the kernel needs ${[...keys].join(", ")})`,
      );
    }
    checkU32(o[k], `${what}.${k}`);
  }
}

/**
 * Checks raw attributes (a flow's or an expectation's `unknown`) as a decode leaves them:
 * types 1..16383 (optionally with `NLA_F_NESTED`) above `modelledMax`, the highest type the
 * codec writes itself (a raw copy would override it), and payloads that fit an attribute.
 * @throws {TypeError} on a wrong shape or a modelled type; {@link RangeError} out of range.
 */
export function checkRawAttributes(v: unknown, modelledMax: number, what: string): void {
  const list = checkArray(v, what);
  list.forEach((a, i) => {
    const w = `${what}[${i}]`;
    const r = sub(a, RAW_KEYS, w);
    // As decoded: the 14-bit type, plus NLA_F_NESTED (0x8000) when it was set.
    const t = checkInt(r.type, 1, 0xffff, `${w}.type`);
    const bare = t & NLA_TYPE_MASK;
    if (t & NLA_F_NET_BYTEORDER || bare === 0) {
      throw new RangeError(
        `Invalid ${w}.type ${t}: must be 1..${NLA_TYPE_MASK}, optionally | 0x8000 (NLA_F_NESTED)`,
      );
    }
    if (bare <= modelledMax) {
      throw new TypeError(
        `Invalid ${w}.type ${t}: nfct encodes attribute ${bare} itself (use the field for it)`,
      );
    }
    checkBytes(r.data, NLA_MAX_PAYLOAD, `${w}.data`);
  });
}

/**
 * Checks a flow for `purpose` and returns a copy with the reply tuple filled in by inversion
 * when it was omitted. Throws before anything is sent, on anything the kernel would refuse or
 * nfct would not send as asked:
 * - `TypeError`: not an object, an unknown key (`mrak`), a `null` value, a wrong type, a field
 *   that does not apply (`tcp` info on a UDP flow, `natSrc` on an update, `helperInfo` without
 *   `helper`, `labelsMask` without `labels`), an update that changes nothing;
 * - `RangeError`: a value outside what its attribute holds or the kernel accepts (TCP flags
 *   0..255, `wscale*` 0..14 (`TCP_MAX_WSCALE`), u32 fields, DCCP role 0..1, label bits 0..127,
 *   `helper` at most 15 bytes without NUL, `helperInfo` at most 32 bytes, `unknown[].data` at
 *   most 65531 bytes).
 *
 * A key whose value is `undefined` counts as absent, as TypeScript's optional properties
 * allow. A flow as dumped is always accepted as a key (and its read-only fields — `use`,
 * `counters`, `timestamp`, `secmark`, `secctx`, `master` on update — are checked for shape and
 * never sent).
 */
export function validateFlow(f: Partial<Flow>, purpose: FlowPurpose): Flow {
  if (!isObject(f)) throw new TypeError("Invalid flow: expected an object");
  checkKeys(f, FLOW_KEYS, "flow");
  if (f.orig === undefined && f.reply === undefined) {
    throw new TypeError("Invalid flow: it needs an orig (or reply) tuple");
  }
  if (f.proto === undefined) throw new TypeError("Invalid flow: proto is missing");
  const proto = protoNumber(f.proto);
  let family = f.family;
  if (family !== undefined && family !== "ipv4" && family !== "ipv6") familyNumber(family);
  if (f.orig !== undefined) family = validateTuple(f.orig, proto, family, "orig");
  if (f.reply !== undefined) family = validateTuple(f.reply, proto, family, "reply");
  const out = { ...f, family, proto: f.proto } as Flow;
  if (purpose !== "key") {
    if (!out.reply) out.reply = invertTuple(out.orig, proto);
    if (!out.orig) out.orig = invertTuple(out.reply, proto);
  }
  if (purpose === "create" && out.timeout === undefined) {
    throw new TypeError("Invalid flow: timeout is required to create a flow (seconds)");
  }
  // ct_nla_policy: CTA_TIMEOUT, CTA_MARK, CTA_ID are NLA_U32 (be32), CTA_ZONE NLA_U16.
  for (const k of ["timeout", "mark", "secmark", "id", "use"] as const) {
    if (f[k] !== undefined) checkU32(f[k], `flow.${k}`);
  }
  if (f.zone !== undefined) checkU16(f.zone, "flow.zone");
  if (f.status !== undefined) statusBits(f.status);
  // CTA_LABELS / CTA_LABELS_MASK: NLA_BINARY of NF_CT_LABELS_MAX_SIZE (16 bytes, 128 bits).
  if (f.labels !== undefined) encodeLabels(checkArray(f.labels, "flow.labels") as number[]);
  if (f.labelsMask !== undefined) {
    encodeLabels(checkArray(f.labelsMask, "flow.labelsMask") as number[]);
  }
  checkProtoinfo(f, proto, purpose);
  if (f.counters !== undefined) {
    const c = sub(f.counters, COUNTERS_KEYS, "flow.counters");
    for (const dir of ["orig", "reply"]) {
      const d = sub(c[dir], COUNTER_KEYS, `flow.counters.${dir}`);
      checkInt(d.packets, 0, Number.MAX_SAFE_INTEGER, `flow.counters.${dir}.packets`);
      checkInt(d.bytes, 0, Number.MAX_SAFE_INTEGER, `flow.counters.${dir}.bytes`);
    }
  }
  if (f.timestamp !== undefined) {
    const t = sub(f.timestamp, TIMESTAMP_KEYS, "flow.timestamp");
    checkU64(t.start, "flow.timestamp.start");
    if (t.stop !== undefined) checkU64(t.stop, "flow.timestamp.stop");
  }
  if (f.helper !== undefined) checkName(f.helper, HELPER_NAME_MAX, "flow.helper");
  if (f.helperInfo !== undefined) checkBytes(f.helperInfo, HELPER_INFO_MAX, "flow.helperInfo");
  if (f.secctx !== undefined && typeof f.secctx !== "string") {
    throw new TypeError("Invalid flow.secctx: expected a string");
  }
  if (f.natSrc !== undefined) checkNat(f.natSrc, family, "flow.natSrc");
  if (f.natDst !== undefined) checkNat(f.natDst, family, "flow.natDst");
  // change_seq_adj() and ctnetlink_change_synproxy() need every field (EINVAL otherwise).
  if (f.seqAdjOrig !== undefined) checkU32s(f.seqAdjOrig, SEQADJ_KEYS, "flow.seqAdjOrig");
  if (f.seqAdjReply !== undefined) checkU32s(f.seqAdjReply, SEQADJ_KEYS, "flow.seqAdjReply");
  if (f.synproxy !== undefined) checkU32s(f.synproxy, SYNPROXY_KEYS, "flow.synproxy");
  if (f.master !== undefined) {
    if (!isObject(f.master)) {
      throw new TypeError("Invalid flow.master: expected a tuple object with proto");
    }
    if (f.master.proto === undefined) throw new TypeError("Invalid flow.master: proto is missing");
    validateTuple(f.master, protoNumber(f.master.proto), family, "flow.master", true);
  }
  if (f.unknown !== undefined) checkRawAttributes(f.unknown, CTA_MODELLED_MAX, "flow.unknown");
  if (purpose !== "key") {
    if (f.helperInfo !== undefined && f.helper === undefined) {
      throw new TypeError("Invalid flow.helperInfo: it is sent only with helper (CTA_HELP)");
    }
    if (f.labelsMask !== undefined && f.labels === undefined) {
      throw new TypeError("Invalid flow.labelsMask: it is sent only with labels (CTA_LABELS)");
    }
  }
  if (purpose === "update") {
    // ctnetlink_change_conntrack(): NAT and the master can only be set up on create (EOPNOTSUPP).
    if (f.natSrc !== undefined || f.natDst !== undefined) {
      throw new TypeError(
        `Invalid flow.${
          f.natSrc !== undefined ? "natSrc" : "natDst"
        }: NAT can only be set on create`,
      );
    }
    if (!UPDATABLE.some((k) => f[k] !== undefined)) {
      throw new TypeError(
        `Invalid update: it changes nothing (give one of ${UPDATABLE.join(", ")})`,
      );
    }
  }
  return out;
}
