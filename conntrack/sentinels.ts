/**
 * Sentinel entries that prove a kernel-side flush filter before it is sent to a real table.
 *
 * A kernel-side flush (`IPCTNL_MSG_CT_DELETE` without a tuple) deletes whatever the kernel's
 * filter matches, and a kernel that ignores or inverts one attribute deletes the wrong entries
 * (Linux's `CTA_FILTER` compares IPv6 addresses inverted; kernels before 5.x ignore most
 * attributes on a flush). So before nfct flushes a table in the kernel with a filter of some
 * shape, it creates these sentinels in a private scratch network namespace (all at once, each in
 * a zone of its own), flushes them with the same request, and checks that the kernel deleted
 * exactly the ones userspace matches: one that meets every condition ({@link Sentinel.expect}
 * `true`) and, per condition, one that misses only that condition (`false`).
 * @module
 */
import type { Family } from "./address.ts";
import * as C from "./constants.ts";
import type { KernelConditions } from "./filter.ts";
import type { Flow } from "./flow.ts";
import { STATUS_BITS } from "./status.ts";
import { invertTuple, type Tuple } from "./tuple.ts";

/** One entry to try a kernel flush on, and whether the filter should delete it. */
export interface Sentinel {
  flow: Flow;
  expect: boolean;
  /** What it tests, for messages. */
  what: string;
}

/** Status bits a create may set (the kernel refuses or ignores the others). */
const SETTABLE_STATUS = (1 << 1) | (1 << 2); // SEEN_REPLY, ASSURED

const ADDR = {
  ipv4: ["10.255.0.1", "10.255.0.2", "10.255.0.3"],
  ipv6: ["fd00:5e:17::1", "fd00:5e:17::2", "fd00:5e:17::3"],
} as const;

/** A value of the same kind as `v` that differs from it. */
const otherAddr = (v: string, family: Family) => ADDR[family].find((a) => a !== v)!;
const otherPort = (v: number) => (v === 40001 ? 40002 : 40001);

/**
 * The sentinels for a filter's kernel conditions, or `undefined` when nfct cannot build a
 * telling set (a protocol it cannot create entries of, status bits a create cannot set): then
 * the flush goes through a dump instead.
 */
export function flushSentinels(c: KernelConditions): Sentinel[] | undefined {
  const proto = c.proto ?? C.IPPROTO_UDP;
  const ported = proto === C.IPPROTO_TCP || proto === C.IPPROTO_UDP;
  const icmp = proto === C.IPPROTO_ICMP ? "ipv4" : proto === C.IPPROTO_ICMPV6 ? "ipv6" : undefined;
  if (!ported && !icmp) return undefined;
  if (c.status && (c.status.mask & ~SETTABLE_STATUS) !== 0) return undefined;
  const families: Family[] = c.family ? [c.family] : icmp ? [icmp] : ["ipv4", "ipv6"];
  if (icmp && families[0] !== icmp) return undefined;

  const out: Sentinel[] = [];
  for (const family of families) {
    const hit = build(c, family, proto);
    out.push({ flow: hit, expect: true, what: `an ${family} entry that meets every condition` });
    const miss = (what: string, change: (f: Flow) => void) => {
      const f = build(c, family, proto);
      change(f);
      out.push({ flow: f, expect: false, what });
    };
    if (c.family) {
      const other: Family = family === "ipv4" ? "ipv6" : "ipv4";
      if (!icmp) {
        const ports = (t: KernelConditions["orig"]) => ({ sport: t.sport, dport: t.dport });
        const f = build(
          { ...c, family: other, orig: ports(c.orig), reply: ports(c.reply) },
          other,
          proto,
        );
        out.push({ flow: f, expect: false, what: `an ${other} entry` });
      }
    }
    if (c.proto !== undefined) {
      const other = proto === C.IPPROTO_UDP ? C.IPPROTO_TCP : C.IPPROTO_UDP;
      out.push({ flow: build(c, family, other), expect: false, what: "another protocol" });
    }
    for (const dir of ["orig", "reply"] as const) {
      const t = c[dir];
      if (t.src !== undefined) {
        miss(`another ${dir} source`, (f) => void (f[dir].src = otherAddr(t.src!, family)));
      }
      if (t.dst !== undefined) {
        miss(`another ${dir} destination`, (f) => void (f[dir].dst = otherAddr(t.dst!, family)));
      }
      if (t.sport !== undefined) {
        miss(`another ${dir} source port`, (f) => void (f[dir].sport = otherPort(t.sport!)));
      }
      if (t.dport !== undefined) {
        miss(`another ${dir} destination port`, (f) => void (f[dir].dport = otherPort(t.dport!)));
      }
    }
    if (c.mark) {
      const low = c.mark.mask & -c.mark.mask;
      miss("another mark", (f) => void (f.mark = ((f.mark ?? 0) ^ low) >>> 0));
    }
    if (c.status) {
      const { value, mask } = c.status;
      const bit = mask & -mask;
      miss("another status", (f) => void (f.status = names((value ^ bit) & SETTABLE_STATUS)));
    }
  }
  return out;
}

const names = (bits: number) =>
  STATUS_BITS.filter((_, i) => (bits & (1 << i)) !== 0) as Flow["status"];

/** An entry of `family` and `proto` that meets every condition of `c`. */
function build(c: KernelConditions, family: Family, proto: number): Flow {
  const [a1, a2] = ADDR[family];
  const orig: Tuple = { src: c.orig.src ?? a1, dst: c.orig.dst ?? a2 };
  if (proto === C.IPPROTO_ICMP || proto === C.IPPROTO_ICMPV6) {
    orig.type = proto === C.IPPROTO_ICMP ? 8 : 128;
    orig.code = 0;
    orig.id = 4242;
  } else {
    orig.sport = c.orig.sport ?? 40000;
    orig.dport = c.orig.dport ?? 40000;
  }
  let reply = invertTuple(orig, proto);
  const r = c.reply;
  if (
    r.src !== undefined || r.dst !== undefined || r.sport !== undefined || r.dport !== undefined
  ) {
    reply = { ...reply, src: r.src ?? reply.src, dst: r.dst ?? reply.dst };
    if (r.sport !== undefined) reply.sport = r.sport;
    if (r.dport !== undefined) reply.dport = r.dport;
  }
  const f: Flow = {
    family,
    proto: proto === C.IPPROTO_TCP
      ? "tcp"
      : proto === C.IPPROTO_UDP
      ? "udp"
      : proto === C.IPPROTO_ICMP
      ? "icmp"
      : "icmpv6",
    orig,
    reply,
    timeout: 60,
  };
  if (proto === C.IPPROTO_TCP) f.tcp = { state: "ESTABLISHED" };
  if (c.mark) f.mark = c.mark.value;
  if (c.status) f.status = names(c.status.value);
  return f;
}
