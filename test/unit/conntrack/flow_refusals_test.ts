/**
 * Hostile flows and labels, table-driven across every client method that takes a flow or a key
 * (create, update, get, delete, createMany, deleteMany, addLabels, delLabels): each is refused
 * with a TypeError or RangeError (flow.ts validateFlow, encodeLabels) before anything is sent
 * (test/_helpers/refusals.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  badInts,
  CREATE,
  DCCP,
  INJECTION,
  KEY,
  ORIG,
  refused,
  scripted,
  SCTP,
} from "../../_helpers/refusals.ts";

/**
 * Patches that make a flow bad for every purpose (create, update, key), applied to a good
 * flow of each kind; `base` picks the protocol when the patch needs one.
 */
const BAD_ANYWHERE: [string, Record<string, unknown>, Record<string, unknown>?][] = [
  ["unknown key mrak", { mrak: 7 }],
  ["unknown key with undefined value", { bogus: undefined }],
  ...["ipv5", 4, null, "IPV4", ""].map((
    v,
  ): [string, Record<string, unknown>] => [`family ${String(v)}`, { family: v }]),
  ...["bogus", -1, 256, 1.5, null, {}, true, "TCP"].map((
    v,
  ): [string, Record<string, unknown>] => [`proto ${JSON.stringify(v)}`, { proto: v }]),
  ["family ipv6 with IPv4 addresses", { family: "ipv6" }],
  ...[null, 5, "10.0.0.1", [], true].map((
    v,
  ): [string, Record<string, unknown>] => [`orig ${JSON.stringify(v)}`, { orig: v }]),
  ["orig src 300.0.0.1", { orig: { ...ORIG, src: "300.0.0.1" } }],
  ["orig src null", { orig: { ...ORIG, src: null } }],
  ["orig src number", { orig: { ...ORIG, src: 167772161 } }],
  ["orig dst of the other family", { orig: { ...ORIG, dst: "::1" } }],
  ["orig src with a prefix", { orig: { ...ORIG, src: "10.0.0.0/8" } }],
  ["orig without sport", { orig: { src: ORIG.src, dst: ORIG.dst, dport: 80 } }],
  ["orig unknown key", { orig: { ...ORIG, prot: 1 } }],
  ["orig with the proto of another protocol", { orig: { ...ORIG, proto: "udp" } }],
  ["orig ICMP type on a TCP tuple", { orig: { ...ORIG, type: 8 } }],
  ["orig GRE key on a TCP tuple", { orig: { ...ORIG, srcKey: 1 } }],
  ...badInts(16).map((
    v,
  ): [string, Record<string, unknown>] => [`orig sport ${String(v)}`, {
    orig: { ...ORIG, sport: v },
  }]),
  ...badInts(16).map((
    v,
  ): [string, Record<string, unknown>] => [`orig dport ${String(v)}`, {
    orig: { ...ORIG, dport: v },
  }]),
  ...badInts(16).map((
    v,
  ): [string, Record<string, unknown>] => [`orig zone ${String(v)}`, {
    orig: { ...ORIG, zone: v },
  }]),
  ["reply of the other family", { reply: { src: "::2", dst: "::1", sport: 80, dport: 1000 } }],
  ["reply unknown key", {
    reply: { src: ORIG.dst, dst: ORIG.src, sport: 80, dport: 1000, bogus: 1 },
  }],
  ["reply null", { reply: null }],
  ["ICMP tuple without id", {
    proto: "icmp",
    orig: { src: "10.0.0.1", dst: "10.0.0.2", type: 8, code: 0 },
  }],
  ["ICMP type 256", {
    proto: "icmp",
    orig: { src: "10.0.0.1", dst: "10.0.0.2", type: 256, code: 0, id: 1 },
  }],
  ["ICMP with ports", {
    proto: "icmp",
    orig: { src: "10.0.0.1", dst: "10.0.0.2", type: 8, code: 0, id: 1, sport: 1 },
  }],
  ["GRE key 65536", { proto: "gre", orig: { src: "10.0.0.1", dst: "10.0.0.2", srcKey: 65536 } }],
  ["ports on protocol 99", { proto: 99, orig: { ...ORIG } }],
  ...badInts(32).map((
    v,
  ): [string, Record<string, unknown>] => [`timeout ${String(v)}`, { timeout: v }]),
  ...badInts(32).map((v): [string, Record<string, unknown>] => [`mark ${String(v)}`, { mark: v }]),
  ...badInts(16).map((v): [string, Record<string, unknown>] => [`zone ${String(v)}`, { zone: v }]),
  ...badInts(32).map((v): [string, Record<string, unknown>] => [`id ${String(v)}`, { id: v }]),
  ...[-1, "1", null].map((
    v,
  ): [string, Record<string, unknown>] => [`secmark ${String(v)}`, { secmark: v }]),
  ...[-1, "1", null].map((
    v,
  ): [string, Record<string, unknown>] => [`use ${String(v)}`, { use: v }]),
  ...["ASSURED", ["BOGUS"], [1], null, {}, ["assured"]].map((
    v,
  ): [string, Record<string, unknown>] => [`status ${JSON.stringify(v)}`, { status: v }]),
  ...[[128], [-1], [1.5], "1", null, [NaN], [2 ** 32], {}].map((
    v,
  ): [string, Record<string, unknown>] => [`labels ${JSON.stringify(v)}`, { labels: v }]),
  ...[[128], "1", null].map((
    v,
  ): [string, Record<string, unknown>] => [`labelsMask ${JSON.stringify(v)}`, {
    labels: [1],
    labelsMask: v,
  }]),
  ...[null, 5, "ftp", []].map((
    v,
  ): [string, Record<string, unknown>] => [`tcp ${JSON.stringify(v)}`, { tcp: v }]),
  ["tcp unknown key", { tcp: { stat: "ESTABLISHED" } }],
  ["tcp state number", { tcp: { state: 3 } }],
  ...[15, 300, -1, 1.5, "7", null].map((
    v,
  ): [string, Record<string, unknown>] => [`tcp wscaleOrig ${String(v)}`, {
    tcp: { wscaleOrig: v },
  }]),
  ...[15, 255, -1].map((
    v,
  ): [string, Record<string, unknown>] => [`tcp wscaleReply ${String(v)}`, {
    tcp: { wscaleReply: v },
  }]),
  ...badInts(8).map((
    v,
  ): [string, Record<string, unknown>] => [`tcp flagsOrig.flags ${String(v)}`, {
    tcp: { flagsOrig: { flags: v, mask: 255 } },
  }]),
  ...badInts(8).map((
    v,
  ): [string, Record<string, unknown>] => [`tcp flagsReply.mask ${String(v)}`, {
    tcp: { flagsReply: { flags: 1, mask: v } },
  }]),
  ["tcp flagsOrig without mask", { tcp: { flagsOrig: { flags: 1 } } }],
  ["tcp flagsOrig a number", { tcp: { flagsOrig: 3 } }],
  ["tcp flagsOrig unknown key", { tcp: { flagsOrig: { flags: 1, mask: 1, bogus: 1 } } }],
  ["sctp unknown key", { ...SCTP, sctp: { vtag: 1 } }],
  ...badInts(32).map((
    v,
  ): [string, Record<string, unknown>] => [`sctp vtagOrig ${String(v)}`, {
    ...SCTP,
    sctp: { state: "ESTABLISHED", vtagOrig: v, vtagReply: 1 },
  }]),
  ...[-1, 2 ** 33, "1"].map((
    v,
  ): [string, Record<string, unknown>] => [`sctp vtagReply ${String(v)}`, {
    ...SCTP,
    sctp: { state: "ESTABLISHED", vtagOrig: 1, vtagReply: v },
  }]),
  ["sctp state number", { ...SCTP, sctp: { state: 4 } }],
  ["dccp unknown key", { ...DCCP, dccp: { rol: 1 } }],
  ...[2, -1, 255, 1.5, "1"].map((
    v,
  ): [string, Record<string, unknown>] => [`dccp role ${String(v)}`, {
    ...DCCP,
    dccp: { state: "OPEN", role: v },
  }]),
  ...[-1n, 2n ** 64n, 5, "5", -1].map((
    v,
  ): [string, Record<string, unknown>] => [`dccp handshakeSeq ${String(v)}`, {
    ...DCCP,
    dccp: { state: "OPEN", role: 0, handshakeSeq: v },
  }]),
  ["dccp state number", { ...DCCP, dccp: { state: 4, role: 0 } }],
  ...["x".repeat(16), "ft\0p", INJECTION, "é".repeat(8)].map((
    v,
  ): [string, Record<string, unknown>] => [
    `helper of ${v.length} chars ${JSON.stringify(v.slice(0, 6))}`,
    { helper: v },
  ]),
  ...[5, null, ["ftp"], {}].map((
    v,
  ): [string, Record<string, unknown>] => [`helper ${JSON.stringify(v)}`, { helper: v }]),
  ["helperInfo of 33 bytes", { helper: "ftp", helperInfo: new Uint8Array(33) }],
  ["helperInfo of 70000 bytes", { helper: "ftp", helperInfo: new Uint8Array(70000) }],
  ...["abc", [1, 2], null, new Uint16Array(2)].map((
    v,
  ): [string, Record<string, unknown>] => [`helperInfo ${Object.prototype.toString.call(v)}`, {
    helper: "ftp",
    helperInfo: v,
  }]),
  ...[5, null].map((
    v,
  ): [string, Record<string, unknown>] => [`secctx ${String(v)}`, { secctx: v }]),
  ...[
    { correctionPos: "1", offsetBefore: 0, offsetAfter: 0 },
    { correctionPos: -1, offsetBefore: 0, offsetAfter: 0 },
    { correctionPos: 0, offsetBefore: 2 ** 32, offsetAfter: 0 },
    { correctionPos: 0, offsetBefore: 0, offsetAfter: 1.5 },
    { correctionPos: 0, offsetBefore: 0 },
    { correctionPos: 0, offsetBefore: 0, offsetAfter: 0, bogus: 0 },
    null,
    5,
  ].map((
    v,
  ): [string, Record<string, unknown>] => [`seqAdjOrig ${JSON.stringify(v)}`, { seqAdjOrig: v }]),
  ["seqAdjReply strings", {
    seqAdjReply: { correctionPos: "0", offsetBefore: "0", offsetAfter: "0" },
  }],
  ...[
    { isn: -1, its: 0, tsoff: 0 },
    { isn: 0, its: 2 ** 32, tsoff: 0 },
    { isn: 0, its: 0 },
    { isn: "1", its: 0, tsoff: 0 },
    { isn: 0, its: 0, tsoff: 0, extra: 1 },
    null,
  ].map((
    v,
  ): [string, Record<string, unknown>] => [`synproxy ${JSON.stringify(v)}`, { synproxy: v }]),
  ...[
    [{ type: 70000, data: new Uint8Array(4) }],
    [{ type: 0, data: new Uint8Array(4) }],
    [{ type: -1, data: new Uint8Array(4) }],
    [{ type: 1.5, data: new Uint8Array(4) }],
    [{ type: 8, data: new Uint8Array(4) }], // CTA_MARK: nfct encodes it itself
    [{ type: 1 | 0x8000, data: new Uint8Array(4) }], // CTA_TUPLE_ORIG, nested
    [{ type: 100 | 0x4000, data: new Uint8Array(4) }], // NLA_F_NET_BYTEORDER
    [{ type: 100, data: "abcd" }],
    [{ type: 100, data: [1, 2] }],
    [{ type: 100 }],
    [{ type: 100, data: new Uint8Array(65532) }],
    [{ type: 100, data: new Uint8Array(4), extra: 1 }],
    [null],
    "x",
    { type: 100, data: new Uint8Array(4) },
  ].map((v, i): [string, Record<string, unknown>] => [`unknown #${i}`, { unknown: v }]),
  ...[{ orig: 5 }, { orig: { packets: -1, bytes: 0 }, reply: { packets: 0, bytes: 0 } }, {
    orig: { packets: 0, bytes: "0" },
    reply: { packets: 0, bytes: 0 },
  }, 5]
    .map((v, i): [string, Record<string, unknown>] => [`counters #${i}`, { counters: v }]),
  ...[{ start: 5 }, { start: -1n }, { start: 1n, stop: 2 ** 64 }, { start: 1n, bogus: 1 }].map((
    v,
    i,
  ): [string, Record<string, unknown>] => [`timestamp #${i}`, { timestamp: v }]),
  ...[5, { src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2 }, {
    proto: "bogus",
    src: "10.0.0.1",
    dst: "10.0.0.2",
  }]
    .map((v, i): [string, Record<string, unknown>] => [`master #${i}`, { master: v }]),
];

