/**
 * schema/nfct-output.schema.json against the code that writes the lines (cli/json.ts, the
 * flow and expectation JSON of conntrack/json.ts, `nfct top`'s renderJson): every kind of line
 * validates (Ajv, draft 2020-12, strict) with its keys in the schema's order; the schema lists
 * exactly the fields of Flow, Tuple and Expectation in their order, and the names of the
 * protocol, state and status tables; absent fields are left out, and a line with an unknown
 * field, another version or a zero-filled synproxy is refused; docs/output.md names every field.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  DCCP_STATES,
  EXPECT_FLAGS,
  type Expectation,
  expectToJSON,
  type Flow,
  FLOW_JSON_VERSION,
  flowFromJSON,
  PROTOCOLS,
  RateMeter,
  SCTP_STATES,
  STATUS_BITS,
  TCP_STATES,
} from "../../../mod.ts";
import { FLOW_FIELDS } from "../../../conntrack/flow.ts";
import { TUPLE_FIELDS } from "../../../conntrack/tuple.ts";
import {
  countLine,
  cpuStatsLine,
  eventLine,
  expectLine,
  expectStatsLine,
  flowLine,
} from "../../../cli/json.ts";
import { renderJson } from "../../../cli/top_view.ts";
import { LIST } from "../../_helpers/golden_flows.ts";
import {
  lineProblems,
  propertiesOf,
  SCHEMA,
  type SchemaNode,
} from "../../_helpers/output_schema.ts";
import { ROOT } from "../../_helpers/run.ts";

const DEFS = SCHEMA.$defs as Record<string, SchemaNode>;
const names = (def: string) => propertiesOf(DEFS[def]).map(([k]) => k);
const prop = (def: string, ...path: string[]) => {
  let n: SchemaNode = DEFS[def];
  for (const k of path) {
    n = propertiesOf(n).find(([p]) => p === k)![1];
    if (typeof n.$ref === "string" && !n.properties) n = DEFS[n.$ref.split("/").pop()!];
  }
  return n;
};

/** A flow with every field of Flow set (not a flow the kernel would make: each codec path). */
const FULL: Flow = {
  family: "ipv4",
  proto: "tcp",
  orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 21, zone: 3 },
  reply: { src: "10.0.0.2", dst: "10.9.0.1", sport: 21, dport: 1000 },
  status: ["SEEN_REPLY", "ASSURED", "CONFIRMED", "SRC_NAT", "SRC_NAT_DONE"],
  timeout: 120,
  mark: 0xffffffff,
  secmark: 7,
  zone: 7,
  id: 4294967295,
  use: 1,
  tcp: {
    state: "ESTABLISHED",
    wscaleOrig: 7,
    wscaleReply: 7,
    flagsOrig: { flags: 0x23, mask: 0 },
    flagsReply: { flags: 0x23, mask: 0 },
  },
  sctp: { state: "HEARTBEAT_SENT", vtagOrig: 1, vtagReply: 2 },
  dccp: { state: "OPEN", role: 1, handshakeSeq: 2n ** 64n - 1n },
  counters: { orig: { packets: 2 ** 40, bytes: 2 ** 50 }, reply: { packets: 0, bytes: 0 } },
  timestamp: { start: 1795500917611044523n, stop: 1795500917611044524n },
  eventTime: 18446744073709551615n,
  labels: [0, 64, 127],
  labelsMask: [0, 127],
  helper: "ftp",
  helperInfo: new Uint8Array([0, 1, 0xfe, 0xff]),
  secctx: "system_u:object_r:unlabeled_t:s0",
  natSrc: { minIp: "10.9.0.1", maxIp: "10.9.0.9", minPort: 1, maxPort: 65535 },
  natDst: { minIp: "2001:db8::1", maxIp: "2001:db8::9" },
  seqAdjOrig: { correctionPos: 1, offsetBefore: 2, offsetAfter: 3 },
  seqAdjReply: { correctionPos: 4, offsetBefore: 5, offsetAfter: 6 },
  synproxy: { isn: 1, its: 0, tsoff: 0 },
  master: { proto: "tcp", src: "10.0.0.1", dst: "10.0.0.2", sport: 1000, dport: 21 },
  unknown: [{ type: 0x8063, data: new Uint8Array([1, 2, 3]) }],
};

