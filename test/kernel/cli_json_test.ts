/**
 * Every `nfct -o json` line of every command against schema/nfct-output.schema.json, on a real
 * table in a throwaway namespace: TCP and UDP traffic over 127.0.0.1 and ::1 (counters and
 * timestamps on, a labelled entry), a varied created table (ICMP/ICMPv6, SCTP, GRE, zones,
 * marks, NAT, labels), FTP masters with IPv4 and IPv6 expectations.
 *
 * 1. -L (all, -f ipv6, dying), -G, -U, -D, -S, -C, -L/-G/-S/-C expect: each line validates
 *    as its kind (Ajv, strict, keys in the schema's order); the counts agree with conntrack(8).
 * 2. -E -o json and -E expect -o json: the events of a flow and an expectation made, changed
 *    and deleted.
 * 3. `nfct top --once -o json`: one line with the schema version.
 * 4. `-L -o json` restored by `nfct -R` into a fresh namespace lists the same entries there
 *    (what a restore keeps: everything but counters, ids, timestamps and ticking timeouts).
 * 5. `-L -o csv` and `-L expect -o csv` read back as the cells of `-o json` of the same table.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import process from "node:process";
import { after, test } from "node:test";
import { Conntrack, type Flow, flowFromJSON, restorable } from "../../mod.ts";
import { csvRecords, expectedCell } from "../_helpers/csv.ts";
import { randomTable } from "../_helpers/filter_property_table.ts";
import { createFtpMaster, ftpExpectation, ftpMaster } from "../_helpers/ftp.ts";
import {
  addNetns,
  assertThrowawayNetns,
  eventSockets,
  sh,
  trackLoopback,
} from "../_helpers/netns.ts";
import { type LineKind, textProblems } from "../_helpers/output_schema.ts";
import { Rng } from "../_helpers/rng.ts";
import { exec, NFCT, ROOT } from "../_helpers/run.ts";
import { loopbackTraffic, type Traffic } from "../_helpers/traffic.ts";
import { waitFor } from "../_helpers/wait.ts";

assertThrowawayNetns();

const T = { timeout: 240000 };
const LABEL_RULE = "udp dport 9 ct label set 127";
const TMP = mkdtempSync("/tmp/nfct-json-");

/** nfct's stdout; the run must succeed. */
function nfct(args: string[], prefix: string[] = []): string {
  const r = exec([...prefix, ...NFCT, ...args]);
  assert.equal(r.code, 0, `nfct ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}
const conntrack = (args: string[]) => exec(["conntrack", ...args]).stdout;
const lines = (text: string) => text.split("\n").filter((l) => l !== "");

/** The JSON lines of `text`, after checking every one is a valid line of kind `kind`. */
function valid(text: string, kind: LineKind, what: string): Record<string, unknown>[] {
  assert.deepEqual(textProblems(text, kind), [], what);
  return lines(text).map((l) => JSON.parse(l));
}

let traffic: Traffic | undefined;
let filled: Promise<void> | undefined;

/** The table every test reads (made once). */
function table(): Promise<void> {
  return filled ??= (async () => {
    trackLoopback("nfct_json", { acct: 1, timestamp: 1 }, [LABEL_RULE]);
    using ct = Conntrack.open();
    ct.flushExpect();
    ct.flushAll();
    traffic = await loopbackTraffic({ closed: 2, unansweredPort: 9 });
    const specs = randomTable(new Rng(0x17), 120, { nat: true, labels: true });
    assert.equal(ct.createMany(specs).failed.length, 0);
    for (let i = 1; i <= 4; i++) createFtpMaster(ct, ftpMaster(i, i === 4));
    ct.createExpect(ftpExpectation(ftpMaster(1), 50001));
    ct.createExpect(ftpExpectation(ftpMaster(2), 50002, { flags: ["PERMANENT"] }));
    ct.createExpect(ftpExpectation(ftpMaster(3), 50003, { proto: "udp" }));
    ct.createExpect(ftpExpectation(ftpMaster(4, true), 50004));
  })();
}

after(async () => {
  await traffic?.close();
  exec(["conntrack", "-F"]);
  exec(["conntrack", "-F", "expect"]);
  if (filled) sh("nft delete table inet nfct_json");
  sh("sysctl -qw net.netfilter.nf_conntrack_acct=0 net.netfilter.nf_conntrack_timestamp=0");
  rmSync(TMP, { recursive: true, force: true });
});

const E1 = ["-s", "10.40.1.1", "-d", "10.40.0.1", "-p", "tcp", "--sport", "0", "--dport", "50001"];

test(
  "every line of -L, -G, -U, -D, -S, -C and of -L/-G/-S/-C expect validates; counts agree with conntrack",
  T,
  async () => {
    await table();
    const all = valid(nfct(["-L", "-o", "json"]), "flow", "-L");
    assert.equal(all.length, Number(conntrack(["-C"])));
    const count = valid(nfct(["-C", "-o", "json"]), "count", "-C");
    assert.deepEqual(count, [{ v: 1, count: all.length }]);
    const protos = new Set(all.map((f) => `${f.family} ${f.proto}`));
    for (const p of ["ipv4 tcp", "ipv6 tcp", "ipv4 udp", "ipv6 udp", "ipv4 icmp", "ipv6 icmpv6"]) {
      assert.ok(protos.has(p), `${p} in ${[...protos]}`);
    }
    for (const k of ["counters", "timestamp", "labels", "helper", "zone", "tcp", "sctp"]) {
      assert.ok(all.some((f) => f[k] !== undefined), `some entry has ${k}`);
    }
    const statuses = all.flatMap((f) => (f.status ?? []) as string[]);
    assert.ok(statuses.includes("SRC_NAT_DONE") && statuses.includes("DST_NAT_DONE"));
    assert.ok(all.every((f) => f.synproxy === undefined), "no entry here is SYN-proxied");

    const six = valid(nfct(["-L", "-f", "ipv6", "-o", "json"]), "flow", "-L -f ipv6");
    assert.equal(six.length, all.filter((f) => f.family === "ipv6").length);
    valid(nfct(["-L", "dying", "-o", "json"]), "flow", "-L dying");

    const m = ftpMaster(1);
    const get = ["-p", "tcp", "-s", m.src, "-d", m.dst, "--sport", `${m.sport}`, "--dport", "21"];
    const got = valid(nfct(["-G", ...get, "-o", "json"]), "flow", "-G");
    assert.equal(got.length, 1);
    assert.equal((got[0].orig as Flow["orig"]).sport, m.sport);

    using ct = Conntrack.open();
    for (let i = 0; i < 3; i++) {
      ct.create({
        proto: "udp",
        orig: { src: "10.17.0.1", dst: "10.17.0.2", sport: 1000 + i, dport: 53 },
        timeout: 600,
      });
    }
    const updated = valid(
      nfct(["-U", "-s", "10.17.0.1", "-p", "udp", "-m", "7", "-o", "json"]),
      "flow",
      "-U",
    );
    assert.equal(updated.length, 3);
    assert.ok(updated.every((f) => f.mark === 7));
    const deleted = valid(nfct(["-D", "-s", "10.17.0.1", "-o", "json"]), "flow", "-D");
    assert.equal(deleted.length, 3);

    const cpus = valid(nfct(["-S", "-o", "json"]), "cpuStats", "-S");
    assert.deepEqual(
      cpus.map((c) => c.cpu),
      lines(conntrack(["-S"])).map((l) => Number(/^cpu=(\d+)/.exec(l)![1])),
    );

    const exps = valid(nfct(["-L", "expect", "-o", "json"]), "expectation", "-L expect");
    assert.equal(exps.length, lines(conntrack(["-L", "expect"])).length);
    assert.equal(exps.length, 3);
    const exp6 = valid(
      nfct(["-L", "expect", "-f", "ipv6", "-o", "json"]),
      "expectation",
      "-f ipv6",
    );
    assert.deepEqual(exp6.map((e) => e.family), ["ipv6"]);
    const one = valid(
      nfct(["-G", "expect", ...E1, "--reply-port-src", "1", "--reply-port-dst", "2", "-o", "json"]),
      "expectation",
      "-G expect",
    );
    assert.equal(one.length, 1);
    const expCount = valid(nfct(["-C", "expect", "-o", "json"]), "count", "-C expect");
    assert.deepEqual(expCount, [{ v: 1, count: Number(conntrack(["-C", "expect"])) }]);
    const expCpus = valid(nfct(["-S", "expect", "-o", "json"]), "expectCpuStats", "-S expect");
    assert.equal(expCpus.length, cpus.length);
    assert.ok(expCpus.reduce((s, c) => s + (c.create as number), 0) >= 4);
  },
);

interface Listener {
  proc: ChildProcess;
  out: string;
  done: Promise<number | null>;
}

function listen(args: string[]): Listener {
  const proc = spawn(NFCT[0], [...NFCT.slice(1), ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1" },
  });
  const l: Listener = { proc, out: "", done: undefined as never };
  proc.stdout!.setEncoding("utf8").on("data", (d: string) => (l.out += d));
  proc.stderr!.resume();
  l.done = new Promise((r) => proc.on("exit", (code) => r(code)));
  return l;
}

test("every line of -E -o json and -E expect -o json validates", T, async () => {
  await table();
  const flows = listen(["-E", "-o", "json"]);
  const expects = listen(["-E", "expect", "-o", "json"]);
  try {
    await waitFor(
      () => [flows, expects].every((l) => eventSockets(l.proc.pid!).length > 0),
      "both listeners to subscribe",
      60000,
      20,
    );
    using ct = Conntrack.open();
    const f = {
      proto: "udp" as const,
      orig: { src: "10.18.0.1", dst: "10.18.0.2", sport: 7, dport: 53 },
      timeout: 600,
    };
    ct.create(f);
    ct.update({ ...f, mark: 9 });
    ct.delete(f);
    const m = { ...ftpMaster(9), src: "10.18.0.9" };
    createFtpMaster(ct, m);
    ct.createExpect(ftpExpectation(m, 50009));
    ct.delete({ proto: "tcp", orig: m }); // and its expectation with it
    await waitFor(
      () =>
        flows.out.includes(
          '"destroy","flow":{"family":"ipv4","proto":"tcp","orig":{"src":"10.18.0.9"',
        ) &&
        expects.out.includes('"expectDestroy"'),
      "the events",
      30000,
      20,
    );
  } finally {
    for (const l of [flows, expects]) process.kill(l.proc.pid!, "SIGTERM");
  }
  assert.deepEqual(await Promise.all([flows.done, expects.done]), [0, 0]);
  const ev = valid(flows.out, "flowEvent", "-E");
  const mine = ev.filter((e) => (e.flow as Flow).orig.src === "10.18.0.1").map((e) => e.type);
  assert.deepEqual(mine, ["new", "update", "destroy"]);
  const ex = valid(expects.out, "expectEvent", "-E expect");
  assert.deepEqual(ex.map((e) => e.type), ["expectNew", "expectDestroy"]);
});

test("nfct top --once -o json: one valid line with the schema version", T, async () => {
  await table();
  const out = nfct(["top", "--once", "-o", "json", "-i", "0.3", "-n", "5"]);
  const [line] = valid(out, "top", "top");
  assert.equal(lines(out).length, 1);
  assert.equal(line.v, 1);
  assert.ok((line.top as unknown[]).length === 5 && (line.flows as number) > 100);
});

/** What a restore keeps of a -L -o json line, timeout aside, as one comparable string. */
function kept(line: Record<string, unknown>): string {
  const { timeout: _t, ...r } = restorable(flowFromJSON(line));
  return JSON.stringify(r);
}

test(
  "-L -o json restored by nfct -R into a fresh namespace: -L -o json there keeps every entry",
  T,
  async () => {
    await table();
    const ns = addNetns("nfct-json");
    try {
      sh(`ip netns exec ${ns.name} nft add table inet l`);
      sh(
        `ip netns exec ${ns.name} nft 'add chain inet l out { type filter hook output priority 0; }'`,
      );
      sh(`ip netns exec ${ns.name} nft add rule inet l out ${LABEL_RULE}`);
      const snap = `${TMP}/snap`;
      const here = nfct(["-L", "-o", "json"]);
      writeFileSync(snap, here);
      nfct(["-R", snap], ["ip", "netns", "exec", ns.name]);
      const there = valid(
        nfct(["-L", "-o", "json"], ["ip", "netns", "exec", ns.name]),
        "flow",
        "there",
      );
      const a = lines(here).map((l) => kept(JSON.parse(l))).sort();
      assert.ok(a.length > 120);
      assert.deepEqual(there.map(kept).sort(), a);
    } finally {
      ns.remove();
    }
  },
);

/** Rows of `csv` and lines of `json` paired by id; every cell but the ticking timeout equal. */
function sameCells(csv: string, json: string, what: string): number {
  const { header, rows } = csvRecords(csv);
  const byId = new Map(lines(json).map((l) => JSON.parse(l)).map((o) => [String(o.id), o]));
  assert.equal(rows.length, byId.size, what);
  for (const row of rows) {
    const o = byId.get(row.id);
    assert.ok(o, `${what}: id ${row.id} in both`);
    for (const c of header) {
      if (c !== "timeout") assert.equal(row[c], expectedCell(o, c), `${what} ${row.id} ${c}`);
    }
  }
  return rows.length;
}

test(
  "-L -o csv and -L expect -o csv read back as the cells of -o json of the same table",
  T,
  async () => {
    await table();
    const n = sameCells(nfct(["-L", "-o", "csv"]), nfct(["-L", "-o", "json"]), "-L");
    assert.ok(n > 120);
    const e = sameCells(
      nfct(["-L", "expect", "-o", "csv"]),
      nfct(["-L", "expect", "-o", "json"]),
      "expect",
    );
    assert.equal(e, 3);
  },
);
