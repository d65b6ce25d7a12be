/**
 * The thread behind {@link ReadAhead} (netlink/readahead.ts): reads a dump's datagrams from a
 * netlink fd into a ring of slots in a SharedArrayBuffer while the main thread decodes the
 * previous ones. The kernel builds each dump datagram inside `recvmsg`, so reading here moves
 * the kernel's share of a dump onto a second core.
 *
 * Each job is one message `{ sab, fd, slots, slotSize }`; from then on it talks only through
 * the control words (layout in readahead.ts). Stops after the datagram that ends the dump
 * (`NLMSG_DONE`, `NLMSG_ERROR`, `NLMSG_OVERRUN`), on a receive error (stored as `-errno`), or
 * when the main thread asks.
 * @module
 */
import * as sys from "../ffi/syscalls.ts";
import { serveJobs } from "../ffi/threads.ts";
import { EIO, SyscallError } from "../ffi/errno.ts";
import { MSG_DONTWAIT, MSG_TRUNC, POLLIN } from "../ffi/libc.ts";
import { HOST_LE, NLMSG_DONE, NLMSG_ERROR, NLMSG_OVERRUN } from "./message.ts";
import { awaitGo, CTL, endThread, GIVE_UP_MS, RA, RCTL } from "./_thread.ts";

interface Start {
  sab: SharedArrayBuffer;
  fd: number;
  slots: number;
  slotSize: number;
}

/** True if the datagram holds a message that ends a dump. */
function ends(dv: DataView, n: number): boolean {
  let off = 0;
  while (off + 16 <= n) {
    const len = dv.getUint32(off, HOST_LE);
    const type = dv.getUint16(off + 4, HOST_LE);
    if (type === NLMSG_DONE || type === NLMSG_ERROR || type === NLMSG_OVERRUN) return true;
    if (len < 16) return true; // malformed: let the main thread report it
    off += (len + 3) & ~3;
  }
  return false;
}

/** Runs one job. */
function run({ sab, fd, slots, slotSize }: Start): void {
  const ctl = new Int32Array(sab, 0, CTL.words);
  const lens = new Int32Array(sab, CTL.words * 4, slots);
  const base = (CTL.words + slots) * 4;
  const views = Array.from(
    { length: slots },
    (_, i) => new Uint8Array(sab, base + i * slotSize, slotSize),
  );
  const dvs = views.map((v) => new DataView(v.buffer, v.byteOffset, v.byteLength));
  if (!awaitGo(ctl)) return endThread(ctl, CTL.head); // no go: never touch the fd
  let head = Atomics.load(ctl, CTL.head);
  let idleTail = -1, idleSince = 0;
  try {
    while (Atomics.load(ctl, CTL.state) === RA.go) {
      const tail = Atomics.load(ctl, CTL.tail);
      if (head - tail >= slots) { // ring full: wait for the main thread to take some
        if (tail !== idleTail) {
          idleTail = tail;
          idleSince = Date.now();
        } else if (Date.now() - idleSince >= GIVE_UP_MS) {
          return; // it stopped taking them (a dropped generator): it reads on by itself if it returns
        }
        Atomics.wait(ctl, CTL.tail, tail, 100);
        continue;
      }
      const slot = head % slots;
      let n: number;
      try {
        n = sys.recvfrom(fd, views[slot], MSG_TRUNC | MSG_DONTWAIT);
        if (n < 0) { // EAGAIN: nothing queued yet
          sys.pollOne(fd, POLLIN, 100);
          continue;
        }
      } catch (e) {
        n = -(e instanceof SyscallError ? e.errno : EIO); // handed to the main thread
      }
      lens[slot] = n;
      Atomics.store(ctl, CTL.head, ++head);
      if (head >= Atomics.load(ctl, RCTL.want)) Atomics.notify(ctl, CTL.head);
      if (n < 0 || ends(dvs[slot], Math.min(n, slotSize))) break;
    }
  } finally {
    endThread(ctl, CTL.head);
  }
}

serveJobs(run);
