/**
 * What the client sends for dump-and-zero, the dying and unconfirmed lists, and label masks,
 * through a scripted transport answering with real kernel datagrams
 * (test/fixtures/real_dump_*.hex). The kernel's side of the same is in
 * test/kernel/ctrzero_test.ts and test/kernel/labels_test.ts.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Conntrack } from "../../../conntrack/client.ts";
import type { DumpOptions } from "../../../conntrack/dump.ts";
import type { Filter } from "../../../conntrack/filter.ts";
import * as C from "../../../conntrack/constants.ts";
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_HDRLEN } from "../../../netlink/message.ts";
import { kernelLike } from "../../_helpers/kernel_like.ts";
import {
  datagram,
  doneMessage,
  loadRealDump,
  reseq,
  scriptedFactory,
  type ScriptedTransport,
  type SentMessage,
  splitMessages,
} from "../../_helpers/scripted.ts";

const kind = (m: SentMessage) => m.header.type & 0xff;
const isDump = (m: SentMessage) => (m.header.flags & NLM_F_DUMP) === NLM_F_DUMP;

const sent = (f: { opened: ScriptedTransport[] }) => f.opened.flatMap((t) => t.sentMessages());

test("dump({ zero: true }) without a filter is one IPCTNL_MSG_CT_GET_CTRZERO dump of all families", () => {
  const f = scriptedFactory((t) => t.onSend = kernelLike);
  using ct = Conntrack.open({ transport: f.factory });
  assert.equal(ct.list(undefined, { zero: true }).length, 60);
  const msgs = sent(f);
  assert.equal(msgs.length, 1);
  assert.equal(msgs[0].header.type, (C.NFNL_SUBSYS_CTNETLINK << 8) | C.IPCTNL_MSG_CT_GET_CTRZERO);
  assert.equal(msgs[0].header.flags, NLM_F_REQUEST | NLM_F_DUMP);
  assert.equal(msgs[0].bytes[NLMSG_HDRLEN], C.AF_UNSPEC, "nfgen_family");
  assert.equal(msgs[0].bytes.length, NLMSG_HDRLEN + 4, "no attributes");
});

test("dump(filter, { zero: true }) dumps without zeroing, then zeroes each match by its tuple on the second socket", () => {
  const f = scriptedFactory((t) => t.onSend = kernelLike);
  using ct = Conntrack.open({ transport: f.factory });
  const filter = { proto: "tcp" as const };
  const matches = ct.list(filter);
  assert.ok(matches.length > 0 && matches.length < 60, "the fixture has some TCP flows");
  const before = sent(f).length;

  const zeroed = ct.list(filter, { zero: true });
  assert.equal(
    zeroed.length,
    matches.length,
    "one zeroing GET per match, each answered by the (fixture's) flow",
  );
  const msgs = sent(f).slice(before);
  const dumps = msgs.filter(isDump); // one per family when the filter needs CTA_FILTER
  assert.ok(dumps.length >= 1);
  for (const d of dumps) {
    assert.equal(kind(d), C.IPCTNL_MSG_CT_GET, "the dump itself zeroes nothing");
  }
  const zeroing = msgs.filter((m) => !isDump(m));
  assert.equal(zeroing.length, matches.length);
  for (const m of zeroing) {
    assert.equal(kind(m), C.IPCTNL_MSG_CT_GET_CTRZERO);
    assert.equal(m.header.flags, NLM_F_REQUEST | NLM_F_ACK, "one entry, not a dump");
  }
  assert.equal(
    f.opened[1].sentMessages().length,
    matches.length,
    "on the second socket, while the dump goes on",
  );
});

test("dying() and unconfirmed() are whole-table dumps of their own message types", () => {
  const f = scriptedFactory((t) => t.onSend = kernelLike);
  using ct = Conntrack.open({ transport: f.factory });
  assert.deepEqual([...ct.dying()], []);
  assert.deepEqual([...ct.unconfirmed()], []);
  const msgs = sent(f);
  assert.deepEqual(msgs.map(kind), [C.IPCTNL_MSG_CT_GET_DYING, C.IPCTNL_MSG_CT_GET_UNCONFIRMED]);
  for (const m of msgs) {
    assert.equal(m.header.flags, NLM_F_REQUEST | NLM_F_DUMP);
    assert.equal(m.bytes.length, NLMSG_HDRLEN + 4);
  }
});

/** The payloads of the CTA_LABELS and CTA_LABELS_MASK attributes of a request. */
function labelAttrs(m: SentMessage): { labels?: number[]; mask?: number[] } {
  const out: { labels?: number[]; mask?: number[] } = {};
  const dv = new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
  for (let off = NLMSG_HDRLEN + 4; off + 4 <= m.bytes.length;) {
    const len = dv.getUint16(off, true), type = dv.getUint16(off + 2, true) & 0x3fff;
    const payload = [...m.bytes.subarray(off + 4, off + len)];
    if (type === C.CTA_LABELS) out.labels = payload;
    if (type === C.CTA_LABELS_MASK) out.mask = payload;
    off += (len + 3) & ~3;
  }
  return out;
}

