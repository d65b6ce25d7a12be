/**
 * formatWire: the conntrack -L line made straight from a ctnetlink message must be exactly
 * formatFlow(decode(message)) whenever it answers, and must step aside (undefined) whenever
 * it cannot say the same. Checked on the real kernel dump in test/fixtures (captured with
 * accounting and timestamps on), on the same messages without their timestamps (as the kernel
 * sends them with timestamps off: then the fast path answers for TCP, UDP and ICMP over IPv4
 * and IPv6), and on every truncation of those messages.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FlowDecoder } from "../../../conntrack/flow_decode.ts";
import { formatFlow, type FormatOptions, formatWire } from "../../../conntrack/format.ts";
import * as C from "../../../conntrack/constants.ts";
import { HOST_LE } from "../../../netlink/message.ts";
import { toHex } from "../../_helpers/hex.ts";
import { loadRealDump } from "../../_helpers/scripted.ts";

/** Every conntrack data message of the captured dump, copied out on its own. */
function messages(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const d of loadRealDump("flows")) {
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    for (let off = 0; off + 16 <= d.length;) {
      const len = dv.getUint32(off, HOST_LE);
      if (dv.getUint16(off + 4, HOST_LE) >> 8 === C.NFNL_SUBSYS_CTNETLINK) out.push(d.slice(off, off + len));
      off += (len + 3) & ~3;
    }
  }
  return out;
}

/** `msg` without its top-level attributes of type `drop` (lengths rewritten). */
function without(msg: Uint8Array, drop: number): Uint8Array {
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const parts: Uint8Array[] = [msg.slice(0, 20)];
  for (let p = 20; p < msg.length;) {
    const len = dv.getUint16(p, HOST_LE);
    const next = Math.min(msg.length, p + ((len + 3) & ~3));
    if ((dv.getUint16(p + 2, HOST_LE) & 0x3fff) !== drop) parts.push(msg.slice(p, next));
    p = next;
  }
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let at = 0;
  for (const x of parts) {
    out.set(x, at);
    at += x.length;
  }
  new DataView(out.buffer).setUint32(0, out.length, HOST_LE);
  return out;
}

const OPTIONS: FormatOptions[] = [{}, { extended: true }, { id: true }, { extended: true, id: true }];
const dec = new FlowDecoder();

/**
 * formatWire's answer for `msg[0, length)` (a copy that ends there, so nothing past it can be
 * read), and what formatFlow(decode()) says (or throws).
 */
function both(whole: Uint8Array, length: number, o: FormatOptions): { wire: string | undefined; flow: string | Error } {
  const msg = whole.slice(0, length);
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const wire = formatWire(dv, 0, length, o);
  let flow: string | Error;
  try {
    flow = formatFlow(dec.decode(dv, 0, length), o);
  } catch (e) {
    flow = e as Error;
  }
  return { wire, flow };
}

test("formatWire steps aside for flows with timestamps (delta-time is formatFlow's), and agrees when it answers", () => {
  const all = messages();
  assert.ok(all.length >= 60, `${all.length} messages`);
  for (const m of all) {
    for (const o of OPTIONS) {
      const { wire, flow } = both(m, m.length, o);
      assert.ok(typeof flow === "string", `the fixture decodes: ${toHex(m)}`);
      if (wire !== undefined) assert.equal(wire, flow, toHex(m));
    }
    assert.equal(formatWire(new DataView(m.buffer), 0, m.length), undefined, "CTA_TIMESTAMP present: the full path");
  }
});

test("without timestamps formatWire gives formatFlow's exact line for TCP, UDP and ICMP on IPv4 and IPv6 (zones, counters, marks, ids), and steps aside for GRE and SCTP", () => {
  const protos = new Map<string, number>();
  let fast = 0, slow = 0;
  for (const m of messages().map((x) => without(x, C.CTA_TIMESTAMP))) {
    const dv = new DataView(m.buffer);
    const f = dec.decode(dv, 0, m.length);
    for (const o of OPTIONS) {
      const { wire, flow } = both(m, m.length, o);
      if (f.proto === "gre" || f.proto === "sctp") {
        assert.equal(wire, undefined, `${f.proto}: the full path`);
        slow++;
      } else {
        assert.equal(wire, flow, toHex(m));
        fast++;
      }
    }
    protos.set(`${f.family}/${f.proto}`, (protos.get(`${f.family}/${f.proto}`) ?? 0) + 1);
  }
  for (const k of ["ipv4/tcp", "ipv4/udp", "ipv4/icmp", "ipv6/tcp", "ipv6/udp", "ipv6/icmpv6"]) assert.ok(protos.has(k), `the fixture has ${k}`);
  assert.ok(fast >= 4 * 55 && slow >= 4 * 2, `${fast} fast, ${slow} full`);
});

test("formatWire on every truncation of every message: never throws, and never answers where decoding fails or says otherwise", () => {
  let answered = 0, cut = 0;
  for (const m of messages().map((x) => without(x, C.CTA_TIMESTAMP))) {
    for (let len = 0; len < m.length; len++) {
      cut++;
      const { wire, flow } = both(m, len, {});
      if (wire === undefined) continue;
      answered++;
      assert.equal(wire, flow, `cut at ${len}: ${toHex(m)}`);
    }
  }
  assert.ok(cut > 5000 && answered > 0, `${cut} cuts, ${answered} answered`);
});
