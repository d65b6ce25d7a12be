/**
 * Random legal filters for the filter property test (test/kernel/filter_property_test.ts), built
 * from every {@link Filter} key, with values mostly taken from an entry of the table (the anchor)
 * so that they select something; and their shrinking to a minimal failing filter.
 * @module
 */
import type { Filter, Flow, NatFilter, StatusFlag, TupleFilter } from "../../mod.ts";
import { respell, withNetmask } from "./filter_property_addresses.ts";
import {
  addrValue,
  type Fam,
  GRE,
  ICMPS,
  natState,
  PORTED,
  protoNum,
} from "./filter_property_reference.ts";
import {
  LABEL_BITS,
  MARKS,
  PORTS,
  SCTP_STATES,
  TCP_STATES,
  TIMEOUT_GAPS,
  V4_POOL,
  V6_POOL,
  ZONES,
} from "./filter_property_table.ts";
import type { Rng } from "./rng.ts";

/** The newer kinds of condition a filter can be built around (one or more keys each). */
export const FOCI = ["nat", "labels", "icmp", "gre", "netmask", "id", "timeout"] as const;
/**
 * What a random filter is about: `"kernel"` only conditions a kernel-side flush can apply
 * (exact addresses, TCP/UDP ports, protocol, family, mark, status); `"any"` the older keys
 * (tuples, zones, mark, status, state); or one of {@link FOCI} with a few older keys.
 */
export type FilterKind = "kernel" | "any" | typeof FOCI[number];

