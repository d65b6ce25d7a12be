/**
 * Flushes: what to delete (a filter is required; {@link flushAll} is the one whole-table call),
 * which way (in the kernel, only once proven on a scratch table, or by a dump with exact
 * counts), the proof itself, and the flush of the expectation table.
 * @module
 */
import { ENOENT, SyscallError } from "../ffi/errno.ts";
import { MessageBuilder } from "../netlink/attribute.ts";
import { NetlinkError } from "../netlink/errors.ts";
import { NLM_F_ACK } from "../netlink/message.ts";
import { NetnsHandle } from "../netlink/netns.ts";
import * as C from "./constants.ts";
import { dumpBatches, RawKey, readAheadAfter } from "./dump.ts";
import { type CompiledFilter, compileFilter, type Filters } from "./filter.ts";
import type { ExpectKey } from "./expect.ts";
import { deleteExpectation, dumpExpectations } from "./expect_requests.ts";
import type { Flow } from "./flow.ts";
import { HELPER_NAME_MAX, validateFlow } from "./flow_validate.ts";
import { loadProofs, rememberProof } from "./flush_proofs.ts";
import { beginRequest } from "./nfnl.ts";
import { checkFlushOptions, checkName } from "./options.ts";
import { Pipeline } from "./pipeline.ts";
import { createFlow, getFlow } from "./requests.ts";
import { flushSentinels, type Sentinel } from "./sentinels.ts";
import { msgType, NFNETLINK_V1, Session } from "./session.ts";

/** Options of {@link Conntrack.flush} and {@link Conntrack.flushAll}. */
export interface FlushOptions {
  /**
   * Which way to delete:
   * - `"kernel"`: one request per family with the filter; the kernel deletes what matches and
   *   does not say how many (`deleted: undefined`). With a filter, only when every condition
   *   is one the kernel applies itself (protocol, exact IPv4 addresses, TCP/UDP ports,
   *   mark/mask, status/mask, family) *and* this kernel was seen to apply that kind of filter
   *   exactly: the first time a client flushes with a filter of a given shape, it tries the
   *   same request on sentinel entries in a private scratch network namespace (never this
   *   table; needs `CAP_SYS_ADMIN`); `TypeError` otherwise.
   * - `"dump"`: the table is dumped with the filter, every entry matched in userspace and the
   *   matches deleted in pipelined batches, each guarded by its id; `deleted` counts the
   *   deletes the kernel acknowledged (`conntrack -D`).
   * - `"auto"` (the default of {@link Conntrack.flush}): `"kernel"` when it can, else `"dump"`.
   *
   * {@link Conntrack.flushAll} defaults to `"kernel"`; `where` and `onDeleted` imply `"dump"`.
   */
  via?: "auto" | "kernel" | "dump";
  /** An extra userspace condition a flow must meet too (implies `via: "dump"`). */
  where?: (flow: Flow) => boolean;
  /**
   * Called with each flow once its delete has succeeded (implies `via: "dump"`): e.g. to list
   * what was deleted, as `conntrack -D` does. Flows whose delete failed are not passed.
   */
  onDeleted?: (flow: Flow) => void;
}

/**
 * {@link FlushOptions} that take the dump way, whose result always carries a count: `via: "dump"`,
 * or a `where` or `onDeleted` (which imply it).
 */
export type CountedFlushOptions =
  & FlushOptions
  & (
    | { via: "dump" }
    | Required<Pick<FlushOptions, "where">>
    | Required<Pick<FlushOptions, "onDeleted">>
  );

/** What a flush by dump did: `deleted` counts the deletes the kernel acknowledged. */
export interface DumpFlushResult {
  /** The way taken: a dump, then pipelined deletes. */
  via: "dump";
  /** How many entries this call deleted (an entry gone meanwhile is not counted). */
  deleted: number;
}

/** What a kernel-side flush did: the kernel does not say how many entries it removed. */
export interface KernelFlushResult {
  /** The way taken: flush requests the kernel carried out itself. */
  via: "kernel";
  /** Unknown: the kernel does not count. */
  deleted: undefined;
}

/**
 * What {@link Conntrack.flush} or {@link Conntrack.flushAll} did. The count is exact or absent,
 * never estimated: a kernel-side flush reports no count (and "size before minus size after" is
 * wrong whenever anything else changes the table meanwhile).
 */
export type FlushResult = DumpFlushResult | KernelFlushResult;