/** An expectation with every field set. */
const FULL_EXPECT: Expectation = {
  family: "ipv6",
  proto: "udp",
  master: { proto: "tcp", src: "fd00::1", dst: "fd00::100", sport: 40001, dport: 21 },
  tuple: { src: "fd00::100", dst: "fd00::1", sport: 0, dport: 50001 },
  mask: { src: "ffff:ffff:ffff:ffff::", dst: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", sport: 0 },
  timeout: 300,
  id: 12,
  helper: "ftp",
  zone: 2,
  flags: ["PERMANENT", "INACTIVE", "USERSPACE", "BIT_9" as "PERMANENT"],
  class: 1,
  nat: { dir: "reply", tuple: { src: "fd00::200", dst: "fd00::1", sport: 2100 } },
  fn: "nat-follow-master",
  unknown: [{ type: 99, data: new Uint8Array(0) }],
};

const ok = (line: string, kind: Parameters<typeof lineProblems>[1]) =>
  assert.deepEqual(lineProblems(line, kind), [], line);
const refused = (value: unknown, kind: Parameters<typeof lineProblems>[1], why: string) =>
  assert.notDeepEqual(lineProblems(JSON.stringify(value), kind), [], why);

test("the schema compiles as strict draft 2020-12 and offers one definition per kind of line", () => {
  assert.equal(SCHEMA.$schema, "https://json-schema.org/draft/2020-12/schema");
  const kinds = (SCHEMA.oneOf as SchemaNode[]).map((r) => String(r.$ref).split("/").pop());
  assert.deepEqual(kinds, [
    "flow",
    "flowEvent",
    "expectation",
    "expectEvent",
    "cpuStats",
    "expectCpuStats",
    "count",
    "top",
  ]);
  assert.equal(prop("flow", "v").const, FLOW_JSON_VERSION);
});

test("the schema's flow, tuple and expectation fields are the library's, in its order", () => {
  assert.deepEqual(names("flowFields"), FLOW_FIELDS);
  assert.deepEqual(names("flow"), ["v", ...FLOW_FIELDS]);
  assert.deepEqual(names("tupleFields"), TUPLE_FIELDS);
  assert.deepEqual(names("masterTuple"), ["proto", ...TUPLE_FIELDS]);
  assert.deepEqual(names("expectFields"), Object.keys(expectToJSON(FULL_EXPECT)));
});

test("the schema's names are the protocol, state, status and expectation-flag tables", () => {
  const anyOf = DEFS.proto.anyOf as SchemaNode[];
  assert.deepEqual(anyOf[0].enum, PROTOCOLS.map((p) => p.name));
  assert.deepEqual(prop("flowFields", "tcp", "state").enum, TCP_STATES);
  assert.deepEqual(prop("flowFields", "sctp", "state").enum, SCTP_STATES);
  assert.deepEqual(prop("flowFields", "dccp", "state").enum, DCCP_STATES);
  assert.deepEqual((prop("flowFields", "status").items as SchemaNode).enum, STATUS_BITS);
  const flags = (prop("expectFields", "flags").items as SchemaNode).anyOf as SchemaNode[];
  assert.deepEqual(flags[0].enum, Object.keys(EXPECT_FLAGS));
});

test("every flow of the golden capture, and a flow with every field, is a valid flow line", () => {
  for (const f of [...LIST, FULL]) {
    const line = flowLine(f);
    ok(line, "flow");
    assert.ok(line.startsWith(`{"v":${FLOW_JSON_VERSION},"family":`), line);
  }
});

test("absent fields are left out: no all-zero synproxy, no undefined keys; unknown fields, other versions refused", () => {
  const plain: Flow = {
    family: "ipv6",
    proto: "udp",
    orig: { src: "::1", dst: "::1", sport: 1, dport: 2 },
    reply: { src: "::1", dst: "::1", sport: 2, dport: 1 },
    synproxy: { isn: 0, its: 0, tsoff: 0 },
    mark: undefined,
  };
  const j = JSON.parse(flowLine(plain));
  assert.deepEqual(Object.keys(j), ["v", "family", "proto", "orig", "reply"]);
  ok(flowLine(plain), "flow");
  refused({ ...j, synproxy: { isn: 0, its: 0, tsoff: 0 } }, "flow", "a zero-filled synproxy");
  refused({ ...j, colour: "red" }, "flow", "an unknown field");
  refused({ ...j, orig: { ...j.orig, port: 1 } }, "flow", "an unknown tuple field");
  refused({ ...j, v: 2 }, "flow", "another version");
  const { v: _v, ...unversioned } = j;
  refused(unversioned, "flow", "no version");
  refused({ ...j, orig: { ...j.orig, src: "localhost" } }, "flow", "not an address");
  const reordered = { v: 1, proto: j.proto, family: j.family, orig: j.orig, reply: j.reply };
  assert.match(lineProblems(JSON.stringify(reordered), "flow").join(), /not in the order/);
});

test("expectation lines: every field, in the schema's order", () => {
  ok(expectLine(FULL_EXPECT), "expectation");
  const [first] = [...Object.keys(JSON.parse(expectLine(FULL_EXPECT)))];
  assert.equal(first, "v");
  const min = { ...FULL_EXPECT, family: "ipv4" as const };
  for (const k of ["timeout", "id", "helper", "zone", "flags", "class", "nat", "fn", "unknown"]) {
    delete (min as Record<string, unknown>)[k];
  }
  Object.assign(min, {
    master: { proto: "tcp", src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 21 },
    tuple: { src: "10.0.0.2", dst: "10.0.0.1", sport: 0, dport: 5000 },
    mask: { src: "255.255.255.255", dst: "255.255.255.255", sport: 0, dport: 65535 },
  });
  ok(expectLine(min), "expectation");
});

test("event lines of flows and expectations, with and without a namespace", () => {
  const base = { time: 1795500917611044523n, timeSource: "received", kernelTime: false } as const;
  ok(eventLine({ type: "new", flow: LIST[0], ...base, portId: 0 }), "flowEvent");
  ok(
    eventLine({
      type: "destroy",
      flow: FULL,
      ...base,
      timeSource: "event",
      kernelTime: true,
      portId: 4242,
      nsid: 3,
      netnsName: "blue",
    }),
    "flowEvent",
  );
  for (const type of ["expectNew", "expectDestroy"] as const) {
    ok(eventLine({ type, expectation: FULL_EXPECT, ...base, portId: 1 }), "expectEvent");
  }
  const j = JSON.parse(eventLine({ type: "update", flow: LIST[1], ...base, portId: 0 }));
  assert.deepEqual(Object.keys(j), [
    "v",
    "type",
    "flow",
    "time",
    "timeSource",
    "kernelTime",
    "portId",
  ]);
  assert.equal(j.time, "1795500917611044523");
  refused({ ...j, type: "expectNew" }, "flowEvent", "an expectation event type with a flow");
});

test("statistics and count lines carry every counter, in the schema's order", () => {
  const cpu = {
    cpu: 1,
    found: 1,
    invalid: 2,
    insert: 3,
    insertFailed: 4,
    drop: 5,
    earlyDrop: 6,
    error: 7,
    searchRestart: 8,
    clashResolve: 9,
    chainTooLong: 4294967295,
  };
  ok(cpuStatsLine(cpu), "cpuStats");
  assert.deepEqual(Object.keys(JSON.parse(cpuStatsLine(cpu))), names("cpuStats"));
  const exp = { cpu: 0, new: 1, create: 2, delete: 3 };
  ok(expectStatsLine(exp), "expectCpuStats");
  assert.deepEqual(Object.keys(JSON.parse(expectStatsLine(exp))), names("expectCpuStats"));
  ok(countLine(0), "count");
  assert.equal(countLine(42), `{"v":${FLOW_JSON_VERSION},"count":42}`);
  refused({ v: 1, count: -1 }, "count", "a negative count");
});

test("nfct top's JSON line is a valid top line (ports, ICMP, IPv6, uncounted flows)", () => {
  const flow = (n: number, proto: string, bytes: number, six = false): Flow =>
    ({
      family: six ? "ipv6" : "ipv4",
      proto,
      id: n,
      orig: proto === "icmp"
        ? { src: "10.0.0.1", dst: "10.0.0.2", type: 8, code: 0, id: n }
        : { src: six ? "::1" : "10.0.0.1", dst: six ? "::1" : "10.0.0.2", sport: n, dport: 80 },
      reply: { src: "10.0.0.2", dst: "10.0.0.1" },
      status: ["SEEN_REPLY"],
      counters: { orig: { bytes, packets: 1 }, reply: { bytes: 0, packets: 0 } },
    }) as Flow;
  const m = new RateMeter();
  const flows = (k: number) => [
    flow(1, "tcp", 100 * k),
    flow(2, "icmp", 10 * k),
    flow(3, "udp", 5 * k, true),
    { ...flow(4, "gre", 0), counters: undefined },
  ];
  m.sample(flows(1), 0);
  const sample = m.sample(flows(2), 1000);
  const line = renderJson({
    sample,
    order: "bytesPerSecond",
    interval: 1,
    iec: false,
    time: new Date(Date.UTC(2026, 0, 1)),
  });
  ok(line, "top");
  assert.ok(line.startsWith(`{"v":${FLOW_JSON_VERSION},"time":`));
});

test("flowFromJSON reads a -L -o json line (v left out) and refuses a newer or malformed version", () => {
  const line = JSON.parse(flowLine(LIST[0]));
  const f = flowFromJSON(line);
  assert.equal((f as unknown as Record<string, unknown>).v, undefined);
  assert.deepEqual(f.orig, LIST[0].orig);
  assert.throws(() => flowFromJSON({ ...line, v: FLOW_JSON_VERSION + 1 }), /version 2 is newer/);
  assert.throws(() => flowFromJSON({ ...line, v: "1" }), /v: expected a version number/);
});

test("docs/output.md names every field of every line", () => {
  const doc = readFileSync(`${ROOT}docs/output.md`, "utf8");
  const missing = new Set<string>();
  const walk = (node: SchemaNode, seen: Set<SchemaNode>) => {
    if (seen.has(node)) return;
    seen.add(node);
    for (const [k, sub] of propertiesOf(node)) {
      if (!doc.includes(`\`${k}\``)) missing.add(k);
      const target = typeof sub.$ref === "string" ? DEFS[sub.$ref.split("/").pop()!] : sub;
      walk(target, seen);
      const items = target.items as SchemaNode | undefined;
      if (items) walk(items, seen);
      if (typeof target.additionalProperties === "object") {
        walk(target.additionalProperties as SchemaNode, seen);
      }
    }
  };
  for (const r of SCHEMA.oneOf as SchemaNode[]) {
    walk(DEFS[String(r.$ref).split("/").pop()!], new Set());
  }
  assert.deepEqual([...missing], []);
});
