/**
 * {@link Expectation}: a connection a helper (FTP, SIP, …) expects to see, and its codec
 * (`IPCTNL_MSG_EXP_*` message bodies of subsystem `NFNL_SUBSYS_CTNETLINK_EXP`), plus the
 * requests behind the client's `*Expect` verbs (`conntrack -L/-G/-I/-D/-F expect`).
 *
 * ```
 * nlmsghdr | nfgenmsg { u8 family; u8 version; be16 res_id } | CTA_EXPECT_* attributes
 *   CTA_EXPECT_MASTER     tuple   original tuple of the master connection
 *   CTA_EXPECT_TUPLE      tuple   the expected connection's tuple
 *   CTA_EXPECT_MASK       tuple   which bits of the tuple must match (src address and port)
 *   CTA_EXPECT_TIMEOUT    be32    seconds left
 *   CTA_EXPECT_ID         be32    id (a hash; stable while the expectation lives)
 *   CTA_EXPECT_HELP_NAME  string  the master's helper
 *   CTA_EXPECT_ZONE       be16    zone (requests only; dumps do not carry it)
 *   CTA_EXPECT_FLAGS      be32    NF_CT_EXPECT_PERMANENT | INACTIVE | USERSPACE
 *   CTA_EXPECT_CLASS      be32    the helper's expectation class
 *   CTA_EXPECT_NAT        nested  CTA_EXPECT_NAT_DIR be32, CTA_EXPECT_NAT_TUPLE tuple
 *   CTA_EXPECT_FN         string  name of the helper's expectfn (e.g. "nat-follow-master")
 * ```
 * @module
 */
import { AttributeReader, type MessageBuilder, NLA_MAX_PAYLOAD } from "../netlink/attribute.ts";
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NLMSG_HDRLEN } from "../netlink/message.ts";
import type { NetlinkSocket } from "../netlink/socket.ts";
import { NetlinkError } from "../netlink/errors.ts";
import { addressFamily, type Family } from "./address.ts";
import * as C from "./constants.ts";
import { compileFilter, type Filter } from "./filter.ts";
import {
  checkRawAttributes,
  familyNumber,
  type Flow,
  HELPER_NAME_MAX,
  type RawAttribute,
  writeNfgenmsg,
} from "./flow.ts";
import { checkKeys, checkName, checkU16, checkU32, isObject } from "./options.ts";
import {
  decodeTuple,
  encodeTuple,
  hasPorts,
  type MasterTuple,
  type Proto,
  protoName,
  protoNumber,
  type Tuple,
  validateTuple,
} from "./tuple.ts";

/** Expectation flag bits (`CTA_EXPECT_FLAGS`, linux/netfilter/nf_conntrack_common.h). */
export const EXPECT_FLAGS = {
  /** Not removed when it is matched: expects any number of connections. */
  PERMANENT: C.NF_CT_EXPECT_PERMANENT,
  /** Not matched until activated. */
  INACTIVE: C.NF_CT_EXPECT_INACTIVE,
  /** Created from userspace (set by the kernel; ignored on create). */
  USERSPACE: C.NF_CT_EXPECT_USERSPACE,
} as const;
/** An expectation flag name. */
export type ExpectFlag = keyof typeof EXPECT_FLAGS;

/** NAT of an expected connection (`CTA_EXPECT_NAT`). */
export interface ExpectNat {
  /** Direction (`CTA_EXPECT_NAT_DIR`): the master direction the NAT applies to. */
  dir: "original" | "reply";
  /** Saved address and port to map the expected connection to (`src`/`sport` are used). */
  tuple: Tuple;
}

