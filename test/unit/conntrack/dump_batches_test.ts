/**
 * dump(), lines(), text() and flush by dump, which read a dump a datagram at a time
 * (conntrack/dump.ts, conntrack/flush.ts), against the way replies were read before
 * (test/_helpers/reference_replies.ts): random datagrams of real flows
 * (test/fixtures/real_dump_flows.hex), control messages and broken bytes. Each must give what
 * the same flows give in a clean dump, once each and in order, then throw what the reference
 * throws (or the flow's own decoding error, when one of them is broken), and leave its socket
 * as the reference does.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { Conntrack } from "../../../conntrack/client.ts";
import { FlowDecoder } from "../../../conntrack/flow_decode.ts";
import { NLM_F_DUMP, NLMSG_HDRLEN } from "../../../netlink/message.ts";
import { randomDatagrams } from "../../_helpers/random_replies.ts";
import {
  type ReferenceOutcome,
  referenceReplies,
  sameError,
} from "../../_helpers/reference_replies.ts";
import { Rng } from "../../_helpers/rng.ts";
import { exec, isBun } from "../../_helpers/run.ts";
import {
  ackMessage,
  datagram,
  doneMessage,
  loadRealDump,
  reseq,
  scriptedFactory,
  type SentMessage,
  splitMessages,
} from "../../_helpers/scripted.ts";

const OP = "Cannot dump flows";
const BODIES = loadRealDump("flows").flatMap((d) =>
  splitMessages(d).filter((m) => m.header.type !== 3).map((m) => m.bytes.slice(NLMSG_HDRLEN))
);
/** A flow whose first attribute says it is 3 bytes long: its decoding throws RangeError. */
const BROKEN = (() => {
  const b = BODIES[0].slice();
  new DataView(b.buffer).setUint16(4, 3, true);
  return b;
})();
/** True when decoding flow message `m` throws. */
function isBroken(m: Uint8Array): boolean {
  try {
    new FlowDecoder().decode(new DataView(m.buffer, m.byteOffset, m.length), 0, m.length);
    return false;
  } catch {
    return true;
  }
}

/** A real flow, now and then a broken one. */
const bodies = (r: Rng) => r.chance(0.03) ? BROKEN : r.pick(BODIES);

type Way = "dump" | "lines" | "text" | "flush";

/** What a way gave: the flows' lines or texts, in order, and what it threw. */
interface Run {
  out: string[];
  error?: unknown;
  /** Sockets the factory opened (2: the dump's was replaced; 3 for a flush: the deletes' too). */
  opened: number;
  /** The tuple bytes of each DELETE a flush sent. */
  deletes: string[];
}

const DUMP_REQ = new Uint8Array(NLMSG_HDRLEN);
const undated = (s: string) => s.replaceAll(/delta-time=\d+/g, "delta-time=N");

/** Runs `way` on a client whose dumps are answered by `answer(seq)`, leaving after `stopAfter`. */
function run(way: Way, answer: (seq: number) => Uint8Array[], stopAfter = Infinity): Run {
  const deletes: string[] = [];
  const f = scriptedFactory((t) =>
    t.onSend = (t, msgs: SentMessage[]) => {
      if ((msgs[0].header.flags & NLM_F_DUMP) === NLM_F_DUMP) {
        t.push(...answer(msgs[0].header.seq));
        return;
      }
      for (const m of msgs) deletes.push(m.bytes.slice(NLMSG_HDRLEN + 4).join());
      for (const m of msgs) t.push(ackMessage(m));
    }
  );
  const out: string[] = [];
  let error: unknown;
  using ct = Conntrack.open({ transport: f.factory });
  try {
    if (way === "dump") {
      for (const fl of ct.dump()) if (out.push(JSON.stringify(fl, bigints)) === stopAfter) break;
    } else if (way === "lines") {
      for (const l of ct.lines()) if (out.push(undated(l)) === stopAfter) break;
    } else if (way === "text") {
      for (const c of ct.text()) {
        const lines = new TextDecoder().decode(c.bytes).split("\n");
        assert.equal(lines.pop(), "", "a chunk ends with a whole line");
        assert.equal(lines.length, c.lines);
        out.push(...lines.map(undated));
      }
    } else {
      ct.flushAll({ via: "dump", onDeleted: (fl) => out.push(JSON.stringify(fl, bigints)) });
    }
  } catch (e) {
    error = e;
  }
  return { out, error, opened: f.opened.length, deletes };
}

const bigints = (_: string, v: unknown) => typeof v === "bigint" ? `${v}n` : v;

/** The messages the reference handed out, as bytes. */
function handedOut(want: ReferenceOutcome, grams: Uint8Array[]): Uint8Array[] {
  return want.messages.map(([d, off, len]) => grams[d].slice(off, off + len));
}

