/**
 * Pieces of the filter property tests (test/kernel/filter_property_test.ts and
 * test/unit/conntrack/filter_property_test.ts): random varied conntrack tables and random legal
 * filters built from every {@link Filter} key (the reference matcher is in filter_reference.ts).
 * @module
 */
import type { Filter, Flow, StatusFlag, TupleFilter } from "../../mod.ts";
import { addrValue, type Fam, PORTED, protoNum, type TupleLike } from "./filter_reference.ts";
import type { Rng } from "./rng.ts";

// --- Random tables ------------------------------------------------------------------------------

/** Small address pools, so that filters built from them hit many entries. */
export const V4_POOL = [
  "10.0.0.1",
  "10.0.0.2",
  "10.0.0.3",
  "10.0.1.1",
  "10.0.1.200",
  "10.1.0.1",
  "192.168.7.1",
  "192.168.7.2",
];
export const V6_POOL = [
  "fd00::1",
  "fd00::2",
  "fd00::3",
  "fd00:0:0:1::1",
  "fd00:1::1",
  "2001:db8::1",
  "2001:db8::ffff:1",
  "::ffff:10.0.0.1",
];
const PORTS = [53, 80, 443, 8080, 36412];
const MARKS = [0, 1, 5, 0x10, 0x15, 0xff, 0xdeadbeef, 0x80000000];
const ZONES = [1, 3, 4, 7, 65535];
const SETTABLE_STATUS: StatusFlag[] = ["SEEN_REPLY", "ASSURED", "FIXED_TIMEOUT"];
export const TCP_STATES = [
  "SYN_SENT",
  "SYN_RECV",
  "ESTABLISHED",
  "FIN_WAIT",
  "CLOSE_WAIT",
  "LAST_ACK",
  "TIME_WAIT",
  "CLOSE",
  "SYN_SENT2",
] as const;
export const SCTP_STATES = [
  "CLOSED",
  "COOKIE_WAIT",
  "COOKIE_ECHOED",
  "ESTABLISHED",
  "SHUTDOWN_SENT",
  "SHUTDOWN_RECD",
  "SHUTDOWN_ACK_SENT",
  "HEARTBEAT_SENT",
] as const;

/** A create spec: a {@link Flow} with explicit reply tuple and timeout. */
export type Spec = Omit<Flow, "id">;

/**
 * `n` random entries (n ≤ 20000): IPv4 and IPv6; TCP (with a state), UDP, UDP-Lite, ICMP,
 * ICMPv6, SCTP (state and vtags), GRE (keys), protocols 99 and 253 (tracked generically); a zone, or a zone on one direction only; marks;
 * settable status flags; and on some a reply tuple that is not the inverted original (DNAT:
 * another reply source and port; SNAT: another reply destination and port).
 *
 * Every tuple carries the entry's serial number in a port, ICMP id or GRE key, in a range no
 * other kind of tuple uses, so no two tuples collide (the kernel refuses a clash with EEXIST).
 */
export function randomTable(rng: Rng, n: number): Spec[] {
  const out: Spec[] = [];
  for (let c = 0; c < n; c++) {
    const family: Fam = rng.chance(0.5) ? "ipv4" : "ipv6";
    const pool = family === "ipv4" ? V4_POOL : V6_POOL;
    const protos = family === "ipv4"
      ? ["tcp", "tcp", "udp", "udp", "icmp", "sctp", "gre", "udplite"]
      : ["tcp", "tcp", "udp", "udp", "icmpv6", "sctp", "gre", "udplite"];
    // Now and then a protocol the kernel tracks generically (a tuple of addresses only).
    const generic = rng.chance(0.04);
    const proto = (generic ? rng.pick([99, 253]) : rng.pick(protos)) as Flow["proto"];
    const src = rng.pick(pool);
    // A generic tuple is unique by its destination: one outside the pools, made from the serial.
    const dst = !generic
      ? rng.pick(pool)
      : family === "ipv4"
      ? `10.200.${c >> 8}.${c & 255}`
      : `fd00:200::${c.toString(16)}`;
    const orig: TupleLike = { src, dst };
    const reply: TupleLike = { src: dst, dst: src };
    const nat = generic ? 0 : rng.int(4); // 0, 1: none; 2: DNAT; 3: SNAT
    if (nat === 2) reply.src = rng.pick(pool);
    if (nat === 3) reply.dst = rng.pick(pool);
    const p = protoNum(proto);
    if (PORTED.has(p)) {
      orig.sport = 1024 + c; // 1024..21023: only ever an orig sport / a reply dport
      orig.dport = rng.pick(PORTS);
      reply.sport = nat === 2 ? rng.pick(PORTS) : orig.dport;
      reply.dport = nat === 3 ? 30000 + c : orig.sport; // 30000..49999: SNAT'd reply dports
    } else if (p === 1 || p === 58) {
      const [t, r] = p === 1 ? rng.pick([[8, 0], [13, 14], [15, 16], [17, 18]]) : [128, 129];
      Object.assign(orig, { type: t, code: 0, id: c });
      Object.assign(reply, { type: r, code: 0, id: c });
    } else if (p === 47) {
      const k = 50000 + rng.int(4); // keys 50000..50003 never equal a serial
      Object.assign(orig, { srcKey: c, dstKey: k });
      Object.assign(reply, { srcKey: k, dstKey: nat === 3 ? 30000 + c : c });
    }
    const f: Spec = { family, proto, orig, reply, timeout: 600 + rng.int(600) };
    const z = rng.int(8); // 0..3: no zone; 4, 5: zone; 6: orig zone; 7: reply zone
    if (z === 4 || z === 5) f.zone = rng.pick(ZONES);
    if (z === 6) orig.zone = rng.pick(ZONES);
    if (z === 7) reply.zone = rng.pick(ZONES);
    if (rng.chance(0.7)) f.mark = rng.pick(MARKS);
    const st = rng.subset(SETTABLE_STATUS, 0.4);
    if (st.length || rng.chance(0.5)) f.status = st;
    if (proto === "tcp") f.tcp = { state: rng.pick(TCP_STATES) };
    if (proto === "sctp") {
      f.sctp = { state: rng.pick(SCTP_STATES), vtagOrig: rng.u32(), vtagReply: rng.u32() };
    }
    out.push(f);
  }
  return out;
}

