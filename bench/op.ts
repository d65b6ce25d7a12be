/**
 * One library operation of the whole-table benchmark, in a process of its own: bench/run.mjs
 * starts it afresh for every timed run (and for the untimed refills), inside a throwaway network
 * namespace, and times the whole process from outside. Uses only mod.ts. Prints one JSON line:
 * what the operation did (entries seen or deleted, the way a flush went) and its in-process time.
 *
 *   op.ts fill N [all|udp|cidr|netavark]   create the entries of that part of the table (default
 *                                          all; those already there are left), then check that
 *                                          the table holds all N
 *   op.ts dump [readahead]                 dump() (the default, or with readAhead: true) into typed flows;
 *                                          also reports the process's peak RSS
 *   op.ts flush-udp                        flush({ proto: "udp" }) (the kernel way, as "auto" chooses)
 *   op.ts delete-cidr                      flush({ dst: CIDR }, { via: "dump" }): half the table
 *   op.ts netavark-any                     flush([f1, f2, f3], { via: "dump" }): one pass
 *   op.ts netavark-three                   flush(f1); flush(f2); flush(f3): as "auto" chooses
 *   op.ts noop                             nothing: the runtime's start and loading nfct
 *
 * The table (entry i of N): i % 100 = 99 is UDP from a client to a container (10.88.0.5:8080),
 * 98 is TCP from the container outwards, 97 is UDP to a host port 8080; of the rest by i % 20:
 * 0 is IPv6 (UDP or TCP), 1–8 TCP, 9–19 UDP (about 55% UDP, 40% TCP, 5% IPv6); IPv4 entries
 * with an even i go to 198.51.100.1 (half the table: the CIDR delete), odd ones to 192.0.2.1.
 */
import { assertThrowawayNetns, Conntrack, type Filter, type Flow } from "../mod.ts";

// First of all, before any socket is opened: never on the host's table, whatever it holds.
assertThrowawayNetns(
  "fill and empty a conntrack table for the benchmark (run it with node bench/run.mjs)",
);

const CONTAINER = "10.88.0.5";
const CIDR = "198.51.100.0/24";
/** The netavark case: a container's entries by reply source, by reply destination, and its host port. */
const NETAVARK: Filter[] = [
  { family: "ipv4", reply: { src: CONTAINER } },
  { family: "ipv4", reply: { dst: CONTAINER } },
  { proto: "udp", dport: 8080 },
];
const TIMEOUT = 86400; // a 1M run takes minutes: nothing may time out meanwhile

const ipv4 = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const port = (i: number) => 1024 + (i % 60000);

/** Entry `i` of the benchmark table (see the file comment). */
function flow(i: number): Flow {
  const r = i % 100;
  if (r === 99) {
    return {
      family: "ipv4",
      proto: "udp",
      orig: { src: ipv4(i), dst: CONTAINER, sport: port(i), dport: 8080 },
      timeout: TIMEOUT,
    } as Flow;
  }
  if (r === 98) {
    const j = Math.floor(i / 100);
    const dst = `203.0.113.${Math.floor(j / 60000) % 256}`;
    return {
      family: "ipv4",
      proto: "tcp",
      orig: { src: CONTAINER, dst, sport: port(j), dport: 443 },
      timeout: TIMEOUT,
      tcp: { state: "ESTABLISHED" },
    } as Flow;
  }
  if (r === 97) {
    return {
      family: "ipv4",
      proto: "udp",
      orig: { src: ipv4(i), dst: "192.0.2.1", sport: port(i), dport: 8080 },
      timeout: TIMEOUT,
    } as Flow;
  }
  const k = i % 20;
  if (k === 0) {
    const orig = {
      src: `fd00::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`,
      dst: "fd00::1",
      sport: port(i),
      dport: 443,
    };
    return i % 40 === 0 ? { family: "ipv6", proto: "udp", orig, timeout: TIMEOUT } as Flow : {
      family: "ipv6",
      proto: "tcp",
      orig,
      timeout: TIMEOUT,
      tcp: { state: "ESTABLISHED" },
    } as Flow;
  }
  const dst = i & 1 ? "192.0.2.1" : "198.51.100.1";
  if (k <= 8) {
    return {
      family: "ipv4",
      proto: "tcp",
      orig: { src: ipv4(i), dst, sport: port(i), dport: 443 },
      timeout: TIMEOUT,
      tcp: { state: "ESTABLISHED" },
    } as Flow;
  }
  return {
    family: "ipv4",
    proto: "udp",
    orig: { src: ipv4(i), dst, sport: port(i), dport: 53 },
    timeout: TIMEOUT,
  } as Flow;
}

