/**
 * The lines of `-o json`, one JSON object per line for every command: flows (`-L`, `-G`, `-D`,
 * `-U`), expectations (`-L/-G expect`), events (`-E [expect]`), per-CPU statistics (`-S
 * [expect]`) and counts (`-C [expect]`). Each begins with `v`, the schema version
 * (`FLOW_JSON_VERSION`), and keeps its keys in one order; absent fields are left out.
 * `schema/nfct-output.schema.json` describes every line; docs/output.md explains it.
 * @module
 */
import {
  type CpuStats,
  type Expectation,
  type ExpectCpuStats,
  type ExpectEvent,
  expectToJSON,
  type Flow,
  FLOW_JSON_VERSION,
  type FlowEvent,
  flowToJSON,
} from "../mod.ts";

/** `{"v":1,` and the rest of `o`'s JSON text (`o` is a non-empty object). */
function versioned(o: object): string {
  return `{"v":${FLOW_JSON_VERSION},${JSON.stringify(o).slice(1)}`;
}

/** A flow's line: `v`, then `flowToJSON`'s keys. */
export function flowLine(f: Flow): string {
  return versioned(flowToJSON(f));
}

/** An expectation's line: `v`, then `expectToJSON`'s keys. */
export function expectLine(e: Expectation): string {
  return versioned(expectToJSON(e));
}

/**
 * An event's line: `v`, `type`, `flow` or `expectation`, `time` (ns since the epoch, a
 * decimal string), `timeSource`, `kernelTime`, `portId`, and `nsid`/`netnsName` when known.
 */
export function eventLine(ev: FlowEvent | ExpectEvent): string {
  const o: Record<string, unknown> = { type: ev.type };
  if ("flow" in ev) o.flow = flowToJSON(ev.flow);
  else o.expectation = expectToJSON(ev.expectation);
  o.time = String(ev.time);
  o.timeSource = ev.timeSource;
  o.kernelTime = ev.kernelTime;
  o.portId = ev.portId;
  if (ev.nsid !== undefined) o.nsid = ev.nsid;
  if (ev.netnsName !== undefined) o.netnsName = ev.netnsName;
  return versioned(o);
}

/** One CPU's line of `-S`: `v`, `cpu`, then the counters in `CpuStats`' order. */
export function cpuStatsLine(s: CpuStats): string {
  return versioned({
    cpu: s.cpu,
    found: s.found,
    invalid: s.invalid,
    insert: s.insert,
    insertFailed: s.insertFailed,
    drop: s.drop,
    earlyDrop: s.earlyDrop,
    error: s.error,
    searchRestart: s.searchRestart,
    clashResolve: s.clashResolve,
    chainTooLong: s.chainTooLong,
  });
}

/** One CPU's line of `-S expect`: `v`, `cpu`, `new`, `create`, `delete`. */
export function expectStatsLine(s: ExpectCpuStats): string {
  return versioned({ cpu: s.cpu, new: s.new, create: s.create, delete: s.delete });
}

/** The line of `-C [expect]`: `v`, `count`. */
export function countLine(n: number): string {
  return versioned({ count: n });
}
