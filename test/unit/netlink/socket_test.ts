/**
 * Protocol edge cases of {@link NetlinkSocket}, driven through a scripted transport (the same
 * through the client: test/unit/conntrack/client_test.ts). Data replies are real kernel datagrams (test/fixtures/real_dump_*.hex, captured by
 * scripts/capture_real_dump.ts in a throwaway netns) with their sequence numbers rewritten to
 * the request's; control messages are built by test/_helpers/scripted.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SyscallError } from "../../../ffi/errno.ts";
import type { Flow } from "../../../conntrack/flow.ts";
import { FlowDecoder } from "../../../conntrack/flow_decode.ts";
import { NetlinkError } from "../../../netlink/errors.ts";
import {
  HOST_LE,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLMSG_OVERRUN,
} from "../../../netlink/message.ts";
import type { BatchOutcome } from "../../../netlink/batch_replies.ts";
import type { NetlinkSocket } from "../../../netlink/socket.ts";
import {
  ackMessage,
  datagram,
  dataMessage,
  doneMessage,
  errorMessage,
  loadRealDump,
  reseq,
  splitMessages,
} from "../../_helpers/scripted.ts";
import { CT_GET, CT_NEW, real, request, scriptedSocket } from "../../_helpers/scripted_socket.ts";

const FLOWS = loadRealDump("flows"); // 3 datagrams: 60 flows, then NLMSG_DONE
const GET = loadRealDump("get"); // the flow, then its ACK
const BATCH = loadRealDump("batch"); // ACK, ENOENT, ACK
const EEXIST = loadRealDump("error_eexist")[0];
const ENOENT_REPLY = loadRealDump("error_enoent")[0];
const EXTACK = loadRealDump("error_extack")[0]; // ERANGE, "Attribute failed policy validation", offset 20

function drain(sock: NetlinkSocket, seq: number, dump: boolean, op = "Cannot test"): number {
  let n = 0;
  for (const _ of sock.replies(seq, op, dump)) n++;
  return n;
}

function setFlags(d: Uint8Array, msgOffset: number, or: number): Uint8Array {
  const out = d.slice();
  const dv = new DataView(out.buffer);
  dv.setUint16(msgOffset + 6, dv.getUint16(msgOffset + 6, HOST_LE) | or, HOST_LE);
  return out;
}

test("replies() throws RangeError on a reply with another sequence number, and reads nothing more", () => {
  const { sock, t } = scriptedSocket((t) =>
    t.push((t) => reseq(GET[0], t.lastRequest().header.seq + 1), real(GET[1]))
  );
  const seq = request(sock);
  assert.throws(
    () => drain(sock, seq, false, "Cannot get flow"),
    (e: unknown) => e instanceof RangeError && e.message.includes(`does not match request ${seq}`),
  );
  assert.equal(t.recvCalls, 1);
});

test("drainBatch() throws RangeError on a reply whose sequence number is outside the batch", () => {
  const { sock } = scriptedSocket((t) =>
    t.push((t) => reseq(BATCH[0], t.lastRequest().header.seq + 3))
  );
  const first = request(sock);
  sock.nextSeq(2);
  assert.throws(
    () => sock.drainBatch({ first, count: 3, op: "Cannot delete flows", onOutcome: () => {} }),
    RangeError,
  );
});

test("a kernel error without extended ACK becomes NetlinkError with code, errno and operation", () => {
  for (
    const [bytes, errno, code] of [[ENOENT_REPLY, 2, "ENOENT"], [EEXIST, 17, "EEXIST"]] as const
  ) {
    const { sock } = scriptedSocket((t) => t.push(real(bytes)));
    const seq = request(sock, CT_NEW);
    assert.throws(() => drain(sock, seq, false, "Cannot create flow"), (e: unknown) => {
      assert.ok(e instanceof NetlinkError);
      assert.equal(e.name, "NetlinkError");
      assert.equal(e.errno, errno);
      assert.equal(e.code, code);
      assert.equal(e.operation, "Cannot create flow");
      assert.equal(e.kernelMessage, undefined);
      assert.equal(e.offset, undefined);
      assert.match(e.message, new RegExp(`^Cannot create flow: ${code} \\(`));
      return true;
    });
  }
});

test("a kernel error with extended ACK exposes the message and offset, and says them in its text", () => {
  const { sock } = scriptedSocket((t) => t.push(real(EXTACK)));
  const seq = request(sock, CT_NEW);
  assert.throws(() => drain(sock, seq, false, "Cannot create flow"), (e: unknown) => {
    assert.ok(e instanceof NetlinkError);
    assert.equal(e.code, "ERANGE");
    assert.equal(e.kernelMessage, "Attribute failed policy validation");
    assert.equal(e.offset, 20);
    assert.ok(e.message.includes(`kernel says "Attribute failed policy validation"`), e.message);
    assert.ok(e.message.includes("(at request byte 20)"), e.message);
    return true;
  });
});

test("extended ACK is found after a whole echoed request (no NLM_F_CAPPED) too", () => {
  const { sock } = scriptedSocket((t) =>
    t.push((t) =>
      errorMessage(t.lastRequest(), 22, { capped: false, message: "bad thing", offset: 24 })
    )
  );
  const seq = request(sock, CT_NEW);
  assert.throws(
    () => drain(sock, seq, false, "Cannot create flow"),
    (e: unknown) =>
      e instanceof NetlinkError && e.code === "EINVAL" && e.kernelMessage === "bad thing" &&
      e.offset === 24,
  );
});

test("replies() streams a multipart dump spread over several datagrams until NLMSG_DONE", () => {
  const { sock, t } = scriptedSocket((t) => t.push(...FLOWS.map(real)));
  const seq = request(sock, CT_GET, NLM_F_DUMP);
  const dec = new FlowDecoder();
  const flows: Flow[] = [];
  for (const r of sock.replies(seq, "Cannot dump flows", true)) {
    assert.equal(r.seq, seq);
    flows.push(dec.decode(r.dv, r.offset, r.length));
  }
  assert.equal(flows.length, 60);
  assert.equal(t.recvCalls, 3);
  assert.equal(t.queue.length, 0);
  assert.equal(sock.busy, false);
  const tcp = flows.find((f) => f.proto === "tcp" && f.family === "ipv4");
  assert.ok(tcp);
  assert.deepEqual(tcp.orig, { src: "10.0.0.1", dst: "10.0.0.2", sport: 40000, dport: 443 });
  assert.equal(tcp.mark, 0x2a);
  assert.equal(tcp.tcp?.state, "ESTABLISHED");
  assert.ok(tcp.counters && tcp.timestamp, "acct and timestamps were on during the capture");
  assert.equal(flows.find((f) => f.family === "ipv6" && f.proto === "udp")?.zone, 7);
  assert.equal(flows.filter((f) => f.proto === "udp" && f.family === "ipv4").length, 53);
  // Finished cleanly: the transport was kept.
  assert.equal(t.closed, false);
});

test("NLMSG_DONE carrying an error ends the dump with NetlinkError (with its extended ACK)", () => {
  for (const ext of [{}, { message: "dump failed" }]) {
    const { sock } = scriptedSocket((t) =>
      t.push(real(FLOWS[0]), (t) => doneMessage(t.lastRequest(), 12, ext))
    );
    const seq = request(sock, CT_GET, NLM_F_DUMP);
    let n = 0;
    assert.throws(
      () => {
        for (const _ of sock.replies(seq, "Cannot dump flows", true)) n++;
      },
      (e: unknown) =>
        e instanceof NetlinkError && e.code === "ENOMEM" &&
        e.kernelMessage === (ext as { message?: string }).message,
    );
    assert.ok(n > 0, "the flows before the DONE were yielded");
  }
});

test("an ACK inside a dump does not end it: the dump ends at NLMSG_DONE", () => {
  const { sock, t } = scriptedSocket((t) =>
    t.push((t) => ackMessage(t.lastRequest()), real(FLOWS[0]), real(FLOWS[1]), real(FLOWS[2]))
  );
  const seq = request(sock, CT_GET, NLM_F_DUMP | NLM_F_ACK);
  assert.equal(drain(sock, seq, true), 60);
  assert.equal(t.queue.length, 0);
});

test("a dump message flagged NLM_F_DUMP_INTR throws NetlinkError EINTR saying the table changed", () => {
  const { sock, opened } = scriptedSocket((t) =>
    t.push((t) => reseq(setFlags(FLOWS[1], 0, NLM_F_DUMP_INTR), t.lastRequest().header.seq))
  );
  const seq = request(sock, CT_GET, NLM_F_DUMP);
  assert.throws(
    () => drain(sock, seq, true, "Cannot dump flows"),
    (e: unknown) =>
      e instanceof NetlinkError && e.code === "EINTR" &&
      e.message.includes("the table changed during the dump"),
  );
  assert.equal(opened.length, 2, "the half-read dump's socket was replaced");
});

test("NLMSG_OVERRUN throws NetlinkError ENOBUFS", () => {
  const { sock } = scriptedSocket((t) =>
    t.push((t) => dataMessage(t.lastRequest(), NLMSG_OVERRUN, new Uint8Array(4)))
  );
  const seq = request(sock, CT_GET, NLM_F_DUMP);
  assert.throws(
    () => drain(sock, seq, true),
    (e: unknown) => e instanceof NetlinkError && e.code === "ENOBUFS",
  );
});

test("a datagram larger than the receive buffer is a RangeError, and the reopened socket works", () => {
  const { sock, opened } = scriptedSocket((t, i) => {
    if (i === 0) t.truncateNextRecv(70000);
  });
  const seq = request(sock, CT_GET, NLM_F_DUMP);
  assert.throws(
    () => drain(sock, seq, true, "Cannot dump flows"),
    (e: unknown) =>
      e instanceof RangeError && e.message.includes("70000-byte datagram did not fit"),
  );
  assert.equal(opened.length, 2);
  assert.equal(opened[0].closed, true);
  // The next request goes to the fresh transport, with a buffer grown to fit such datagrams.
  const big = datagram(...Array.from({ length: 9 }, () => FLOWS[1])); // 73 KB of real flows
  assert.ok(big.length > 70000);
  opened[1].push((t) => reseq(big, t.lastRequest().header.seq), real(FLOWS[2]));
  const seq2 = request(sock, CT_GET, NLM_F_DUMP);
  assert.equal(opened[1].sent.length, 1);
  assert.equal(drain(sock, seq2, true), 9 * splitMessages(FLOWS[1]).length);
});

test("malformed nlmsg_len values and short datagrams are RangeErrors, never a hang", () => {
  const good = GET[1]; // a real 36-byte ACK
  const withLen = (len: number) => {
    const d = good.slice();
    new DataView(d.buffer).setUint32(0, len, HOST_LE);
    return d;
  };
  const shortError = (() => { // NLMSG_ERROR whose length leaves no room for struct nlmsgerr
    const d = withLen(24).subarray(0, 24);
    return d;
  })();
  const cases: [string, Uint8Array][] = [
    ["length 0", withLen(0)],
    ["length 15 (shorter than a header)", withLen(15)],
    ["length past the datagram", withLen(37)],
    ["length 0xffffffff", withLen(0xffffffff)],
    ["datagram of 8 bytes", good.subarray(0, 8)],
    ["trailing bytes too short for a header", datagram(GET[0], good.subarray(0, 12))],
    ["NLMSG_ERROR shorter than struct nlmsgerr", shortError],
  ];
  for (const [name, bytes] of cases) {
    const { sock, t } = scriptedSocket((t) =>
      t.push((t) => reseq0(bytes, t.lastRequest().header.seq))
    );
    const seq = request(sock);
    assert.throws(() => drain(sock, seq, false), RangeError, name);
    assert.equal(t.recvCalls, 1, name);
  }
});

/** Sets the seq of the first message only, without walking lengths (they may be broken). */
function reseq0(d: Uint8Array, seq: number): Uint8Array {
  const out = d.slice();
  if (out.length >= 12) new DataView(out.buffer).setUint32(8, seq, HOST_LE);
  return out;
}