/** One expectation. Plain data. */
export interface Expectation {
  family: Family;
  /** Layer-4 protocol of {@link tuple} and {@link mask}. */
  proto: Proto;
  /** Original tuple of the master connection, with its protocol (`CTA_EXPECT_MASTER`). */
  master: MasterTuple;
  /** The expected connection (`CTA_EXPECT_TUPLE`). */
  tuple: Tuple;
  /**
   * Which parts of {@link tuple} must match (`CTA_EXPECT_MASK`): address masks as addresses
   * (`"255.255.255.255"`), port masks as numbers (`0` = any source port). The kernel only uses
   * the source address and source port of the mask; the destination always matches exactly.
   * Default on create: everything exact.
   */
  mask: Tuple;
  /** Seconds until it expires (`CTA_EXPECT_TIMEOUT`); required on create. */
  timeout?: number;
  /** The expectation's id (`CTA_EXPECT_ID`). */
  id?: number;
  /** Name of the master's helper (`CTA_EXPECT_HELP_NAME`). */
  helper?: string;
  /** Zone (`CTA_EXPECT_ZONE`): used by requests; the kernel does not report it in dumps. */
  zone?: number;
  /** Named flag bits (`CTA_EXPECT_FLAGS`). */
  flags?: ExpectFlag[];
  /** The helper's expectation class (`CTA_EXPECT_CLASS`). */
  class?: number;
  nat?: ExpectNat;
  /** Name of the expect function (`CTA_EXPECT_FN`), e.g. `"nat-follow-master"`. */
  fn?: string;
  /** Attributes nfct does not know. */
  unknown?: RawAttribute[];
}

/** What identifies an expectation: its tuple (and zone); with `id`, only that exact one. */
export interface ExpectKey {
  family?: Family;
  proto: Proto;
  tuple: Tuple;
  zone?: number;
  id?: number;
}

/**
 * Which expectations a dump is about. `family` and `master` are applied by the kernel
 * (`master` lists only that connection's expectations); `proto`, `src`/`dst`/`sport`/`dport`
 * (on the expected tuple) and `helper` are checked in userspace.
 */
export interface ExpectFilter extends Pick<Filter, "family" | "proto" | "src" | "dst" | "sport" | "dport"> {
  helper?: string;
  /** The master connection: its protocol and original tuple (and zone). */
  master?: { proto: Proto; orig: Tuple; zone?: number };
}

/** Per-CPU expectation statistics (`IPCTNL_MSG_EXP_GET_STATS_CPU`). */
export interface ExpectCpuStats {
  cpu: number;
  /** Expectations matched by a new connection (`CTA_STATS_EXP_NEW`). */
  new: number;
  /** Expectations created (`CTA_STATS_EXP_CREATE`). */
  create: number;
  /** Expectations deleted (`CTA_STATS_EXP_DELETE`). */
  delete: number;
}

const FAMILY_OF: Record<number, Family> = { [C.AF_INET]: "ipv4", [C.AF_INET6]: "ipv6" };
const NAT_DIRS = ["original", "reply"] as const;

/** The flag names of a `CTA_EXPECT_FLAGS` value (unknown bits as `BIT_n`, kept round-trippable). */
export function expectFlags(v: number): ExpectFlag[] {
  const out: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    const m = (1 << bit) >>> 0;
    if (!(v & m)) continue;
    const name = (Object.keys(EXPECT_FLAGS) as ExpectFlag[]).find((k) => EXPECT_FLAGS[k] === m);
    out.push(name ?? `BIT_${bit}`);
  }
  return out as ExpectFlag[];
}

/** The `CTA_EXPECT_FLAGS` value of flag names. @throws {TypeError} on an unknown name. */
export function expectFlagBits(flags: readonly ExpectFlag[]): number {
  if (!Array.isArray(flags)) throw new TypeError(`Invalid expectation flags: expected an array of names such as ["PERMANENT"]`);
  let v = 0;
  for (const f of flags) {
    const m = /^BIT_(\d{1,2})$/.exec(String(f));
    const n = m ? Number(m[1]) : -1;
    const bit = EXPECT_FLAGS[f as ExpectFlag] ?? (n >= 0 && n < 32 ? (1 << n) >>> 0 : undefined);
    if (bit === undefined) {
      throw new TypeError(`Invalid expectation flag "${String(f)}": expected ${Object.keys(EXPECT_FLAGS).join(", ")}`);
    }
    v |= bit;
  }
  return v >>> 0;
}

/** Decodes expectation messages; holds scratch readers (one decoder serves a whole dump). */
export class ExpectDecoder {
  #r = new AttributeReader();
  #a = new AttributeReader();
  #b = new AttributeReader();
  #c = new AttributeReader();
  #to = { proto: 0, family: undefined as Family | undefined };