/** {@link Conntrack.flush}. */
export function flush(s: Session, filter: Filters, options: FlushOptions = {}): FlushResult {
  const cf = compileFilter(filter);
  if (cf.empty) {
    throw new TypeError(
      "Cannot flush: the filter has no condition (to empty the whole table, call flushAll())",
    );
  }
  const opts = checkFlushOptions(options) as FlushOptions;
  const perFlow = opts.where !== undefined || opts.onDeleted !== undefined;
  const via = opts.via ?? (perFlow ? "dump" : "auto");
  if (perFlow && via !== "dump") {
    throw new TypeError(`Cannot flush via "${via}" with where/onDeleted: those need the dump path`);
  }
  if (via !== "dump") {
    // An any-of list goes to the kernel as one flush per filter (a kernel walk is far cheaper
    // than a dump), when every one of them can.
    const parts = cf.anyOf ?? [cf];
    if (parts.every((p) => p.kernel.exact && kernelFlushProven(s, p))) {
      for (const p of parts) kernelFlush(s, p, p.families, "Cannot flush flows");
      return { via: "kernel", deleted: undefined };
    }
    if (via === "kernel") {
      throw new TypeError(
        `Cannot flush in the kernel: ${
          cf.kernel.exact
            ? "this kernel's filtered flush could not be proven on a scratch table (no CAP_SYS_ADMIN, or it deleted the wrong sentinels)"
            : "the filter has conditions only userspace can check (CIDR, IPv6 address, state, zone, non-TCP/UDP ports)"
        }`,
      );
    }
  }
  return { via: "dump", deleted: flushViaDump(s, cf, opts) };
}

/** {@link Conntrack.flushAll}. */
export function flushAll(s: Session, options: FlushOptions = {}): FlushResult {
  const opts = checkFlushOptions(options) as FlushOptions;
  const perFlow = opts.where !== undefined || opts.onDeleted !== undefined;
  const via = opts.via ?? (perFlow ? "dump" : "kernel");
  if (perFlow && via !== "dump") {
    throw new TypeError(`Cannot flush via "${via}" with where/onDeleted: those need the dump path`);
  }
  const cf = compileFilter();
  if (via === "dump") {
    return { via: "dump", deleted: flushViaDump(s, cf, opts) };
  }
  kernelFlush(s, cf, [C.AF_UNSPEC], "Cannot flush the table");
  return { via: "kernel", deleted: undefined };
}

/** {@link Conntrack.flushExpect}: lists the expectations, deletes each by its id, counts. */
export function flushExpectations(s: Session, helper: string | undefined): number {
  if (helper !== undefined) checkName(helper, HELPER_NAME_MAX, "expectation flush helper");
  let n = 0;
  const list = [
    ...dumpExpectations(s.socket(), s.b, helper === undefined ? undefined : { helper }),
  ];
  for (const e of list) {
    const key: ExpectKey = { family: e.family, proto: e.proto, tuple: e.tuple };
    if (e.zone !== undefined) key.zone = e.zone;
    if (e.id !== undefined) key.id = e.id;
    try {
      deleteExpectation(s.socket(), s.b, key);
      n++;
    } catch (err) {
      if (!(err instanceof NetlinkError && err.errno === ENOENT)) throw err;
    }
  }
  return n;
}

/** Request bytes per batch of deletes sent while a dump streams: small batches interleave evenly with it. */
const STREAM_BATCH_BYTES = 32 * 1024;

/**
 * Streams the table with `cf` and deletes each match as it arrives, by its own tuple, zone and
 * id attributes copied out of the dump datagram ({@link RawKey}), in pipelined batches on a
 * second socket while the dump goes on. Returns how many deletes succeeded.
 * @throws {NetlinkError} when deletes failed (other than `ENOENT`: gone meanwhile); its `cause`
 * lists them.
 */