for (const way of ["dump", "lines", "text", "flush"] as const) {
  test(`${way}() of random datagrams gives what a clean dump of the same flows gives, then the same error`, () => {
    const r = new Rng(0xd0d0 + way.length);
    let errors = 0, broken = 0;
    for (let round = 0; round < 400; round++) {
      const plan = randomDatagrams(r, bodies);
      const what = `${way}, round ${round}`;
      let seq = -1;
      const got = run(way, (s) => plan(seq = s));
      const grams = plan(seq);
      const want = referenceReplies(grams, seq, OP, true);
      const flows = handedOut(want, grams);
      // The same flows alone in one datagram, then NLMSG_DONE: up to a broken one, if any.
      const bad = flows.findIndex(isBroken);
      const clean = run(way, (s) => [
        reseq(datagram(...(bad < 0 ? flows : flows.slice(0, bad + 1))), s),
        doneMessage({ header: { len: 0, type: 0, flags: 0, seq: s, pid: 0 }, bytes: DUMP_REQ }),
      ]);
      // A flush hands out a flow once its delete is answered: not those pending at an error.
      if (way !== "flush" || !(bad >= 0 || want.error)) assert.deepEqual(got.out, clean.out, what);
      if (bad >= 0) {
        broken++;
        assert.ok(clean.error instanceof RangeError, `${what}: the broken flow throws`);
        // Its message says where in the datagram: elsewhere in the clean one.
        const at = (e: unknown) => String(e).replace(/offset \d+/, "offset N");
        assert.equal(at(got.error), at(clean.error), what);
      } else {
        assert.equal(clean.error, undefined, `${what}: ${clean.error}`);
        if (want.error) errors++;
        sameError(got.error, want.error, what);
        // A dump read to its end keeps its socket; one that ended in trouble is replaced. (A
        // flush deletes on a second socket from the first match on.)
        const base = way === "flush" && flows.length ? 2 : 1;
        assert.equal(got.opened, base + (want.finished ? 0 : 1), `${what}: sockets opened`);
        // Deletes still pending when the dump failed are dropped, before and after bdde620.
        if (way === "flush" && !want.error) assert.deepEqual(got.deletes, clean.deletes, what);
      }
    }
    assert.ok(errors > 50 && broken > 10, `cases met: ${errors} errors, ${broken} broken flows`);
  });
}

test("dump() and lines() left half-way: the flows before, once each; the socket kept only when the dump was read to its end", () => {
  const r = new Rng(0x1eaf);
  let kept = 0, replaced = 0;
  for (let round = 0; round < 600; round++) {
    const plan = randomDatagrams(r, (r) => r.pick(BODIES));
    const SEQ = 77;
    const full = referenceReplies(plan(SEQ), SEQ, OP, true);
    if (full.messages.length === 0) continue;
    const k = 1 + r.int(full.messages.length);
    const want = referenceReplies(plan(SEQ), SEQ, OP, true, k);
    if (handedOut(want, plan(SEQ)).some(isBroken)) continue;
    const rest = full.finished && want.messages[k - 1][0] === full.recvs - 1;
    for (const way of ["dump", "lines"] as const) {
      const what = `${way}, round ${round}, leaving after ${k}`;
      const got = run(way, plan, k);
      const all = run(way, plan);
      assert.deepEqual(got.out, all.out.slice(0, k), what);
      assert.equal(got.error, undefined, `${what}: ${got.error}`);
      assert.equal(got.opened, rest ? 1 : 2, `${what}: sockets opened`);
      if (rest) kept++;
      else replaced++;
    }
  }
  assert.ok(kept > 30 && replaced > 30, `both cases met (${kept} kept, ${replaced} replaced)`);
});

test("text() hands out each line once when an error is thrown into it at a chunk (as yield* forwards one)", () => {
  const flows = loadRealDump("flows").flatMap((d) =>
    splitMessages(d).filter((m) => m.header.type !== 3).map((m) => m.bytes)
  );
  const f = scriptedFactory((t) =>
    t.onSend = (t, [req]) => {
      for (let i = 0; i < 10; i++) t.push(reseq(datagram(...flows), req.header.seq));
      t.push(doneMessage(req));
    }
  );
  using ct = Conntrack.open({ transport: f.factory });
  function* delegating() {
    try {
      yield* ct.text(); // forwards throw() to text()
    } catch (e) {
      yield { bytes: new Uint8Array(0), lines: 0, caught: e };
    }
  }
  const it = delegating();
  const first = it.next();
  assert.equal(first.done, false);
  assert.ok(first.value.lines > 0 && first.value.lines < 600, "a chunk before the end");
  const stop = new Error("stop");
  const after = it.throw(stop);
  assert.equal(after.done, false);
  assert.equal(after.value.lines, 0, "no line handed out a second time");
  assert.equal((after.value as { caught?: unknown }).caught, stop);
  assert.equal(f.opened.length, 2, "the dump left half-way: its socket was replaced");
});

for (const way of ["dump", "lines"] as const) {
  test(`${way}() dropped half-way without return(): once collected, its socket is replaced and the main one serves the next request`, () => {
    const child = new URL("./_dropped_batches.ts", import.meta.url).pathname;
    const argv = isBun
      ? [process.execPath, child, way]
      : [process.execPath, "run", "-A", "--no-check", "--v8-flags=--expose-gc", child, way];
    const r = exec(argv, { timeout: 60000 });
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout);
    assert.equal(got.freed, true, "the dropped dump's transport was closed");
    assert.equal(got.count, 60);
    assert.equal(got.opened, 2, "one transport reopened in its place, no extra socket");
    assert.equal(got.sent, 1, "the count went to the reopened main socket");
  });
}
