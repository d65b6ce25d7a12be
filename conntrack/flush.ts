/**
 * Flushes: what to delete (a filter is required; {@link flushAll} is the one whole-table call),
 * which way (in the kernel, only once proven on a scratch table, or by a dump with exact
 * counts), and the proof itself.
 * @module
 */
import { NetlinkError } from "../netlink/errors.ts";
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL } from "../netlink/message.ts";
import { NetnsHandle } from "../netlink/netns.ts";
import { SyscallError } from "../ffi/errno.ts";
import { flushViaDump } from "./batch.ts";
import * as C from "./constants.ts";
import { type CompiledFilter, compileFilter, type Filters } from "./filter.ts";
import type { Flow } from "./flow.ts";
import { validateFlow } from "./flow_validate.ts";
import { loadProofs, rememberProof } from "./flush_proofs.ts";
import { checkFlushOptions } from "./options.ts";
import { flushSentinels, type Sentinel } from "./sentinels.ts";
import { ENOENT, NFNETLINK_V1, Session } from "./session.ts";

/** Options of {@link Conntrack.flush}. */
export interface FlushOptions {
  /**
   * `"auto"` (default): in the kernel when it can apply the whole filter, else dump + delete.
   * `"kernel"`: only in the kernel (TypeError if it cannot). `"dump"`: always dump + delete.
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

/** What a flush by dump did: `deleted` counts the deletes the kernel acknowledged. */
export interface DumpFlushResult {
  /** Deleted by a dump with a delete per match. */
  via: "dump";
  /** How many deletes the kernel acknowledged. */
  deleted: number;
}

/** What a kernel-side flush did: the kernel does not say how many entries it removed. */
export interface KernelFlushResult {
  /** Deleted by one kernel request. */
  via: "kernel";
  /** The kernel does not say how many it deleted. */
  deleted: undefined;
}

/**
 * What {@link Conntrack.flush} or {@link Conntrack.flushAll} did. The count is exact or absent,
 * never estimated: a kernel-side flush reports no count (and "size before minus size after" is
 * wrong whenever anything else changes the table meanwhile).
 */
export type FlushResult = DumpFlushResult | KernelFlushResult;

/**
 * Deletes every entry matching `filter` (`conntrack -D <filter>`; nfct's `-F <filter>`). The
 * filter must have at least one condition: `flush()`, `flush(undefined)`, `flush({})` and a
 * filter with an `undefined`/`null` value or an empty `reply` are a `TypeError` before
 * anything is sent. To empty the whole table, call {@link flushAll}. An array of filters
 * deletes what matches any of them (`flush([f1, f2, f3])`): one dump, or one kernel flush each.
 *
 * Two ways, one answer:
 * - in the kernel (`via: "kernel"`, chosen by `"auto"` when possible): one request per family
 *   with the filter, when every condition is one the kernel applies itself (protocol, exact
 *   IPv4 addresses, TCP/UDP ports, mark/mask, status/mask, family) *and* this kernel was seen
 *   to apply that kind of filter exactly: the first time a client flushes with a filter of a
 *   given shape, it tries the same request on sentinel entries in a private scratch network
 *   namespace (never this table; needs `CAP_SYS_ADMIN`, else the dump way is used). The
 *   kernel does not say how many it deleted: `deleted` is `undefined`.
 * - by a dump (`via: "dump"`; always with `where`/`onDeleted`): the table is dumped with the
 *   filter, every entry is matched in userspace and the matches are deleted in pipelined
 *   batches, each guarded by its id. `deleted` counts the deletes the kernel acknowledged.
 *
 * @example
 * ```ts
 * import { Conntrack } from "@nfct/nfct";
 * using ct = Conntrack.open();
 * const r = ct.flush({ proto: "udp", dport: 8080 }, { via: "dump" });
 * console.log(`${r.deleted} entries deleted`);
 * ```
 */
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
  return { via: "dump", deleted: flushViaDump(s, cf, opts.where, opts.onDeleted) };
}

/**
 * Empties the whole table (`conntrack -F`). By default one kernel request, which does not
 * say how many it deleted (`deleted: undefined`); `{ via: "dump" }` (implied by `where` or
 * `onDeleted`) dumps the table and deletes each entry, counting every acknowledged delete
 * (`conntrack -D` without a filter).
 */
export function flushAll(s: Session, options: FlushOptions = {}): FlushResult {
  const opts = checkFlushOptions(options) as FlushOptions;
  const perFlow = opts.where !== undefined || opts.onDeleted !== undefined;
  const via = opts.via ?? (perFlow ? "dump" : "kernel");
  if (perFlow && via !== "dump") {
    throw new TypeError(`Cannot flush via "${via}" with where/onDeleted: those need the dump path`);
  }
  const cf = compileFilter();
  if (via === "dump") {
    return { via: "dump", deleted: flushViaDump(s, cf, opts.where, opts.onDeleted) };
  }
  kernelFlush(s, cf, [C.AF_UNSPEC], "Cannot flush the table");
  return { via: "kernel", deleted: undefined };
}

function kernelFlush(s: Session, cf: CompiledFilter, families: number[], op: string): void {
  for (const fam of families) {
    const sock = s.socket();
    const at = s.begin(sock, C.IPCTNL_MSG_CT_DELETE, NLM_F_ACK, fam, NFNETLINK_V1);
    cf.encode(s.b, fam);
    s.request(sock, at, op);
  }
}

/**
 * Whether {@link flush} would delete the entries `filter` selects in the kernel (`"auto"`):
 * every condition is one the kernel applies, and a kernel flush of that shape deleted exactly
 * the right sentinels in a private scratch network namespace (tried once per client and shape;
 * this table is never touched). False without `CAP_SYS_ADMIN` (no scratch namespace) or with a
 * custom transport.
 */
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
  const lookup = (f: Flow): Flow | undefined => {
    try {
      return s.flowRequest(C.IPCTNL_MSG_CT_GET, 0, f, "key", "Cannot look a sentinel up")[0];
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === ENOENT) return undefined;
      throw e;
    }
  };
  try {
    for (const f of flows) {
      s.flowRequest(
        C.IPCTNL_MSG_CT_NEW,
        NLM_F_CREATE | NLM_F_EXCL,
        f,
        "create",
        "Cannot create a sentinel",
      );
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