/** Bad only for create/update (a key does not send these, but must not ignore a typo either). */
const BAD_TO_WRITE: [string, Record<string, unknown>][] = [
  ...["FOO", "established", "STATE_12", ""].map((
    v,
  ): [string, Record<string, unknown>] => [`tcp state ${v}`, { tcp: { state: v } }]),
  ["sctp state FOO", { ...SCTP, sctp: { state: "FOO", vtagOrig: 1, vtagReply: 1 } }],
  ...["FOO", "IGNORE", "INVALID"].map((
    v,
  ): [string, Record<string, unknown>] => [`dccp state ${v}`, {
    ...DCCP,
    dccp: { state: v, role: 0 },
  }]),
  ["tcp info on a UDP flow", { proto: "udp", tcp: { state: "ESTABLISHED" } }],
  ["sctp info on a TCP flow", { sctp: { state: "ESTABLISHED", vtagOrig: 1, vtagReply: 1 } }],
  ["dccp info on a TCP flow", { dccp: { state: "OPEN", role: 0 } }],
  ["helperInfo without helper", { helperInfo: new Uint8Array(4) }],
  ["labelsMask without labels", { labelsMask: [1] }],
];

/** Bad NAT ranges (sent on create only; refused on update). */
const BAD_NAT: [string, Record<string, unknown>][] = [
  ...[
    { minIp: "x" },
    { minIp: "::1" },
    { maxIp: 5 },
    { minPort: 70000 },
    { minPort: -1 },
    { minPort: 10, maxPort: 5 },
    {},
    { minIp: "10.0.0.9", bogus: 1 },
    null,
    "10.0.0.9",
  ].flatMap((
    v,
    i,
  ): [string, Record<string, unknown>][] => [[`natSrc #${i}`, { natSrc: v }], [`natDst #${i}`, {
    natDst: v,
  }]]),
];

