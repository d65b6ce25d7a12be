/**
 * The netns option without a kernel: argument checks (before any system call), and the socket's
 * close hook that releases an owned namespace fd exactly once.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { NetnsHandle } from "../../netlink/netns.ts";
import { NetlinkSocket } from "../../netlink/socket.ts";
import { Conntrack } from "../../conntrack/client.ts";
import { ScriptedTransport } from "./_scripted.ts";

test("NetnsHandle.open refuses values that are not a path, a pid or { fd }, before any system call", () => {
  for (const bad of ["", 0, -5, 1.5, NaN, 2 ** 53, { fd: -1 }, { fd: 1.5 }, { fd: "3" }, { pid: 1 }, null, undefined, true]) {
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
  assert.throws(() => h.run(() => 1), { name: "TypeError", message: "Cannot enter network namespace fd 12345: the handle is closed" });
});

test("NetlinkSocket runs its close hook once, after closing the transport, and when the first transport cannot open", () => {
  const events: string[] = [];
  const t = new ScriptedTransport();
  const s = new NetlinkSocket(() => t, () => events.push(`hook (transport closed: ${t.closed})`));
  s.close();
  s.close();
  assert.deepEqual(events, ["hook (transport closed: true)"]);

  const failed: string[] = [];
  assert.throws(() => new NetlinkSocket(() => { throw new Error("no socket"); }, () => failed.push("hook")), /no socket/);
  assert.deepEqual(failed, ["hook"], "the namespace fd is released when the client cannot open");
});

test("Conntrack.open refuses netns together with a transport", () => {
  assert.throws(
    () => Conntrack.open({ netns: "/run/netns/x", transport: () => new ScriptedTransport() }),
    { name: "TypeError", message: "Cannot open: the netns and transport options exclude each other" },
  );
});
