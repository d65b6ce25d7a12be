/**
 * Shared by the filter unit tests: a flow to match, and what a compiled filter sends the kernel.
 * @module
 */
import * as C from "../../conntrack/constants.ts";
import { compileFilter, type Filters } from "../../conntrack/filter.ts";
import type { Flow } from "../../conntrack/flow.ts";
import { AttributeReader, MessageBuilder } from "../../netlink/attribute.ts";

/** A UDP flow 10.0.0.1:1000 -> 10.0.0.2:53 (and its reply), with `over` on top. */
export const flow = (over: Partial<Flow> = {}): Flow => ({
  family: "ipv4",
  proto: "udp",
  orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 53 },
  reply: { src: "10.0.0.2", dst: "10.0.0.1", sport: 53, dport: 1000 },
  ...over,
});

/** The attribute types (top level, and inside CTA_TUPLE_ORIG/REPLY > CTA_TUPLE_IP) a dump of `family` sends. */
export function sent(filter: Filters, family: number): { top: number[]; ip: number[] } {
  const b = new MessageBuilder();
  compileFilter(filter).encode(b, family);
  const dv = new DataView(b.buf.buffer, 0, b.length);
  const top: number[] = [], ip: number[] = [];
  const r = new AttributeReader().reset(dv, 0, b.length);
  const t = new AttributeReader(), i = new AttributeReader();
  while (r.next()) {
    top.push(r.type);
    if (r.type !== C.CTA_TUPLE_ORIG && r.type !== C.CTA_TUPLE_REPLY) continue;
    t.enter(r, "tuple");
    while (t.next()) {
      if (t.type !== C.CTA_TUPLE_IP) continue;
      i.enter(t, "ip");
      while (i.next()) ip.push(i.type);
    }
  }
  return { top, ip };
}
