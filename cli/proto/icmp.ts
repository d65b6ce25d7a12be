/**
 * ICMP's options (conntrack-tools `extensions/libct_proto_icmp.c`): type, code and id.
 * @module
 */
import { fromTable, numeric, P_ICMP_ID, P_ICMP_TC, type ProtoExt } from "./ext.ts";

/** The rules of ICMP's and ICMPv6's fields: type and code needed to create and get. */
export const ICMP_KEYS: ProtoExt["keys"] = {
  icmpType: { legal: P_ICMP_TC, parse: numeric("icmpType", 0xff) },
  icmpCode: { legal: P_ICMP_TC, parse: numeric("icmpCode", 0xff) },
  icmpId: { legal: P_ICMP_ID, parse: numeric("icmpId", 0xffff) },
};

/** `-p icmp`. */
export const ICMP: ProtoExt = {
  ...fromTable("icmp"),
  opts: { "icmp-type": "icmpType", "icmp-code": "icmpCode", "icmp-id": "icmpId" },
  keys: ICMP_KEYS,
};
