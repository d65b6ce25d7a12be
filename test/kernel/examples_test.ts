/**
 * Every example (examples/*.ts), run as a user runs it (a fresh process of this runtime):
 *
 * - `--help`/`-h` prints the usage and exits 0 without touching anything: under strace, no
 *   netlink socket, no namespace entered or made; an unknown option exits 2 with the synopsis,
 *   untouched too;
 * - a real run in this throwaway network namespace, on a table made here: what it prints agrees
 *   with that table (summary, top, doctor, demo, watch with IPv6 endpoints). flush_stale_udp.ts
 *   has its own end-to-end test with real packets (stale_udp_test.ts); watch.ts also with its
 *   IPv4 filter (one typed line per matching event).
 * @module
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { test } from "node:test";
import { Conntrack, type Flow } from "../../mod.ts";
import { traced } from "../_helpers/strace.ts";
import { assertThrowawayNetns, sh, trackLoopback } from "../_helpers/netns.ts";
import { isSentinel, listen, sentinel, stop } from "../_helpers/listen.ts";
import { ROOT, RUN_TS } from "../_helpers/run.ts";
import { waitFor } from "../_helpers/wait.ts";

assertThrowawayNetns();

const T = { timeout: 60000 };

function example(script: string, ...args: string[]) {
  return spawnSync(RUN_TS[0], [...RUN_TS.slice(1), `examples/${script}`, ...args], {
    cwd: ROOT,
    encoding: "utf8",
  });
}

/** 35 UDP (5 of them in zone 7), 20 TCP ESTABLISHED, 10 ICMP. */
function fill(ct: Conntrack): number {
  ct.flushAll();
  const flows: Flow[] = [];
  for (let i = 0; i < 65; i++) {
    const orig = { src: `10.31.0.${i + 1}`, dst: "10.32.0.1" };
    if (i < 35) {
      flows.push(
        {
          family: "ipv4",
          proto: "udp",
          orig: { ...orig, sport: 1000 + i, dport: 53 },
          timeout: 300,
          ...(i < 5 ? { zone: 7 } : {}),
        } as Flow,
      );
    } else if (i < 55) {
      flows.push(
        {
          family: "ipv4",
          proto: "tcp",
          orig: { ...orig, sport: 1000 + i, dport: 443 },
          timeout: 300,
          tcp: { state: "ESTABLISHED" },
        } as Flow,
      );
    } else {flows.push(
        {
          family: "ipv4",
          proto: "icmp",
          orig: { ...orig, type: 8, code: 0, id: i },
          timeout: 30,
        } as Flow,
      );}
  }
  assert.equal(ct.createMany(flows).created, flows.length);
  return flows.length;
}

test("summary.ts --json counts the table by protocol, state and zone", T, () => {
  using ct = Conntrack.open();
  const n = fill(ct);
  const r = example("summary.ts", "--json");
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as {
    total: number;
    protocols: Record<string, number>;
    states: Record<string, number>;
    zones: Record<string, number>;
  };
  assert.equal(s.total, n);
  assert.deepEqual(s.protocols, { "ipv4/udp": 35, "ipv4/tcp": 20, "ipv4/icmp": 10 });
  assert.deepEqual(s.states, { "tcp ESTABLISHED": 20 });
  assert.deepEqual(s.zones, { "0": 60, "7": 5 });
  ct.flushAll();
});

test(
  "top.ts says accounting is off (exit 1), and with it on lists the N flows with counters",
  T,
  () => {
    using ct = Conntrack.open();
    const before = sh("sysctl -n net.netfilter.nf_conntrack_acct").trim();
    try {
      sh("sysctl -qw net.netfilter.nf_conntrack_acct=0");
      fill(ct);
      const off = example("top.ts", "5", "--interval", "0.2");
      assert.equal(off.status, 1);
      assert.match(off.stderr, /Accounting is off \(net\.netfilter\.nf_conntrack_acct=0\)/);
      // Entries created while accounting is on carry counters (zero here: no packets).
      sh("sysctl -qw net.netfilter.nf_conntrack_acct=1");
      fill(ct);
      const on = example("top.ts", "5", "--interval=0.2");
      assert.equal(on.status, 0, on.stderr);
      const rows = on.stdout.split("\n").filter((l) => /10\.31\.0\.\d+/.test(l));
      assert.equal(rows.length, 5, on.stdout);
      assert.match(on.stdout, /SI units \(1 kB = 1000 bytes\)/);
      assert.match(on.stdout, /\(65 of 65 flows have counters\)/);
      const bad = example("top.ts", "zero");
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /usage: top\.ts \[N\]/);
    } finally {
      sh(`sysctl -qw net.netfilter.nf_conntrack_acct=${before}`);
      ct.flushAll();
    }
  },
);