function flushViaDump(s: Session, cf: CompiledFilter, opts: FlushOptions): number {
  const { where, onDeleted } = opts;
  const key = new RawKey();
  const failures: NetlinkError[] = [];
  let p: Pipeline<Flow | undefined> | undefined; // the flows only when onDeleted wants them
  let deleted = 0;
  try {
    const ahead = readAheadAfter(s, "auto", true);
    for (const batch of dumpBatches(s, s.socket(), cf, ahead)) {
      for (let i = 0; i < batch.count; i++) {
        const f = key.decode(batch.dv, batch.offsets[i], batch.lengths[i]); // `write` copies its key
        if ((!cf.empty && !cf.match(f)) || (where && !where(f))) continue;
        p ??= new Pipeline<Flow | undefined>(s, { // the second socket: the first is busy with the dump
          op: "Cannot delete flows",
          builder: new MessageBuilder(STREAM_BATCH_BYTES + 8192),
          batchBytes: STREAM_BATCH_BYTES,
          worker: false, // the dump's read-ahead thread has the second core
          write: (b, _f, seq) => {
            const at = beginRequest(b, {
              type: msgType(C.IPCTNL_MSG_CT_DELETE),
              flags: 0,
              seq,
              family: key.family(),
            });
            key.writeTuple(b);
            key.writeId(b);
            b.end(at);
          },
          onError: (_f, { errno, message }) => {
            if (errno !== ENOENT) {
              failures.push(new NetlinkError("Cannot delete flow", errno, { message }));
            }
          },
          onOk: onDeleted && ((f) => onDeleted(f!)),
        });
        p.add(onDeleted ? f : undefined);
      }
    }
    deleted = p?.finish() ?? 0;
  } finally {
    p?.stop();
  }
  if (failures.length) {
    throw new NetlinkError(
      `Cannot flush: ${failures.length} deletes failed (${deleted} done); first`,
      failures[0].errno,
      { message: failures[0].kernelMessage },
      { cause: failures },
    );
  }
  return deleted;
}

function kernelFlush(s: Session, cf: CompiledFilter, families: number[], op: string): void {
  for (const fam of families) {
    const sock = s.socket();
    const at = s.begin(sock, C.IPCTNL_MSG_CT_DELETE, NLM_F_ACK, fam, NFNETLINK_V1);
    cf.encode(s.b, fam);
    s.request(sock, at, op);
  }
}

/** {@link Conntrack.canFlushInKernel}. */
export function canFlushInKernel(s: Session, filter: Filters): boolean {
  const cf = compileFilter(filter);
  return !cf.empty && (cf.anyOf ?? [cf]).every((p) => p.kernel.exact && kernelFlushProven(s, p));
}

function kernelFlushProven(s: Session, cf: CompiledFilter): boolean {
  const shape = cf.kernel.shape;
  let ok = s.proven.get(shape);
  if (ok !== undefined) return ok;
  if (!s.custom && loadProofs().has(shape)) {
    s.proven.set(shape, true);
    return true;
  }
  ok = false;
  const sentinels = s.custom ? undefined : flushSentinels(cf.kernel.conditions);
  if (sentinels) {
    let ns: NetnsHandle | undefined;
    try {
      ns = NetnsHandle.scratch();
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
    }
    if (ns) {
      const scratch = Session.in(ns, { receiveBufferSize: 1 << 20 });
      try {
        ok = proveKernelFlush(scratch, cf, sentinels);
      } finally {
        scratch.close();
      }
    }
  }
  s.proven.set(shape, ok);
  if (ok) rememberProof(shape);
  return ok;
}

/**
 * On this (scratch) table: all sentinels at once, each in a zone of its own (so equal tuples
 * never clash; the filters proven have no zone condition), one kernel flush with `cf`, and a
 * lookup of each by its tuple and zone before and after (O(1) each: the kernel walks its table,
 * which every namespace shares, only for the flush). True when the kernel deleted exactly the
 * sentinels userspace matches, and at least one.
 */
function proveKernelFlush(s: Session, cf: CompiledFilter, sentinels: Sentinel[]): boolean {
  const flows = sentinels.map((t, i) => validateFlow({ ...t.flow, zone: i + 1 }, "create"));
  const lookup = (f: Flow) => getFlow(s, f, "Cannot look a sentinel up");
  try {
    for (const f of flows) {
      createFlow(s, f, "Cannot create a sentinel");
    }
    // What the kernel holds, as userspace matches it.
    for (const [i, f] of flows.entries()) {
      const held = lookup(f);
      if (!held || cf.match(held) !== sentinels[i].expect) return false;
    }
    kernelFlush(s, cf, cf.families, "Cannot try a filtered flush");
  } catch (e) {
    // A sentinel this kernel refuses, or a flush it refuses (EOPNOTSUPP, EINVAL): nothing proven.
    if (e instanceof NetlinkError) return false;
    throw e;
  }
  let hits = 0;
  for (const [i, f] of flows.entries()) {
    const gone = lookup(f) === undefined;
    if (gone !== sentinels[i].expect) return false;
    if (gone) hits++;
  }
  return hits > 0;
}
