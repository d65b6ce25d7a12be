/**
 * Batches of the client (`deleteMany`) on a scripted transport: every outcome counted, batches
 * sized to the receive buffer, and ENOBUFS (lost replies) reported and recovered from. Error
 * replies are the real kernel's (test/fixtures/real_dump_batch.hex).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SyscallError } from "../../../ffi/errno.ts";
import { Conntrack } from "../../../conntrack/client.ts";
import { NLM_F_ACK } from "../../../netlink/message.ts";
import { kernelLike } from "../../_helpers/kernel_like.ts";
import {
  errorMessage,
  loadRealDump,
  reseq,
  scriptedFactory,
  type ScriptedTransport,
  type SentMessage,
  splitMessages,
} from "../../_helpers/scripted.ts";

const BATCH = loadRealDump("batch"); // ACK, ENOENT, ACK

/**
 * Answers a batch as the kernel does: a failure always gets an error reply (the real ENOENT when
 * `errnos` says 2), a success an ACK only if the request asked for one (`NLM_F_ACK`).
 */
function answerBatch(errnos: (i: number) => number) {
  let n = 0;
  return (t: ScriptedTransport, msgs: SentMessage[]) => {
    for (const m of msgs) {
      const errno = errnos(n++);
      if (errno === 2) t.push(reseq(BATCH[1], m.header.seq));
      else if (errno !== 0) t.push(errorMessage(m, errno, { message: "entry is busy" }));
      else if (m.header.flags & NLM_F_ACK) t.push(reseq(BATCH[0], m.header.seq));
    }
  };
}

const udpKeys = (n: number, base = 20000) =>
  Array.from({ length: n }, (_, i) => ({
    proto: "udp" as const,
    orig: { src: "192.168.1.1", dst: "192.168.2.1", sport: base + i, dport: 53 },
  }));

test("deleteMany() counts successes as deleted, ENOENT as missing and other errors as failed", () => {
  const f = scriptedFactory((t) => t.onSend = answerBatch((i) => [0, 2, 0, 16][i]));
  const ct = Conntrack.open({ transport: f.factory });
  const keys = udpKeys(4);
  const r = ct.deleteMany(keys);
  assert.equal(r.deleted, 2);
  assert.equal(r.missing, 1);
  assert.equal(r.failed.length, 1);
  assert.deepEqual(r.failed[0].flow, keys[3]);
  assert.equal(r.failed[0].error.code, "EBUSY");
  assert.equal(r.failed[0].error.kernelMessage, "entry is busy");
  assert.equal(f.opened[0].sent.length, 1, "the four deletes went in one datagram");
  assert.equal(f.opened[0].sentMessages().length, 4);
  ct.close();
});

test("deleteMany() splits batches to fit the receive buffer and numbers every request apart", () => {
  // 16 KiB of receive buffer: room for 16 replies per batch at most.
  const f = scriptedFactory((t) => t.onSend = answerBatch(() => 0), {
    receiveBufferSize: 16 * 1024,
  });
  const ct = Conntrack.open({ transport: f.factory });
  assert.deepEqual(ct.deleteMany(udpKeys(40)), { deleted: 40, missing: 0, failed: [] });
  assert.deepEqual(f.opened[0].sent.map((d) => splitMessages(d).length), [16, 16, 8]);
  const seqs = f.opened[0].sentMessages().map((m) => m.header.seq);
  assert.equal(new Set(seqs).size, 40);
  ct.close();
});

test("deleteMany() reports ENOBUFS as SyscallError and the client recovers on a fresh socket", () => {
  const f = scriptedFactory((t, i) =>
    t.onSend = i === 0
      ? (t, msgs) => {
        answerBatch((i) => i === 0 ? 2 : 0)(t, msgs.slice(0, 1));
        t.failNextRecvWithENOBUFS();
      }
      : kernelLike
  );
  const ct = Conntrack.open({ transport: f.factory });
  assert.throws(
    () => ct.deleteMany(udpKeys(3)),
    (e: unknown) =>
      e instanceof SyscallError && e.code === "ENOBUFS" && e.syscall === "recvfrom" &&
      e.message.startsWith("Cannot delete flows: ") && /\b3\b/.test(e.message),
  );
  assert.equal(f.opened[0].closed, true, "a socket with lost replies is replaced");
  assert.equal(ct.count(), 60);
  ct.close();
});
