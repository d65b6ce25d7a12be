/**
 * Random varied conntrack tables for the filter property test (test/kernel/filter_property_test.ts)
 * and the snapshot test, and how their entries are identified and shown.
 * @module
 */
import {
  type Flow,
  SCTP_STATES as ALL_SCTP_STATES,
  type SctpState,
  type StatusFlag,
  TCP_STATES as ALL_TCP_STATES,
  type TcpState,
} from "../../mod.ts";
import {
  addrValue,
  type Fam,
  PORTED,
  protoNum,
  type TupleLike,
} from "./filter_property_reference.ts";
import type { Rng } from "./rng.ts";

// --- Identifying and showing entries -----------------------------------------------------------

/** One spelling per address, whatever form it was written in. */
function canon(addr: string): string {
  const a = addrValue(addr);
  return a ? `${a.family === "ipv4" ? 4 : 6}/${a.v.toString(16)}` : `?${addr}`;
}

function tupleKey(t: TupleLike): string {
  const o = (v: number | undefined) => v === undefined ? "-" : String(v);
  return `${canon(t.src)}>${canon(t.dst)} p${o(t.sport)},${o(t.dport)} ` +
    `i${o(t.type)},${o(t.code)},${o(t.id)} k${o(t.srcKey)},${o(t.dstKey)} z${t.zone ?? 0}`;
}

/**
 * What identifies an entry: family, protocol, both tuples, zone, and (with `withId`) its id.
 * Works on a dumped {@link Flow} and on the create spec it came from (without id).
 */
export function flowKey(
  f: Pick<Flow, "family" | "proto" | "orig" | "reply" | "zone" | "id">,
  withId = true,
): string {
  return `${f.family} ${protoNum(f.proto)} ${tupleKey(f.orig)} | ${tupleKey(f.reply)} ` +
    `zone=${f.zone ?? 0}` + (withId ? ` id=${f.id ?? "-"}` : "");
}

/** A flow on one line, for failure messages. */
export function describe(f: Flow): string {
  const t = (x: TupleLike) => {
    const l4 = x.sport !== undefined
      ? ` ${x.sport}>${x.dport}`
      : x.type !== undefined
      ? ` type ${x.type} code ${x.code} id ${x.id}`
      : x.srcKey !== undefined
      ? ` key ${x.srcKey}>${x.dstKey}`
      : "";
    return `${x.src}>${x.dst}${l4}${x.zone !== undefined ? ` zone ${x.zone}` : ""}`;
  };
  const state = f.tcp?.state ?? f.sctp?.state;
  return `${f.family} ${f.proto} ${t(f.orig)} | reply ${t(f.reply)}` +
    (f.zone !== undefined ? ` | zone ${f.zone}` : "") +
    (f.mark ? ` | mark 0x${f.mark.toString(16)}` : "") +
    (f.status?.length ? ` | ${f.status.join(",")}` : "") +
    (state ? ` | ${state}` : "") +
    (f.labels?.length ? ` | labels ${f.labels.join(",")}` : "") +
    ` | timeout ${f.timeout} | id ${f.id}`;
}

// --- Pools -------------------------------------------------------------------------------------

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
export const PORTS = [53, 80, 443, 8080, 36412];
export const MARKS = [0, 1, 5, 0x10, 0x15, 0xff, 0xdeadbeef, 0x80000000];
export const ZONES = [1, 3, 4, 7, 65535];
/** Label bits the tables use: word edges of the 4 x 32-bit bitmap among them. */
export const LABEL_BITS = [0, 1, 5, 31, 32, 63, 64, 100, 126, 127];
const SETTABLE_STATUS: StatusFlag[] = ["SEEN_REPLY", "ASSURED", "FIXED_TIMEOUT"];
/** TCP states an entry can be created with (not NONE). */
export const TCP_STATES: readonly TcpState[] = ALL_TCP_STATES.filter((s) => s !== "NONE");
/** SCTP states an entry can be created with (not NONE; HEARTBEAT_ACKED: the kernel says ERANGE). */
export const SCTP_STATES: readonly SctpState[] = ALL_SCTP_STATES.filter((s) =>
  s !== "NONE" && s !== "HEARTBEAT_ACKED"
);

/**
 * Timeouts come in bands (seconds): 600..999, 2600..2999, 4600..4999. An entry counts down
 * while the test runs, so a `timeout` filter bound is put in a gap ({@link TIMEOUT_GAPS}), ~800 s
 * from any band: no entry crosses it during a run, and the listing the reference matcher reads
 * agrees with the one the library filters.
 */
export const TIMEOUT_BANDS = [600, 2600, 4600];
/** Filter bounds no entry reaches while the test runs (see {@link TIMEOUT_BANDS}). */
export const TIMEOUT_GAPS = [1, 1800, 3800, 5800];

/** A create spec: a {@link Flow} with explicit reply tuple and timeout. */
export type Spec = Omit<Flow, "id">;