  /**
   * Decodes the expectation message at `offset` (its `nlmsghdr`) of `length` bytes.
   * @throws {RangeError} if the bytes are malformed or a tuple is missing.
   */
  decode(dv: DataView, offset: number, length: number): Expectation {
    if (length < NLMSG_HDRLEN + 4) {
      throw new RangeError(`Cannot read expectation: ${length} bytes is too short for nfgenmsg`);
    }
    const u8 = new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength);
    const r = this.#r.reset(dv, offset + NLMSG_HDRLEN + 4, offset + length, "expectation");
    const a = this.#a, b = this.#b, c = this.#c, to = this.#to;
    to.family = undefined;
    const e = { family: FAMILY_OF[dv.getUint8(offset + NLMSG_HDRLEN)] } as Expectation;
    let proto = -1;
    while (r.next()) {
      switch (r.type) {
        case C.CTA_EXPECT_MASTER: {
          to.proto = 0;
          const t = decodeTuple(r, a, b, u8, to) as MasterTuple;
          t.proto = protoName(to.proto);
          e.master = t;
          break;
        }
        case C.CTA_EXPECT_TUPLE:
          to.proto = 0;
          e.tuple = decodeTuple(r, a, b, u8, to);
          proto = to.proto;
          break;
        case C.CTA_EXPECT_MASK:
          to.proto = proto < 0 ? 0 : proto;
          e.mask = decodeTuple(r, a, b, u8, to);
          if (proto < 0) proto = to.proto;
          break;
        case C.CTA_EXPECT_TIMEOUT:
          e.timeout = r.u32();
          break;
        case C.CTA_EXPECT_ID:
          e.id = r.u32();
          break;
        case C.CTA_EXPECT_HELP_NAME:
          e.helper = r.string();
          break;
        case C.CTA_EXPECT_ZONE:
          e.zone = r.u16();
          break;
        case C.CTA_EXPECT_FLAGS:
          e.flags = expectFlags(r.u32());
          break;
        case C.CTA_EXPECT_CLASS:
          e.class = r.u32();
          break;
        case C.CTA_EXPECT_FN:
          e.fn = r.string();
          break;
        case C.CTA_EXPECT_NAT: {
          const nat = { dir: "original", tuple: undefined } as unknown as ExpectNat;
          a.enter(r, "CTA_EXPECT_NAT");
          while (a.next()) {
            if (a.type === C.CTA_EXPECT_NAT_DIR) {
              const d = a.u32();
              nat.dir = NAT_DIRS[d] ?? (d as unknown as ExpectNat["dir"]);
            } else if (a.type === C.CTA_EXPECT_NAT_TUPLE) {
              const p = to.proto;
              nat.tuple = decodeTuple(a, b, c, u8, to);
              to.proto = p;
            }
          }
          if (!nat.tuple) throw new RangeError("Cannot read expectation: CTA_EXPECT_NAT lacks CTA_EXPECT_NAT_TUPLE");
          e.nat = nat;
          break;
        }
        default:
          (e.unknown ??= []).push({ type: r.type | (r.nestedFlag ? 0x8000 : 0), data: r.bytes() });
      }
    }
    if (!e.tuple || !e.mask || !e.master) {
      throw new RangeError("Cannot read expectation: it lacks CTA_EXPECT_TUPLE, CTA_EXPECT_MASK or CTA_EXPECT_MASTER");
    }
    e.proto = protoName(proto);
    if (!e.family) e.family = to.family ?? "ipv4";
    return e;
  }
}

const defaultDecoder = new ExpectDecoder();

/** Decodes one expectation message (see {@link ExpectDecoder.decode}). */
export function decodeExpect(dv: DataView, offset: number, length: number): Expectation {
  return defaultDecoder.decode(dv, offset, length);
}

