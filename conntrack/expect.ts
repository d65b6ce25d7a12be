/**
 * {@link Expectation}: a connection a helper (FTP, SIP, …) expects to see, as plain data, its
 * flags and the types around it. Its codec lives beside it: expect_decode.ts,
 * expect_validate.ts, expect_encode.ts (`IPCTNL_MSG_EXP_*` message bodies of subsystem
 * `NFNL_SUBSYS_CTNETLINK_EXP`); expect_requests.ts holds the requests behind the client's
 * `*Expect` verbs (`conntrack -L/-G/-I/-D/-F expect`).
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
import type { Family } from "./address.ts";
import * as C from "./constants.ts";
import type { Filter } from "./filter.ts";
import type { RawAttribute } from "./flow.ts";
import type { MasterTuple, Proto, Tuple } from "./tuple.ts";

/** Expectation flag bits (`CTA_EXPECT_FLAGS`, linux/netfilter/nf_conntrack_common.h). */
export const EXPECT_FLAGS = {
  /** Not removed when it is matched: expects any number of connections. */
  PERMANENT: C.NF_CT_EXPECT_PERMANENT,
  /** Not matched until activated. */
  INACTIVE: C.NF_CT_EXPECT_INACTIVE,
  /** Created from userspace (set by the kernel; ignored on create). */
  USERSPACE: C.NF_CT_EXPECT_USERSPACE,
} as const;
/** An expectation flag name: a key of {@link EXPECT_FLAGS}. */
export type ExpectFlag = keyof typeof EXPECT_FLAGS;

/** NAT of an expected connection (`CTA_EXPECT_NAT`). */
export interface ExpectNat {
  /** Direction (`CTA_EXPECT_NAT_DIR`): the master direction the NAT applies to. */
  dir: "original" | "reply";
  /** Saved address and port to map the expected connection to (`src`/`sport` are used). */
  tuple: Tuple;
}

/**
 * One expectation. Plain data. Listed by `Conntrack.listExpect()`, made by
 * `Conntrack.createExpect()` (`conntrack -I expect`).
 *
 * @example Expect the data connection of an FTP session (passive mode, port 50000)
 * ```ts
 * import { Conntrack, type Expectation } from "@nfct/nfct";
 * const exp: Expectation = {
 *   family: "ipv4",
 *   proto: "tcp",
 *   master: { proto: "tcp", src: "10.0.0.1", dst: "10.0.0.2", sport: 40000, dport: 21 },
 *   tuple: { src: "10.0.0.1", dst: "10.0.0.2", sport: 0, dport: 50000 },
 *   mask: { src: "255.255.255.255", dst: "255.255.255.255", sport: 0, dport: 0xffff },
 *   timeout: 300,
 *   helper: "ftp",
 * };
 * using ct = Conntrack.open();
 * ct.createExpect(exp); // the master connection must exist and use the ftp helper
 * for (const e of ct.listExpect({ helper: "ftp" })) console.log(e.tuple.dport, e.timeout);
 * ```
 */
export interface Expectation {
  /** Layer 3 (the nfgenmsg family): `"ipv4"` or `"ipv6"`. */
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
  /** NAT to apply to the expected connection (`CTA_EXPECT_NAT`). */
  nat?: ExpectNat;
  /** Name of the expect function (`CTA_EXPECT_FN`), e.g. `"nat-follow-master"`. */
  fn?: string;
  /** Attributes nfct does not know. */
  unknown?: RawAttribute[];
}

/** What identifies an expectation: its tuple (and zone); with `id`, only that exact one. */
export interface ExpectKey {
  /** Layer 3; default: the family of {@link tuple}'s addresses. */
  family?: Family;
  /** Layer-4 protocol of {@link tuple}. */
  proto: Proto;
  /** The expected connection's tuple (`CTA_EXPECT_TUPLE`). */
  tuple: Tuple;
  /** Zone (`CTA_EXPECT_ZONE`; default 0). */
  zone?: number;
  /** The expectation's id (`CTA_EXPECT_ID`): only the one with this id matches. */
  id?: number;
}

/**
 * Which expectations a dump is about. `family` and `master` are applied by the kernel
 * (`master` lists only that connection's expectations); `proto`, `src`/`dst`/`sport`/`dport`
 * (on the expected tuple) and `helper` are checked in userspace.
 */
export interface ExpectFilter
  extends Pick<Filter, "family" | "proto" | "src" | "dst" | "sport" | "dport"> {
  /** Only expectations of this helper (`CTA_EXPECT_HELP_NAME`), e.g. `"ftp"`. */
  helper?: string;
  /** The master connection: its protocol and original tuple (and zone). */
  master?: { proto: Proto; orig: Tuple; zone?: number };
}

/** Per-CPU expectation statistics (`IPCTNL_MSG_EXP_GET_STATS_CPU`). */
export interface ExpectCpuStats {
  /** The CPU these counters are of (the reply's nfgenmsg `res_id`). */
  cpu: number;
  /** Expectations matched by a new connection (`CTA_STATS_EXP_NEW`). */
  new: number;
  /** Expectations created (`CTA_STATS_EXP_CREATE`). */
  create: number;
  /** Expectations deleted (`CTA_STATS_EXP_DELETE`). */
  delete: number;
}

/**
 * What an expectation is checked and written for: `"create"` (`IPCTNL_MSG_EXP_NEW`), or
 * `"key"` (what identifies one: get, delete).
 */
export type ExpectPurpose = "create" | "key";

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
  if (!Array.isArray(flags)) {
    throw new TypeError(
      `Invalid expectation flags: expected an array of names such as ["PERMANENT"]`,
    );
  }
  let v = 0;
  for (const f of flags) {
    const m = /^BIT_(\d{1,2})$/.exec(String(f));
    const n = m ? Number(m[1]) : -1;
    const bit = EXPECT_FLAGS[f as ExpectFlag] ?? (n >= 0 && n < 32 ? (1 << n) >>> 0 : undefined);
    if (bit === undefined) {
      throw new TypeError(
        `Invalid expectation flag "${String(f)}": expected ${Object.keys(EXPECT_FLAGS).join(", ")}`,
      );
    }
    v |= bit;
  }
  return v >>> 0;
}

/**
 * Every field of {@link Expectation}, in the order `expectToJSON` writes them (also the keys an
 * expectation may have: `expect_validate.ts`).
 */
export const EXPECT_FIELDS: readonly (keyof Expectation)[] = Object.keys(
  {
    family: 1,
    proto: 1,
    master: 1,
    tuple: 1,
    mask: 1,
    timeout: 1,
    id: 1,
    helper: 1,
    zone: 1,
    flags: 1,
    class: 1,
    nat: 1,
    fn: 1,
    unknown: 1,
  } satisfies Record<keyof Expectation, 1>,
) as (keyof Expectation)[];