/** What else {@link randomTable} puts in the table. */
export interface TableOptions {
  /**
   * Entries created with real NAT (`natSrc`/`natDst`, so they carry the NAT-done statuses):
   * address only, port only, address and port, both directions, and NAT to the address the
   * entry already had (status set, tuple unchanged). Needs the kernel's nf_nat.
   */
  nat?: boolean;
  /** Connlabels on some entries (the namespace needs label storage: an nft `ct label set` rule). */
  labels?: boolean;
}

/**
 * `n` random entries (n ≤ 20000): IPv4 and IPv6; TCP (with a state), UDP, UDP-Lite, ICMP,
 * ICMPv6 (types, codes, ids), SCTP (state and vtags), GRE (keys), protocols 99 and 253 (tracked
 * generically); a zone, or a zone on one direction only; marks; settable status flags; timeouts
 * in {@link TIMEOUT_BANDS}; on some a reply tuple that is not the inverted original without any
 * NAT status (another reply source and port, or another reply destination and port); with
 * `options`, real NAT and labels.
 *
 * Every tuple carries the entry's serial number in a port, ICMP id or GRE key, in a range no
 * other kind of tuple uses, so no two tuples collide (the kernel refuses a clash with EEXIST),
 * and the kernel's NAT keeps every port and id as it is unless told otherwise.
 */
export function randomTable(rng: Rng, n: number, options: TableOptions = {}): Spec[] {
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
    // 0, 1: none; 2: another reply source; 3: another reply destination (no NAT status);
    // 4..11: real NAT (see addNat); 12..19: none.
    const k = generic ? 0 : rng.int(options.nat ? 20 : 4);
    const kind = k >= 12 ? 0 : k;
    if (kind === 2) reply.src = rng.pick(pool);
    if (kind === 3) reply.dst = rng.pick(pool);
    const p = protoNum(proto);
    if (PORTED.has(p)) {
      orig.sport = 1024 + c; // 1024..21023: only ever an orig sport / a reply dport
      orig.dport = rng.pick(PORTS);
      reply.sport = kind === 2 ? rng.pick(PORTS) : orig.dport;
      reply.dport = kind === 3 ? 30000 + c : orig.sport; // 30000..49999: NAT'd reply dports
    } else if (p === 1 || p === 58) {
      const [t, r] = p === 1
        ? rng.pick([[8, 0], [13, 14], [15, 16], [17, 18]])
        : rng.pick([[128, 129], [139, 140]]);
      const code = rng.pick([0, 0, 1, 3]);
      Object.assign(orig, { type: t, code, id: c });
      Object.assign(reply, { type: r, code, id: c });
    } else if (p === 47) {
      const k = 50000 + rng.int(4); // keys 50000..50003 never equal a serial
      Object.assign(orig, { srcKey: c, dstKey: k });
      Object.assign(reply, { srcKey: k, dstKey: kind === 3 ? 30000 + c : c });
    }
    const band = rng.pick(TIMEOUT_BANDS);
    const f: Spec = { family, proto, orig, reply, timeout: band + rng.int(400) };
    if (kind >= 4) addNat(rng, f, kind, c, pool);
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
    if (options.labels && rng.chance(0.35)) {
      const l = rng.subset(LABEL_BITS, 0.3);
      f.labels = l.length ? l : [rng.pick(LABEL_BITS)];
    }
    out.push(f);
  }
  return out;
}

/**
 * Real NAT on spec `f` (serial `c`), and the reply tuple the kernel will make of it. The kernel
 * sets up the destination NAT, then the source NAT, each on the reply tuple so far, and gives
 * the direction without a range a null binding (its NAT-done bit, the tuple unchanged); a
 * range without ports keeps the port, a range without an address the address. Ports only on
 * protocols with ports (kinds 5, 7, 8 are address-only NAT elsewhere); GRE keys stay as they are.
 *
 * 4: DNAT address; 5: DNAT address and port; 6: SNAT address; 7: SNAT address and port;
 * 8: SNAT port; 9: both addresses (DNAT with a port on ported protocols); 10: DNAT to the
 * original destination, 11: SNAT to the original source (status set, nothing changed).
 */
function addNat(rng: Rng, f: Spec, kind: number, c: number, pool: readonly string[]): void {
  const ported = PORTED.has(protoNum(f.proto));
  const { orig, reply } = f;
  const dnat = (port: boolean, ip = rng.pick(pool)) => {
    f.natDst = { minIp: ip };
    reply.src = ip;
    if (port && ported) {
      f.natDst.minPort = reply.sport = rng.pick(PORTS);
    }
  };
  const snat = (ip: boolean, port: boolean) => {
    f.natSrc = {};
    if (ip) f.natSrc.minIp = reply.dst = rng.pick(pool);
    if (port && ported) f.natSrc.minPort = reply.dport = 30000 + c;
  };
  if (kind === 4) dnat(false);
  else if (kind === 5) dnat(true);
  else if (kind === 6) snat(true, false);
  else if (kind === 7) snat(true, true);
  else if (kind === 8) ported ? snat(false, true) : dnat(false);
  else if (kind === 9) {
    dnat(rng.chance(0.5));
    snat(true, false);
  } else if (kind === 10) dnat(false, orig.dst);
  else {
    f.natSrc = { minIp: orig.src };
  }
}
