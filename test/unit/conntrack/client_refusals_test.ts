/**
 * Hostile API input: hundreds of wrong shapes and values, table-driven across every public
 * method and option of {@link Conntrack}. Each must be refused with a TypeError or RangeError
 * before anything is sent: every client runs on a scripted transport that counts the netlink
 * messages it was given, and the count must stay 0 (a refusal after a GET_STATS, a dump or a
 * first batch would be too late).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Conntrack } from "../../../conntrack/client.ts";
import { NLM_F_ACK, NLM_F_DUMP } from "../../../netlink/message.ts";
import {
  ackMessage,
  doneMessage,
  scriptedFactory,
  type ScriptedTransport,
  type SentMessage,
} from "../../_helpers/scripted.ts";

/** A client on scripted transports that acknowledge everything; `sent()` counts messages. */
function scripted() {
  const answer = (t: ScriptedTransport, msgs: SentMessage[]) => {
    for (const m of msgs) {
      if ((m.header.flags & NLM_F_DUMP) === NLM_F_DUMP) t.push(doneMessage(m));
      else if (m.header.flags & NLM_F_ACK) t.push(ackMessage(m));
    }
  };
  const f = scriptedFactory((t) => t.onSend = answer);
  const sent = () => f.opened.reduce((n, t) => n + t.sentMessages().length, 0);
  return { f, sent, open: () => Conntrack.open({ transport: f.factory }) };
}

type Call = (ct: Conntrack) => unknown;

/** Runs `call` to completion (draining a returned iterator, closing a returned stream). */
function run(ct: Conntrack, call: Call): void {
  const r = call(ct) as {
    next?: () => unknown;
    close?: () => void;
    [Symbol.asyncIterator]?: unknown;
  } | undefined;
  if (r && typeof r === "object" && Symbol.asyncIterator in r) {
    r.close?.();
    return;
  }
  if (
    r && typeof r === "object" && typeof (r as Iterable<unknown>)[Symbol.iterator] === "function" &&
    !Array.isArray(r)
  ) {
    for (const _ of r as Iterable<unknown>);
  }
}

/** Asserts that `call` throws TypeError or RangeError and that nothing was sent. */
function refused(name: string, call: Call): void {
  test(`refused before sending: ${name}`, () => {
    const s = scripted();
    const ct = s.open();
    try {
      assert.throws(() => run(ct, call), (e: unknown) => {
        assert.ok(e instanceof TypeError || e instanceof RangeError, `${name}: threw ${String(e)}`);
        return true;
      });
      assert.equal(s.sent(), 0, `${name}: ${s.sent()} netlink messages were sent`);
    } finally {
      ct.close();
    }
  });
}

/** A method that must exist (the lead's branch adds some): its absence is a failure, not a pass. */
function method(ct: Conntrack, name: string): (...a: unknown[]) => unknown {
  const m = (ct as unknown as Record<string, unknown>)[name];
  if (typeof m !== "function") throw new Error(`Conntrack.${name} does not exist`);
  return (m as (...a: unknown[]) => unknown).bind(ct);
}

// --- Flows -------------------------------------------------------------------------------------

const ORIG = { src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 80 };
const KEY = { proto: "tcp", orig: ORIG };
const CREATE = { proto: "tcp", orig: ORIG, timeout: 30 };
const SCTP = { proto: "sctp", orig: ORIG };
const DCCP = { proto: "dccp", orig: ORIG };
const INJECTION = "\0\0\0\0" + "\x08\x00\x08\x00\x01\x02\x03\x04" +
  "\x04\x00\x7f\x00".repeat(16381);

/** Wrong integers for a field of `bits` bits. */
function badInts(bits: 8 | 16 | 32): unknown[] {
  return [-1, 2 ** bits, 1.5, NaN, Infinity, "1", 1n, null, true, {}, [1]];
}

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

// --- Labels --------------------------------------------------------------------------------------

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

// --- Batches -------------------------------------------------------------------------------------

for (const bad of [undefined, null, 5, "abc", { length: 1, 0: KEY }, true]) {
  refused(`createMany(${JSON.stringify(bad)})`, (ct) => ct.createMany(bad as never));
  refused(`deleteMany(${JSON.stringify(bad)})`, (ct) => ct.deleteMany(bad as never));
}

const keys = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => ({
      proto: "udp" as const,
      orig: { src: "10.1.0.1", dst: "10.1.0.2", sport: 10000 + i, dport: 53 },
    }),
  );

test("deleteMany([...200 keys, badItem]) deletes nothing: the array is checked whole", () => {
  const s = scripted();
  const ct = s.open();
  assert.throws(
    () => ct.deleteMany([...keys(200), { ...keys(1)[0], mrak: 7 } as never]),
    (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match((e as Error).message, /unknown key "mrak".*item 200 of 201: nothing was sent/);
      assert.equal((e as { sent?: number }).sent, 0);
      return true;
    },
  );
  assert.equal(s.sent(), 0);
  ct.close();
});