// 128-bit bitmaps as the kernel reads them: four host-endian (here little-endian) u32 words.
//                  word 0 (bits 0..31)  word 1 (32..63)  word 2 (64..95)  word 3 (96..127)
const BITS_1_64 = [0x02, 0, 0, 0, /**/ 0, 0, 0, 0, /*  */ 0x01, 0, 0, 0, /**/ 0, 0, 0, 0];
const BITS_31_127 = [0, 0, 0, 0x80, 0, 0, 0, 0, /*     */ 0, 0, 0, 0, /*    */ 0, 0, 0, 0x80];
const NONE = new Array(16).fill(0);

test("addLabels / delLabels send CTA_LABELS with CTA_LABELS_MASK, and only the entry's key besides", () => {
  const f = scriptedFactory((t) => t.onSend = kernelLike);
  using ct = Conntrack.open({ transport: f.factory });
  const key = {
    proto: "tcp" as const,
    orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 40000, dport: 443 },
  };
  ct.addLabels(key, [1, 64]);
  ct.delLabels({ ...key, mark: 5, timeout: 9 } as never, [31, 127]);
  const [add, del] = sent(f);
  for (const m of [add, del]) {
    assert.equal(kind(m), C.IPCTNL_MSG_CT_NEW);
    assert.equal(m.header.flags, NLM_F_REQUEST | NLM_F_ACK, "an update: no NLM_F_CREATE");
  }
  assert.deepEqual(labelAttrs(add), { labels: BITS_1_64, mask: BITS_1_64 });
  assert.deepEqual(labelAttrs(del), { labels: NONE, mask: BITS_31_127 });
  // The mark and timeout of a whole flow given as the key are not sent.
  const types = (m: SentMessage) => {
    const dv = new DataView(m.bytes.buffer, m.bytes.byteOffset);
    const ts: number[] = [];
    for (
      let off = NLMSG_HDRLEN + 4;
      off < m.bytes.length;
      off += (dv.getUint16(off, true) + 3) & ~3
    ) ts.push(dv.getUint16(off + 2, true) & 0x3fff);
    return ts.sort((a, b) => a - b);
  };
  assert.deepEqual(types(del), types(add));
  assert.ok(!types(del).includes(C.CTA_MARK) && !types(del).includes(C.CTA_TIMEOUT));
});

test("text() is lines() as UTF-8 bytes: whole lines, each ended by a newline, counted per chunk", () => {
  for (const format of [{}, { extended: true }, { id: true }, { extended: true, id: true }]) {
    const f = scriptedFactory((t) => t.onSend = kernelLike);
    using ct = Conntrack.open({ transport: f.factory });
    const lines = [...ct.lines(undefined, {}, format)];
    const chunks = [...ct.text(undefined, {}, format)].map((c) => ({
      text: new TextDecoder().decode(c.bytes),
      lines: c.lines,
    }));
    assert.equal(lines.length, 60);
    assert.equal(chunks.map((c) => c.text).join(""), lines.map((l) => l + "\n").join(""));
    for (const c of chunks) assert.equal(c.text.split("\n").length - 1, c.lines);
  }
});

test("text() with a filter and with zero takes the decoded path, and gives what lines() gives", () => {
  const cases: [Filter | undefined, DumpOptions][] = [[{ proto: "udp" }, {}], [undefined, {
    zero: true,
  }]];
  for (const [filter, options] of cases) {
    const f = scriptedFactory((t) => t.onSend = kernelLike);
    using ct = Conntrack.open({ transport: f.factory });
    const lines = [...ct.lines(filter, options)];
    const text = [...ct.text(filter, options)].map((c) => new TextDecoder().decode(c.bytes));
    assert.ok(lines.length > 0);
    assert.equal(text.join(""), lines.map((l) => l + "\n").join(""));
  }
});

test("lines() and text() give the lines before a malformed message of a datagram, then throw", () => {
  const good = splitMessages(loadRealDump("flows")[0]).map((m) => m.bytes);
  const bad = good[0].slice();
  new DataView(bad.buffer).setUint16(NLMSG_HDRLEN + 4, 3, true); // nla_len 3: below a header
  const answering = (...messages: Uint8Array[]) => (t: ScriptedTransport) =>
    t.onSend = (t, [req]) => {
      if (!(req.header.flags & NLM_F_DUMP)) return;
      t.push(reseq(datagram(...messages), req.header.seq));
      t.push(doneMessage(req));
    };
  const undated = (s: string) => s.replaceAll(/delta-time=\d+/g, "delta-time=N"); // a second may pass
  const withBad = answering(...good.slice(0, 5), bad, ...good.slice(5));
  let want: string[];
  {
    using ct = Conntrack.open({ transport: scriptedFactory(answering(...good)).factory });
    want = [...ct.lines()].slice(0, 5).map(undated);
    assert.equal(want.length, 5);
  }
  {
    using ct = Conntrack.open({ transport: scriptedFactory(withBad).factory });
    const got: string[] = [];
    assert.throws(() => {
      for (const l of ct.lines()) got.push(undated(l));
    }, RangeError);
    assert.deepEqual(got, want);
  }
  {
    using ct = Conntrack.open({ transport: scriptedFactory(withBad).factory });
    let text = "";
    assert.throws(() => {
      for (const c of ct.text()) text += new TextDecoder().decode(c.bytes);
    }, RangeError);
    assert.equal(undated(text), want.map((l) => l + "\n").join(""));
  }
});
