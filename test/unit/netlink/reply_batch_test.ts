/**
 * {@link NetlinkSocket.batches}: a datagram's data messages at a time, the way a dump is read.
 * Driven through a scripted transport with real kernel datagrams (test/fixtures/real_dump_*.hex),
 * like socket_test.ts, which tests {@link NetlinkSocket.replies} (built on it).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { NetlinkError } from "../../../netlink/errors.ts";
import { HOST_LE, NLM_F_DUMP } from "../../../netlink/message.ts";
import type { NetlinkSocket } from "../../../netlink/socket.ts";
import {
  datagram,
  dataMessage,
  doneMessage,
  errorMessage,
  loadRealDump,
  reseq,
  type ScriptedTransport,
  splitMessages,
} from "../../_helpers/scripted.ts";
import { CT_GET, CT_NEW, real, request, scriptedSocket } from "../../_helpers/scripted_socket.ts";

const FLOWS = loadRealDump("flows"); // 3 datagrams: 60 flows, then NLMSG_DONE
/** Sends a dump request on `sock`; returns its sequence number. */
const dumpRequest = (sock: NetlinkSocket) => request(sock, CT_GET, NLM_F_DUMP);

/** The (offset, length, type) of each data message of a batch. */
function messagesOf(b: { dv: DataView; count: number; offsets: Int32Array; lengths: Int32Array }) {
  const out: [number, number, number][] = [];
  for (let i = 0; i < b.count; i++) {
    out.push([b.offsets[i], b.lengths[i], b.dv.getUint16(b.offsets[i] + 4, HOST_LE)]);
  }
  return out;
}

test("batches() hands out each datagram's data messages once, where replies() finds them", () => {
  const viaBatches: [number, number, number][][] = [];
  {
    const { sock } = scriptedSocket((t) => t.push(...FLOWS.map(real)));
    const seq = dumpRequest(sock);
    for (const b of sock.batches(seq, "Cannot dump flows", true)) viaBatches.push(messagesOf(b));
    assert.equal(sock.busy, false);
  }
  const viaReplies: [number, number, number][] = [];
  {
    const { sock } = scriptedSocket((t) => t.push(...FLOWS.map(real)));
    const seq = dumpRequest(sock);
    for (const r of sock.replies(seq, "Cannot dump flows", true)) {
      viaReplies.push([r.offset, r.length, r.type]);
    }
  }
  assert.deepEqual(viaBatches.flat(), viaReplies);
  assert.equal(viaReplies.length, 60);
  assert.ok(viaReplies.every(([, , type]) => type === CT_NEW));
  // One batch per datagram that holds data (the DONE's datagram holds none, or ends one).
  const dataDatagrams =
    FLOWS.filter((d) => splitMessages(d).some((m) => m.header.type === CT_NEW)).length;
  assert.equal(viaBatches.length, dataDatagrams);
});

test("batches(): the messages before an error in the same datagram come first, then it is thrown", () => {
  const { sock, opened } = scriptedSocket((t) =>
    t.push((t) =>
      datagram(
        ...splitMessages(reseq(FLOWS[0], t.lastRequest().header.seq)).map((m) => m.bytes),
        errorMessage(t.lastRequest(), 1), // EPERM
      )
    )
  );
  const seq = dumpRequest(sock);
  const before = splitMessages(FLOWS[0]).length;
  let got = 0;
  assert.throws(
    () => {
      for (const b of sock.batches(seq, "Cannot dump flows", true)) got += b.count;
    },
    (e: unknown) => e instanceof NetlinkError && e.code === "EPERM",
  );
  assert.equal(got, before);
  assert.equal(opened.length, 1, "an error is the last reply: the socket is kept");
});

test("batches(): leaving after the datagram that held NLMSG_DONE keeps the socket; leaving before reopens it", () => {
  {
    const { sock, opened } = scriptedSocket((t) =>
      t.push((t) =>
        datagram(
          ...splitMessages(reseq(FLOWS[0], t.lastRequest().header.seq)).map((m) => m.bytes),
          doneMessage(t.lastRequest()),
        )
      )
    );
    const seq = dumpRequest(sock);
    for (const b of sock.batches(seq, "Cannot dump flows", true)) {
      assert.ok(b.count > 0);
      break;
    }
    assert.equal(opened.length, 1, "nothing of the dump is left to read");
    assert.equal(sock.busy, false);
  }
  {
    const { sock, opened } = scriptedSocket((t) => t.push(...FLOWS.map(real)));
    const seq = dumpRequest(sock);
    for (const _ of sock.batches(seq, "Cannot dump flows", true)) break;
    assert.equal(opened.length, 2, "the half-read dump's socket was replaced");
  }
});

test("batches() holds a datagram of more messages than its first arrays, in order", () => {
  const n = 700; // 700 messages of 20 bytes: beyond the first 256 offsets
  const { sock } = scriptedSocket((t) =>
    t.push(
      (t) =>
        datagram(
          ...Array.from(
            { length: n },
            (_, i) => dataMessage(t.lastRequest(), CT_NEW, new Uint8Array([i & 255, i >> 8, 0, 0])),
          ),
        ),
      (t) => doneMessage(t.lastRequest()),
    )
  );
  const seq = dumpRequest(sock);
  const seen: number[] = [];
  for (const b of sock.batches(seq, "Cannot dump flows", true)) {
    for (let i = 0; i < b.count; i++) {
      assert.equal(b.lengths[i], 20);
      const at = b.offsets[i] + 16;
      seen.push(b.dv.getUint8(at) | (b.dv.getUint8(at + 1) << 8));
    }
  }
  assert.deepEqual(seen, Array.from({ length: n }, (_, i) => i));
});

test("batches(): the messages before a malformed NLMSG_ERROR in the same datagram come first, then its RangeError", () => {
  const shortError = (t: ScriptedTransport) => errorMessage(t.lastRequest(), 1).subarray(0, 24);
  const positive = (t: ScriptedTransport) => { // error +1: not a negative errno
    const m = errorMessage(t.lastRequest(), 1);
    new DataView(m.buffer, m.byteOffset).setInt32(16, 1, HOST_LE);
    return m;
  };
  for (const [name, bad] of [["short", shortError], ["positive", positive]] as const) {
    const { sock, opened } = scriptedSocket((t) =>
      t.push((t) => {
        const data = splitMessages(reseq(FLOWS[0], t.lastRequest().header.seq));
        const m = bad(t);
        new DataView(m.buffer, m.byteOffset).setUint32(0, m.length, HOST_LE);
        return datagram(...data.map((m) => m.bytes), m);
      })
    );
    const seq = dumpRequest(sock);
    let got = 0;
    assert.throws(
      () => {
        for (const b of sock.batches(seq, "Cannot dump flows", true)) got += b.count;
      },
      (e: unknown) =>
        e instanceof RangeError && e.message.startsWith("Cannot read netlink error message"),
      name,
    );
    assert.equal(got, splitMessages(FLOWS[0]).length, `${name}: the flows before it`);
    assert.equal(opened.length, 2, `${name}: bad bytes are no last reply: the socket is reopened`);
  }
});