/** Which entries each deleting operation removes, by index. */
const PARTS: Record<string, (i: number) => boolean> = {
  all: () => true,
  udp: (i) => flow(i).proto === "udp",
  cidr: (i) => {
    const f = flow(i);
    return f.family === "ipv4" && f.orig.dst === "198.51.100.1";
  },
  netavark: (i) => i % 100 >= 97,
};

function fill(n: number, part: string): Record<string, unknown> {
  const pred = PARTS[part];
  if (!Number.isInteger(n) || n < 1 || !pred) {
    throw new TypeError(`Cannot fill: usage: op.ts fill N [${Object.keys(PARTS).join("|")}]`);
  }
  using ct = Conntrack.open();
  const t = performance.now();
  const r = ct.createMany((function* () {
    for (let i = 0; i < n; i++) if (pred(i)) yield flow(i);
  })());
  const s = (performance.now() - t) / 1000;
  const bad = r.failed.filter((f) => f.error.code !== "EEXIST");
  if (bad.length) throw bad[0].error;
  const count = ct.count();
  if (count !== n) throw new Error(`Cannot fill: the table holds ${count} entries, expected ${n}`);
  const parts: Record<string, number> = {};
  for (const [name, p] of Object.entries(PARTS)) {
    let c = 0;
    for (let i = 0; i < n; i++) if (p(i)) c++;
    parts[name] = c;
  }
  return { created: r.created, seconds: s, parts };
}

/**
 * The runtime's own argv and file reading, not node:process and node:fs: their first import
 * costs Deno ~40 ms, which would be charged to every library row (nfct itself imports no node:
 * module).
 */
const rt = globalThis as unknown as {
  Deno?: { args: string[]; readTextFileSync(path: string): string };
  process: { argv: string[] };
};
/** /proc/self/status; on Bun through node:fs, which Bun has built in (no import cost). */
const procStatus: () => string = rt.Deno
  ? () => rt.Deno!.readTextFileSync("/proc/self/status")
  : ((fs) => () => fs.readFileSync("/proc/self/status", "utf8"))(await import("node:fs"));
const peakRss = () => Number(/VmHWM:\s+(\d+) kB/.exec(procStatus())![1]) * 1024;

function run(op: string, args: string[]): Record<string, unknown> {
  if (op === "fill") return fill(Number(args[0]), args[1] ?? "all");
  if (op === "noop") return {};
  using ct = Conntrack.open();
  const t = performance.now();
  const out: Record<string, unknown> = {};
  if (op === "dump") {
    let n = 0, sum = 0;
    // dump(): the default ("auto": a worker thread on big tables); "readahead": always one;
    // "direct": never one.
    const flows = args[0] === "readahead"
      ? ct.dump(undefined, { readAhead: true })
      : args[0] === "direct"
      ? ct.dump(undefined, { readAhead: false })
      : ct.dump();
    for (const f of flows) {
      n++;
      sum += f.orig.sport ?? 0; // touch each flow
    }
    out.entries = n;
    out.check = sum > 0;
  } else if (op === "flush-udp") {
    out.via = ct.flush({ proto: "udp" }).via;
  } else if (op === "delete-cidr") {
    out.deleted = ct.flush({ dst: CIDR }, { via: "dump" }).deleted;
  } else if (op === "netavark-any") {
    out.deleted = ct.flush(NETAVARK, { via: "dump" }).deleted;
  } else if (op === "netavark-three") {
    out.via = NETAVARK.map((f) => ct.flush(f).via).join(",");
  } else {
    throw new TypeError(
      `Cannot run the benchmark operation: unknown operation ${JSON.stringify(op)}`,
    );
  }
  out.seconds = (performance.now() - t) / 1000;
  if (op === "dump") out.peakRss = peakRss();
  return out;
}

const [op = "", ...args] = rt.Deno ? rt.Deno.args : rt.process.argv.slice(2);
console.log(JSON.stringify(run(op, args)));
