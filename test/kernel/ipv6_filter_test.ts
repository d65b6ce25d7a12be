/**
 * Exact IPv6 addresses select exactly their entries on every path: the kernel's `CTA_FILTER`
 * compares IPv6 addresses inverted (`ctnetlink_filter_match_tuple()`), so nfct matches them in
 * userspace. Checked against conntrack(8) on the same table, for the library (dump, list,
 * lines, zeroing dump, flush both ways) and the command line (-L, -D, -F, -U).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { Conntrack, type Flow } from "../../mod.ts";
import { assertThrowawayNetns, conntrackCli } from "../_helpers/netns.ts";
import { NFCT, ROOT } from "../_helpers/run.ts";

assertThrowawayNetns();

const T = { timeout: 120000 };

function nfct(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(NFCT[0], [...NFCT.slice(1), ...args], { cwd: ROOT, encoding: "utf8" });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** 4 IPv6 sources x 3 destinations (UDP and TCP), an IPv4 twin of each, and NAT'd reply tuples. */
function fill(ct: Conntrack): void {
  ct.flushAll();
  const flows: Partial<Flow>[] = [];
  for (let s = 1; s <= 4; s++) {
    for (let d = 1; d <= 3; d++) {
      const tcp = (s + d) % 2 === 0;
      const extra = tcp ? { tcp: { state: "ESTABLISHED" as const } } : {};
      flows.push({
        family: "ipv6",
        proto: tcp ? "tcp" : "udp",
        orig: { src: `fd88::${s}`, dst: `fd99::${d}`, sport: 1000 + s, dport: 2000 + d },
        // Reply from a NAT'd backend: reply src fd77::d, not the original destination.
        reply: { src: `fd77::${d}`, dst: `fd88::${s}`, sport: 3000 + d, dport: 1000 + s },
        timeout: 300,
        ...extra,
      });
      flows.push({
        family: "ipv4",
        proto: tcp ? "tcp" : "udp",
        orig: { src: `10.88.0.${s}`, dst: `10.99.0.${d}`, sport: 1000 + s, dport: 2000 + d },
        timeout: 300,
        ...extra,
      });
    }
  }
  assert.equal(ct.createMany(flows as Flow[]).created, flows.length);
}

const key = (f: Flow) => `${f.proto} ${f.orig.src} ${f.orig.dst} ${f.orig.sport} ${f.orig.dport}`;
/** Lines sorted, with what changes by the second blanked: the timeout and (with timestamps on) delta-time. */
const sorted = (s: string) =>
  s.split("\n").filter(Boolean).map((l) =>
    l.replace(/ \d+ (?=[A-Z_]+ |src=)/, " T ").replace(/delta-time=\d+/, "delta-time=T")
  ).sort();

test(
  "list/dump/lines with an exact IPv6 address equal conntrack -L with it (upper case, expanded and ::-forms)",
  T,
  () => {
    using ct = Conntrack.open();
    fill(ct);
    for (
      const [filter, args] of [
        [{ src: "fd88::2" }, ["-s", "fd88::2"]],
        [{ dst: "fd99::3" }, ["-d", "FD99:0:0:0:0:0:0:3"]],
        [{ reply: { src: "fd77::1" } }, ["-r", "fd77::1"]],
        [{ reply: { dst: "fd88::4" }, proto: "udp" }, ["-q", "fd88::4", "-p", "udp"]],
      ] as const
    ) {
      const want = sorted(conntrackCli(["-L", ...args]));
      assert.ok(want.length > 0, `conntrack -L ${args.join(" ")} lists something`);
      const got = ct.list(filter);
      assert.equal(got.length, want.length, JSON.stringify(filter));
      assert.deepEqual(sorted([...ct.lines(filter)].join("\n")), want, JSON.stringify(filter));
      assert.deepEqual(sorted(nfct(["-L", ...args]).stdout), want, `nfct -L ${args.join(" ")}`);
      assert.deepEqual(
        [...ct.dump(filter, { zero: true })].map(key).sort(),
        got.map(key).sort(),
        "zeroing dump",
      );
    }
  },
);

test(
  "flush({ family: ipv6, reply: { src } }) deletes exactly those entries, in the kernel or by dump",
  T,
  () => {
    using ct = Conntrack.open();
    for (const via of ["auto", "dump"] as const) {
      fill(ct);
      const before = ct.list().map(key);
      const doomed = ct.list({ family: "ipv6", reply: { src: "fd77::2" } }).map(key);
      assert.equal(doomed.length, 4);
      const r = ct.flush({ family: "ipv6", reply: { src: "fd77::2" } }, { via });
      assert.equal(r.via, "dump", "IPv6 addresses are never given to the kernel's filter");
      assert.equal(r.deleted, 4);
      assert.deepEqual(ct.list().map(key).sort(), before.filter((k) => !doomed.includes(k)).sort());
    }
    assert.throws(() => ct.flush({ src: "fd88::1" }, { via: "kernel" }), TypeError);
  },
);

test("nfct -D/-F/-U with an exact IPv6 address act on exactly what conntrack would", T, () => {
  using ct = Conntrack.open();
  fill(ct);
  const all = ct.list().map(key);
  const d = nfct(["-D", "-s", "fd88::1"]);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stderr, /3 flow entries have been deleted/);
  assert.deepEqual(ct.list().map(key).sort(), all.filter((k) => !k.includes(" fd88::1 ")).sort());
  const f = nfct(["-F", "-f", "ipv6", "-d", "fd99::1"]);
  assert.equal(f.code, 0, f.stderr);
  assert.match(f.stderr, /3 flow entries have been deleted/);
  assert.equal(ct.list({ dst: "fd99::1" }).length, 0);
  assert.equal(ct.list({ family: "ipv6" }).length, 12 - 3 - 3);
  const u = nfct(["-U", "-s", "fd88::4", "-m", "9"]);
  assert.equal(u.code, 0, u.stderr);
  assert.deepEqual(ct.list({ mark: 9 }).map((x) => x.orig.src), ["fd88::4", "fd88::4"]);
  ct.flushAll();
});
