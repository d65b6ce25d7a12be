/**
 * The reference matcher of the filter property tests: what a {@link Filter} selects, written
 * from the documented meaning of each key, independent of conntrack/filter.ts (the code under
 * test) and of conntrack/address.ts (it has its own address parser); and flows as keys and text.
 * @module
 */
import type { Filter, Flow, TupleFilter } from "../../mod.ts";

// --- Addresses (own parser: the library's is under test) --------------------------------------

/** An address family. */
export type Fam = "ipv4" | "ipv6";

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

/** Does address string `addr` fall under `cond` (an exact address or `addr/bits`)? */
export function addrMatches(cond: string, addr: string): boolean {
  const slash = cond.indexOf("/");
  const c = addrValue(slash === -1 ? cond : cond.slice(0, slash));
  const a = addrValue(addr);
  if (!c || !a) throw new Error(`reference matcher: bad address "${cond}" or "${addr}"`);
  if (c.family !== a.family) return false;
  const width = c.family === "ipv4" ? 32n : 128n;
  const bits = slash === -1 ? width : BigInt(Number(cond.slice(slash + 1)));
  return (c.v >> (width - bits)) === (a.v >> (width - bits));
}

/** One spelling per address, whatever form it was written in. */
function canon(addr: string): string {
  const a = addrValue(addr);
  return a ? `${a.family === "ipv4" ? 4 : 6}/${a.v.toString(16)}` : `?${addr}`;
}

// --- Flows -------------------------------------------------------------------------------------

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
/** A protocol's number, by name or number. */
export const protoNum = (p: string | number): number => typeof p === "number" ? p : PROTO_NUM[p];
/** The protocols whose tuples have ports. */
export const PORTED = new Set([6, 17, 33, 132, 136]);

/** One direction of a flow. */
export type TupleLike = Flow["orig"];

function tupleKey(t: TupleLike): string {
  const o = (v: number | undefined) => v === undefined ? "-" : String(v);
  return `${canon(t.src)}>${canon(t.dst)} p${o(t.sport)},${o(t.dport)} i${o(t.type)},${o(t.code)},${
    o(t.id)
  }` +
    ` k${o(t.srcKey)},${o(t.dstKey)} z${t.zone ?? 0}`;
}

/**
 * What identifies an entry: family, protocol, both tuples, zone, and (with `withId`) its id.
 * Works on a dumped {@link Flow} and on the create spec it came from (without id).
 */
export function flowKey(
  f: Pick<Flow, "family" | "proto" | "orig" | "reply" | "zone" | "id">,
  withId = true,
): string {
  return `${f.family} ${protoNum(f.proto)} ${tupleKey(f.orig)} | ${tupleKey(f.reply)} zone=${
    f.zone ?? 0
  }` +
    (withId ? ` id=${f.id ?? "-"}` : "");
}

/** A flow on one line, for failure messages. */
export function describe(f: Flow): string {
  const t = (x: TupleLike) => {
    const l4 = x.sport !== undefined
      ? ` ${x.sport}>${x.dport}`
      : x.type !== undefined
      ? ` type ${x.type} id ${x.id}`
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
    (state ? ` | ${state}` : "") + ` | id ${f.id}`;
}

// --- Reference matcher --------------------------------------------------------------------------

function tupleOk(c: TupleFilter, t: TupleLike): boolean {
  if (c.src !== undefined && !addrMatches(c.src, t.src)) return false;
  if (c.dst !== undefined && !addrMatches(c.dst, t.dst)) return false;
  if (c.sport !== undefined && t.sport !== c.sport) return false;
  if (c.dport !== undefined && t.dport !== c.dport) return false;
  if (c.zone !== undefined && (t.zone ?? 0) !== c.zone) return false;
  return true;
}

/**
 * Does `flow` match `filter`, by the documented meaning of each key? Every given key must hold:
 * `family`, `proto`; `src`/`dst` (exact or CIDR) and `sport`/`dport` on the original tuple and
 * `reply.*` on the reply tuple (a flow without ports, e.g. ICMP or GRE, never matches a port);
 * `zone` the entry's `CTA_ZONE`, `reply.zone` the reply tuple's own zone (absent = 0); `mark`
 * `(mark & mask) === value`; `status` an array of flags all set, or `(status & mask) === value`;
 * `state` the TCP/SCTP/DCCP state.
 */
export function referenceMatch(filter: Filter, flow: Flow): boolean {
  if (filter.not !== undefined) {
    const nots: readonly Filter[] = Array.isArray(filter.not) ? filter.not : [filter.not as Filter];
    if (nots.some((n) => referenceMatch(n, flow))) return false;
  }
  if (filter.family !== undefined && flow.family !== filter.family) return false;
  if (filter.proto !== undefined && protoNum(flow.proto) !== protoNum(filter.proto)) return false;
  if (
    !tupleOk(
      { src: filter.src, dst: filter.dst, sport: filter.sport, dport: filter.dport },
      flow.orig,
    )
  ) return false;
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
    const has = new Set(flow.status ?? []);
    if (Array.isArray(filter.status)) {
      if (!filter.status.every((s) => has.has(s))) return false;
    } else {
      const { value, mask } = filter.status;
      // (status & mask) === value, with value inside mask (other filters are refused).
      if (!mask.every((s) => has.has(s) === value.includes(s))) return false;
    }
  }
  if (
    filter.state !== undefined &&
    (flow.tcp?.state ?? flow.sctp?.state ?? flow.dccp?.state) !== filter.state
  ) return false;
  return true;
}
