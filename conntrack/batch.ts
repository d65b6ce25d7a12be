/**
 * Many creates or deletes at once (createMany, deleteMany, restore): each item checked, written
 * as a request and sent through the {@link Pipeline}; every outcome counted. A bad item in a
 * lazy iterable stops the call after the items before it went out ({@link BatchStopped}).
 * @module
 */
import { MessageBuilder } from "../netlink/attribute.ts";
import { ENOENT } from "../ffi/errno.ts";
import { NetlinkError } from "../netlink/errors.ts";
import { NLM_F_CREATE, NLM_F_EXCL } from "../netlink/message.ts";
import * as C from "./constants.ts";
import { familyNumber } from "./family.ts";
import type { Flow } from "./flow.ts";
import { encodeFlow } from "./flow_encode.ts";
import { validateFlow } from "./flow_validate.ts";
import { beginRequest } from "./nfnl.ts";
import { restorable } from "./json.ts";
import { type BatchProgress, batchStopped, checkBatchInput } from "./options.ts";
import { Pipeline, type PipelineOptions } from "./pipeline.ts";
import { msgType, type Session } from "./session.ts";
import type { Proto, Tuple } from "./tuple.ts";

/**
 * What identifies an entry: its protocol and original (or reply) tuple, and optionally zone and
 * id (`conntrack -D`'s `-s -d -p --sport --dport --zone`). Any {@link Flow} is a key.
 */
export interface FlowKey {
  /** `"ipv4"` or `"ipv6"`; default: the tuple's addresses say. */
  family?: Flow["family"];
  /** The layer-4 protocol, by name (`"tcp"`) or number. */
  proto: Proto;
  /** The original-direction tuple (what `conntrack -s -d --sport --dport` give). */
  orig?: Tuple;
  /** The reply-direction tuple (`conntrack -r -q --reply-port-src --reply-port-dst`). */
  reply?: Tuple;
  /** The conntrack zone (`--zone`); default 0. */
  zone?: number;
  /** When given, the kernel only acts if the entry still has this id (a re-created one is spared). */
  id?: number;
}

/** Outcome of a batch of deletes. `deleted + missing + failed.length` is the number asked. */
export interface DeleteResult {
  /** Entries the kernel deleted. */
  deleted: number;
  /** Entries that were already gone (`ENOENT`). */
  missing: number;
  /** Every other failure: the key, and the kernel's error. */
  failed: { flow: FlowKey; error: NetlinkError }[];
}

/** Outcome of a batch of creates. `created + failed.length` is the number asked. */
export interface CreateResult {
  /** Entries the kernel created. */
  created: number;
  /** Every failure (`EEXIST` for an entry that exists): the flow, and the kernel's error. */
  failed: { flow: Flow; error: NetlinkError }[];
}

/** Request bytes per batch: well below the send buffer nfct asks for. */
const BATCH_BYTES = 256 * 1024;

/**
 * Sends one request per item through a {@link Pipeline} (a worker thread sends from the second
 * batch on); returns how many succeeded. A bad item or a failing iterator stops it: the items
 * before still go out, `progress` says how far it got, and the error is rethrown.
 */
function batch<T>(
  s: Session,
  items: Iterable<T>,
  options: Pick<PipelineOptions<T>, "op" | "write" | "onError">,
  progress: BatchProgress,
): number {
  // Its own builder, and the socket chosen once the first item is in hand: a lazy iterable
  // may itself be a dump of this client (which then holds the main socket and s.b).
  const builder = s.batchBuilder ??= new MessageBuilder(BATCH_BYTES + 8192);
  let p: Pipeline<T> | undefined;
  try {
    try {
      for (const item of items) {
        p ??= new Pipeline(s, { ...options, builder, batchBytes: BATCH_BYTES, worker: true });
        p.add(item);
        progress.sent++;
      }
    } catch (e) {
      if (p?.broken) throw e; // a batch could not be sent: its outcomes are unknown
      // A bad item (or a failing iterator): the items before it still go out, as documented.
      progress.ok = p?.finish() ?? 0;
      progress.stopped = true;
      throw e;
    }
    return p?.finish() ?? 0;
  } finally {
    p?.stop();
  }
}

/** {@link Conntrack.createMany}. */
export function createMany(
  s: Session,
  flows: Iterable<Partial<Flow> & Pick<Flow, "proto">>,
): CreateResult {
  checkBatchInput(flows, (f) => validateFlow(f as Partial<Flow>, "create"), "createMany");
  const res: CreateResult = { created: 0, failed: [] };
  const progress: BatchProgress = { sent: 0, ok: 0, stopped: false };
  try {
    res.created = batch(s, flows, {
      op: "Cannot create flows",
      write: (b, item, seq) => {
        const f = validateFlow(item, "create");
        const at = beginRequest(b, {
          type: msgType(C.IPCTNL_MSG_CT_NEW),
          flags: NLM_F_CREATE | NLM_F_EXCL,
          seq,
          family: familyNumber(f.family),
        });
        encodeFlow(b, f, "create");
        b.end(at);
      },
      onError: (f, { errno, message }) => {
        res.failed.push({
          flow: f as Flow,
          error: new NetlinkError("Cannot create flow", errno, { message }),
        });
      },
    }, progress);
  } catch (e) {
    if (progress.stopped) res.created = progress.ok;
    throw progress.stopped ? batchStopped(e, progress.sent, res) : e;
  }
  return res;
}

/** {@link Conntrack.restore}: {@link createMany} of each flow as {@link restorable} keeps it. */
export function restore(s: Session, flows: Iterable<Flow>): CreateResult {
  if (Array.isArray(flows)) return createMany(s, flows.map(restorable));
  if (flows === null || typeof (flows as Iterable<Flow>)?.[Symbol.iterator] !== "function") {
    throw new TypeError("Invalid restore: expected an iterable of flows");
  }
  return createMany(
    s,
    (function* () {
      for (const f of flows) yield restorable(f);
    })(),
  );
}

/** {@link Conntrack.deleteMany}. */
export function deleteMany(s: Session, flows: Iterable<FlowKey>): DeleteResult {
  checkBatchInput(flows, (k) => validateFlow(k as Partial<Flow>, "key"), "deleteMany");
  const res: DeleteResult = { deleted: 0, missing: 0, failed: [] };
  const progress: BatchProgress = { sent: 0, ok: 0, stopped: false };
  try {
    res.deleted = batch(s, flows, {
      op: "Cannot delete flows",
      write: (b, k, seq) => {
        const f = validateFlow(k as Partial<Flow>, "key");
        const at = beginRequest(b, {
          type: msgType(C.IPCTNL_MSG_CT_DELETE),
          flags: 0,
          seq,
          family: familyNumber(f.family),
        });
        encodeFlow(b, f, "key");
        b.end(at);
      },
      onError: (k, { errno, message }) => {
        if (errno === ENOENT) res.missing++;
        else {
          res.failed.push({
            flow: k,
            error: new NetlinkError("Cannot delete flow", errno, { message }),
          });
        }
      },
    }, progress);
  } catch (e) {
    if (progress.stopped) res.deleted = progress.ok;
    throw progress.stopped ? batchStopped(e, progress.sent, res) : e;
  }
  return res;
}
