/**
 * Hostile options of Conntrack.open, dumps, lines and events (options.ts, events.ts): refused
 * with a TypeError or RangeError before a socket is opened or anything is sent
 * (test/_helpers/refusals.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Conntrack } from "../../../conntrack/client.ts";
import { refused, scripted } from "../../_helpers/refusals.ts";

// --- Options

const BAD_BUFFER = [-1, NaN, 2 ** 40, "big", 1.5, Infinity, null, true, 2 ** 31];

test("Conntrack.open refuses bad options before it opens a socket", () => {
  const s = scripted();
  const bad: unknown[] = [
    5,
    "x",
    null,
    [],
    true,
    { bogus: 1 },
    { transport: 5 },
    { transport: null },
    { netns: {} },
    { netns: { fd: -1 } },
    { netns: { fd: 3, extra: 1 } },
    { netns: null },
    { netns: true },
    ...BAD_BUFFER.map((v) => ({ receiveBufferSize: v })),
  ];
  for (const o of bad) {
    const opts = o !== null && typeof o === "object" && !Array.isArray(o) && !("transport" in o)
      ? { ...o, transport: s.f.factory }
      : o;
    assert.throws(
      () => Conntrack.open(opts as never),
      (e: unknown) => e instanceof TypeError || e instanceof RangeError,
      JSON.stringify(o),
    );
  }
  assert.equal(s.f.opened.length, 0, "no transport was opened");
});

const BAD_DUMP_OPTIONS: unknown[] = [
  5,
  "auto",
  null,
  [],
  { readAhead: "yes" },
  { readAhead: 1 },
  { readAhead: "AUTO" },
  { readAhead: null },
  { zero: "yes" },
  { zero: 1 },
  { kernelFilterOnly: "true" },
  { kernelFilterOnly: 0 },
  { readahead: true },
  { bogus: 1 },
];
for (const o of BAD_DUMP_OPTIONS) {
  refused(`dump(undefined, ${JSON.stringify(o)})`, (ct) => ct.dump(undefined, o as never));
  refused(`list(undefined, ${JSON.stringify(o)})`, (ct) => ct.list(undefined, o as never));
  refused(`lines(undefined, ${JSON.stringify(o)})`, (ct) => ct.lines(undefined, o as never));
  refused(`text(undefined, ${JSON.stringify(o)})`, (ct) => ct.text(undefined, o as never));
}
for (
  const fmt of [5, "extended", null, { extended: "yes" }, { id: 1 }, { xml: true }, { bogus: true }]
) {
  refused(
    `lines(undefined, {}, ${JSON.stringify(fmt)})`,
    (ct) => ct.lines(undefined, {}, fmt as never),
  );
  refused(
    `text(undefined, {}, ${JSON.stringify(fmt)})`,
    (ct) => ct.text(undefined, {}, fmt as never),
  );
}

const BAD_EVENT_OPTIONS: unknown[] = [
  5,
  "new",
  null,
  [],
  { types: [] },
  { types: "new" },
  { types: ["bogus"] },
  { types: ["new", "NEW"] },
  { types: null },
  { kernelFilter: "no" },
  { noEnobufs: 1 },
  { resync: "yes" },
  { signal: 5 },
  { signal: {} },
  { netns: {} },
  { netns: { fd: -1 } },
  { bogus: 1 },
  { allNetns: 1 },
  { allNetns: "yes" },
  { allNetns: null },
  { allNetns: true, resync: true },
  { assignNsids: true },
  { allNetns: false, assignNsids: false },
  { allNetns: true, assignNsids: "no" },
  { reliable: 1 },
  { reliable: null },
  ...BAD_BUFFER.map((v) => ({ receiveBufferSize: v })),
];
for (const o of BAD_EVENT_OPTIONS) {
  refused(`events(${JSON.stringify(o)})`, (ct) => ct.events(o as never));
}
