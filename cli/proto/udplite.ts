/**
 * UDP-Lite's options (conntrack-tools `extensions/libct_proto_udplite.c`): the ports.
 * @module
 */
import { fromTable, type ProtoExt } from "./ext.ts";
import { PORT_COUPLED, PORT_KEYS, PORT_OPTS } from "./ports.ts";

/** `-p udplite`. */
export const UDPLITE: ProtoExt = {
  ...fromTable("udplite"),
  opts: PORT_OPTS,
  keys: PORT_KEYS,
  coupled: PORT_COUPLED,
};
