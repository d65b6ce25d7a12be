#!/usr/bin/env -S deno run -A
/**
 * Deletes the conntrack entries that keep a (re)started container from receiving UDP: the
 * netavark case. When a UDP sender hits a published host port before the container's DNAT
 * rule exists, the kernel records an entry without NAT, and every later datagram of that flow
 * follows it instead of the new rule, so it never reaches the container.
 *
 * Deleted: entries whose REPLY tuple has the container IP as source or destination (stale NAT
 * to or from an old container), and UDP entries whose ORIGINAL tuple has one of the host
 * ports as destination port. Each deleted entry is printed (conntrack -L format).
 *
 *   deno run -A examples/flush_stale_udp.ts <container-ip> [host-port ...]
 *   bun examples/flush_stale_udp.ts 10.88.0.5 8080 8443
 *
 * Needs CAP_NET_ADMIN in the network namespace whose table it cleans (root, or run it inside
 * that namespace); Deno needs -A (FFI). Try it in a throwaway one:
 *   node scripts/netns.mjs deno run -A examples/flush_stale_udp.ts 10.88.0.5 8080
 */
import { Conntrack, type Filter, formatFlow, host, parseAddress } from "../mod.ts";

const [ip, ...ports] = host.args();
let family: "ipv4" | "ipv6";
try {
  family = parseAddress(ip ?? "").length === 4 ? "ipv4" : "ipv6";
} catch {
  console.error("usage: flush_stale_udp.ts <container-ip> [host-port ...]");
  host.exit(2);
}
const hostPorts = ports.map(Number);
if (hostPorts.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
  console.error(`Invalid host port in ${ports.join(" ")}: expected integers 1..65535`);
  host.exit(2);
}

const filters: Filter[] = [
  { family, reply: { src: ip } },
  { family, reply: { dst: ip } },
  ...hostPorts.map((dport): Filter => ({ proto: "udp", dport })),
];

using ct = Conntrack.open();
let deleted = 0;
for (const filter of filters) {
  // Streams the matches and deletes each by its id (a flow re-created meanwhile is left
  // alone); onDeleted sees exactly the entries this call removed.
  deleted += ct.flush(filter, { onDeleted: (f) => console.log(formatFlow(f)) }).deleted;
}
console.error(`${deleted} stale conntrack entries deleted`);
