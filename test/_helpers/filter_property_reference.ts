/**
 * The reference matcher of the filter property test (test/kernel/filter_property_test.ts): what
 * each {@link Filter} key means, written from its documentation and from conntrack(8) where the
 * key mirrors an option (NAT: conntrack-tools' `filter_nat()` in src/conntrack.c with
 * libnetfilter_conntrack's `NFCT_GOPT_IS_SNAT/DNAT/SPAT/DPAT`), independent of
 * conntrack/filter*.ts (the code under test) and of conntrack/address.ts: it has its own address
 * parser, and compares addresses as numbers.
 * @module
 */
import type { Filter, Flow, NatFilter, TupleFilter } from "../../mod.ts";

/** An address family. */
export type Fam = "ipv4" | "ipv6";

/** One direction of a flow. */
export type TupleLike = Flow["orig"];

// --- Addresses (own parser: the library's is under test) --------------------------------------

/** An address as a number: `{ family, v }`, or undefined when `s` is not an address. */
export function addrValue(s: string): { family: Fam; v: bigint } | undefined {
  const v4 = (t: string): bigint | undefined => {
    const parts = t.split(".");
    if (parts.length !== 4) return undefined;
    let v = 0n;
    for (const p of parts) {
      if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
      v = (v << 8n) | BigInt(Number(p));
    }
    return v;
  };
  if (!s.includes(":")) {
    const v = v4(s);
    return v === undefined ? undefined : { family: "ipv4", v };
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string): bigint[] | undefined => {
    if (h === "") return [];
    const out: bigint[] = [];
    const parts = h.split(":");
    for (const [i, p] of parts.entries()) {
      if (i === parts.length - 1 && p.includes(".")) {
        const v = v4(p);
        if (v === undefined) return undefined;
        out.push(v >> 16n, v & 0xffffn);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(BigInt(parseInt(p, 16)));
      }
    }
    return out;
  };
  const head = groups(halves[0]), tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  let v = 0n;
  for (const g of [...head, ...Array(halves.length === 2 ? fill : 0).fill(0n), ...tail]) {
    v = (v << 16n) | g;
  }
  return { family: "ipv6", v };
}

const WIDTH = { ipv4: 32n, ipv6: 128n } as const;

/** The mask of a condition's `/…` part: a prefix length, or a netmask of the same family. */
function maskOf(family: Fam, spec: string | undefined): bigint {
  const all = (1n << WIDTH[family]) - 1n;
  if (spec === undefined) return all;
  if (/^\d+$/.test(spec)) return all ^ (all >> BigInt(Number(spec)));
  const m = addrValue(spec);
  if (!m || m.family !== family) throw new Error(`reference matcher: bad netmask "${spec}"`);
  return m.v;
}

/**
 * Does address string `addr` fall under `cond`: an exact address, `addr/bits`, or
 * `addr/netmask` (any mask, also not contiguous: equal in every bit the mask has)?
 */
function addrMatches(cond: string, addr: string): boolean {
  const slash = cond.indexOf("/");
  const c = addrValue(slash === -1 ? cond : cond.slice(0, slash));
  const a = addrValue(addr);
  if (!c || !a) throw new Error(`reference matcher: bad address "${cond}" or "${addr}"`);
  if (c.family !== a.family) return false;
  const mask = maskOf(c.family, slash === -1 ? undefined : cond.slice(slash + 1));
  return (c.v & mask) === (a.v & mask);
}

/** Two address strings name the same address (whatever their spelling). */
function sameAddr(a: string, b: string): boolean {
  const x = addrValue(a), y = addrValue(b);
  return x !== undefined && y !== undefined && x.family === y.family && x.v === y.v;
}

// --- Protocols ---------------------------------------------------------------------------------

const PROTO_NUM: Record<string, number> = {
  icmp: 1,
  tcp: 6,
  udp: 17,
  dccp: 33,
  gre: 47,
  icmpv6: 58,
  sctp: 132,
  udplite: 136,
};
/** A protocol name or number as its number. */
export const protoNum = (p: string | number): number => typeof p === "number" ? p : PROTO_NUM[p];
/** Protocols with ports (TCP, UDP, DCCP, SCTP, UDP-Lite). */
export const PORTED: ReadonlySet<number> = new Set([6, 17, 33, 132, 136]);
/** ICMP and ICMPv6. */
export const ICMPS: ReadonlySet<number> = new Set([1, 58]);
/** GRE. */
export const GRE = 47;

// --- NAT ---------------------------------------------------------------------------------------

const has = (f: Flow, s: string) => (f.status ?? []).includes(s as never);

/**
 * libnetfilter_conntrack's notion of a NAT'd entry: the NAT-done status bit of that direction
 * is set AND the reply tuple shows it: for source NAT the reply destination is not the original
 * source (address NAT) or, for protocols with ports only, the reply destination port is not the
 * original source port (port NAT); for destination NAT the same with reply source / original
 * destination. (The kernel sets SRC_NAT_DONE even on a null binding, which leaves the tuple as
 * it was: such an entry is not NAT'd.)
 */
export function natState(f: Flow, snat: boolean): { addr: boolean; port: boolean } {
  const done = has(f, snat ? "SRC_NAT_DONE" : "DST_NAT_DONE");
  const ported = PORTED.has(protoNum(f.proto));
  const [r, o] = snat ? [f.reply.dst, f.orig.src] : [f.reply.src, f.orig.dst];
  const [rp, op] = snat ? [f.reply.dport, f.orig.sport] : [f.reply.sport, f.orig.dport];
  return { addr: done && !sameAddr(r, o), port: done && ported && rp !== op };
}

