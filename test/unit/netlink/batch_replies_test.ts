/**
 * netlink/batch_replies.ts: reading the replies of a batch from datagrams already received, the
 * one reader behind NetlinkSocket.drainBatch/drainErrors and the batch sender's worker. Real
 * kernel replies (test/fixtures/real_dump_batch.hex: ACK, ENOENT, ACK) and built ones.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type BatchOutcome, readBatchReplies } from "../../../netlink/batch_replies.ts";
import { HOST_LE, NLMSG_DONE, NLMSG_NOOP, type Reply } from "../../../netlink/message.ts";
import {
  ackMessage,
  datagram,
  dataMessage,
  errorMessage,
  loadRealDump,
  reseq,
  type SentMessage,
  splitMessages,
} from "../../_helpers/scripted.ts";

const FIRST = 1000;
const view = (d: Uint8Array) => new DataView(d.buffer, d.byteOffset, d.byteLength);

/** A request header numbered `seq`, for the reply builders to echo. */
function request(seq: number): SentMessage {
  const bytes = new Uint8Array(16);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(0, 16, HOST_LE);
  dv.setUint32(8, seq, HOST_LE);
  return splitMessages(bytes)[0];
}

/** Reads `d` as replies to the batch FIRST..FIRST+count-1; returns what came out. */
function read(d: Uint8Array, count = 3) {
  const outcomes: BatchOutcome[] = [];
  const data: Pick<Reply, "type" | "seq" | "length">[] = [];
  const n = readBatchReplies(view(d), d.length, {
    first: FIRST,
    count,
    op: "Cannot test",
    onOutcome: (o) => outcomes.push(o),
    onData: (r) => data.push({ type: r.type, seq: r.seq, length: r.length }),
  });
  return { n, outcomes, data };
}

test("the kernel's replies to 3 acknowledged deletes (ACK, ENOENT, ACK) come out in order, as outcomes", () => {
  const grams = loadRealDump("batch").map((d, i) => reseq(d, FIRST + i));
  const got = read(datagram(...grams));
  assert.equal(got.n, 3);
  assert.deepEqual(got.outcomes, [
    { seq: FIRST, errno: 0 },
    { seq: FIRST + 1, errno: 2 },
    { seq: FIRST + 2, errno: 0 },
  ]);
  assert.deepEqual(got.data, []);
});

test("an error's extended-ACK text is kept; data replies go to onData; NOOP and DONE are skipped", () => {
  const d = datagram(
    dataMessage(request(FIRST), 0x0100, new Uint8Array(4)),
    errorMessage(request(FIRST + 1), 17, { message: "entry exists" }),
    dataMessage(request(FIRST + 2), NLMSG_NOOP, new Uint8Array(0)),
    dataMessage(request(FIRST + 2), NLMSG_DONE, new Uint8Array(4)),
    ackMessage(request(FIRST + 2)),
  );
  const got = read(d);
  assert.equal(got.n, 2);
  assert.deepEqual(got.outcomes, [
    { seq: FIRST + 1, errno: 17, message: "entry exists" },
    { seq: FIRST + 2, errno: 0 },
  ]);
  assert.deepEqual(got.data, [{ type: 0x0100, seq: FIRST, length: 20 }]);
});

test("a reply numbered outside the batch is a RangeError naming the batch's numbers", () => {
  for (const seq of [FIRST - 1, FIRST + 3]) {
    assert.throws(() => read(ackMessage(request(seq))), {
      name: "RangeError",
      message: `Cannot test: reply sequence number ${seq} is not one of the batch ${FIRST}..${
        FIRST + 2
      }`,
    });
  }
});

test("a truncated message is a RangeError, not a silent stop", () => {
  const d = ackMessage(request(FIRST));
  assert.throws(
    () =>
      readBatchReplies(view(d), d.length - 4, {
        first: FIRST,
        count: 1,
        op: "x",
        onOutcome: () => {},
      }),
    RangeError,
  );
});
