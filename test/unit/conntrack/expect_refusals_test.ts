/**
 * Hostile expectations and expectation filters (expect.ts), across createExpect, getExpect,
 * deleteExpect, dumpExpect, listExpect and flushExpect: refused before anything is sent
 * (test/_helpers/refusals.ts).
 */
import {
  badInts,
  EXP,
  EXP_KEY,
  EXP_TUPLE,
  INJECTION,
  ORIG,
  refused,
} from "../../_helpers/refusals.ts";

// --- Expectations

const BAD_EXPECT_ANYWHERE: [string, Record<string, unknown>][] = [
  ["unknown key", { bogus: 1 }],
  ["proto bogus", { proto: "bogus" }],
  ["proto null", { proto: null }],
  ["tuple null", { tuple: null }],
  ["tuple unknown key", { tuple: { ...EXP_TUPLE, bogus: 1 } }],
  ["tuple sport 70000", { tuple: { ...EXP_TUPLE, sport: 70000 } }],
  ["tuple src bad", { tuple: { ...EXP_TUPLE, src: "x" } }],
  ["family ipv6 with IPv4 tuple", { family: "ipv6" }],
  ...badInts(16).map((v): [string, Record<string, unknown>] => [`zone ${String(v)}`, { zone: v }]),
  ...badInts(32).map((v): [string, Record<string, unknown>] => [`id ${String(v)}`, { id: v }]),
  ...badInts(32).map((
    v,
  ): [string, Record<string, unknown>] => [`timeout ${String(v)}`, { timeout: v }]),
  ...[-1, 2 ** 32, "1"].map((
    v,
  ): [string, Record<string, unknown>] => [`class ${String(v)}`, { class: v }]),
  ...[["BOGUS"], ["BIT_40"], ["BIT_32"], "PERMANENT", null, [1]].map((
    v,
  ): [string, Record<string, unknown>] => [`flags ${JSON.stringify(v)}`, { flags: v }]),
  ...["x".repeat(16), "ft\0p", 5, null, INJECTION].map((
    v,
  ): [string, Record<string, unknown>] => [`helper ${String(v).slice(0, 8)}`, { helper: v }]),
  ...["a\0b", 5].map((
    v,
  ): [string, Record<string, unknown>] => [`fn ${JSON.stringify(v)}`, { fn: v }]),
  ...[
    { dir: "sideways", tuple: EXP_TUPLE },
    { dir: "original" },
    { dir: "original", tuple: { ...EXP_TUPLE, bogus: 1 } },
    { dir: "original", tuple: EXP_TUPLE, extra: 1 },
    null,
  ].map((v, i): [string, Record<string, unknown>] => [`nat #${i}`, { nat: v }]),
  ...[
    [{ type: 5, data: new Uint8Array(4) }], // CTA_EXPECT_ID: nfct encodes it itself
    [{ type: 70000, data: new Uint8Array(4) }],
    [{ type: 100, data: new Uint8Array(65532) }],
    "x",
  ].map((v, i): [string, Record<string, unknown>] => [`unknown #${i}`, { unknown: v }]),
  ["mask unknown key", { mask: { ...EXP_TUPLE, bogus: 1 } }],
  ["mask of the other family", { mask: { src: "::", dst: "::", sport: 0, dport: 0 } }],
  ["master without proto", { master: { ...ORIG } }],
  ["master unknown key", { master: { proto: "tcp", ...ORIG, bogus: 1 } }],
  ["master null", { master: null }],
];

for (const [name, patch] of BAD_EXPECT_ANYWHERE) {
  refused(`createExpect(${name})`, (ct) => ct.createExpect({ ...EXP, ...patch } as never));
  refused(`getExpect(${name})`, (ct) => ct.getExpect({ ...EXP_KEY, ...patch } as never));
  refused(`deleteExpect(${name})`, (ct) => ct.deleteExpect({ ...EXP_KEY, ...patch } as never));
}
for (const bad of [undefined, null, 5, "x", []]) {
  refused(`createExpect(${JSON.stringify(bad)})`, (ct) => ct.createExpect(bad as never));
  refused(`getExpect(${JSON.stringify(bad)})`, (ct) => ct.getExpect(bad as never));
  refused(`deleteExpect(${JSON.stringify(bad)})`, (ct) => ct.deleteExpect(bad as never));
}
refused(
  "createExpect without master",
  (ct) => ct.createExpect({ ...EXP, master: undefined } as never),
);
refused(
  "createExpect without timeout",
  (ct) => ct.createExpect({ ...EXP, timeout: undefined } as never),
);
refused("getExpect without tuple", (ct) => ct.getExpect({ proto: "tcp" } as never));

const BAD_EXPECT_FILTERS: unknown[] = [
  5,
  "tcp",
  null,
  { bogus: 1 },
  { family: undefined },
  { family: "ipv5" },
  { helper: 5 },
  { helper: "x".repeat(16) },
  { helper: "a\0b" },
  { helper: undefined },
  { master: {} },
  { master: null },
  { master: { proto: "tcp" } },
  { master: { proto: "tcp", orig: ORIG, zone: 70000 } },
  { master: { proto: "tcp", orig: ORIG, bogus: 1 } },
  { master: { proto: "tcp", orig: { ...ORIG, sport: -1 } } },
  { proto: "bogus" },
  { dport: 70000 },
];
for (const f of BAD_EXPECT_FILTERS) {
  refused(`dumpExpect(${JSON.stringify(f)})`, (ct) => ct.dumpExpect(f as never));
  refused(`listExpect(${JSON.stringify(f)})`, (ct) => ct.listExpect(f as never));
}
for (const h of [5, null, "x".repeat(16), "a\0b", {}, ["ftp"]]) {
  refused(`flushExpect(${JSON.stringify(h)})`, (ct) => ct.flushExpect(h as never));
}
