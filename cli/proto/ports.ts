/**
 * The port options TCP, UDP, UDP-Lite, SCTP and DCCP share (conntrack-tools repeats them in
 * each `libct_proto_*.c`): original and reply ports, and for `-I expect` the expectation's
 * tuple and mask ports.
 * @module
 */
import type { KeyRule, L4Key, ProtoExt } from "./ext.ts";
import { numeric, P_NEVER, P_PORT } from "./ext.ts";

/** Long option → field, in conntrack's order. */
export const PORT_OPTS: Readonly<Record<string, L4Key>> = {
  "orig-port-src": "sport",
  sport: "sport",
  "orig-port-dst": "dport",
  dport: "dport",
  "reply-port-src": "replySport",
  "reply-port-dst": "replyDport",
  "mask-port-src": "maskSport",
  "mask-port-dst": "maskDport",
  "tuple-port-src": "tupleSport",
  "tuple-port-dst": "tupleDport",
};

// libct_proto_*.c, EXP_CREATE/EXP_DELETE/EXP_GET rows: -I expect needs the master's ports and
// the expectation's tuple and mask ports; -D/-G expect need both directions' ports (the reply
// ports are required and then ignored).
/** A port of the master (-I expect) or of the expectation (-D/-G expect). */
const port = (key: L4Key & ("sport" | "dport")): KeyRule => ({
  legal: P_PORT,
  exp: { create: 1, delete: 1, get: 1 },
  parse: numeric(key, 0xffff),
});
/** A reply port: required and then ignored by -D/-G expect. */
const replyPort = (key: "replySport" | "replyDport"): KeyRule => ({
  legal: P_PORT,
  exp: { delete: 1, get: 1 },
  parse: numeric(key, 0xffff),
});
/** The expectation's own tuple or mask port: -I expect only. */
const expectPort = (key: "tupleSport" | "tupleDport" | "maskSport" | "maskDport"): KeyRule => ({
  legal: P_NEVER,
  exp: { create: 1 },
  parse: numeric(key, 0xffff),
});

/** The rule of each port field. */
export const PORT_KEYS: ProtoExt["keys"] = {
  sport: port("sport"),
  dport: port("dport"),
  replySport: replyPort("replySport"),
  replyDport: replyPort("replyDport"),
  maskSport: expectPort("maskSport"),
  maskDport: expectPort("maskDport"),
  tupleSport: expectPort("tupleSport"),
  tupleDport: expectPort("tupleDport"),
};

/** -I/-G need both ports of a direction. */
export const PORT_COUPLED: ProtoExt["coupled"] = [
  [["sport", "dport"], "you have to specify `--sport' and `--dport'"],
  // sic: conntrack's message names options it does not have
  [["replySport", "replyDport"], "you have to specify `--reply-src-port' and `--reply-dst-port'"],
];
