/**
 * GRE's options (conntrack-tools `extensions/libct_proto_gre.c`): the keys, which conntrack
 * keeps where other protocols keep ports (`--srckey` sets what `--sport` would).
 * @module
 */
import { fromTable, type ProtoExt } from "./ext.ts";
import { PORT_KEYS } from "./ports.ts";

/** `-p gre`. */
export const GRE: ProtoExt = {
  ...fromTable("gre"),
  opts: {
    srckey: "sport",
    "orig-key-src": "sport",
    dstkey: "dport",
    "orig-key-dst": "dport",
    "reply-key-src": "replySport",
    "reply-key-dst": "replyDport",
  },
  keys: {
    sport: PORT_KEYS.sport,
    dport: PORT_KEYS.dport,
    replySport: PORT_KEYS.replySport,
    replyDport: PORT_KEYS.replyDport,
  },
  labels: {
    sport: "srckey",
    dport: "dstkey",
    replySport: "reply-key-src",
    replyDport: "reply-key-dst",
  },
  coupled: [
    [["sport", "dport"], "you have to specify `--srckey' and `--dstkey'"],
    [["replySport", "replyDport"], "you have to specify `--reply-key-src' and `--reply-key-dst'"],
  ],
};
