/**
 * Flows and expectations as JSON: the objects of `nfct -o json` lines and of table snapshots,
 * and back.
 *
 * {@link flowToJSON} gives a plain object with a fixed key order (the order of {@link Flow}'s
 * fields below), absent fields left out, BigInts (timestamps) as decimal strings and byte
 * arrays (helper data, unknown attributes) as hex; {@link flowFromJSON} reads it back, checked.
 * {@link expectToJSON} does the same for an {@link Expectation}. nfct's lines add the schema
 * version `v` in front ({@link FLOW_JSON_VERSION}; `schema/nfct-output.schema.json`).
 * {@link restorable} keeps what a create can set again in another table: tuples (NAT'd reply
 * ones too), zones, mark, timeout, settable status flags, labels, protocol state, helper;
 * counters, ids, use counts and timestamps belong to the entry that was, and cannot be restored.
 * @module
 */
import { EXPECT_FIELDS, type Expectation } from "./expect.ts";
import { type Flow, FLOW_FIELDS, type RawAttribute, type TcpInfo } from "./flow.ts";
import type { StatusFlag } from "./status.ts";
import { type MasterTuple, type Tuple, TUPLE_FIELDS } from "./tuple.ts";

/**
 * The version of nfct's JSON shapes: the `v` that begins every `-o json` line (flows,
 * expectations, events, statistics, counts, `nfct top`). It goes up when a field changes
 * meaning or type or goes away; new fields can appear without it changing.
 */
export const FLOW_JSON_VERSION = 1;

/** A flow as JSON data (see {@link flowToJSON}). */
export type FlowJSON = Record<string, unknown>;

/** An expectation as JSON data (see {@link expectToJSON}). */
export type ExpectJSON = Record<string, unknown>;

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function unhex(s: unknown, what: string): Uint8Array {
  if (typeof s !== "string" || s.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(s)) {
    throw new TypeError(`Invalid flow JSON ${what}: expected an even number of hex digits`);
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function bigint(s: unknown, what: string): bigint {
  if (typeof s !== "string" || !/^\d{1,20}$/.test(s)) {
    throw new TypeError(`Invalid flow JSON ${what}: expected a decimal string`);
  }
  return BigInt(s);
}

function tupleJSON(t: Tuple): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const k of TUPLE_FIELDS) if (t[k] !== undefined) o[k] = t[k];
  return o;
}

/**
 * A field flows and expectations share, as JSON: a tuple, the master's tuple (its `proto`
 * first), attributes nfct does not decode (their bytes as hex), or any plain value as it is.
 */
function fieldJSON(k: string, v: unknown): unknown {
  switch (k) {
    case "orig":
    case "reply":
    case "tuple":
    case "mask":
      return tupleJSON(v as Tuple);
    case "master":
      return { proto: (v as MasterTuple).proto, ...tupleJSON(v as MasterTuple) };
    case "unknown":
      return (v as RawAttribute[]).map((u) => ({ type: u.type, data: hex(u.data) }));
    default:
      return v;
  }
}

/**
 * A flow as a JSON-ready object: keys in a fixed order, absent fields left out (an all-zero
 * `synproxy`, which the kernel reports for entries without SYN proxying, too), BigInts as
 * decimal strings, bytes as hex. `JSON.stringify(flowToJSON(f))` is a line of `nfct -L -o json`.
 *
 * @example A snapshot of the table as JSON lines, and back
 * ```ts
 * import { Conntrack, flowFromJSON, flowToJSON } from "@nfct/nfct";
 * using ct = Conntrack.open();
 * const lines = [...ct.dump()].map((f) => JSON.stringify(flowToJSON(f)));
 * const flows = lines.map((l) => flowFromJSON(JSON.parse(l)));
 * console.log(flows.length === lines.length);
 * ```
 */
export function flowToJSON(f: Flow): FlowJSON {
  const o: FlowJSON = {};
  for (const k of FLOW_FIELDS) {
    const v = f[k];
    if (v === undefined) continue;
    switch (k) {
      case "timestamp":
        o[k] = f.timestamp!.stop === undefined
          ? { start: String(f.timestamp!.start) }
          : { start: String(f.timestamp!.start), stop: String(f.timestamp!.stop) };
        break;
      case "eventTime":
        o[k] = String(v);
        break;
      case "helperInfo":
        o[k] = hex(v as Uint8Array);
        break;
      case "dccp":
        o[k] = f.dccp!.handshakeSeq === undefined
          ? { ...f.dccp }
          : { ...f.dccp, handshakeSeq: String(f.dccp!.handshakeSeq) };
        break;
      case "synproxy":
        if (f.synproxy!.isn || f.synproxy!.its || f.synproxy!.tsoff) o[k] = { ...f.synproxy };
        break;
      default:
        o[k] = fieldJSON(k, v);
    }
  }
  return o;
}

/**
 * An expectation as a JSON-ready object, as {@link flowToJSON} for flows: keys in a fixed
 * order (family, proto, master, tuple, mask, timeout, id, helper, zone, flags, class, nat, fn,
 * unknown), absent fields left out, unknown attributes' bytes as hex.
 *
 * @example The expectations as JSON lines (what `nfct -L expect -o json` prints, without `v`)
 * ```ts
 * import { Conntrack, expectToJSON } from "@nfct/nfct";
 * using ct = Conntrack.open();
 * for (const e of ct.listExpect()) console.log(JSON.stringify(expectToJSON(e)));
 * ```
 */
export function expectToJSON(e: Expectation): ExpectJSON {
  const o: ExpectJSON = {};
  for (const k of EXPECT_FIELDS) {
    const v = e[k];
    if (v === undefined) continue;
    o[k] = k === "nat" ? { dir: e.nat!.dir, tuple: tupleJSON(e.nat!.tuple) } : fieldJSON(k, v);
  }
  return o;
}