/** Decodes one `IPCTNL_MSG_EXP_GET_STATS_CPU` reply (the CPU is the nfgenmsg `res_id`). */
export function decodeExpectCpuStats(dv: DataView, offset: number, length: number): ExpectCpuStats {
  if (length < NLMSG_HDRLEN + 4) throw new RangeError(`Cannot read expectation statistics: ${length} bytes is too short`);
  const s: ExpectCpuStats = { cpu: dv.getUint16(offset + NLMSG_HDRLEN + 2, false), new: 0, create: 0, delete: 0 };
  const r = new AttributeReader().reset(dv, offset + NLMSG_HDRLEN + 4, offset + length, "expectation statistics");
  while (r.next()) {
    if (r.type === C.CTA_STATS_EXP_NEW) s.new = r.u32();
    else if (r.type === C.CTA_STATS_EXP_CREATE) s.create = r.u32();
    else if (r.type === C.CTA_STATS_EXP_DELETE) s.delete = r.u32();
  }
  return s;
}

/** What {@link encodeExpect} writes the expectation for. */
export type ExpectPurpose = "create" | "key";

/** The all-ones mask of `family`/`proto` (every field of the tuple must match). */
export function exactMask(family: Family, proto: number): Tuple {
  const ones = family === "ipv4" ? "255.255.255.255" : "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  const m: Tuple = { src: ones, dst: ones };
  if (proto === C.IPPROTO_ICMP || proto === C.IPPROTO_ICMPV6) {
    m.type = 0xff;
    m.code = 0xff;
    m.id = 0xffff;
  } else if (proto === C.IPPROTO_GRE) {
    m.srcKey = 0xffff;
    m.dstKey = 0xffff;
  } else if (hasPorts(proto)) {
    m.sport = 0xffff;
    m.dport = 0xffff;
  }
  return m;
}

const EXPECT_KEYS: ReadonlySet<string> = new Set(Object.keys(
  {
    family: 1, proto: 1, master: 1, tuple: 1, mask: 1, timeout: 1, id: 1, helper: 1, zone: 1, flags: 1,
    class: 1, nat: 1, fn: 1, unknown: 1,
  } satisfies Record<keyof Expectation, 1>,
));
const NAT_KEYS: ReadonlySet<string> = new Set(Object.keys({ dir: 1, tuple: 1 } satisfies Record<keyof ExpectNat, 1>));
/** `CTA_EXPECT_*` types nfct encodes itself (CTA_EXPECT_MASTER 1 .. CTA_EXPECT_FN 11). */
const CTA_EXPECT_MODELLED_MAX = C.CTA_EXPECT_FN;

/**
 * Checks an expectation for `purpose` and returns a copy with defaults filled in (the exact
 * mask). Throws `TypeError` (not an object, an unknown key, `null`, a wrong type) or
 * `RangeError` (out of range; `helper` over {@link HELPER_NAME_MAX} bytes or with a NUL, as
 * `exp_nla_policy` allows for CTA_EXPECT_HELP_NAME) before anything is sent. A key whose value
 * is `undefined` counts as absent.
 */
