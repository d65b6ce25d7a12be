/**
 * nfct — the Linux conntrack table from Deno and Bun, through libc FFI (no compiled addon).
 *
 * Speaks nfnetlink_conntrack to the kernel: list, get, create, update, delete and flush
 * entries, count them, read statistics. Needs `CAP_NET_ADMIN` in the network namespace
 * (root, or `unshare -rn` for a throwaway namespace); Deno needs `--allow-ffi` (or `-A`).
 *
 * The API is synchronous: the kernel answers ctnetlink requests inside the system call, so
 * there is nothing to await, and a dump is a plain iterator that decodes flows as datagrams
 * arrive (constant memory on any table size). Long jobs on big tables (`list()`, `flush()` by
 * a filter the kernel cannot apply, `createMany`/`deleteMany`) move the kernel's share of the
 * work to a worker thread and stay synchronous (README: "Worker threads on long jobs").
 *
 * @example List UDP flows to port 53
 * ```ts
 * import { Conntrack } from "./mod.ts";
 * using ct = Conntrack.open();
 * for (const f of ct.dump({ proto: "udp", dport: 53 })) {
 *   console.log(f.orig.src, "→", f.orig.dst, f.timeout);
 * }
 * ```
 *
 * @example Delete stale entries of a container (the netavark case)
 * ```ts
 * import { Conntrack } from "./mod.ts";
 * using ct = Conntrack.open();
 * ct.flush({ family: "ipv4", reply: { src: "10.88.0.5" } });
 * ct.flush({ family: "ipv4", reply: { dst: "10.88.0.5" } });
 * ct.flush({ proto: "udp", dport: 8080 });
 * ```
 * @module
 */
export { Conntrack } from "./conntrack/client.ts";
export type { OpenOptions } from "./conntrack/session.ts";
export type { DumpOptions, TextChunk } from "./conntrack/dump.ts";
export type { BatchStopped } from "./conntrack/options.ts";
export type { CreateResult, DeleteResult, FlowKey } from "./conntrack/batch.ts";
export type {
  CountedFlushOptions,
  DumpFlushResult,
  FlushOptions,
  FlushResult,
  KernelFlushResult,
} from "./conntrack/flush.ts";
export type {
  Counter,
  DccpInfo,
  Flow,
  NatRange,
  RawAttribute,
  SctpInfo,
  SeqAdj,
  Synproxy,
  TcpFlags,
  TcpInfo,
  Timestamp,
} from "./conntrack/flow.ts";
export type { FlowPurpose } from "./conntrack/flow.ts";
export { decodeFlow, FlowDecoder } from "./conntrack/flow_decode.ts";
export { encodeFlow } from "./conntrack/flow_encode.ts";
export { validateFlow } from "./conntrack/flow_validate.ts";
export { writeNfgenmsg } from "./conntrack/nfnl.ts";
/** Low-level wire codec, for tools that build or parse ctnetlink messages themselves. */
export { AttributeReader, MessageBuilder } from "./netlink/attribute.ts";
export type { MasterTuple, Proto, ProtoName, Tuple } from "./conntrack/tuple.ts";
export { invertTuple, protoName, protoNumber } from "./conntrack/tuple.ts";
export type { DccpState, Protocol, SctpState, TcpState } from "./conntrack/protocols.ts";
export {
  DCCP_STATES,
  hasPorts,
  protocolNamed,
  protocolOf,
  PROTOCOLS,
  SCTP_STATES,
  TCP_STATES,
} from "./conntrack/protocols.ts";
export {
  type CompiledFilter,
  type CompiledTuple,
  compileFilter,
  type Filter,
  type Filters,
  type KernelConditions,
  type TupleFilter,
} from "./conntrack/filter.ts";
export type { LabelFilter, NatFilter } from "./conntrack/filter_extra.ts";
export {
  type ExpectJSON,
  expectToJSON,
  FLOW_JSON_VERSION,
  flowFromJSON,
  type FlowJSON,
  flowToJSON,
  restorable,
} from "./conntrack/json.ts";
export { STATUS_BITS, statusBits, type StatusFlag, statusFlags } from "./conntrack/status.ts";
export type { CpuStats, GlobalStats } from "./conntrack/stats.ts";
export { type Family, formatAddress, parseAddress, type Prefix } from "./conntrack/address.ts";
export { NetlinkError } from "./netlink/errors.ts";
export { SyscallError } from "./ffi/errno.ts";
/**
 * The process around a script, the same on Deno and Bun without Node compatibility (which
 * costs Deno ~40 ms at start): `args()`, `env()`, `exit()`, `isTerminal()`, `readTextFile()`,
 * `readDir()`, `readLink()`, `writeAll()`/`writeText()` to fd 1 or 2, `onSignal()`. The CLI uses it.
 */
