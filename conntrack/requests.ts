/**
 * Requests about one entry, each acknowledged: get, create, update, delete, and label changes
 * (`conntrack -G -I -U -D`, `-U --label-add/--label-del`). The client's single-flow verbs.
 * @module
 */
import { ENOENT, ENOSPC } from "../ffi/errno.ts";
import { NetlinkError } from "../netlink/errors.ts";
import { NLM_F_CREATE, NLM_F_EXCL } from "../netlink/message.ts";
import type { FlowKey } from "./batch.ts";
import * as C from "./constants.ts";
import type { Flow } from "./flow.ts";
import { validateFlow } from "./flow_validate.ts";
import { checkArray } from "./options.ts";
import type { Session } from "./session.ts";

/** A flow as create and update take it: any fields, the protocol required. */
export type FlowInput = Partial<Flow> & Pick<Flow, "proto">;

/** {@link Conntrack.get}; `op` names it in errors. */
export function getFlow(s: Session, key: FlowKey, op = "Cannot get flow"): Flow | undefined {
  const f = validateFlow(key as Partial<Flow>, "key");
  try {
    return s.flowRequest(C.IPCTNL_MSG_CT_GET, 0, f, "key", op)[0];
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === ENOENT) return undefined;
    throw e;
  }
}

/** {@link Conntrack.create}; `op` names it in errors. */
export function createFlow(s: Session, flow: FlowInput, op = "Cannot create flow"): void {
  const f = validateFlow(flow, "create");
  s.flowRequest(C.IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL, f, "create", op);
}

/** {@link Conntrack.update}. */
export function updateFlow(s: Session, flow: FlowInput): void {
  s.flowRequest(
    C.IPCTNL_MSG_CT_NEW,
    0,
    validateFlow(flow, "update"),
    "update",
    "Cannot update flow",
  );
}

/** {@link Conntrack.delete}. */
export function deleteFlow(s: Session, key: FlowKey): void {
  const f = validateFlow(key as Partial<Flow>, "key");
  s.flowRequest(C.IPCTNL_MSG_CT_DELETE, 0, f, "key", "Cannot delete flow");
}

/** A change of label bits: `CTA_LABELS` = `set`, `CTA_LABELS_MASK` = `mask`. */
export interface LabelChange {
  /** The bits to set (of those in `mask`; the others in `mask` are cleared). */
  set: readonly number[];
  /** The bits to change; bits outside it keep their value. */
  mask: readonly number[];
  /** Names the change in errors, e.g. `"Cannot add labels"`. */
  op: string;
}

/** {@link Conntrack.addLabels} and {@link Conntrack.delLabels}: one update of `key`'s labels. */
export function changeLabels(s: Session, key: FlowKey, change: LabelChange): void {
  validateFlow(key as Partial<Flow>, "key"); // the whole key: the update below copies only some of its fields
  checkArray(change.mask, "label bits");
  // Only what identifies the entry: a whole Flow from a dump would also rewrite its mark, timeout...
  const f = validateFlow({
    family: key.family,
    proto: key.proto,
    orig: key.orig,
    reply: key.reply,
    zone: key.zone,
    labels: [...change.set],
    labelsMask: [...change.mask],
  } as FlowInput, "update");
  try {
    s.flowRequest(C.IPCTNL_MSG_CT_NEW, 0, f, "update", change.op);
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === ENOSPC) {
      e.message +=
        "; the entry has no label storage: it must be created while a rule that sets labels " +
        "(nft `ct label set`, iptables `-m connlabel --set`) exists in its namespace";
    }
    throw e;
  }
}
