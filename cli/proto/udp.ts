/**
 * UDP's options (conntrack-tools `extensions/libct_proto_udp.c`): the ports.
 * @module
 */
import { fromTable, type ProtoExt } from "./ext.ts";
import { PORT_COUPLED, PORT_KEYS, PORT_OPTS } from "./ports.ts";

/** `-p udp`. */
export const UDP: ProtoExt = {
  ...fromTable("udp"),
  opts: PORT_OPTS,
  keys: PORT_KEYS,
  coupled: PORT_COUPLED,
};