const asFlow = (base: Record<string, unknown>, patch: Record<string, unknown>) =>
  ({ ...base, ...patch }) as never;

for (const [name, patch] of [...BAD_ANYWHERE, ...BAD_TO_WRITE, ...BAD_NAT]) {
  refused(`create(${name})`, (ct) => ct.create(asFlow(CREATE, patch)));
  refused(`update(${name})`, (ct) => ct.update(asFlow({ ...KEY, mark: 1 }, patch)));
  refused(
    `createMany([good, ${name}])`,
    (ct) => ct.createMany([CREATE as never, asFlow(CREATE, patch)]),
  );
}
for (const [name, patch] of BAD_ANYWHERE) {
  refused(`get(${name})`, (ct) => ct.get(asFlow(KEY, patch)));
  refused(`delete(${name})`, (ct) => ct.delete(asFlow(KEY, patch)));
  refused(`deleteMany([good, ${name}])`, (ct) => ct.deleteMany([KEY as never, asFlow(KEY, patch)]));
}
for (
  const [name, patch] of BAD_ANYWHERE.filter(([n]) =>
    /^(unknown key|family|proto|orig|reply|zone|id)/.test(n)
  )
) {
  refused(`addLabels(${name}, [1])`, (ct) => ct.addLabels(asFlow(KEY, patch), [1]));
  refused(`delLabels(${name}, [1])`, (ct) => ct.delLabels(asFlow(KEY, patch), [1]));
}

