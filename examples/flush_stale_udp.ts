#!/usr/bin/env -S deno run -A
/**
 * Deletes the conntrack entries that keep a (re)started container from receiving UDP: the
 * netavark case. When a UDP sender hits a published host port before the container's DNAT
 * rule exists, the kernel records an entry without NAT, and every later datagram of that flow
 * follows it instead of the new rule, so it never reaches the container.
 *
 * Deleted, and nothing else:
 * - entries whose REPLY tuple has the container IP as source or destination (stale NAT to or
 *   from an old container), of the container's family;
 * - UDP entries whose ORIGINAL tuple goes to a published host port: `PORT` means that port on
 *   any address of the container's family, `ADDR:PORT` (`[ADDR]:PORT` for IPv6) only that
 *   address and port (a port published on one host address).
 * Each deleted entry is printed (conntrack -L format), then the exact count.
 *
 *   deno run -A examples/flush_stale_udp.ts <container-ip> [host-port | host-ip:port ...]
 *   bun examples/flush_stale_udp.ts 10.88.0.5 8080 192.0.2.1:8443
 *   bun examples/flush_stale_udp.ts fd88::5 [2001:db8::1]:8080
 *
 * This is an admin tool for the real table it runs in. Needs CAP_NET_ADMIN in that network
 * namespace (root, or run it inside that namespace); Deno needs -A (FFI). Try it in a
 * throwaway one:
 *   node scripts/netns.mjs deno run -A examples/flush_stale_udp.ts 10.88.0.5 8080
 */
import { Conntrack, type Family, type Filter, formatFlow, parseAddress } from "../mod.ts";
import { exampleArgs, usageError } from "./_args.ts";

const USAGE =
  `usage: flush_stale_udp.ts <container-ip> [host-port | host-ip:port | [host-ipv6]:port ...]

Deletes the conntrack entries that keep a (re)started container from receiving UDP: those whose
reply tuple has the container's address as source or destination, and UDP entries to the
published host ports. Prints each deleted entry (conntrack -L format), then the count.
`;
const familyOf = (addr: string): Family => (parseAddress(addr).length === 4 ? "ipv4" : "ipv6");

const [ip, ...published] = exampleArgs(USAGE, { positional: Infinity }).positional;
let family: Family;
try {
  family = familyOf(ip ?? "");
} catch {
  usageError(
    USAGE,
    ip === undefined
      ? "the container's IP address is missing"
      : `invalid container IP address ${JSON.stringify(ip)}`,
  );
}

/** A published port: `8080`, `192.0.2.1:8080` or `[2001:db8::1]:8080`, as a UDP filter. */
function portFilter(arg: string): Filter {
  const m = /^(?:\[([^\]]+)\]:|([^:[\]]+):)?(\d+)$/.exec(arg);
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(
      `Invalid host port ${
        JSON.stringify(arg)
      }: expected PORT, IPV4:PORT or [IPV6]:PORT with PORT 1..65535`,
    );
  }
  const addr = m[1] ?? m[2];
  if (addr === undefined) return { family, proto: "udp", dport: port };
  let f: Family;
  try {
    f = familyOf(addr);
  } catch {
    throw new Error(`Invalid host address in ${JSON.stringify(arg)}`);
  }
  if (m[1] !== undefined && f !== "ipv6") {
    throw new Error(`Invalid host port ${JSON.stringify(arg)}: brackets are for IPv6 addresses`);
  }
  return { family: f, proto: "udp", dst: addr, dport: port };
}

let filters: Filter[];
try {
  filters = [
    { family, reply: { src: ip } },
    { family, reply: { dst: ip } },
    ...published.map(portFilter),
  ];
} catch (e) {
  usageError(USAGE, (e as Error).message);
}

using ct = Conntrack.open();
// Any of the filters, in one pass over the table: streams the matches and deletes each by its
// id (a flow re-created meanwhile is left alone); onDeleted sees exactly the entries this call
// removed, and the count is exact.
const { deleted } = ct.flush(filters, { onDeleted: (f) => console.log(formatFlow(f)) });
console.error(`${deleted} stale conntrack entries deleted`);