export * as host from "./ffi/host.ts";
export type { Transport, TransportFactory } from "./netlink/socket.ts";
export {
  formatFlow,
  type FormatOptions,
  formatWire,
  type LabelMap,
  parseConnlabelConf,
  XML_FOOTER,
  XML_HEADER,
} from "./conntrack/format.ts";
export {
  type ConntrackEvent,
  decodeEvent,
  EVENT_GROUPS,
  type EventBase,
  type EventOptions,
  type EventType,
  type ExpectEvent,
  type ExpectEventType,
  type FlowEvent,
  type FlowEventType,
  type OverrunEvent,
  type ResyncEvent,
} from "./conntrack/events.ts";
export { EventStream } from "./conntrack/event_stream.ts";
export {
  EXPECT_FLAGS,
  type Expectation,
  type ExpectCpuStats,
  type ExpectFilter,
  type ExpectFlag,
  type ExpectKey,
  type ExpectNat,
  type ExpectPurpose,
} from "./conntrack/expect.ts";
export { decodeExpect, ExpectDecoder } from "./conntrack/expect_decode.ts";
export { encodeExpect } from "./conntrack/expect_encode.ts";
export type { Netns } from "./netlink/netns.ts";
/**
 * Guards for code that fills or empties a table for a demo, a benchmark or a test: refuse to run
 * in the initial network namespace, pid 1's, or the one `NFCT_HOST_NETNS` names.
 */
export {
  assertThrowawayNetns,
  isThrowawayNetns,
  type NetnsIds,
  PROC_NET_INIT_INO,
  readNetnsIds,
  throwawayNetnsRefusal,
} from "./netlink/netns.ts";
export {
  EXPECT_XML_FOOTER,
  EXPECT_XML_HEADER,
  type ExpectFormatOptions,
  formatExpect,
} from "./conntrack/format.ts";
/**
 * Timeout policies (`nfct timeout`, `nfnetlink_cttimeout`): named per-state timeouts that rules
 * attach to flows, and each tracker's per-namespace defaults.
 */
export {
  CTNL_TIMEOUT_NAME_MAX,
  type DefaultTimeouts,
  type ProtoTimeouts,
  type StateKey,
  type StateTimeouts,
  TIMEOUT_MAX_SECONDS,
  TIMEOUT_PROTO_NUMBERS,
  TIMEOUT_STATES,
  type TimeoutPolicy,
  type TimeoutProto,
} from "./conntrack/timeout.ts";
export {
  checkTimeoutName,
  decodeTimeoutPolicy,
  encodeTimeoutPolicy,
  validateTimeoutPolicy,
} from "./conntrack/timeout_codec.ts";
export {
  type AddTimeoutOptions,
  Timeouts,
  type TimeoutsOpenOptions,
} from "./conntrack/timeout_client.ts";
/** Userspace helpers (`nfct helper`, `nfnetlink_cthelper`). */
export { type Helper, type HelperPolicy, Helpers, NO_CTHELPER_HINT } from "./conntrack/cthelper.ts";
/**
 * Prometheus metrics (`nfct metrics`): O(1) table figures and per-CPU statistics, optional
 * per-state counts from one dump, event counters; a textfile writer and an HTTP endpoint.
 */
export {
  collectMetrics,
  type ConntrackMetrics,
  currentNetnsLabel,
  EventCounter,
  type EventCounts,
  type FlowClass,
  formatMetrics,
  type MetricsOptions,
  serveMetrics,
  type ServeMetricsOptions,
  writeMetricsFile,
} from "./conntrack/metrics.ts";
/**
 * Flow rates (`nfct top`): what each flow's accounting counters grew by between two dumps, and
 * the busiest flows by bytes or packets per second or in total.
 */
export {
  flowIdentity,
  type FlowRate,
  rankRates,
  RATE_ORDERS,
  RateMeter,
  type RateOrder,
  type RateSample,
} from "./conntrack/rates.ts";
export { formatEndpoint } from "./conntrack/address.ts";
/** Kernel settings under /proc/sys (`net.netfilter.nf_conntrack_acct`, …), read and written. */
export { readSysctl, writeSysctl } from "./ffi/sysctl.ts";
/**
 * The terminal a full-screen view draws on (`nfct top`): `size()`, `setRaw()`, `readKeys()`,
 * `onSignal("SIGWINCH" | "SIGHUP")`, the same on Deno and Bun.
 */
export * as terminal from "./ffi/terminal.ts";