// Shapes that are not flows at all, and calls that are incomplete.
for (const bad of [undefined, null, 5, "tcp", [], true, () => {}]) {
  const n = typeof bad === "function" ? "a function" : JSON.stringify(bad);
  refused(`create(${n})`, (ct) => ct.create(bad as never));
  refused(`update(${n})`, (ct) => ct.update(bad as never));
  refused(`get(${n})`, (ct) => ct.get(bad as never));
  refused(`delete(${n})`, (ct) => ct.delete(bad as never));
  refused(`addLabels(${n}, [1])`, (ct) => ct.addLabels(bad as never, [1]));
}
refused("create without timeout", (ct) => ct.create(KEY as never));
refused(
  "create with timeout undefined",
  (ct) => ct.create({ ...CREATE, timeout: undefined } as never),
);
refused("create without proto", (ct) => ct.create({ orig: ORIG, timeout: 1 } as never));
refused("create without tuples", (ct) => ct.create({ proto: "tcp", timeout: 1 } as never));
refused("update that changes nothing", (ct) => ct.update(KEY as never));
refused(
  "update whose only change is undefined",
  (ct) => ct.update({ ...KEY, mark: undefined } as never),
);
refused(
  "update with NAT",
  (ct) => ct.update({ ...KEY, mark: 1, natSrc: { minIp: "10.0.0.9" } } as never),
);
refused("get without tuples", (ct) => ct.get({ proto: "tcp" } as never));
refused("delete without proto", (ct) => ct.delete({ orig: ORIG } as never));

test("the attribute injection of issue 10 is refused with RangeError and nothing is sent", () => {
  const s = scripted();
  const ct = s.open();
  assert.throws(() => ct.update({ ...KEY, helper: INJECTION } as never), (e: unknown) => {
    assert.ok(e instanceof RangeError);
    assert.match((e as Error).message, /helper/);
    return true;
  });
  assert.equal(s.sent(), 0);
  ct.close();
});

// --- Labels

for (const bits of [[128], [-1], [1.5], [NaN], ["1"], "1", null, 5, [null], {}]) {
  refused(
    `addLabels(key, ${JSON.stringify(bits)})`,
    (ct) => ct.addLabels(KEY as never, bits as never),
  );
  refused(
    `delLabels(key, ${JSON.stringify(bits)})`,
    (ct) => ct.delLabels(KEY as never, bits as never),
  );
}