export function validateExpect(e: Partial<Expectation>, purpose: ExpectPurpose): Expectation {
  if (!isObject(e)) throw new TypeError("Invalid expectation: expected an object");
  checkKeys(e, EXPECT_KEYS, "expectation");
  if (e.proto === undefined) throw new TypeError("Invalid expectation: proto is missing");
  if (e.tuple === undefined) throw new TypeError("Invalid expectation: tuple is missing");
  const proto = protoNumber(e.proto);
  if (e.family !== undefined) familyNumber(e.family);
  const family = validateTuple(e.tuple, proto, e.family, "tuple");
  const out = { ...e, family, proto: e.proto } as Expectation;
  const master = e.master;
  if (master !== undefined) {
    if (!isObject(master)) throw new TypeError("Invalid expectation master: expected a tuple object with proto");
    if (master.proto === undefined) throw new TypeError("Invalid expectation: master.proto is missing");
    validateTuple(master, protoNumber(master.proto), family, "master", true);
  }
  if (e.mask !== undefined) validateTuple(e.mask, proto, family, "mask");
  if (e.nat !== undefined) {
    if (!isObject(e.nat)) throw new TypeError("Invalid expectation nat: expected { dir, tuple }");
    checkKeys(e.nat, NAT_KEYS, "expectation nat");
    if (e.nat.dir !== "original" && e.nat.dir !== "reply") {
      throw new TypeError(`Invalid expectation nat.dir "${String(e.nat.dir)}": expected "original" or "reply"`);
    }
    if (e.nat.tuple === undefined) throw new TypeError("Invalid expectation nat: tuple is missing");
    validateTuple(e.nat.tuple, master?.proto !== undefined ? protoNumber(master.proto) : proto, family, "nat.tuple");
  }
  if (purpose === "create") {
    if (!master) throw new TypeError("Invalid expectation: master (the master connection's original tuple and proto) is missing");
    out.mask = e.mask ?? exactMask(family, proto);
    if (out.timeout === undefined) throw new TypeError("Invalid expectation: timeout is required to create one (seconds)");
  }
  // exp_nla_policy: TIMEOUT, ID, CLASS NLA_U32; ZONE NLA_U16; FLAGS a be32 mask.
  if (e.timeout !== undefined) checkU32(e.timeout, "expectation timeout");
  if (e.id !== undefined) checkU32(e.id, "expectation id");
  if (e.zone !== undefined) checkU16(e.zone, "expectation zone");
  if (e.class !== undefined) checkU32(e.class, "expectation class");
  if (e.flags !== undefined) expectFlagBits(e.flags);
  if (e.helper !== undefined) checkName(e.helper, HELPER_NAME_MAX, "expectation helper");
  // CTA_EXPECT_FN is an NLA_NUL_STRING without a length limit: it must only fit an attribute.
  if (e.fn !== undefined) checkName(e.fn, NLA_MAX_PAYLOAD - 1, "expectation fn");
  if (e.unknown !== undefined) checkRawAttributes(e.unknown, CTA_EXPECT_MODELLED_MAX, "expectation unknown");
  return out;
}

/**
 * Writes a validated expectation's attributes (after the nfgenmsg). For `"key"` only what
 * identifies it: the tuple, zone and id.
 */
export function encodeExpect(b: MessageBuilder, e: Expectation, purpose: ExpectPurpose): void {
  const proto = protoNumber(e.proto);
  encodeTuple(b, C.CTA_EXPECT_TUPLE, e.tuple, proto);
  if (e.zone !== undefined) b.u16(C.CTA_EXPECT_ZONE, e.zone);
  if (purpose === "key") {
    if (e.id !== undefined) b.u32(C.CTA_EXPECT_ID, e.id);
    return;
  }
  const mproto = protoNumber(e.master.proto);
  encodeTuple(b, C.CTA_EXPECT_MASK, e.mask, proto);
  encodeTuple(b, C.CTA_EXPECT_MASTER, e.master, mproto);
  if (e.timeout !== undefined) b.u32(C.CTA_EXPECT_TIMEOUT, e.timeout);
  if (e.helper !== undefined) b.string(C.CTA_EXPECT_HELP_NAME, e.helper);
  if (e.flags !== undefined) b.u32(C.CTA_EXPECT_FLAGS, expectFlagBits(e.flags));
  if (e.class !== undefined) b.u32(C.CTA_EXPECT_CLASS, e.class);
  if (e.nat) {
    const n = b.nest(C.CTA_EXPECT_NAT);
    b.u32(C.CTA_EXPECT_NAT_DIR, e.nat.dir === "reply" ? 1 : 0);
    encodeTuple(b, C.CTA_EXPECT_NAT_TUPLE, e.nat.tuple, mproto);
    b.endNest(n);
  }
  if (e.fn !== undefined) b.string(C.CTA_EXPECT_FN, e.fn);
  for (const u of e.unknown ?? []) b.data(u.type, u.data);
}

// --- Requests (used by the client's *Expect verbs) ---

const expType = (m: number) => (C.NFNL_SUBSYS_CTNETLINK_EXP << 8) | m;

function begin(sock: NetlinkSocket, b: MessageBuilder, msg: number, flags: number, family: number): { at: number; seq: number } {
  b.reset();
  const seq = sock.nextSeq();
  const at = b.begin(expType(msg), NLM_F_REQUEST | flags, seq);
  writeNfgenmsg(b, family);
  return { at, seq };
}

