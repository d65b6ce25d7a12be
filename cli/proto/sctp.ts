/**
 * SCTP's options (conntrack-tools `extensions/libct_proto_sctp.c`): the ports, `--state` and
 * the verification tags `--orig-vtag`, `--reply-vtag` (set on -I/-U only).
 * @module
 */
import { SCTP_STATES } from "../../mod.ts";
import { fromTable, numeric, P_SET, P_STATE, type ProtoExt, stateParser } from "./ext.ts";
import { PORT_COUPLED, PORT_KEYS, PORT_OPTS } from "./ports.ts";

/** `-p sctp`. */
export const SCTP: ProtoExt = {
  ...fromTable("sctp"),
  opts: { ...PORT_OPTS, state: "sctpState", "orig-vtag": "vtag", "reply-vtag": "replyVtag" },
  keys: {
    ...PORT_KEYS,
    sctpState: {
      legal: P_STATE,
      parse: stateParser("unknown SCTP state", SCTP_STATES, (l4, s) => l4.sctpState = s),
    },
    vtag: { legal: P_SET, parse: numeric("vtag", 0xffffffff) },
    replyVtag: { legal: P_SET, parse: numeric("replyVtag", 0xffffffff) },
  },
  coupled: PORT_COUPLED,
};
