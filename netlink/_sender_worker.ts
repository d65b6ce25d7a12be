/**
 * The thread behind {@link BatchSender} (netlink/sender.ts): sends each submitted batch, reads
 * its error replies without waiting, and writes the failures back into the batch's slot.
 *
 * Each job is one message `{ sab, fd, slots, slotSize, maxCount }`; then only control words.
 * @module
 */
import * as sys from "../ffi/syscalls.ts";
import { serveJobs } from "../ffi/threads.ts";
import { ENOBUFS, EPROTO, SyscallError } from "../ffi/errno.ts";
import { MSG_DONTWAIT, MSG_TRUNC } from "../ffi/libc.ts";
import { type BatchReader, readBatchReplies } from "./batch_replies.ts";
import { AF_NETLINK, HOST_LE } from "./message.ts";
import { awaitGo, CTL, endThread, RA } from "./_thread.ts";
import { LOST, SCTL, SLOT } from "./sender.ts";

interface Start {
  sab: SharedArrayBuffer;
  fd: number;
  slots: number;
  slotSize: number;
  maxCount: number;
}

const kernel = new Uint8Array(12); // struct sockaddr_nl of the kernel: family AF_NETLINK, pid 0
new DataView(kernel.buffer).setUint16(0, AF_NETLINK, HOST_LE);
const rx = new Uint8Array(64 * 1024);
const rdv = new DataView(rx.buffer);

/** Sends one batch and records its failures in `h`; false if the batch failed as a whole. */
function sendBatch(fd: number, h: Int32Array, data: Uint8Array, maxCount: number): boolean {
  const len = h[SLOT.len], first = h[SLOT.first] >>> 0, count = h[SLOT.count];
  const lost = (errno: number) => {
    h[SLOT.first] = errno;
    h[SLOT.result] = LOST;
    return false;
  };
  try {
    const n = sys.sendto(fd, data, len, kernel);
    if (n !== len) return lost(EPROTO);
  } catch (e) {
    return lost(e instanceof SyscallError ? e.errno : EPROTO);
  }
  let failures = 0;
  const batch: BatchReader = {
    first,
    count,
    op: "Cannot read a batch's replies",
    onOutcome: (o) => {
      if (o.errno === 0) return;
      if (failures >= maxCount) throw new RangeError("more failures than requests");
      h[SLOT.words + 2 * failures] = (o.seq - first) >>> 0;
      h[SLOT.words + 2 * failures + 1] = o.errno;
      failures++;
    },
  };
  for (;;) {
    let n: number;
    try {
      n = sys.recvfrom(fd, rx, MSG_TRUNC | MSG_DONTWAIT);
    } catch (e) {
      return lost(e instanceof SyscallError ? e.errno : EPROTO);
    }
    if (n < 0) break; // EAGAIN: every reply of the batch has been read
    if (n > rx.length) return lost(ENOBUFS);
    try {
      readBatchReplies(rdv, n, batch);
    } catch {
      return lost(EPROTO); // malformed, or a reply to something else
    }
  }
  h[SLOT.result] = failures;
  return true;
}

function run({ sab, fd, slots, slotSize, maxCount }: Start): void {
  const ctl = new Int32Array(sab, 0, CTL.words);
  const heads: Int32Array[] = [], data: Uint8Array[] = [];
  for (let i = 0; i < slots; i++) {
    const base = CTL.words * 4 + i * slotSize;
    heads.push(new Int32Array(sab, base, SLOT.words + maxCount * 2));
    data.push(
      new Uint8Array(
        sab,
        base + SLOT.words * 4 + maxCount * 8,
        slotSize - SLOT.words * 4 - maxCount * 8,
      ),
    );
  }
  if (!awaitGo(ctl)) return endThread(ctl, SCTL.done); // no go: send nothing
  let done = Atomics.load(ctl, SCTL.done);
  try {
    while (Atomics.load(ctl, CTL.state) === RA.go) {
      const head = Atomics.load(ctl, CTL.head);
      if (done >= head) {
        Atomics.wait(ctl, CTL.head, head, 100);
        continue;
      }
      const slot = done % slots;
      const ok = sendBatch(fd, heads[slot], data[slot], maxCount);
      Atomics.store(ctl, SCTL.done, ++done);
      Atomics.notify(ctl, SCTL.done);
      if (!ok) break;
    }
  } finally {
    endThread(ctl, SCTL.done);
  }
}

serveJobs(run);
