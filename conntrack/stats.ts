/**
 * Statistics: {@link CpuStats} and {@link GlobalStats} (`conntrack -S`, `conntrack -C`), and
 * the per-CPU expectation statistics (`conntrack -S expect`), decoded from their replies.
 *
 * ```
 * nlmsghdr | nfgenmsg { family; version; be16 res_id = the CPU } | CTA_STATS_* be32 counters
 * ```
 * @module
 */
import { AttributeReader } from "../netlink/attribute.ts";
import { NLMSG_HDRLEN } from "../netlink/message.ts";
import * as C from "./constants.ts";
import type { ExpectCpuStats } from "./expect.ts";

/**
 * Per-CPU conntrack statistics (`IPCTNL_MSG_CT_GET_STATS_CPU`, `conntrack -S`): counters since
 * boot (or since the namespace was made), each a u32 that wraps.
 */
export interface CpuStats {
  /** The CPU these counters are of (the reply's nfgenmsg `res_id`). */
  cpu: number;
  /** Lookups that found an entry (`CTA_STATS_FOUND`). */
  found: number;
  /** Packets that could not be tracked (`CTA_STATS_INVALID`). */
  invalid: number;
  /** Entries inserted (`CTA_STATS_INSERT`). */
  insert: number;
  /** Entries that could not be inserted: a clash not resolved (`CTA_STATS_INSERT_FAILED`). */
  insertFailed: number;
  /** Packets dropped because conntrack failed (`CTA_STATS_DROP`). */
  drop: number;
  /** Entries dropped early to make room in a full table (`CTA_STATS_EARLY_DROP`). */
  earlyDrop: number;
  /** Packets a protocol tracker rejected (`CTA_STATS_ERROR`). */
  error: number;
  /** Lookups restarted because the hash table changed (`CTA_STATS_SEARCH_RESTART`). */
  searchRestart: number;
  /** Insert clashes that were resolved (`CTA_STATS_CLASH_RESOLVE`). */
  clashResolve: number;
  /** Inserts refused because a hash chain was too long (`CTA_STATS_CHAIN_TOOLONG`, 5.15+). */
  chainTooLong: number;
}

/** Table-wide figures (`IPCTNL_MSG_CT_GET_STATS`). */
export interface GlobalStats {
  /** Entries in the table (`conntrack -C`). */
  entries: number;
  /** `net.netfilter.nf_conntrack_max`. */
  maxEntries: number;
}

const CPU_FIELDS: Record<number, keyof CpuStats> = {
  [C.CTA_STATS_FOUND]: "found",
  [C.CTA_STATS_INVALID]: "invalid",
  [C.CTA_STATS_INSERT]: "insert",
  [C.CTA_STATS_INSERT_FAILED]: "insertFailed",
  [C.CTA_STATS_DROP]: "drop",
  [C.CTA_STATS_EARLY_DROP]: "earlyDrop",
  [C.CTA_STATS_ERROR]: "error",
  [C.CTA_STATS_SEARCH_RESTART]: "searchRestart",
  [C.CTA_STATS_CLASH_RESOLVE]: "clashResolve",
  [C.CTA_STATS_CHAIN_TOOLONG]: "chainTooLong",
};

const EXPECT_CPU_FIELDS: Record<number, keyof ExpectCpuStats> = {
  [C.CTA_STATS_EXP_NEW]: "new",
  [C.CTA_STATS_EXP_CREATE]: "create",
  [C.CTA_STATS_EXP_DELETE]: "delete",
};

const GLOBAL_FIELDS: Record<number, keyof GlobalStats> = {
  [C.CTA_STATS_GLOBAL_ENTRIES]: "entries",
  [C.CTA_STATS_GLOBAL_MAX_ENTRIES]: "maxEntries",
};

/**
 * Reads the be32 attributes of a statistics reply into `out`, by the field `fields` names for
 * each attribute type (others are skipped).
 */
function decodeCounters<T extends object>(
  dv: DataView,
  offset: number,
  length: number,
  fields: Record<number, keyof T>,
  out: T,
  what: string,
): T {
  if (length < NLMSG_HDRLEN + 4) {
    throw new RangeError(`Cannot read ${what}: ${length} bytes is too short`);
  }
  const r = new AttributeReader().reset(dv, offset + NLMSG_HDRLEN + 4, offset + length, what);
  while (r.next()) {
    const k = fields[r.type];
    if (k) (out as Record<keyof T, number>)[k] = r.u32();
  }
  return out;
}

/** The CPU of a per-CPU statistics reply (checked by {@link decodeCounters}): its `res_id`. */
const replyCpu = (dv: DataView, offset: number) => dv.getUint16(offset + NLMSG_HDRLEN + 2, false);

/**
 * Decodes one `IPCTNL_MSG_CT_GET_STATS_CPU` reply.
 * @throws {RangeError} if the bytes are malformed.
 */
export function decodeCpuStats(dv: DataView, offset: number, length: number): CpuStats {
  const s: CpuStats = {
    cpu: 0,
    found: 0,
    invalid: 0,
    insert: 0,
    insertFailed: 0,
    drop: 0,
    earlyDrop: 0,
    error: 0,
    searchRestart: 0,
    clashResolve: 0,
    chainTooLong: 0,
  };
  decodeCounters(dv, offset, length, CPU_FIELDS, s, "CPU statistics");
  s.cpu = replyCpu(dv, offset);
  return s;
}

/**
 * Decodes one `IPCTNL_MSG_EXP_GET_STATS_CPU` reply.
 * @throws {RangeError} if the bytes are malformed.
 */
export function decodeExpectCpuStats(
  dv: DataView,
  offset: number,
  length: number,
): ExpectCpuStats {
  const s: ExpectCpuStats = { cpu: 0, new: 0, create: 0, delete: 0 };
  decodeCounters(dv, offset, length, EXPECT_CPU_FIELDS, s, "expectation statistics");
  s.cpu = replyCpu(dv, offset);
  return s;
}

/**
 * Decodes the `IPCTNL_MSG_CT_GET_STATS` reply.
 * @throws {RangeError} if the bytes are malformed.
 */
export function decodeGlobalStats(dv: DataView, offset: number, length: number): GlobalStats {
  const s: GlobalStats = { entries: 0, maxEntries: 0 };
  return decodeCounters(dv, offset, length, GLOBAL_FIELDS, s, "statistics");
}
