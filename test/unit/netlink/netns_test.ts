/**
 * The netns option without a kernel: argument checks (before any system call), and the socket's
 * close hook that releases an owned namespace fd exactly once. The throwaway-namespace guard:
 * its decision on given facts, and the facts it reads (readlink needs no privilege).
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readlinkSync } from "node:fs";
import process from "node:process";
import {
  assertThrowawayNetns,
  isThrowawayNetns,
  NetnsHandle,
  type NetnsIds,
  PROC_NET_INIT_INO,
  readNetnsIds,
  throwawayNetnsRefusal,
} from "../../../netlink/netns.ts";
import { NetlinkSocket } from "../../../netlink/socket.ts";
import { Conntrack } from "../../../conntrack/client.ts";
import { ScriptedTransport } from "../../_helpers/scripted.ts";

test("NetnsHandle.open refuses values that are not a path, a pid or { fd }, before any system call", () => {
  for (
    const bad of [
      "",
      0,
      -5,
      1.5,
      NaN,
      2 ** 53,
      { fd: -1 },
      { fd: 1.5 },
      { fd: "3" },
      { pid: 1 },
      null,
      undefined,
      true,
    ]
  ) {
    assert.throws(() => NetnsHandle.open(bad as never), TypeError, `netns ${String(bad)}`);
  }
});

test("a borrowed { fd } handle never closes the fd, and is unusable once closed", () => {
  const h = NetnsHandle.open({ fd: 12345 }); // not opened by nfct: no system call here
  assert.equal(h.label, "fd 12345");
  assert.equal(h.unsafeFd(), 12345);
  h.close(); // would throw EBADF if it tried to close 12345
  h.close();
  assert.equal(h.unsafeFd(), -1);
  assert.throws(() => h.run(() => 1), {
    name: "TypeError",
    message: "Cannot enter network namespace fd 12345: the handle is closed",
  });
});

test("NetlinkSocket runs its close hook once, after closing the transport, and when the first transport cannot open", () => {
  const events: string[] = [];
  const t = new ScriptedTransport();
  const s = new NetlinkSocket(() => t, () => events.push(`hook (transport closed: ${t.closed})`));
  s.close();
  s.close();
  assert.deepEqual(events, ["hook (transport closed: true)"]);

  const failed: string[] = [];
  assert.throws(() =>
    new NetlinkSocket(() => {
      throw new Error("no socket");
    }, () => failed.push("hook")), /no socket/);
  assert.deepEqual(failed, ["hook"], "the namespace fd is released when the client cannot open");
});

test("Conntrack.open refuses netns together with a transport", () => {
  assert.throws(
    () => Conntrack.open({ netns: "/run/netns/x", transport: () => new ScriptedTransport() }),
    {
      name: "TypeError",
      message: "Cannot open: the netns and transport options exclude each other",
    },
  );
});

// --- The throwaway-namespace guard: the decision on given facts, then on this process's own ---

const INIT = `net:[${PROC_NET_INIT_INO}]`; // net:[4026531833]
const NEW = "net:[4026532300]";
const OTHER = "net:[4026532411]";

test("throwawayNetnsRefusal: the initial inode, pid 1's namespace and NFCT_HOST_NETNS's are refused; anything else passes", () => {
  const rows: { ids: NetnsIds; refused: RegExp | undefined }[] = [
    // a new namespace, everything comparable
    { ids: { self: NEW, pid1: INIT, host: INIT, kernel: "6.18.0" }, refused: undefined },
    { ids: { self: NEW, pid1: OTHER, host: undefined, kernel: "6.18.0" }, refused: undefined },
    // pid 1 unreadable (a user in unshare -rn): the fixed inode or NFCT_HOST_NETNS decides
    { ids: { self: NEW, pid1: undefined, host: undefined, kernel: "6.17.0" }, refused: undefined },
    {
      ids: { self: NEW, pid1: undefined, host: OTHER, kernel: "5.15.0-91-generic" },
      refused: undefined,
    },
    // the initial namespace, by its fixed inode, whatever else is known (no other namespace gets it)
    {
      ids: { self: INIT, pid1: undefined, host: undefined, kernel: "6.18.0" },
      refused: /initial network namespace/,
    },
    {
      ids: { self: INIT, pid1: OTHER, host: OTHER, kernel: "6.1.0" },
      refused: /initial network namespace/,
    },
    // pid 1's (the host's before 6.17, or a container's own)
    {
      ids: { self: OTHER, pid1: OTHER, host: undefined, kernel: "6.1.0" },
      refused: /pid 1's network namespace/,
    },
    {
      ids: { self: OTHER, pid1: OTHER, host: NEW, kernel: "6.18.0" },
      refused: /pid 1's network namespace/,
    },
    // the one the runner said it came from
    {
      ids: { self: OTHER, pid1: undefined, host: OTHER, kernel: "6.18.0" },
      refused: /NFCT_HOST_NETNS names/,
    },
    {
      ids: { self: OTHER, pid1: NEW, host: OTHER, kernel: "5.10.0" },
      refused: /NFCT_HOST_NETNS names/,
    },
    // nothing to compare with: before 6.17, pid 1 unreadable, no NFCT_HOST_NETNS
    {
      ids: { self: NEW, pid1: undefined, host: undefined, kernel: "6.16.9" },
      refused: /cannot tell whether .* set NFCT_HOST_NETNS/,
    },
    {
      ids: { self: NEW, pid1: undefined, host: "", kernel: "5.4.0" },
      refused: /cannot tell whether/,
    },
    {
      ids: { self: NEW, pid1: undefined, host: undefined, kernel: "weird" },
      refused: /cannot tell whether/,
    },
    // not a network namespace link at all
    {
      ids: { self: "", pid1: INIT, host: INIT, kernel: "6.18.0" },
      refused: /cannot tell which network namespace/,
    },
    {
      ids: { self: "mnt:[4026531841]", pid1: INIT, host: INIT, kernel: "6.18.0" },
      refused: /cannot tell which/,
    },
    {
      ids: { self: "net:[]", pid1: INIT, host: INIT, kernel: "6.18.0" },
      refused: /cannot tell which/,
    },
  ];
  for (const { ids, refused } of rows) {
    const why = throwawayNetnsRefusal(ids);
    if (refused === undefined) assert.equal(why, undefined, JSON.stringify(ids));
    else assert.match(why ?? "(passed)", refused, JSON.stringify(ids));
  }
  assert.equal(PROC_NET_INIT_INO, 4026531833);
});

test("readNetnsIds reads this thread's namespace link and the kernel release as the system shows them", () => {
  const ids = readNetnsIds();
  assert.equal(ids.self, readlinkSync("/proc/thread-self/ns/net"));
  assert.equal(ids.kernel, readFileSync("/proc/sys/kernel/osrelease", "utf8").trim());
  let pid1: string | undefined;
  try {
    pid1 = readlinkSync("/proc/1/ns/net");
  } catch { /* EACCES: not ours to read */ }
  assert.equal(ids.pid1, pid1);
  assert.equal(ids.host, process.env.NFCT_HOST_NETNS || undefined);
});

test("assertThrowawayNetns and isThrowawayNetns follow the decision for this process; in the initial namespace both refuse", () => {
  const why = throwawayNetnsRefusal(readNetnsIds());
  assert.equal(isThrowawayNetns(), why === undefined);
  if (why === undefined) assertThrowawayNetns("test");
  else {
    assert.throws(() => assertThrowawayNetns("fill a demo table"), (e: Error) => {
      assert.ok(e.message.startsWith(`Refusing to fill a demo table: ${why}. `), e.message);
      assert.match(
        e.message,
        /node scripts\/netns\.mjs <command>.*unshare -n -- <command>.*unshare -rn -- <command>/,
      );
      return true;
    });
  }
  // Unit tests run where they are started, often the host's namespace: there the guard must say no.
  if (readlinkSync("/proc/self/ns/net") === `net:[${PROC_NET_INIT_INO}]`) {
    assert.equal(isThrowawayNetns(), false);
  }
});