// --- Random filters ---------------------------------------------------------------------------

const FILTER_KEYS = [
  "family",
  "proto",
  "src",
  "dst",
  "sport",
  "dport",
  "zone",
  "reply.src",
  "reply.dst",
  "reply.sport",
  "reply.dport",
  "reply.zone",
  "mark",
  "status",
  "state",
] as const;
/** Keys only userspace can check (besides CIDR addresses). */
const KERNEL_NEVER = new Set(["zone", "reply.zone", "state"]);
const ALL_PROTOS = ["tcp", "udp", "udplite", "icmp", "icmpv6", "sctp", "gre"] as const;
const STATUS_POOL: StatusFlag[] = [
  "CONFIRMED",
  "SEEN_REPLY",
  "ASSURED",
  "FIXED_TIMEOUT",
  "SRC_NAT",
  "DYING",
];
// (A zero mask would match everything: refused, like an empty status list or mask.)
const MASKS = [0xffffffff, 0xff, 0xf, 0x10, 0xffff0000, 0x80000000, 0x7fffffff];
const V4_BITS = [0, 8, 16, 24, 30, 31, 32];
const V6_BITS = [0, 8, 16, 32, 48, 64, 96, 112, 127, 128];

/**
 * A random legal filter: 1–5 of the {@link Filter} keys, values mostly taken from `anchor` (an
 * entry of the table, so the filter matches something) and otherwise from the pools; a third of
 * them only with conditions a kernel-side flush can apply. Addresses
 * are exact or CIDR (with host bits set at times) and all of one family, the `family` key
 * agrees with them, and ports appear only without a protocol or with one that has ports.
 */
