/**
 * ICMPv6's options (conntrack-tools `extensions/libct_proto_icmpv6.c`): type, code and id.
 * @module
 */
import { fromTable, type ProtoExt } from "./ext.ts";
import { ICMP_KEYS } from "./icmp.ts";

/** `-p icmpv6`. */
export const ICMPV6: ProtoExt = {
  ...fromTable("icmpv6"),
  opts: { "icmpv6-type": "icmpType", "icmpv6-code": "icmpCode", "icmpv6-id": "icmpId" },
  keys: ICMP_KEYS,
  labels: { icmpType: "icmpv6-type", icmpCode: "icmpv6-code", icmpId: "icmpv6-id" },
};
