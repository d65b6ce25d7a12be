/** {@link CpuStats} and {@link GlobalStats}: `conntrack -S` and `conntrack -C`. @module */
import { AttributeReader } from "../netlink/attribute.ts";
import { NLMSG_HDRLEN } from "../netlink/message.ts";
import * as C from "./constants.ts";

/** Per-CPU conntrack statistics (`IPCTNL_MSG_CT_GET_STATS_CPU`, `conntrack -S`). */
export interface CpuStats {
  cpu: number;
  found: number;
  invalid: number;
  insert: number;
  insertFailed: number;
  drop: number;
  earlyDrop: number;
  error: number;
  searchRestart: number;
  clashResolve: number;
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

/** Decodes one `IPCTNL_MSG_CT_GET_STATS_CPU` reply (the CPU is the nfgenmsg `res_id`). */
export function decodeCpuStats(dv: DataView, offset: number, length: number): CpuStats {
  if (length < NLMSG_HDRLEN + 4) throw new RangeError(`Cannot read CPU statistics: ${length} bytes is too short`);
  const s: CpuStats = {
    cpu: dv.getUint16(offset + NLMSG_HDRLEN + 2, false),
    found: 0, invalid: 0, insert: 0, insertFailed: 0, drop: 0, earlyDrop: 0, error: 0,
    searchRestart: 0, clashResolve: 0, chainTooLong: 0,
  };
  const r = new AttributeReader().reset(dv, offset + NLMSG_HDRLEN + 4, offset + length, "CPU statistics");
  while (r.next()) {
    const k = CPU_FIELDS[r.type];
    if (k) (s as unknown as Record<string, number>)[k] = r.u32();
  }
  return s;
}

/** Decodes the `IPCTNL_MSG_CT_GET_STATS` reply. */
export function decodeGlobalStats(dv: DataView, offset: number, length: number): GlobalStats {
  if (length < NLMSG_HDRLEN + 4) throw new RangeError(`Cannot read statistics: ${length} bytes is too short`);
  const s: GlobalStats = { entries: 0, maxEntries: 0 };
  const r = new AttributeReader().reset(dv, offset + NLMSG_HDRLEN + 4, offset + length, "statistics");
  while (r.next()) {
    if (r.type === C.CTA_STATS_GLOBAL_ENTRIES) s.entries = r.u32();
    else if (r.type === C.CTA_STATS_GLOBAL_MAX_ENTRIES) s.maxEntries = r.u32();
  }
  return s;
}