test("createMany([...200 flows, badItem]) creates nothing", () => {
  const s = scripted();
  const ct = s.open();
  const flows = keys(200).map((k) => ({ ...k, timeout: 30 }));
  assert.throws(() => ct.createMany([...flows, { ...flows[0], timeout: -1 }]), RangeError);
  assert.equal(s.sent(), 0);
  ct.close();
});

for (const op of ["deleteMany", "createMany"] as const) {
  test(`${op} of a lazy iterable stops at a bad item: the error says how many were sent, with their outcome`, () => {
    const s = scripted();
    const ct = s.open();
    const good = keys(200).map((k) => ({ ...k, timeout: 30 }));
    function* items() {
      yield* good;
      yield { ...good[0], sport: 70000, orig: { ...good[0].orig, sport: 70000 } };
      yield* good; // never reached
    }
    let err: unknown;
    try {
      if (op === "deleteMany") ct.deleteMany(items() as never);
      else ct.createMany(items() as never);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof TypeError || err instanceof RangeError, `threw ${String(err)}`);
    const e = err as Error & {
      sent: number;
      result: { deleted?: number; created?: number; failed: unknown[] };
    };
    assert.equal(e.sent, 200);
    assert.match(e.message, /item 200: the 200 items before it were sent/);
    assert.equal(s.sent(), 200, "exactly the items before the bad one went out");
    assert.equal(op === "deleteMany" ? e.result.deleted : e.result.created, 200);
    assert.equal(e.result.failed.length, 0);
    ct.close();
  });
}

test("a lazy iterable that throws reports what was sent before it, with its own error", () => {
  const s = scripted();
  const ct = s.open();
  const boom = new Error("source failed");
  function* items() {
    yield* keys(3);
    throw boom;
  }
  assert.throws(() => ct.deleteMany(items()), (e: unknown) => {
    assert.equal(e, boom);
    assert.equal((e as { sent?: number }).sent, 3);
    assert.equal((e as { result?: { deleted: number } }).result?.deleted, 3);
    assert.equal((e as Error).message, "source failed", "the caller's message is left alone");
    return true;
  });
  assert.equal(s.sent(), 3);
  ct.close();
});

