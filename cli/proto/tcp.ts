/**
 * TCP's options (conntrack-tools `extensions/libct_proto_tcp.c`): the ports and `--state`.
 * @module
 */
import type { TcpState } from "../../mod.ts";
import { P_STATE, type ProtoExt, stateParser } from "./ext.ts";
import { PORT_COUPLED, PORT_KEYS, PORT_OPTS } from "./ports.ts";

/** conntrack's TCP state names, by kernel value. */
const TCP_STATES: readonly TcpState[] = [
  "NONE",
  "SYN_SENT",
  "SYN_RECV",
  "ESTABLISHED",
  "FIN_WAIT",
  "CLOSE_WAIT",
  "LAST_ACK",
  "TIME_WAIT",
  "CLOSE",
  "SYN_SENT2",
];

/** `-p tcp`. conntrack also takes `LISTEN`, the pre-2.6.31 name of state 9 (`SYN_SENT2`). */
export const TCP: ProtoExt = {
  name: "tcp",
  num: 6,
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
