/**
 * The client ({@link Conntrack}) on a scripted transport answering with real kernel datagrams
 * (test/_helpers/kernel_like.ts): decoding of dump, get and statistics replies, its sockets
 * (a second one for requests made during a dump, a fresh one after an abandoned dump), close.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Conntrack } from "../../../conntrack/client.ts";
import type { Flow } from "../../../conntrack/flow.ts";
import { NetlinkError } from "../../../netlink/errors.ts";
import { kernelLike } from "../../_helpers/kernel_like.ts";
import {
  errorMessage,
  loadRealDump,
  reseq,
  scriptedFactory,
  type ScriptedTransport,
} from "../../_helpers/scripted.ts";

const ENOENT_REPLY = loadRealDump("error_enoent")[0];

/** A real datagram answering the last request sent on `t`. */
const real = (d: Uint8Array) => (t: ScriptedTransport) => reseq(d, t.lastRequest().header.seq);

const KEY = {
  proto: "tcp",
  orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 40000, dport: 443 },
} as const;

test("Conntrack decodes real dump, get and statistics replies", () => {
  const f = scriptedFactory((t) => t.onSend = kernelLike);
  const ct = Conntrack.open({ transport: f.factory });
  assert.equal(ct.list().length, 60);
  const got = ct.get(KEY);
  assert.equal(got?.mark, 0x2a);
  assert.equal(got?.tcp?.state, "ESTABLISHED");
  const s = ct.globalStats();
  assert.equal(s.entries, 60);
  assert.ok(s.maxEntries > 0);
  const cpus = ct.stats();
  assert.ok(cpus.length >= 1);
  assert.equal(cpus.reduce((n, c) => n + c.insert, 0) >= 60, true);
  assert.equal(f.opened.length, 1, "no request needed a second socket");
  ct.close();
});

test("get() returns undefined when the kernel answers ENOENT", () => {
  const f = scriptedFactory((t) => t.onSend = (t) => t.push(real(ENOENT_REPLY)));
  const ct = Conntrack.open({ transport: f.factory });
  assert.equal(ct.get(KEY), undefined);
  ct.close();
});

test("breaking out of a dump closes the transport and opens a fresh one, so the next request works", () => {
  const f = scriptedFactory((t) => t.onSend = kernelLike);
  const ct = Conntrack.open({ transport: f.factory });
  for (const _ of ct.dump()) break;
  assert.equal(f.opened.length, 2, "the factory was called again");
  assert.equal(f.opened[0].closed, true, "the abandoned dump's transport was closed");
  assert.ok(f.opened[0].queue.length > 0, "its unread replies went with it");
  assert.equal(ct.count(), 60);
  assert.equal(f.opened[1].sent.length, 1, "the next request went to the fresh transport");
  ct.close();
});

test("Conntrack.close() is idempotent and Symbol.dispose closes every transport", () => {
  const f = scriptedFactory((t) => t.onSend = kernelLike);
  const ct = Conntrack.open({ transport: f.factory });
  const it = ct.dump();
  it.next();
  assert.equal(ct.count(), 60); // opens the second socket
  it.return();
  assert.equal(f.opened.length, 3, "the abandoned dump reopened the first socket");
  ct.close();
  ct.close();
  ct[Symbol.dispose]();
  for (const t of f.opened) assert.equal(t.closeCalls, 1);
  assert.throws(() => ct.count(), TypeError);

  const g = scriptedFactory((t) => t.onSend = kernelLike);
  {
    using ct2 = Conntrack.open({ transport: g.factory });
    assert.equal(ct2.count(), 60);
  }
  assert.deepEqual(g.opened.map((t) => t.closeCalls), [1]);
});

test("a request made while a dump is being iterated goes to a second socket", () => {
  const f = scriptedFactory((t) => t.onSend = kernelLike);
  const ct = Conntrack.open({ transport: f.factory });
  let n = 0;
  let got: Flow | undefined;
  for (const _ of ct.dump()) {
    if (n++ === 5) {
      got = ct.get(KEY);
      assert.equal(ct.count(), 60);
    }
  }
  assert.equal(n, 60, "the dump went on undisturbed");
  assert.equal(got?.mark, 0x2a);
  assert.equal(f.opened.length, 2);
  assert.equal(f.opened[0].sent.length, 1, "only the dump request went to the first socket");
  assert.equal(f.opened[1].sent.length, 2, "get and count went to the second");
  assert.equal(f.opened[0].closed, false, "the finished dump kept its socket");
  ct.close();
});

test("an error reply to one request does not disturb the next one", () => {
  let fail = true;
  const f = scriptedFactory((t) =>
    t.onSend = (t, msgs) => {
      if (fail) t.push(errorMessage(msgs[0], 1, { message: "not allowed" }));
      else kernelLike(t, msgs);
      fail = false;
    }
  );
  const ct = Conntrack.open({ transport: f.factory });
  assert.throws(
    () => ct.count(),
    (e: unknown) =>
      e instanceof NetlinkError && e.code === "EPERM" && e.message.includes("unshare"),
  );
  assert.equal(ct.count(), 60);
  assert.equal(f.opened.length, 1, "a refused request ends cleanly: no reopen");
  ct.close();
});
