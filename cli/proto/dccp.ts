/**
 * DCCP's options (conntrack-tools `extensions/libct_proto_dccp.c`): the ports, `--state` and
 * `--role client|server` (set on -I/-U only).
 * @module
 */
import { DCCP_STATES } from "../../mod.ts";
import { paramError } from "../errors.ts";
import { fromTable, P_SET, P_STATE, type ProtoExt, stateParser } from "./ext.ts";
import { PORT_COUPLED, PORT_KEYS, PORT_OPTS } from "./ports.ts";

/** `-p dccp`. */
export const DCCP: ProtoExt = {
  ...fromTable("dccp"),
  opts: { ...PORT_OPTS, state: "dccpState", role: "role" },
  keys: {
    ...PORT_KEYS,
    dccpState: {
      legal: P_STATE,
      parse: stateParser("Unknown DCCP state", DCCP_STATES, (l4, s) => l4.dccpState = s),
    },
    role: {
      legal: P_SET,
      parse(l4, v) {
        if (v !== "client" && v !== "server") throw paramError(`Unknown DCCP role \`${v}'`);
        l4.role = v === "client" ? 0 : 1;
      },
    },
  },
  coupled: PORT_COUPLED,
};
