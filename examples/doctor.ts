#!/usr/bin/env -S deno run -A
/**
 * Checks what nfct can do here: ctnetlink reachable, privileges, conntrack sysctls
 * (accounting, timestamps, table size, hash buckets), and which filtered flushes this kernel
 * does by itself (`canFlushInKernel()`, tried on sentinel entries in a private scratch network
 * namespace: this table is never written).
 *
 *   deno run -A examples/doctor.ts
 *   bun examples/doctor.ts
 *
 * Reading needs no privilege beyond opening the socket; the count, the statistics and the
 * flush probe need CAP_NET_ADMIN in the network namespace. Deno needs -A (FFI).
 * In a throwaway namespace: node scripts/netns.mjs bun examples/doctor.ts
 */
import { Conntrack, type Filter, host, NetlinkError, readSysctl, SyscallError } from "../mod.ts";
import { exampleArgs } from "./_args.ts";

exampleArgs(`usage: doctor.ts

Checks what nfct can do in this network namespace: ctnetlink, CAP_NET_ADMIN, the conntrack
sysctls, per-CPU statistics, and which filtered flushes the kernel does by itself (tried on
sentinel entries in a private scratch namespace; this table is never written). Exit 1 when
something nfct needs is missing.
`);

let problems = 0;
const ok = (what: string, detail = "") =>
  console.log(`ok    ${what}${detail ? ": " + detail : ""}`);
const warn = (what: string, detail: string) => console.log(`warn  ${what}: ${detail}`);
const bad = (what: string, detail: string) => {
  problems++;
  console.log(`FAIL  ${what}: ${detail}`);
};
const read = (p: string) => {
  try {
    return host.readTextFile(p).trim();
  } catch {
    return undefined;
  }
};

console.log(
  `runtime: ${
    typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "deno"
  }, kernel ${readSysctl("kernel.osrelease") ?? "?"}`,
);
const uid = /^Uid:\s*\d+\s+(\d+)/m.exec(read("/proc/self/status") ?? "")?.[1] ?? "?"; // effective uid
const capEff = /CapEff:\s*([0-9a-f]+)/.exec(read("/proc/self/status") ?? "")?.[1];
const netAdmin = capEff !== undefined && (BigInt("0x" + capEff) & (1n << 12n)) !== 0n;
if (netAdmin) ok("CAP_NET_ADMIN", `uid ${uid}`);
else {warn(
    "CAP_NET_ADMIN",
    `missing (uid ${uid}): run as root, or in a namespace of your own with unshare -rn`,
  );}

let ct: Conntrack | undefined;
try {
  ct = Conntrack.open();
  const g = ct.globalStats();
  ok("ctnetlink", `${g.entries} entries, nf_conntrack_max ${g.maxEntries}`);
} catch (e) {
  if (e instanceof SyscallError || e instanceof NetlinkError) {
    bad(
      "ctnetlink",
      `${e.message}${
        e.code === "EPROTONOSUPPORT" || e.code === "ENOENT"
          ? " (modprobe nf_conntrack_netlink)"
          : ""
      }`,
    );
  } else bad("ctnetlink", String(e));
}

const sysctls: [string, (v: string) => void][] = [
  [
    "nf_conntrack_acct",
    (v) =>
      v === "1" ? ok("accounting", "on (counters in -L, rates in nfct top)") : warn(
        "accounting",
        "off: sysctl -w net.netfilter.nf_conntrack_acct=1 (nfct top switches it on for its run)",
      ),
  ],
  [
    "nf_conntrack_timestamp",
    (v) =>
      v === "1"
        ? ok("timestamps", "on")
        : warn("timestamps", "off: sysctl -w net.netfilter.nf_conntrack_timestamp=1"),
  ],
  ["nf_conntrack_max", (v) => ok("nf_conntrack_max", v)],
  ["nf_conntrack_buckets", (v) => ok("nf_conntrack_buckets", v)],
  ["nf_conntrack_count", (v) => ok("nf_conntrack_count", v)],
];
for (const [name, show] of sysctls) {
  const v = readSysctl(`net.netfilter.${name}`);
  if (v === undefined) warn(name, "not readable (nf_conntrack not loaded in this namespace yet?)");
  else show(v);
}

if (ct) {
  try {
    const s = ct.stats();
    ok(
      "per-CPU statistics",
      `${s.length} CPUs, ${s.reduce((a, c) => a + c.drop + c.earlyDrop, 0)} drops`,
    );
    // Tried on sentinels in a private scratch namespace: this table is never touched.
    const yes = (b: boolean) => (b ? "yes" : "no");
    const k = (f: Filter) => yes(ct!.canFlushInKernel(f));
    ok(
      "kernel-side filtered flush",
      `protocol ${k({ proto: "udp" })}, IPv4 address ${
        k({ family: "ipv4", reply: { src: "10.0.0.1" } })
      }, ` +
        `mark ${k({ mark: 1 })}, status ${k({ status: ["ASSURED"] })}, family ${
          k({ family: "ipv6" })
        } ` +
        "(IPv6 addresses are always matched in userspace)",
    );
  } catch (e) {
    bad("statistics / flush probe", e instanceof Error ? e.message : String(e));
  }
  ct.close();
}
host.exit(problems ? 1 : 0);
