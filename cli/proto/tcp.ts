/**
 * TCP's options (conntrack-tools `extensions/libct_proto_tcp.c`): the ports and `--state`.
 * @module
 */
import { TCP_STATES } from "../../mod.ts";
import { fromTable, P_STATE, type ProtoExt, stateParser } from "./ext.ts";
import { PORT_COUPLED, PORT_KEYS, PORT_OPTS } from "./ports.ts";

/** `-p tcp`. conntrack also takes `LISTEN`, the pre-2.6.31 name of state 9 (`SYN_SENT2`). */
export const TCP: ProtoExt = {
  ...fromTable("tcp"),
  opts: { ...PORT_OPTS, state: "tcpState" },
  keys: {
    ...PORT_KEYS,
    tcpState: {
      legal: P_STATE,
      parse: stateParser("unknown TCP state", TCP_STATES, (l4, s) => l4.tcpState = s, {
        LISTEN: "SYN_SENT2",
      }),
    },
  },
  coupled: PORT_COUPLED,
};
