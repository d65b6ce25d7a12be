/**
 * Expectations against the real kernel, in a throwaway network namespace: a master TCP flow on
 * port 21 with the (built-in) FTP helper attached on create, expectations created for it, then
 * listed, got, deleted and flushed, checked against `conntrack -L expect`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertThrowawayNetns, conntrackCli } from "../_helpers/netns.ts";
import { Conntrack, type Expectation, NetlinkError } from "../../mod.ts";
import { createFtpMaster, ftpExpectation, ftpMaster } from "../_helpers/ftp.ts";

assertThrowawayNetns();

const T = { timeout: 30000 };

const master = (i: number) => ftpMaster(i);
const makeMaster = (ct: Conntrack, i: number, helper = "ftp") =>
  createFtpMaster(ct, master(i), helper);
const expectation = (i: number, dport = 50000 + i) =>
  ftpExpectation(master(i), dport, { helper: "ftp" });

/** `conntrack -L expect` lines, as the fields nfct decodes. */
function cliExpectations(): { timeout: number; line: string }[] {
  return conntrackCli(["-L", "expect"]).split("\n").filter((l) => /proto=/.test(l)).map((line) => ({
    timeout: Number(line.split(" ")[0]),
    line,
  }));
}

function asCliLine(e: Expectation): string {
  return `proto=6 src=${e.tuple.src} dst=${e.tuple.dst} sport=${e.tuple.sport} dport=${e.tuple.dport} ` +
    `mask-src=${e.mask.src} mask-dst=${e.mask.dst} sport=${e.mask.sport} dport=${e.mask.dport} ` +
    `master-src=${e.master.src} master-dst=${e.master.dst} sport=${e.master.sport} dport=${e.master.dport} ` +
    `class=${e.class}${e.flags?.includes("PERMANENT") ? " PERMANENT" : ""}${
      e.flags?.includes("INACTIVE") ? " INACTIVE" : ""
    }` +
    `${e.flags?.includes("USERSPACE") ? " USERSPACE" : ""} helper=${e.helper}`;
}

test(
  "createExpect on an FTP master; listExpect, getExpect and dumpExpect({ master }) agree with conntrack -L expect",
  T,
  () => {
    using ct = Conntrack.open();
    ct.flushExpect();
    ct.flushAll();
    for (let i = 1; i <= 3; i++) makeMaster(ct, i);
    const statsBefore = ct.expectStats().reduce((s, c) => s + c.create, 0);
    for (let i = 1; i <= 3; i++) ct.createExpect(expectation(i));
    // The FTP helper allows one expectation per master (expect_policy max_expected 1): a second
    // one on master 1 evicts the first.
    ct.createExpect(expectation(1, 50100));
    const list = ct.listExpect().sort((a, b) => a.tuple.dport! - b.tuple.dport!);
    assert.deepEqual(list.map((e) => e.tuple.dport), [50002, 50003, 50100]);
    for (const e of list) {
      assert.equal(e.family, "ipv4");
      assert.equal(e.proto, "tcp");
      assert.equal(e.helper, "ftp");
      assert.ok(e.timeout! > 290 && e.timeout! <= 300);
      assert.equal(typeof e.id, "number");
      assert.deepEqual(e.flags, []); // the kernel clears NF_CT_EXPECT_USERSPACE on ctnetlink creates
    }
    // Same lines as conntrack(8), but for the timeout column.
    const cli = cliExpectations();
    assert.deepEqual(
      cli.map((c) => c.line.slice(c.line.indexOf(" ") + 1).trim()).sort(),
      list.map(asCliLine).sort(),
    );
    // -G expect
    const got = ct.getExpect({ proto: "tcp", tuple: expectation(2).tuple });
    assert.ok(got);
    assert.equal(got.id, list.find((e) => e.tuple.dport === 50002)!.id);
    assert.deepEqual(got.master, master(2));
    assert.equal(
      ct.getExpect({ proto: "tcp", tuple: { ...expectation(2).tuple, dport: 1 } }),
      undefined,
    );
    // The kernel lists one master's expectations.
    const m1 = ct.listExpect({ master: { proto: "tcp", orig: master(1) } });
    assert.deepEqual(m1.map((e) => e.tuple.dport), [50100]);
    assert.deepEqual(ct.listExpect({ dport: 50003 }).map((e) => e.master.src), ["10.40.0.3"]);
    // Statistics count the creates (on whichever CPU).
    const statsAfter = ct.expectStats();
    assert.ok(statsAfter.length >= 1);
    assert.equal(statsAfter.reduce((s, c) => s + c.create, 0) - statsBefore, 4);
    ct.flushExpect();
    ct.flushAll();
  },
);

