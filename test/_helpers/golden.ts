/**
 * The golden ctnetlink messages: bytes captured from the real kernel and the real conntrack(8)
 * by scripts/capture_golden.sh, stored annotated in test/fixtures/golden.hex (see its header
 * for the capture method), and the normalisation that compares a request of nfct's with the
 * CLI's (nlmsg_seq, nlmsg_pid and attribute padding zeroed; anything more is named per case).
 * Used by test/unit/conntrack/flow_*_test.ts, stats_test.ts and test/unit/netlink/message_test.ts.
 * @module
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { NLA_ALIGN, NLA_F_NESTED, NLA_TYPE_MASK } from "../../netlink/attribute.ts";
import { HOST_LE } from "../../netlink/message.ts";
import { fixtureUrl, fromHex, toHex } from "./hex.ts";

/** `## key` starts a message, `#` starts a comment, everything else is hex. */
function loadGolden(): Map<string, Uint8Array> {
  const text = readFileSync(fixtureUrl("golden.hex"), "utf8");
  const hex = new Map<string, string>();
  let key: string | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("## ")) {
      key = line.slice(3).trim();
      hex.set(key, "");
      continue;
    }
    const data = line.split("#", 1)[0].replace(/\s+/g, "");
    if (key !== undefined && data) hex.set(key, hex.get(key) + data);
  }
  const out = new Map<string, Uint8Array>();
  for (const [k, h] of hex) {
    if (!/^([0-9a-f]{2})*$/.test(h)) throw new Error(`golden.hex: ${k} is not hex`);
    out.set(k, fromHex(h));
  }
  return out;
}

const GOLDEN = loadGolden();

/** The golden message `key` (e.g. `list.reply5`, `create_tcp4.request1`). */
export function golden(key: string): Uint8Array {
  const b = GOLDEN.get(key);
  if (!b) throw new Error(`golden.hex has no message ${key}`);
  return b;
}

/** A copy of a golden message, edited. */
export function mangled(key: string, edit: (b: Uint8Array, dv: DataView) => void): Uint8Array {
  const b = golden(key).slice();
  edit(b, view(b));
  return b;
}

/** A DataView over exactly the bytes of `b`. */
export const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

export interface Norm {
  /** Top-level attribute types to remove (the kernel ignores them for this message type). */
  drop?: number[];
  /** Sort attributes by type at every level (the kernel parses with nla_parse: order is free). */
  sort?: boolean;
}

/** Attributes of `b`, each re-emitted with zeroed padding, nests normalised recursively. */
function normAttrs(b: Uint8Array, sort: boolean): { type: number; bytes: Uint8Array }[] {
  const out: { type: number; bytes: Uint8Array }[] = [];
  const dv = view(b);
  for (let p = 0; p < b.length;) {
    const len = dv.getUint16(p, HOST_LE);
    const rawType = dv.getUint16(p + 2, HOST_LE);
    let payload: Uint8Array = b.slice(p + 4, p + len);
    if (rawType & NLA_F_NESTED) payload = concat(normAttrs(payload, sort).map((a) => a.bytes));
    const a = new Uint8Array(NLA_ALIGN(4 + payload.length));
    view(a).setUint16(0, 4 + payload.length, HOST_LE);
    view(a).setUint16(2, rawType, HOST_LE);
    a.set(payload, 4);
    out.push({ type: rawType & NLA_TYPE_MASK, bytes: a });
    p += NLA_ALIGN(len);
  }
  if (sort) out.sort((x, y) => x.type - y.type);
  return out;
}

/** The parts one after the other in one buffer. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A ctnetlink message with nlmsg_seq and nlmsg_pid zeroed and attribute padding zeroed
 * (libmnl does not clear padding: the CLI sends stale stack bytes there, which the kernel never
 * reads), plus the optional `drop`/`sort` of {@link Norm}.
 */
export function normalise(msg: Uint8Array, n: Norm = {}): Uint8Array {
  const drop = new Set(n.drop ?? []);
  const attrs = normAttrs(msg.subarray(20, view(msg).getUint32(0, HOST_LE)), n.sort ?? false)
    .filter((a) => !drop.has(a.type));
  const out = concat([msg.slice(0, 20), ...attrs.map((a) => a.bytes)]);
  const dv = view(out);
  dv.setUint32(0, out.length, HOST_LE);
  dv.setUint32(8, 0, HOST_LE);
  dv.setUint32(12, 0, HOST_LE);
  return out;
}

/** Hex with one line per top-level attribute, so an assertion diff points at the attribute. */
export function pretty(msg: Uint8Array): string[] {
  const lines = [`hdr ${toHex(msg.subarray(0, 16))}`, `nfgenmsg ${toHex(msg.subarray(16, 20))}`];
  const dv = view(msg);
  for (let p = 20; p + 4 <= msg.length;) {
    const len = dv.getUint16(p, HOST_LE);
    lines.push(
      `attr ${dv.getUint16(p + 2, HOST_LE) & NLA_TYPE_MASK}: ${
        toHex(msg.subarray(p, p + NLA_ALIGN(len)))
      }`,
    );
    p += NLA_ALIGN(Math.max(len, 4));
  }
  return lines;
}

/** Asserts two messages are the same bytes; the diff shows them one attribute a line. */
export function assertSameMessage(ours: Uint8Array, cli: Uint8Array, what: string): void {
  assert.deepEqual(pretty(ours), pretty(cli), what);
  assert.deepEqual(ours, cli, what);
}