test(
  "top.ts ranks real traffic by bytes/s: the busiest flow first, IPv6 as [addr]:port",
  T,
  async () => {
    using ct = Conntrack.open();
    ct.flushAll();
    const before = sh("sysctl -n net.netfilter.nf_conntrack_acct").trim();
    trackLoopback("nfctextop", { acct: 1 });
    const v4 = createSocket("udp4"), v6 = createSocket("udp6");
    const send = (s: typeof v4, bytes: number, port: number, host: string) =>
      new Promise<void>((r) => s.send(new Uint8Array(bytes), port, host, () => r()));
    try {
      // The flows exist (with counters) before the first dump; then traffic during the interval.
      await send(v4, 1, 5301, "127.0.0.1");
      await send(v6, 1, 5302, "::1");
      const child = spawn(RUN_TS[0], [...RUN_TS.slice(1), "examples/top.ts", "--interval", "1.5"], {
        cwd: ROOT,
      });
      let out = "", err = "";
      child.stdout.on("data", (b) => (out += b));
      child.stderr.on("data", (b) => (err += b));
      const done = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
      let exited = false;
      void done.then(() => (exited = true));
      while (!exited) {
        for (let i = 0; i < 10; i++) await send(v4, 1200, 5301, "127.0.0.1");
        await send(v6, 100, 5302, "::1");
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(await done, 0, err);
      const rows = out.split("\n").filter((l) => / -> /.test(l));
      assert.match(
        rows[0],
        /^ +\d+\.\d +\d+\.\d +\d+\.\d {2}udp 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:5301$/,
        out,
      );
      assert.ok(Number(rows[0].trim().split(/ +/)[0]) > 0, "a rate in kB/s");
      assert.ok(rows.some((l) => /udp \[::1\]:\d+ -> \[::1\]:5302$/.test(l)), out);
    } finally {
      v4.close();
      v6.close();
      sh(`nft delete table inet nfctextop; sysctl -qw net.netfilter.nf_conntrack_acct=${before}`);
      ct.flushAll();
    }
  },
);

test(
  "doctor.ts finds ctnetlink with the table's entry count and the kernel-side flush filters, exit 0",
  T,
  () => {
    using ct = Conntrack.open();
    const n = fill(ct);
    const r = example("doctor.ts");
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^ok    ctnetlink: ${n} entries`, "m"));
    assert.match(r.stdout, /^ok {4}CAP_NET_ADMIN/m);
    assert.match(
      r.stdout,
      /^ok {4}kernel-side filtered flush: protocol yes, IPv4 address yes, mark yes, status yes, family yes \(IPv6 addresses are always matched in userspace\)$/m,
    );
    assert.equal(ct.count(), n, "doctor's probes leave the table as it was");
    ct.flushAll();
  },
);

test("demo.ts fills, lists and empties a table, with its units stated", T, () => {
  using ct = Conntrack.open();
  ct.flushAll();
  const r = example("demo.ts", "3000");
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    /^nfct demo on (deno|bun): 3,000 entries in a throwaway network namespace$/m,
  );
  assert.match(r.stdout, /^fill \(createMany\) +3,000 +[\d.]+ s /m);
  assert.match(r.stdout, /^RSS \d+ MiB \(IEC: 1 MiB = 2\^20 bytes\)/m);
  assert.equal(ct.count(), 0, "the demo leaves the table empty");
});

test("watch.ts prints IPv6 endpoints as [addr]:port and stops on SIGINT", T, async () => {
  using ct = Conntrack.open();
  ct.flushAll();
  const w = listen("watch.ts", [
    ...RUN_TS,
    "examples/watch.ts",
    "--proto",
    "udp",
    "--types",
    "new",
  ]);
  try {
    await waitFor(() => w.err.includes("listening"), "watch.ts to listen", 20000, 50);
    // Subscribed a moment after it says so: create until one event shows.
    let sport = 1000;
    await waitFor(
      () => {
        ct.create({
          family: "ipv6",
          proto: "udp",
          orig: { src: "2001:db8::1", dst: "2001:db8::2", sport: ++sport, dport: 53 },
          timeout: 60,
        });
        return w.out.includes("2001:db8::2");
      },
      "an event line",
      20000,
      50,
    );
    assert.match(
      w.out,
      /^new {5}udp \[2001:db8::1\]:\d+ -> \[2001:db8::2\]:53 timeout=\d+ portId=\d+ time=/m,
    );
  } finally {
    stop(w, "SIGINT");
  }
  assert.equal(await w.done, 0, w.err);
  assert.match(w.err, /watch\.ts: \d+ events\n$/);
  ct.flushAll();
});

test(
  "examples/watch.ts prints one typed line per matching event and stops on SIGINT",
  T,
  async () => {
    // Events without kernel timestamps (watch.ts marks those with " (kernel)").
    sh("sysctl -qw net.netfilter.nf_conntrack_timestamp=0");
    using ct = Conntrack.open();
    ct.flushAll();
    const argv = [...RUN_TS, "examples/watch.ts"];
    const w = listen("watch.ts", [...argv, "--proto", "udp", "--port", "53"]);
    try {
      await waitFor(() => w.err.includes("listening"), "watch.ts to start");
      let port = 61000;
      await waitFor(() => {
        sentinel(ct, ++port);
        return w.out.includes("10.255.255.1");
      }, "watch.ts to see events");
      ct.create({
        proto: "udp",
        orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 53 },
        timeout: 100,
      });
      ct.create({
        proto: "udp",
        orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 54 },
        timeout: 100,
      }); // other port
      ct.create({
        proto: "tcp",
        orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 53 },
        timeout: 100,
        tcp: { state: "ESTABLISHED" },
      }); // other proto
      ct.flushAll();
      await waitFor(
        () => w.out.includes("destroy udp 10.0.0.1:1000 -> 10.0.0.2:53"),
        "the destroy line",
      );
    } finally {
      stop(w, "SIGINT");
    }
    assert.equal(await w.done, 0, w.err);
    const lines = w.out.split("\n").filter((l) => l && !isSentinel(l));
    assert.deepEqual(lines.map((l) => l.replace(/ timeout=\d+ portId=\d+ time=\S+/, "")), [
      "new     udp 10.0.0.1:1000 -> 10.0.0.2:53",
      "destroy udp 10.0.0.1:1000 -> 10.0.0.2:53",
    ]);
    for (const l of lines) {
      assert.match(l, new RegExp(` portId=${ct.portId} time=\\d{4}-\\d\\d-\\d\\dT`));
    }
    assert.match(w.err, /watch\.ts: \d+ events\n$/);
  },
);

/** Every example with arguments it could run with (so that only the option decides). */
const EXAMPLES: [string, ...string[]][] = [
  ["demo.ts", "10"],
  ["doctor.ts"],
  ["flush_stale_udp.ts", "10.88.0.5", "8080"],
  ["summary.ts"],
  ["top.ts", "5"],
  ["watch.ts"],
];

/** The calls that would touch the table or a namespace, out of a trace. */
const touching = (calls: string[]) =>
  calls.filter((c) =>
    /AF_NETLINK|setns\(|unshare\(/.test(c) && !/= -1 /.test(c) || /ns\/net/.test(c)
  );

test("the trace sees what an example touches on a real run (the check below can fail)", T, () => {
  const r = traced([...RUN_TS, "examples/summary.ts"], {
    cwd: ROOT,
    syscalls: ["socket", "setns", "unshare"],
  });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(
    touching(r.calls).some((c) => /^\d+ +socket\(AF_NETLINK, /.test(c)),
    r.calls.join("\n"),
  );
});

for (const [script, ...args] of EXAMPLES) {
  test(`${script} --help and -h print the usage and exit 0, touching nothing (strace)`, T, () => {
    for (const help of ["--help", "-h"]) {
      const r = traced([...RUN_TS, `examples/${script}`, ...args, help], {
        cwd: ROOT,
        syscalls: ["socket", "setns", "unshare", "openat", "readlink", "readlinkat"],
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^usage: ${script.replace(".", "\\.")}`));
      assert.equal(r.stderr, "");
      assert.ok(
        r.calls.some((c) => c.startsWith("socket(") || /openat\(/.test(c)),
        "the trace is not empty",
      );
      assert.deepEqual(touching(r.calls), [], `${script} ${help}`);
    }
  });

  test(
    `${script} refuses an unknown option with exit 2 and its synopsis, touching nothing`,
    T,
    () => {
      const r = traced([...RUN_TS, `examples/${script}`, ...args, "--bogus"], {
        cwd: ROOT,
        syscalls: ["socket", "setns", "unshare"],
      });
      assert.equal(r.status, 2);
      assert.equal(r.stdout, "");
      assert.match(
        r.stderr,
        new RegExp(
          `^${script.replace(".", "\\.")}: unknown option --bogus\nusage: ${
            script.replace(".", "\\.")
          }`,
        ),
      );
      assert.match(r.stderr, /\(--help for more\)\n$/);
      assert.deepEqual(touching(r.calls), []);
    },
  );
}