test("createExpect refuses a duplicate (EEXIST) and a missing master (ENOENT)", T, () => {
  using ct = Conntrack.open();
  ct.flushExpect();
  ct.flushAll();
  makeMaster(ct, 10);
  ct.createExpect(expectation(10));
  assert.throws(
    () => ct.createExpect(expectation(10)),
    (e) => e instanceof NetlinkError && e.code === "EEXIST",
  );
  assert.throws(
    () => ct.createExpect(expectation(12)),
    (e) => e instanceof NetlinkError && e.code === "ENOENT",
  );
  assert.throws(() => ct.createExpect({ ...expectation(10), timeout: undefined }), TypeError);
  ct.flushExpect();
  ct.flushAll();
});

test("deleteExpect by tuple, guarded by id; conntrack -L expect sees it go", T, () => {
  using ct = Conntrack.open();
  ct.flushExpect();
  ct.flushAll();
  makeMaster(ct, 20);
  ct.createExpect(expectation(20));
  const e = ct.listExpect()[0];
  assert.throws(
    () => ct.deleteExpect({ ...e, id: (e.id! + 1) >>> 0 }),
    (x) => x instanceof NetlinkError && x.code === "ENOENT",
  );
  assert.equal(cliExpectations().length, 1);
  ct.deleteExpect(e);
  assert.equal(cliExpectations().length, 0);
  assert.throws(() => ct.deleteExpect(e), (x) => x instanceof NetlinkError && x.code === "ENOENT");
  ct.flushAll();
});

test(
  "flushExpect deletes all (or one helper's) expectations and says how many; destroying the master takes its expectations",
  T,
  async () => {
    using ct = Conntrack.open();
    ct.flushExpect();
    ct.flushAll();
    const events = ct.events({ types: ["expectNew", "expectDestroy"] });
    for (let i = 30; i < 35; i++) {
      makeMaster(ct, i);
      ct.createExpect(expectation(i));
    }
    assert.equal(ct.flushExpect("sip"), 0);
    assert.equal(ct.listExpect().length, 5);
    assert.equal(ct.flushExpect("ftp"), 3 + 2);
    for (let i = 30; i < 33; i++) ct.createExpect(expectation(i));
    ct.delete({ proto: "tcp", orig: master(30) }); // its expectation goes with it
    assert.deepEqual(ct.listExpect().map((e) => e.master.src).sort(), ["10.40.0.31", "10.40.0.32"]);
    assert.equal(ct.flushExpect(), 2);
    assert.equal(cliExpectations().length, 0);
    // Events: 8 created, 8 destroyed; the one destroyed with its master was by the kernel (port 0).
    const seen: string[] = [];
    for await (const ev of events) {
      if (ev.type === "expectNew" || ev.type === "expectDestroy") {
        seen.push(
          `${ev.type} ${ev.expectation.master.src} ${
            ev.portId === ct.portId ? "client" : ev.portId
          }`,
        );
      }
      if (seen.length === 16) break;
    }
    assert.equal(seen.filter((s) => s.startsWith("expectNew")).length, 8);
    assert.equal(seen.filter((s) => s.startsWith("expectDestroy")).length, 8);
    assert.ok(
      seen.includes("expectDestroy 10.40.0.30 0") ||
        seen.includes("expectDestroy 10.40.0.30 client"),
    );
    ct.flushAll();
  },
);
