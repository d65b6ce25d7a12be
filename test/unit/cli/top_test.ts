/**
 * `nfct top`'s pure parts, without privilege: the command line, the keys, the units, and the
 * frame drawn from a sample for a given terminal size (the full program on a real terminal:
 * test/kernel/cli_top_test.ts).
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Flow, RateMeter, type RateSample } from "../../../mod.ts";
import { parseTopArgs, TopUsageError } from "../../../cli/top_args.ts";
import { keyActions } from "../../../cli/top_keys.ts";
import { formatBytes, formatCount, formatRate } from "../../../cli/top_units.ts";
import {
  frameOutput,
  renderFrame,
  renderJson,
  renderPlain,
  type TopFrame,
  totals,
} from "../../../cli/top_view.ts";

test("parseTopArgs: defaults, every option, and filters", () => {
  assert.deepEqual(parseTopArgs([]), {
    help: false,
    interval: 1,
    order: "bytesPerSecond",
    once: false,
    json: false,
    iec: false,
    filter: {},
  });
  const o = parseTopArgs([
    "-i",
    "0.5",
    "--limit=5",
    "--sort",
    "packets/s",
    "--once",
    "-o",
    "json",
    "--iec",
    "-p",
    "udp",
    "-f",
    "ipv6",
    "-s",
    "::1",
    "--dport",
    "53",
    "-w",
    "7",
  ]);
  assert.equal(o.interval, 0.5);
  assert.equal(o.limit, 5);
  assert.equal(o.order, "packetsPerSecond");
  assert.equal(o.once && o.json && o.iec, true);
  assert.deepEqual(o.filter, { proto: "udp", family: "ipv6", src: "::1", dport: 53, zone: 7 });
  assert.equal(parseTopArgs(["-h"]).help, true);
  assert.equal(parseTopArgs(["--sort", "bytes"]).order, "bytes");
});

test("parseTopArgs refuses unknown options and malformed values with a TopUsageError", () => {
  for (
    const argv of [
      ["--frobnicate"],
      ["extra"],
      ["-i"],
      ["-i", "0"],
      ["-i", "abc"],
      ["-i", ""],
      ["-n", "0"],
      ["-n", "1.5"],
      ["--sort", "bps"],
      ["-o", "xml"],
      ["-f", "inet"],
      ["--dport", "65536"],
    ]
  ) {
    assert.throws(() => parseTopArgs(argv), TopUsageError, argv.join(" "));
  }
  assert.throws(() => parseTopArgs(["--frobnicate"]), /unknown option --frobnicate/);
});

test("keyActions: sort keys, quit keys, Ctrl-L; escape sequences and other keys ignored", () => {
  const k = (s: string) => keyActions(new TextEncoder().encode(s));
  assert.deepEqual(k("b"), [{ type: "sort", order: "bytesPerSecond" }]);
  assert.deepEqual(k("p"), [{ type: "sort", order: "packetsPerSecond" }]);
  assert.deepEqual(k("t"), [{ type: "sort", order: "bytes" }]);
  assert.deepEqual(k("P"), [{ type: "sort", order: "packets" }]);
  for (const q of ["q", "Q", "\x03", "\x04"]) assert.deepEqual(k(q), [{ type: "quit" }]);
  assert.deepEqual(k("\x0c"), [{ type: "redraw" }]);
  // Arrow keys (CSI and SS3), a function key, a lone ESC, other letters: nothing.
  assert.deepEqual(k("\x1b[A\x1bOB\x1b[15~\x1bxyz"), []);
  assert.deepEqual(k("\x1b[Dpq"), [{ type: "sort", order: "packetsPerSecond" }, { type: "quit" }]);
});

test("units: SI by default, IEC on request, always stated, no 1000.0", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(999), "999 B");
  assert.equal(formatBytes(999.6), "1.0 kB");
  assert.equal(formatBytes(1500), "1.5 kB");
  assert.equal(formatBytes(999_960), "1.0 MB");
  assert.equal(formatBytes(1536, true), "1.5 KiB");
  assert.equal(formatBytes(3 * 2 ** 30, true), "3.0 GiB");
  assert.equal(formatRate(2_500_000), "2.5 MB/s");
  assert.equal(formatCount(0.5), "0.5");
  assert.equal(formatCount(12), "12");
  assert.equal(formatCount(12_345), "12.3k");
  assert.equal(formatCount(4_500_000), "4.5M");
});

/** A flow with counters; `v6`: between ::1 ports. */
function flow(
  n: number,
  bytes: number,
  packets: number,
  o: { v6?: boolean; tcp?: boolean } = {},
): Flow {
  const [src, dst] = o.v6 ? ["::1", "::1"] : [`10.0.0.${n}`, "10.0.1.1"];
  const orig = { src, dst, sport: 40000 + n, dport: 53 };
  return {
    family: o.v6 ? "ipv6" : "ipv4",
    proto: o.tcp ? "tcp" : "udp",
    id: n,
    orig,
    reply: { src: dst, dst: src, sport: 53, dport: 40000 + n },
    status: o.tcp ? ["SEEN_REPLY", "ASSURED"] : [],
    ...(o.tcp ? { tcp: { state: "ESTABLISHED" } } : {}),
    counters: { orig: { bytes, packets }, reply: { bytes: 0, packets: 0 } },
  } as Flow;
}

/** Two samples one second apart: flow 2 busiest by bytes, flow 3 (IPv6) by packets. */
function sample(): RateSample {
  const m = new RateMeter();
  const flows = (k: number) => [
    flow(1, 1000 * k, 10 * k),
    flow(2, 90_000 * k, 60 * k, { tcp: true }),
    flow(3, 5_000 * k, 500 * k, { v6: true }),
    ...Array.from({ length: 40 }, (_, i) => flow(10 + i, 10 * k, k)),
    { ...flow(99, 0, 0), counters: undefined },
  ];
  m.sample(flows(1), 0);
  return m.sample(flows(2), 1000);
}