export function randomFilter(rng: Rng, anchor: Flow, depth = 0): Filter {
  // A third of the filters use only conditions a kernel-side flush can apply (exact addresses,
  // ports, protocol, family, mark, status), so that path is taken often.
  const kernelish = rng.chance(1 / 3);
  const pool = kernelish ? FILTER_KEYS.filter((k) => !KERNEL_NEVER.has(k)) : FILTER_KEYS;
  const n = rng.pick([1, 1, 1, 2, 2, 2, 3, 3, 4, 5]);
  const keys = new Set<typeof FILTER_KEYS[number]>();
  while (keys.size < n) keys.add(rng.pick(pool));
  const fam: Fam = rng.chance(0.9) ? anchor.family : anchor.family === "ipv4" ? "ipv6" : "ipv4";
  const addrs = fam === "ipv4" ? V4_POOL : V6_POOL;
  const f: Filter = {};
  const reply: TupleFilter = {};
  const addr = (from: string) => {
    const a = rng.chance(0.8) && addrValue(from)?.family === fam ? from : rng.pick(addrs);
    if (kernelish || rng.chance(0.4)) return a;
    return `${a}/${rng.pick(fam === "ipv4" ? V4_BITS : V6_BITS)}`;
  };
  const port = (from: number | undefined) =>
    rng.chance(0.8) && from !== undefined ? from : rng.pick([...PORTS, 1024 + rng.int(1000)]);
  const zone = (from: number | undefined) => rng.chance(0.7) ? from ?? 0 : rng.pick([0, ...ZONES]);
  let proto: Filter["proto"];
  const ports = ["sport", "dport", "reply.sport", "reply.dport"].some((k) =>
    keys.has(k as typeof FILTER_KEYS[number])
  );
  if (kernelish && ports) {
    // The kernel compares ports of TCP and UDP only.
    keys.add("proto");
    proto = anchor.proto === "tcp" || anchor.proto === "udp"
      ? anchor.proto
      : rng.pick(["tcp", "udp"] as const);
    f.proto = proto;
  } else if (keys.has("proto")) {
    const p = rng.chance(0.85) ? anchor.proto : rng.pick(ALL_PROTOS);
    // By name or by number (`6` for "tcp").
    proto = rng.chance(0.2) ? protoNum(p) : p;
    // Ports only with a protocol that has them: drop the protocol otherwise.
    if (ports && !PORTED.has(protoNum(proto!))) proto = undefined;
    if (proto !== undefined) f.proto = proto;
  }
  if (keys.has("family")) f.family = fam;
  if (keys.has("src")) f.src = addr(anchor.orig.src);
  if (keys.has("dst")) f.dst = addr(anchor.orig.dst);
  if (keys.has("sport")) f.sport = port(anchor.orig.sport);
  if (keys.has("dport")) f.dport = port(anchor.orig.dport);
  if (keys.has("zone")) f.zone = zone(anchor.zone);
  if (keys.has("reply.src")) reply.src = addr(anchor.reply.src);
  if (keys.has("reply.dst")) reply.dst = addr(anchor.reply.dst);
  if (keys.has("reply.sport")) reply.sport = port(anchor.reply.sport);
  if (keys.has("reply.dport")) reply.dport = port(anchor.reply.dport);
  if (keys.has("reply.zone")) reply.zone = zone(anchor.reply.zone);
  if (f.zone !== undefined && reply.zone !== undefined && rng.chance(0.5)) {
    // Both non-zero: on 6.18 a dump with CTA_ZONE and a reply CTA_TUPLE_ZONE fails (EINVAL).
    f.zone = rng.pick(ZONES);
    reply.zone = rng.pick(ZONES);
  }
  if (Object.keys(reply).length) f.reply = reply;
  if (keys.has("mark")) {
    const m = anchor.mark ?? 0;
    if (rng.chance(0.5)) f.mark = rng.chance(0.7) ? m : rng.pick(MARKS);
    else {
      const mask = rng.pick(MASKS);
      f.mark = { value: rng.chance(0.7) ? (m & mask) >>> 0 : rng.pick(MARKS), mask };
    }
  }
  if (keys.has("status")) {
    const has = new Set(anchor.status ?? []);
    if (rng.chance(0.5)) {
      const from = rng.chance(0.7) ? STATUS_POOL.filter((s) => has.has(s)) : STATUS_POOL;
      const v = rng.subset(from, 0.5);
      f.status = v.length ? v : [rng.pick(from.length ? from : STATUS_POOL)];
    } else {
      let mask = rng.subset(STATUS_POOL, 0.4);
      if (!mask.length) mask = [rng.pick(STATUS_POOL)];
      const value = rng.chance(0.7) ? mask.filter((s) => has.has(s)) : rng.subset(mask, 0.5);
      f.status = { value, mask };
    }
  }
  if (keys.has("state")) {
    const st = anchor.tcp?.state ?? anchor.sctp?.state;
    f.state = st !== undefined && rng.chance(0.7) ? st : rng.pick([...TCP_STATES, ...SCTP_STATES]);
  }
  // Every key can have been dropped (a protocol without ports): fall back to the family.
  if (!Object.keys(f).length) f.family = fam;
  // Sometimes the original tuple's own zone (userspace only).
  if (!kernelish && rng.chance(0.1)) f.origZone = zone(anchor.orig.zone);
  // Sometimes a negation: flows that also do not match another filter (or any of two).
  if (depth === 0 && rng.chance(0.15)) {
    f.not = rng.chance(0.7)
      ? randomFilter(rng, anchor, 1)
      : [randomFilter(rng, anchor, 1), randomFilter(rng, anchor, 1)];
  }
  return f;
}

/**
 * Smaller filters than `f`: each with one condition fewer (never none at all), for shrinking a
 * failing filter to a minimal one.
 */
export function smaller(f: Filter): Filter[] {
  const out: Filter[] = [];
  for (const k of Object.keys(f) as (keyof Filter)[]) {
    if (k === "reply") {
      for (const rk of Object.keys(f.reply!) as (keyof TupleFilter)[]) {
        const r = { ...f.reply! };
        delete r[rk];
        const g = { ...f };
        if (Object.keys(r).length) g.reply = r;
        else delete g.reply;
        out.push(g);
      }
      continue;
    }
    const g = { ...f };
    delete g[k];
    out.push(g);
  }
  return out.filter((g) => Object.keys(g).length > 0);
}