const BASE_KEYS = [
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
type BaseKey = typeof BASE_KEYS[number];
/** Keys only userspace can check (besides CIDR addresses and the newer keys). */
const KERNEL_NEVER = new Set<BaseKey>(["zone", "reply.zone", "state"]);
const ALL_PROTOS = ["tcp", "udp", "udplite", "icmp", "icmpv6", "sctp", "gre"] as const;
const STATUS_POOL: StatusFlag[] = [
  "CONFIRMED",
  "SEEN_REPLY",
  "ASSURED",
  "FIXED_TIMEOUT",
  "SRC_NAT",
  "DST_NAT",
  "SRC_NAT_DONE",
  "DST_NAT_DONE",
  "DYING",
];
// (A zero mask would match everything: refused, like an empty status list or mask.)
const MASKS = [0xffffffff, 0xff, 0xf, 0x10, 0xffff0000, 0x80000000, 0x7fffffff];
const V4_BITS = [0, 8, 16, 24, 30, 31, 32];
const V6_BITS = [0, 8, 16, 32, 48, 64, 96, 112, 127, 128];

// --- Random filters ------------------------------------------------------------------------------

const hasNatDone = (f: Flow) =>
  (f.status ?? []).some((s) => s === "SRC_NAT_DONE" || s === "DST_NAT_DONE");
const ANCHOR_WANT: Partial<Record<FilterKind, (f: Flow) => boolean>> = {
  nat: hasNatDone,
  labels: (f) => (f.labels?.length ?? 0) > 0,
  icmp: (f) => ICMPS.has(protoNum(f.proto)),
  gre: (f) => protoNum(f.proto) === GRE,
};

/** An entry of `flows` to take values from, mostly one the filter kind is about. */
function pickAnchor(rng: Rng, flows: readonly Flow[], kind: FilterKind): Flow {
  const want = ANCHOR_WANT[kind];
  if (want && rng.chance(0.9)) {
    for (let i = 0; i < 50; i++) {
      const f = rng.pick(flows);
      if (want(f)) return f;
    }
  }
  return rng.pick(flows);
}

/**
 * A random legal filter of `kind`: some older keys ({@link BASE_KEYS}), values mostly from an
 * anchor entry of `flows` (so the filter selects something) and otherwise from the pools, plus
 * the keys of the focus. Addresses are exact, CIDR (host bits set at times) or address/netmask,
 * all of one family, and the `family` key agrees with them; a protocol appears only when it
 * agrees with the ports, ICMP fields and GRE keys asked for. Now and then an `origZone`, and a
 * negation (`not`) of one or two more filters about the same anchor.
 */
export function randomFilter(
  rng: Rng,
  flows: readonly Flow[],
  kind: FilterKind = "any",
  depth = 0,
  given?: Flow,
): Filter {
  const anchor = given ?? pickAnchor(rng, flows, kind);
  const kernelish = kind === "kernel";
  const pool = kernelish ? BASE_KEYS.filter((k) => !KERNEL_NEVER.has(k)) : BASE_KEYS;
  const plain = kernelish || kind === "any";
  const n = rng.pick(plain ? [1, 1, 1, 2, 2, 2, 3, 3, 4, 5] : [0, 0, 0, 0, 1, 1, 2, 3]);
  const keys = new Set<BaseKey>();
  while (keys.size < n) keys.add(rng.pick(pool));
  const fam: Fam = rng.chance(0.9) ? anchor.family : anchor.family === "ipv4" ? "ipv6" : "ipv4";
  const addrs = fam === "ipv4" ? V4_POOL : V6_POOL;
  const f: Filter = {};
  const reply: TupleFilter = {};
  const addr = (from: string, netmask = false) => {
    const a = rng.chance(0.8) && addrValue(from)?.family === fam ? from : rng.pick(addrs);
    if (kernelish) {
      // An exact IPv4 address also as /32 or /255.255.255.255: still one the kernel compares.
      const full = fam === "ipv4" ? rng.pick(["/32", "/255.255.255.255"]) : "";
      return rng.chance(0.1) ? `${a}${full}` : respell(rng, a);
    }
    if (netmask || rng.chance(0.15)) return withNetmask(rng, a);
    if (rng.chance(0.6)) return respell(rng, a);
    return `${respell(rng, a)}/${rng.pick(fam === "ipv4" ? V4_BITS : V6_BITS)}`;
  };
  const port = (from: number | undefined) =>
    rng.chance(0.8) && from !== undefined ? from : rng.pick([...PORTS, 1024 + rng.int(1000)]);
  const zone = (from: number | undefined) => rng.chance(0.7) ? from ?? 0 : rng.pick([0, ...ZONES]);
  let proto: Filter["proto"];
  const ports = ["sport", "dport", "reply.sport", "reply.dport"].some((k) =>
    keys.has(k as BaseKey)
  );
  if (kernelish && ports) {
    // The kernel compares ports of TCP and UDP only.
    keys.add("proto");
    proto = anchor.proto === "tcp" || anchor.proto === "udp"
      ? anchor.proto
      : rng.pick(["tcp", "udp"] as const);
    f.proto = proto;
  } else if (keys.has("proto") || ((kind === "icmp" || kind === "gre") && rng.chance(0.4))) {
    const p = rng.chance(0.85) ? anchor.proto : rng.pick(ALL_PROTOS);
    // By name or by number (`6` for "tcp").
    proto = rng.chance(0.2) ? protoNum(p) : p;
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
  focusKeys(rng, kind, anchor, f, reply, (a) => addr(a, true), addrs);
  if (Object.keys(reply).length) f.reply = reply;
  // A protocol that disagrees with the ports, ICMP fields or GRE keys asked for is refused: drop it.
  if (f.proto !== undefined) {
    const p = protoNum(f.proto);
    const t = [f, reply];
    const need = (ks: (keyof TupleFilter)[]) => t.some((x) => ks.some((k) => x[k] !== undefined));
    if (
      (need(["sport", "dport"]) && !PORTED.has(p)) ||
      (need(["icmpType", "icmpCode", "icmpId"]) && !ICMPS.has(p)) ||
      (need(["srcKey", "dstKey"]) && p !== GRE)
    ) delete f.proto;
  }
  // Every key can have been dropped: fall back to the family.
  if (!Object.keys(f).length) f.family = fam;
  // Sometimes the original tuple's own zone (userspace only).
  if (!kernelish && rng.chance(0.1)) f.origZone = zone(anchor.orig.zone);
  // Sometimes a negation: flows that also do not match another filter (or any of two).
  if (depth === 0 && !kernelish && rng.chance(0.15)) {
    const sub = () => randomFilter(rng, flows, rng.pick(["any", ...FOCI]), 1, anchor);
    f.not = rng.chance(0.7) ? sub() : [sub(), sub()];
  }
  return f;
}

/** Adds the keys of focus `kind` to `f` (and `reply`), from `anchor` mostly. */
function focusKeys(
  rng: Rng,
  kind: FilterKind,
  anchor: Flow,
  f: Filter,
  reply: TupleFilter,
  masked: (a: string) => string,
  addrs: readonly string[],
): void {
  const from = <T>(v: T | undefined, other: () => T): T =>
    v !== undefined && rng.chance(0.9) ? v : other();
  const tuples = (
    names: readonly (keyof TupleFilter)[],
    value: (t: Flow["orig"], k: string) => number,
  ) => {
    const n = 1 + rng.int(names.length === 2 ? 2 : 3);
    for (let i = 0; i < n; i++) {
      const k = rng.pick(names);
      const [t, on] = rng.chance(0.5) ? [anchor.orig, f] : [anchor.reply, reply];
      (on as Record<string, number>)[k] = value(t, k);
    }
  };
  if (kind === "nat") {
    // Mostly the way the anchor is NAT'd (address, port or both), with its values.
    const nat = (snat: boolean): NatFilter => {
      const st = natState(anchor, snat);
      const a = respell(
        rng,
        from(snat ? anchor.reply.dst : anchor.reply.src, () => rng.pick(addrs)),
      );
      const p = from(
        snat ? anchor.reply.dport : anchor.reply.sport,
        () => rng.pick([...PORTS, 30000 + rng.int(700)]),
      );
      const forms: NatFilter[] = [true];
      if (st.addr || rng.chance(0.2)) forms.push({ addr: a });
      if (st.port || rng.chance(0.2)) forms.push({ port: p });
      if ((st.addr && st.port) || rng.chance(0.2)) forms.push({ addr: a, port: p });
      return rng.pick(forms);
    };
    const s = natState(anchor, true), d = natState(anchor, false);
    const sn = s.addr || s.port, dn = d.addr || d.port;
    const which = rng.chance(0.7) && (sn || dn)
      ? rng.pick([...(sn ? [0] : []), ...(dn ? [1] : []), ...(sn && dn ? [3] : []), 2])
      : rng.int(5);
    if (which === 0 || which === 3) f.srcNat = nat(true);
    if (which === 1 || which === 3) f.dstNat = nat(false);
    if (which === 2 || which === 4) {
      f.anyNat = nat(which === 2 ? !dn || (sn && rng.chance(0.5)) : rng.chance(0.5));
    }
    if (which === 4) rng.chance(0.5) ? (f.srcNat = true) : (f.dstNat = true);
  } else if (kind === "labels") {
    const have = anchor.labels ?? [];
    const bits = (fromHave: boolean) => {
      const src = fromHave && have.length ? have : LABEL_BITS;
      const s = rng.subset(src, 0.5);
      return s.length ? s : [rng.pick(src)];
    };
    const r = rng.int(3);
    f.labels = {};
    if (r !== 1) f.labels.all = bits(rng.chance(0.8));
    if (r !== 0) f.labels.any = bits(rng.chance(0.5));
  } else if (kind === "icmp") {
    tuples(
      ["icmpType", "icmpCode", "icmpId"],
      (t, k) =>
        k === "icmpType"
          ? from(t.type, () => rng.pick([0, 3, 8, 13, 14, 128, 129, 139, 140]))
          : k === "icmpCode"
          ? from(t.code, () => rng.pick([0, 1, 3]))
          : from(t.id, () => rng.int(700)),
    );
  } else if (kind === "gre") {
    tuples(
      ["srcKey", "dstKey"],
      (t, k) =>
        from(
          k === "srcKey" ? t.srcKey : t.dstKey,
          () => rng.chance(0.5) ? 50000 + rng.int(4) : rng.int(700),
        ),
    );
  } else if (kind === "netmask") {
    const n = 1 + rng.int(2);
    for (let i = 0; i < n; i++) {
      const k = rng.pick(["src", "dst"] as const);
      const [t, on] = rng.chance(0.5) ? [anchor.orig, f] : [anchor.reply, reply];
      on[k] = masked(t[k]);
    }
  } else if (kind === "id") {
    f.id = anchor.id !== undefined && rng.chance(0.85) ? anchor.id : rng.u32();
  } else if (kind === "timeout") {
    // Bounds in the gaps between the bands of timeouts (see TIMEOUT_BANDS): never crossed.
    const t = anchor.timeout ?? 0;
    const below = TIMEOUT_GAPS.filter((g) => g < t).pop() ?? 0;
    const above = TIMEOUT_GAPS.find((g) => g > t) ?? TIMEOUT_GAPS.at(-1)!;
    const gaps = [rng.pick(TIMEOUT_GAPS), rng.pick(TIMEOUT_GAPS)].sort((a, b) => a - b);
    const [lo, hi] = rng.chance(0.75) ? [below, above] : gaps;
    const r = rng.int(5);
    // An exact timeout: a gap, which no entry has (an entry's exact value is not stable).
    f.timeout = r === 0 ? { min: lo } : r === 1 ? { max: hi } : r === 4 ? lo : { min: lo, max: hi };
  }
}

// --- Shrinking ---------------------------------------------------------------------------------

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Smaller filters than `f`: each with one condition fewer (never none at all): a key dropped,
 * a key of `reply` dropped, one part of a `labels`/`timeout`/NAT object dropped (a NAT object
 * also as `true`), or the negation made smaller; for shrinking a failing filter to a minimal one.
 */
export function smaller(f: Filter): Filter[] {
  const out: Filter[] = [];
  for (const k of Object.keys(f) as (keyof Filter)[]) {
    const v: unknown = f[k];
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
    if (k === "not") {
      const nots = (Array.isArray(v) ? v : [v]) as Filter[];
      if (nots.length > 1) {
        nots.forEach((_, i) => out.push({ ...f, not: nots.filter((_, j) => j !== i) }));
      } else for (const s of smaller(nots[0])) out.push({ ...f, not: s });
    } else if (isObj(v) && ["labels", "timeout", "srcNat", "dstNat", "anyNat"].includes(k)) {
      const parts = Object.keys(v);
      if (parts.length > 1) {
        for (const p of parts) {
          const w: Record<string, unknown> = { ...v };
          delete w[p];
          out.push({ ...f, [k]: w });
        }
      }
      if (k.endsWith("Nat")) out.push({ ...f, [k]: true });
    }
  }
  return out.filter((g) => Object.keys(g).length > 0);
}