const frame = (o: Partial<TopFrame> = {}): TopFrame => ({
  sample: sample(),
  order: "bytesPerSecond",
  interval: 1,
  iec: false,
  time: new Date(2025, 0, 1, 12, 34, 56),
  ...o,
});

test("totals: all flows by protocol (busiest first) and by state", () => {
  const t = totals(sample().rates);
  assert.equal(t.flows, 44);
  assert.equal(t.counted, 43);
  assert.equal(t.bytesPerSecond, 1000 + 90_000 + 5_000 + 400);
  assert.deepEqual(t.protocols.map(([p, g]) => [p, g.flows]), [["tcp", 1], ["udp", 43]]);
  assert.deepEqual(t.states, [["udp UNREPLIED", 43], ["tcp ESTABLISHED", 1]]);
});

test("renderFrame: header, units, busiest flow first, IPv6 in brackets, sort column marked", () => {
  const lines = renderFrame(frame(), 120, 40);
  assert.match(
    lines[0],
    /^nfct top - 12:34:56 - every 1 s \(last 1\.00 s\) - sort: bytes\/s - 44 flows, 43 with counters$/,
  );
  assert.match(
    lines[1],
    /^total 96\.4 kB\/s .* packets\/s; tcp 1 flows 90\.0 kB\/s, udp 43 flows 6\.4 kB\/s$/,
  );
  assert.match(lines[2], /^states: udp UNREPLIED 43, tcp ESTABLISHED 1$/);
  assert.match(
    lines[3],
    /^units: SI \(1 kB = 1000 B\); keys: b bytes\/s {2}p packets\/s {2}t bytes {2}P packets {2}q quit$/,
  );
  assert.match(lines[5], /\*bytes\/s/);
  assert.match(
    lines[6],
    /^ +90\.0 kB\/s +60 +180\.0 kB +120 {2}tcp {4}10\.0\.0\.2:40002 -> 10\.0\.1\.1:53 +ESTABLISHED$/,
  );
  assert.match(lines[7], /\[::1\]:40003 -> \[::1\]:53/);
  const byPackets = renderFrame(frame({ order: "packetsPerSecond", iec: true }), 120, 40);
  assert.match(byPackets[3], /^units: IEC \(1 KiB = 1024 B\)/);
  assert.match(byPackets[5], /\*pkts\/s/);
  assert.match(byPackets[6], /^ +4\.9 KiB\/s +500 .*\[::1\]:40003 -> \[::1\]:53/);
});

test("renderFrame fits any terminal size, and honours the limit", () => {
  for (const [w, h] of [[120, 40], [80, 24], [60, 12], [30, 5], [10, 3], [1, 1], [0, 0]]) {
    const lines = renderFrame(frame(), w, h);
    assert.ok(lines.length <= h, `${w}x${h}: ${lines.length} lines`);
    for (const l of lines) assert.ok(l.length <= w, `${w}x${h}: ${JSON.stringify(l)}`);
    assert.ok(lines.every((l) => /^[\x20-\x7e]*$/.test(l)), "ASCII only: one cell per character");
  }
  assert.equal(renderFrame(frame(), 120, 40).length, 40, "rows fill the screen");
  assert.equal(renderFrame(frame({ limit: 3 }), 120, 40).length, 6 + 3);
});

test("frameOutput draws each line at its row and clears below, except on a full screen", () => {
  assert.equal(frameOutput(["a", "b"], 5), "\x1b[1;1H\x1b[2Ka\x1b[2;1H\x1b[2Kb\x1b[3;1H\x1b[J");
  assert.equal(frameOutput(["a", "b"], 2), "\x1b[1;1H\x1b[2Ka\x1b[2;1H\x1b[2Kb");
});

test("renderFrame and renderPlain say why there are no rows", () => {
  const none = new RateMeter().sample([{ ...flow(1, 0, 0), counters: undefined }], 0);
  assert.match(
    renderFrame(frame({ sample: none }), 200, 20)[6],
    /none of the 1 flows has counters/,
  );
  const empty = renderPlain(frame({ sample: { seconds: 1, rates: [] } }));
  assert.match(empty, /\(no flows\)\n$/);
  assert.equal(empty.split("\n")[1], "total 0 B/s 0 packets/s");
  assert.equal(empty.split("\n")[2], "states: -");
});

test("renderPlain: 20 rows by default, no width limit; renderJson: one line, stable keys, absent fields omitted", () => {
  const text = renderPlain(frame());
  assert.equal(text.split("\n").filter((l) => /->/.test(l)).length, 20);
  const j = JSON.parse(renderJson(frame({ limit: 2, order: "packetsPerSecond" })));
  assert.deepEqual(Object.keys(j), [
    "v",
    "time",
    "seconds",
    "sort",
    "flows",
    "counted",
    "bytesPerSecond",
    "packetsPerSecond",
    "protocols",
    "states",
    "top",
  ]);
  assert.equal(j.sort, "packets/s");
  assert.equal(j.flows, 44);
  assert.deepEqual(j.top[0], {
    family: "ipv6",
    proto: "udp",
    src: "::1",
    dst: "::1",
    sport: 40003,
    dport: 53,
    state: "UNREPLIED",
    id: 3,
    bytesPerSecond: 5000,
    packetsPerSecond: 500,
    bytes: 10000,
    packets: 1000,
  });
  assert.equal(j.top.length, 2);
  assert.deepEqual(j.protocols.tcp, { flows: 1, bytesPerSecond: 90000, packetsPerSecond: 60 });
});
