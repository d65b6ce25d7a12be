/**
 * The admin examples summary.ts, top.ts and doctor.ts, run as a user runs them (a fresh
 * process of this runtime) on a table made here: what they print agrees with that table.
 * (flush_stale_udp.ts: stale_udp_test.ts; watch.ts: cli_events_test.ts.) In a throwaway
 * network namespace.
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { Conntrack, type Flow } from "../../mod.ts";
import { assertThrowawayNetns, sh } from "../_helpers/netns.ts";
import { ROOT, RUN_TS } from "../_helpers/run.ts";

assertThrowawayNetns();

const T = { timeout: 60000 };

function example(script: string, ...args: string[]) {
  return spawnSync(RUN_TS[0], [...RUN_TS.slice(1), `examples/${script}`, ...args], { cwd: ROOT, encoding: "utf8" });
}

/** 35 UDP (5 of them in zone 7), 20 TCP ESTABLISHED, 10 ICMP. */
function fill(ct: Conntrack): number {
  ct.flushAll();
  const flows: Flow[] = [];
  for (let i = 0; i < 65; i++) {
    const orig = { src: `10.31.0.${i + 1}`, dst: "10.32.0.1" };
    if (i < 35) flows.push({ family: "ipv4", proto: "udp", orig: { ...orig, sport: 1000 + i, dport: 53 }, timeout: 300, ...(i < 5 ? { zone: 7 } : {}) } as Flow);
    else if (i < 55) flows.push({ family: "ipv4", proto: "tcp", orig: { ...orig, sport: 1000 + i, dport: 443 }, timeout: 300, tcp: { state: "ESTABLISHED" } } as Flow);
    else flows.push({ family: "ipv4", proto: "icmp", orig: { ...orig, type: 8, code: 0, id: i }, timeout: 30 } as Flow);
  }
  assert.equal(ct.createMany(flows).created, flows.length);
  return flows.length;
}

test("summary.ts --json counts the table by protocol, state and zone", T, () => {
  using ct = Conntrack.open();
  const n = fill(ct);
  const r = example("summary.ts", "--json");
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { total: number; protocols: Record<string, number>; states: Record<string, number>; zones: Record<string, number> };
  assert.equal(s.total, n);
  assert.deepEqual(s.protocols, { "ipv4/udp": 35, "ipv4/tcp": 20, "ipv4/icmp": 10 });
  assert.deepEqual(s.states, { "tcp ESTABLISHED": 20 });
  assert.deepEqual(s.zones, { "0": 60, "7": 5 });
  ct.flushAll();
});

test("top.ts says accounting is off (exit 1), and with it on lists the N flows with counters", T, () => {
  using ct = Conntrack.open();
  const before = sh("sysctl -n net.netfilter.nf_conntrack_acct").trim();
  try {
    sh("sysctl -qw net.netfilter.nf_conntrack_acct=0");
    fill(ct);
    const off = example("top.ts", "5");
    assert.equal(off.status, 1);
    assert.match(off.stderr, /Accounting is off \(net\.netfilter\.nf_conntrack_acct=0\)/);
    // Entries created while accounting is on carry counters (zero here: no packets).
    sh("sysctl -qw net.netfilter.nf_conntrack_acct=1");
    fill(ct);
    const on = example("top.ts", "5");
    assert.equal(on.status, 0, on.stderr);
    const rows = on.stdout.split("\n").filter((l) => /10\.31\.0\.\d+/.test(l));
    assert.equal(rows.length, 5, on.stdout);
    const bad = example("top.ts", "zero");
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /usage: top\.ts \[N\]/);
  } finally {
    sh(`sysctl -qw net.netfilter.nf_conntrack_acct=${before}`);
    ct.flushAll();
  }
});

test("doctor.ts finds ctnetlink with the table's entry count and the kernel-side flush filters, exit 0", T, () => {
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
});