// --- Options -------------------------------------------------------------------------------------

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
}
for (
  const fmt of [5, "extended", null, { extended: "yes" }, { id: 1 }, { xml: true }, { bogus: true }]
) {
  refused(
    `lines(undefined, {}, ${JSON.stringify(fmt)})`,
    (ct) => ct.lines(undefined, {}, fmt as never),
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

// --- Flush (the lead's contract: filter required and checked; options checked) -------------------

const FLUSH_CONTRACT: [string, Call][] = [
  ["flush()", (ct) => (ct.flush as (...a: unknown[]) => unknown)()],
  ["flush(undefined)", (ct) => ct.flush(undefined as never)],
  ["flush(null)", (ct) => ct.flush(null as never)],
  ["flush({})", (ct) => ct.flush({})],
  ["flush({ reply: {} })", (ct) => ct.flush({ reply: {} })],
  ["flush({ src: undefined })", (ct) => ct.flush({ src: undefined })],
  [
    'flush({ family: "ipv4", reply: { src: undefined } })',
    (ct) => ct.flush({ family: "ipv4", reply: { src: undefined } }),
  ],
  ["flush({ reply: null })", (ct) => ct.flush({ reply: null } as never)],
  ["flush({ mrak: 7 })", (ct) => ct.flush({ mrak: 7 } as never)],
  ["flush(5)", (ct) => ct.flush(5 as never)],
  [
    'flush({ proto: "udp" }, { onDeleted: 5 })',
    (ct) => ct.flush({ proto: "udp" }, { onDeleted: 5 } as never),
  ],
  [
    'flush({ proto: "udp" }, { where: "x" })',
    (ct) => ct.flush({ proto: "udp" }, { where: "x" } as never),
  ],
  [
    'flush({ proto: "udp" }, { via: "fast" })',
    (ct) => ct.flush({ proto: "udp" }, { via: "fast" } as never),
  ],
  [
    'flush({ proto: "udp" }, { bogus: 1 })',
    (ct) => ct.flush({ proto: "udp" }, { bogus: 1 } as never),
  ],
  ['flush({ proto: "udp" }, 5)', (ct) => ct.flush({ proto: "udp" }, 5 as never)],
  ['flush({ proto: "udp" }, null)', (ct) => ct.flush({ proto: "udp" }, null as never)],
  ['flushAll({ via: "fast" })', (ct) => method(ct, "flushAll")({ via: "fast" })],
  ["flushAll(5)", (ct) => method(ct, "flushAll")(5)],
  ["flushAll({ bogus: 1 })", (ct) => method(ct, "flushAll")({ bogus: 1 })],
];
for (const [name, call] of FLUSH_CONTRACT) refused(name, call);

// --- Filters of dumps (the lead's filter.ts decides the details; these must hold) ---------------

for (
  const f of [5, "udp", { mrak: 7 }, { src: null }, { proto: "bogus" }, { dport: 70000 }, {
    dport: -1,
  }, { reply: 5 }]
) {
  refused(`list(${JSON.stringify(f)})`, (ct) => ct.list(f as never));
  refused(`dump(${JSON.stringify(f)})`, (ct) => ct.dump(f as never));
}

// --- Expectations --------------------------------------------------------------------------------

const EXP_TUPLE = { src: "10.0.0.1", dst: "10.0.0.2", sport: 0, dport: 2000 };
const EXP_KEY = { proto: "tcp", tuple: EXP_TUPLE };
const EXP = {
  proto: "tcp",
  tuple: EXP_TUPLE,
  master: { proto: "tcp", ...ORIG, dport: 21 },
  timeout: 30,
};

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

// --- Controls: the limits themselves are accepted, and the transport does count -----------------

const ACCEPTED: [string, Call, number][] = [
  ["create at every limit", (ct) =>
    ct.create({
      ...CREATE,
      mark: 2 ** 32 - 1,
      zone: 65535,
      labels: [0, 127],
      tcp: {
        state: "SYN_SENT2",
        wscaleOrig: 14,
        wscaleReply: 0,
        flagsOrig: { flags: 255, mask: 255 },
        flagsReply: { flags: 0, mask: 0 },
      },
      helper: "x".repeat(15),
      helperInfo: new Uint8Array(32),
      seqAdjOrig: { correctionPos: 2 ** 32 - 1, offsetBefore: 0, offsetAfter: 0 },
      synproxy: { isn: 2 ** 32 - 1, its: 0, tsoff: 0 },
      unknown: [{ type: 0x3fff, data: new Uint8Array(65531) }, {
        type: 100 | 0x8000,
        data: new Uint8Array(0),
      }],
      natSrc: { minIp: "10.0.0.9", minPort: 1, maxPort: 65535 },
    } as never), 1],
  [
    "update of an SCTP flow with u32 vtags",
    (ct) =>
      ct.update(
        { ...SCTP, sctp: { state: "ESTABLISHED", vtagOrig: 2 ** 32 - 1, vtagReply: 0 } } as never,
      ),
    1,
  ],
  [
    "update of a DCCP flow at its limits",
    (ct) =>
      ct.update(
        { ...DCCP, dccp: { state: "TIMEWAIT", role: 1, handshakeSeq: 2n ** 64n - 1n } } as never,
      ),
    1,
  ],
  [
    "update with undefined optional fields beside a change",
    (ct) => ct.update({ ...KEY, mark: 1, zone: undefined, id: undefined } as never),
    1,
  ],
  ["delete of a key with zone and id", (ct) => ct.delete({ ...KEY, zone: 1, id: 7 } as never), 1],
  ["get of a dumped-looking flow as its key", (ct) =>
    ct.get({
      ...KEY,
      family: "ipv4",
      reply: { src: ORIG.dst, dst: ORIG.src, sport: 80, dport: 1000 },
      tcp: { state: "STATE_12" },
      counters: { orig: { packets: 1, bytes: 2 }, reply: { packets: 0, bytes: 0 } },
      timestamp: { start: 1n },
      use: 1,
      secctx: "x",
    } as never), 1],
  [
    "delete by a dumped master tuple (it carries its proto)",
    (ct) => ct.delete({ proto: "tcp", orig: { ...ORIG, proto: "tcp" } } as never),
    1,
  ],
  ["addLabels", (ct) => ct.addLabels(KEY as never, [0, 127]), 1],
  ["deleteMany of 3 keys", (ct) => ct.deleteMany(keys(3)), 3],
  [
    "list()",
    (ct) => ct.list(undefined, { readAhead: false, zero: false, kernelFilterOnly: true }),
    1,
  ],
  ["listExpect({ helper })", (ct) => ct.listExpect({ helper: "x".repeat(15) }), 1],
  [
    "createExpect",
    (ct) =>
      ct.createExpect({ ...EXP, helper: "ftp", flags: ["PERMANENT", "BIT_31" as never] } as never),
    1,
  ],
  // A dump of the expectations (empty here), then one delete per listed one.
  ["flushExpect(helper)", (ct) => ct.flushExpect("ftp"), 1],
];
for (const [name, call, n] of ACCEPTED) {
  test(`accepted and sent: ${name}`, () => {
    const s = scripted();
    const ct = s.open();
    run(ct, call);
    assert.equal(s.sent(), n);
    ct.close();
  });
}