/**
 * conntrack's `filter_nat()` for one direction: `true` = NAT'd at all (address or port); an
 * address: NAT'd address equal to it (reply destination for SNAT, reply source for DNAT); a
 * port: NAT'd port equal to it; both: both. (conntrack 1.4.8 compares the address for IPv4
 * only; the library's documented meaning, followed here, is the same for IPv6.)
 */
function natMatches(n: NatFilter, f: Flow, snat: boolean): boolean {
  const st = natState(f, snat);
  if (n === true) return st.addr || st.port;
  const addr = snat ? f.reply.dst : f.reply.src;
  const port = snat ? f.reply.dport : f.reply.sport;
  if (n.addr !== undefined && !(st.addr && sameAddr(n.addr, addr))) return false;
  if (n.port !== undefined && !(st.port && port === n.port)) return false;
  return true;
}

// --- The matcher --------------------------------------------------------------------------------

function tupleOk(c: TupleFilter, t: TupleLike): boolean {
  if (c.src !== undefined && !addrMatches(c.src, t.src)) return false;
  if (c.dst !== undefined && !addrMatches(c.dst, t.dst)) return false;
  if (c.sport !== undefined && t.sport !== c.sport) return false;
  if (c.dport !== undefined && t.dport !== c.dport) return false;
  if (c.icmpType !== undefined && t.type !== c.icmpType) return false;
  if (c.icmpCode !== undefined && t.code !== c.icmpCode) return false;
  if (c.icmpId !== undefined && t.id !== c.icmpId) return false;
  if (c.srcKey !== undefined && t.srcKey !== c.srcKey) return false;
  if (c.dstKey !== undefined && t.dstKey !== c.dstKey) return false;
  if (c.zone !== undefined && (t.zone ?? 0) !== c.zone) return false;
  return true;
}

/**
 * Does `flow` match `filter`, by the documented meaning of each key? Every given key must hold:
 * `family`, `proto`; on the original tuple (top level) and the reply tuple (`reply`): `src`/`dst`
 * (exact, CIDR or address/netmask), `sport`/`dport`, `icmpType`/`icmpCode`/`icmpId`,
 * `srcKey`/`dstKey` (a flow without that field never matches it), and in `reply` the tuple's own
 * zone (absent = 0); `zone` the entry's `CTA_ZONE`, `origZone` the original tuple's zone; `mark`
 * `(mark & mask) === value`; `status` an array of flags all set, or `(status & mask) === value`;
 * `state` the TCP/SCTP/DCCP state; `srcNat`/`dstNat`/`anyNat` (see {@link natState}); `labels`
 * every bit of `all` and at least one of `any` set (bit numbers; the tests use no names); `id`
 * the entry id; `timeout` the seconds left, exactly or within `{ min, max }` (inclusive); `not`
 * none of its filters matches.
 */
export function referenceMatch(filter: Filter, flow: Flow): boolean {
  if (filter.not !== undefined) {
    const nots: readonly Filter[] = Array.isArray(filter.not) ? filter.not : [filter.not as Filter];
    if (nots.some((n) => referenceMatch(n, flow))) return false;
  }
  if (filter.family !== undefined && flow.family !== filter.family) return false;
  if (filter.proto !== undefined && protoNum(flow.proto) !== protoNum(filter.proto)) return false;
  const { src, dst, sport, dport, icmpType, icmpCode, icmpId, srcKey, dstKey } = filter;
  const orig = { src, dst, sport, dport, icmpType, icmpCode, icmpId, srcKey, dstKey };
  if (!tupleOk(orig, flow.orig)) return false;
  if (filter.reply !== undefined && !tupleOk(filter.reply, flow.reply)) return false;
  if (filter.zone !== undefined && (flow.zone ?? 0) !== filter.zone) return false;
  if (filter.origZone !== undefined && (flow.orig.zone ?? 0) !== filter.origZone) return false;
  if (filter.mark !== undefined) {
    const { value, mask } = typeof filter.mark === "number"
      ? { value: filter.mark, mask: 0xffffffff }
      : filter.mark;
    if ((((flow.mark ?? 0) & mask) >>> 0) !== value) return false;
  }
  if (filter.status !== undefined) {
    const set = new Set(flow.status ?? []);
    if (Array.isArray(filter.status)) {
      if (!filter.status.every((s) => set.has(s))) return false;
    } else {
      const { value, mask } = filter.status;
      // (status & mask) === value, with value inside mask (other filters are refused).
      if (!mask.every((s) => set.has(s) === value.includes(s))) return false;
    }
  }
  if (
    filter.state !== undefined &&
    (flow.tcp?.state ?? flow.sctp?.state ?? flow.dccp?.state) !== filter.state
  ) return false;
  if (filter.srcNat !== undefined && !natMatches(filter.srcNat, flow, true)) return false;
  if (filter.dstNat !== undefined && !natMatches(filter.dstNat, flow, false)) return false;
  if (
    filter.anyNat !== undefined &&
    !natMatches(filter.anyNat, flow, true) && !natMatches(filter.anyNat, flow, false)
  ) return false;
  if (filter.labels !== undefined) {
    const bits = new Set(flow.labels ?? []);
    const { all, any } = filter.labels as { all?: number[]; any?: number[] };
    if (all !== undefined && !all.every((b) => bits.has(b))) return false;
    if (any !== undefined && !any.some((b) => bits.has(b))) return false;
  }
  if (filter.id !== undefined && flow.id !== filter.id) return false;
  if (filter.timeout !== undefined) {
    const t = flow.timeout;
    if (t === undefined) return false;
    const { min = 0, max = Infinity } = typeof filter.timeout === "number"
      ? { min: filter.timeout, max: filter.timeout }
      : filter.timeout;
    if (t < min || t > max) return false;
  }
  return true;
}