test("drainBatch() turns ENOBUFS into SyscallError ENOBUFS naming how many outcomes were lost", () => {
  const { sock, opened } = scriptedSocket((t) => t.push(real(BATCH[0])).failNextRecvWithENOBUFS());
  const first = request(sock, CT_NEW);
  sock.nextSeq(2);
  const got: BatchOutcome[] = [];
  assert.throws(
    () =>
      sock.drainBatch({
        first,
        count: 3,
        op: "Cannot delete flows",
        onOutcome: (o) => got.push(o),
      }),
    (e: unknown) => {
      assert.ok(e instanceof SyscallError);
      assert.equal(e.name, "SyscallError");
      assert.equal(e.code, "ENOBUFS");
      assert.equal(e.syscall, "recvfrom");
      assert.ok(e.message.startsWith("Cannot delete flows: 2 of 3 outcomes were lost"), e.message);
      return true;
    },
  );
  assert.deepEqual(got, [{ seq: first, errno: 0 }]);
  assert.equal(opened.length, 2, "a socket with lost replies is replaced");
  assert.equal(opened[0].closed, true);
});

test("drainErrors() reports only failures, stops when nothing more is queued, and maps ENOBUFS", () => {
  const { sock, t } = scriptedSocket((t) =>
    t.push(real(BATCH[0]), (t) => reseq(BATCH[1], t.lastRequest().header.seq + 1))
  );
  const first = request(sock, CT_NEW, 0);
  sock.nextSeq(2);
  const got: BatchOutcome[] = [];
  assert.equal(
    sock.drainErrors({ first, count: 3, op: "Cannot delete flows", onOutcome: (o) => got.push(o) }),
    1,
  );
  assert.deepEqual(got, [{ seq: first + 1, errno: 2 }]);
  assert.equal(t.recvCalls, 3, "read until the queue was empty, without waiting");

  t.failNextRecvWithENOBUFS();
  assert.throws(
    () => sock.drainErrors({ first, count: 3, op: "Cannot delete flows", onOutcome: () => {} }),
    (e: unknown) =>
      e instanceof SyscallError && e.code === "ENOBUFS" &&
      e.message.startsWith("Cannot delete flows: "),
  );
});

test("replies() refuses a second reader while a dump is being read on the same socket", () => {
  const { sock } = scriptedSocket((t) => t.push(...FLOWS.map(real)));
  const seq = request(sock, CT_GET, NLM_F_DUMP);
  const it = sock.replies(seq, "Cannot dump flows", true);
  it.next();
  assert.equal(sock.busy, true);
  assert.throws(() => sock.replies(seq, "Cannot get flow", false).next(), TypeError);
  it.return();
  assert.equal(sock.busy, false);
});