/** Sends what `b` holds and collects the data replies until the ACK (or DONE for a dump). */
function request<T>(
  sock: NetlinkSocket,
  b: MessageBuilder,
  m: { at: number; seq: number },
  op: string,
  dump: boolean,
  each?: (dv: DataView, off: number, len: number) => T,
): T[] {
  b.end(m.at);
  sock.send(b.bytes());
  const out: T[] = [];
  for (const r of sock.replies(m.seq, op, dump)) if (each) out.push(each(r.dv, r.offset, r.length));
  return out;
}

const EXPECT_FILTER_KEYS: ReadonlySet<string> = new Set(Object.keys(
  {
    family: 1, proto: 1, src: 1, dst: 1, sport: 1, dport: 1, helper: 1, master: 1,
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
    if (!isObject(m)) throw new TypeError("Invalid expectation filter master: expected { proto, orig }");
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

/** Streams the expectation table (`conntrack -L expect`). */
export function* dumpExpectations(
  sock: NetlinkSocket,
  b: MessageBuilder,
  filter: ExpectFilter | undefined,
): Generator<Expectation, void, void> {
  const match = compileExpectFilter(filter);
  // A dump of one master's expectations needs the family (EOPNOTSUPP with AF_UNSPEC).
  const family = filter?.family ?? (filter?.master ? addressFamily(filter.master.orig.src) : undefined);
  const fam = family ? familyNumber(family) : C.AF_UNSPEC;
  const m = begin(sock, b, C.IPCTNL_MSG_EXP_GET, NLM_F_DUMP, fam);
  if (filter?.master) {
    const mp = protoNumber(filter.master.proto);
    encodeTuple(b, C.CTA_EXPECT_MASTER, filter.master.orig, mp);
    if (filter.master.zone !== undefined) b.u16(C.CTA_EXPECT_ZONE, filter.master.zone);
  }
  b.end(m.at);
  sock.send(b.bytes());
  const dec = new ExpectDecoder();
  for (const r of sock.replies(m.seq, "Cannot dump expectations", true)) {
    const e = dec.decode(r.dv, r.offset, r.length);
    if (match(e)) yield e;
  }
}

const ENOENT = 2;

/** `conntrack -G expect`: one expectation by its tuple; undefined when there is none. */
export function getExpectation(sock: NetlinkSocket, b: MessageBuilder, key: ExpectKey): Expectation | undefined {
  const e = validateExpect(key, "key");
  const m = begin(sock, b, C.IPCTNL_MSG_EXP_GET, NLM_F_ACK, familyNumber(e.family));
  encodeExpect(b, e, "key");
  try {
    return request(sock, b, m, "Cannot get expectation", false, decodeExpect)[0];
  } catch (err) {
    if (err instanceof NetlinkError && err.errno === ENOENT) return undefined;
    throw err;
  }
}

/** `conntrack -I expect`. */
export function createExpectation(sock: NetlinkSocket, b: MessageBuilder, exp: Partial<Expectation>): void {
  const e = validateExpect(exp, "create");
  const m = begin(sock, b, C.IPCTNL_MSG_EXP_NEW, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, familyNumber(e.family));
  encodeExpect(b, e, "create");
  request(sock, b, m, "Cannot create expectation", false);
}

/** `conntrack -D expect`: by tuple (and id, when given). */
export function deleteExpectation(sock: NetlinkSocket, b: MessageBuilder, key: ExpectKey): void {
  const e = validateExpect(key, "key");
  const m = begin(sock, b, C.IPCTNL_MSG_EXP_DELETE, NLM_F_ACK, familyNumber(e.family));
  encodeExpect(b, e, "key");
  request(sock, b, m, "Cannot delete expectation", false);
}

/** Per-CPU expectation statistics (`IPCTNL_MSG_EXP_GET_STATS_CPU`). */
export function expectationStats(sock: NetlinkSocket, b: MessageBuilder): ExpectCpuStats[] {
  const m = begin(sock, b, C.IPCTNL_MSG_EXP_GET_STATS_CPU, NLM_F_DUMP, C.AF_UNSPEC);
  return request(sock, b, m, "Cannot read expectation statistics", true, decodeExpectCpuStats);
}