/**
 * Reads a {@link flowToJSON} object (or a line of `nfct -L -o json`: its `v` is checked and left
 * out) back into a {@link Flow} (strings to BigInts, hex to bytes). The result is then checked
 * like any flow by the call it is given to (`create`, ...).
 * @throws {TypeError} when it is not an object with the family, proto and tuples of a flow, or
 * its `v` is newer than {@link FLOW_JSON_VERSION}.
 */
export function flowFromJSON(o: unknown): Flow {
  if (o === null || typeof o !== "object" || Array.isArray(o)) {
    throw new TypeError("Invalid flow JSON: expected an object");
  }
  const j = o as Record<string, unknown>;
  if (j.v !== undefined && !(Number.isInteger(j.v) && (j.v as number) >= 1)) {
    throw new TypeError("Invalid flow JSON v: expected a version number");
  }
  if ((j.v as number) > FLOW_JSON_VERSION) {
    throw new TypeError(
      `Invalid flow JSON: version ${j.v} is newer than this nfct reads (${FLOW_JSON_VERSION})`,
    );
  }
  for (const k of ["family", "proto", "orig", "reply"]) {
    if (j[k] === undefined) throw new TypeError(`Invalid flow JSON: "${k}" is missing`);
  }
  const { v: _v, ...rest } = j;
  const f = rest as unknown as Flow & Record<string, unknown>;
  if (j.timestamp !== undefined) {
    const t = j.timestamp as Record<string, unknown>;
    if (t === null || typeof t !== "object") {
      throw new TypeError("Invalid flow JSON timestamp: expected { start, stop }");
    }
    f.timestamp = { start: bigint(t.start, "timestamp.start") };
    if (t.stop !== undefined) f.timestamp.stop = bigint(t.stop, "timestamp.stop");
  }
  if (j.eventTime !== undefined) f.eventTime = bigint(j.eventTime, "eventTime");
  if (j.helperInfo !== undefined) f.helperInfo = unhex(j.helperInfo, "helperInfo");
  if (j.dccp !== undefined && (j.dccp as Record<string, unknown>)?.handshakeSeq !== undefined) {
    f.dccp = {
      ...(j.dccp as object),
      handshakeSeq: bigint((j.dccp as Record<string, unknown>).handshakeSeq, "dccp.handshakeSeq"),
    };
  }
  if (j.unknown !== undefined) {
    if (!Array.isArray(j.unknown)) {
      throw new TypeError("Invalid flow JSON unknown: expected an array");
    }
    f.unknown = j.unknown.map((u, i) => ({
      type: (u as RawAttribute).type,
      data: unhex((u as Record<string, unknown>)?.data, `unknown[${i}].data`),
    }));
  }
  return f;
}

/** Status flags a create sets again (the kernel derives or refuses the others). */
const RESTORABLE_STATUS: ReadonlySet<StatusFlag> = new Set([
  "SEEN_REPLY",
  "ASSURED",
  "FIXED_TIMEOUT",
  "SRC_NAT",
  "DST_NAT",
  "SEQ_ADJUST",
]);

/**
 * TCP info to create with: the flags a dump reports (with mask 0) set through a mask of their
 * own bits, as a create applies only masked bits, and takes the window scales only when both
 * directions have the window-scale flag (`nlattr_to_tcp()`).
 */
function restorableTcp(t: TcpInfo): TcpInfo {
  const o = { ...t };
  if (t.flagsOrig) {
    o.flagsOrig = { flags: t.flagsOrig.flags, mask: t.flagsOrig.flags | t.flagsOrig.mask };
  }
  if (t.flagsReply) {
    o.flagsReply = { flags: t.flagsReply.flags, mask: t.flagsReply.flags | t.flagsReply.mask };
  }
  return o;
}

/**
 * What of `f` a create can set again in another table: tuples (a NAT'd reply tuple too),
 * zones, mark, timeout, settable status flags, labels, TCP state, flags and window scales,
 * SCTP/DCCP state, helper, sequence adjustment, synproxy. Left out: counters, id, use,
 * timestamps and event time (they belong to the entry that was), the security mark and context
 * (set by the kernel's LSM), and unknown attributes.
 */
export function restorable(f: Flow): Flow {
  if (f === null || typeof f !== "object" || !f.orig || !f.reply) {
    throw new TypeError("Cannot restore: expected a flow with its orig and reply tuples");
  }
  const out: Flow = {
    family: f.family,
    proto: f.proto,
    orig: { ...f.orig },
    reply: { ...f.reply },
  };
  if (f.status) {
    const st = f.status.filter((s) => RESTORABLE_STATUS.has(s));
    if (st.length) out.status = st;
  }
  if (f.timeout !== undefined) out.timeout = f.timeout;
  if (f.mark !== undefined) out.mark = f.mark;
  if (f.zone !== undefined) out.zone = f.zone;
  if (f.tcp) out.tcp = restorableTcp(f.tcp);
  if (f.sctp) out.sctp = { ...f.sctp };
  if (f.dccp) out.dccp = { ...f.dccp };
  if (f.labels?.length) out.labels = [...f.labels];
  if (f.helper !== undefined) out.helper = f.helper;
  if (f.seqAdjOrig) out.seqAdjOrig = { ...f.seqAdjOrig };
  if (f.seqAdjReply) out.seqAdjReply = { ...f.seqAdjReply };
  if (f.synproxy && (f.synproxy.isn || f.synproxy.its || f.synproxy.tsoff)) {
    out.synproxy = { ...f.synproxy };
  }
  return out;
}
