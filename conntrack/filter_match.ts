/**
 * The userspace side of a checked filter: the predicate every flow is matched against (also the
 * flows a kernel filter already selected: a kernel that ignores an attribute just sends more).
 * @module
 */
import type { CompiledFilter } from "./filter.ts";
import type { CheckedFilter } from "./filter_check.ts";
import { tupleEmpty, tupleMatch } from "./filter_tuple.ts";
import type { Flow } from "./flow.ts";
import { statusBits } from "./status.ts";
import { protoNumber } from "./tuple.ts";

/** Does `flow` match every condition of `c`, and not `not`? */
export function matcher(c: CheckedFilter, not?: CompiledFilter): (flow: Flow) => boolean {
  const { family, proto, orig, reply, mark, status, zone, state, origZone, nat, labels, id } = c;
  const timeout = c.timeout;
  const origEmpty = tupleEmpty(orig), replyEmpty = tupleEmpty(reply);
  return (flow: Flow): boolean => {
    if (family !== undefined && flow.family !== family) return false;
    if (proto !== undefined && protoNumber(flow.proto) !== proto) return false;
    if (!origEmpty && !tupleMatch(orig, flow.orig)) return false;
    if (!replyEmpty && !tupleMatch(reply, flow.reply)) return false;
    if (mark !== undefined && (((flow.mark ?? 0) & mark.mask) >>> 0) !== mark.value) return false;
    if (
      status !== undefined &&
      ((statusBits(flow.status ?? []) & status.mask) >>> 0) !== status.value
    ) return false;
    if (zone !== undefined && (flow.zone ?? 0) !== zone) return false;
    if (
      state !== undefined && (flow.tcp?.state ?? flow.sctp?.state ?? flow.dccp?.state) !== state
    ) return false;
    if (origZone !== undefined && (flow.orig.zone ?? 0) !== origZone) return false;
    if (nat !== undefined && !nat(flow)) return false;
    if (labels !== undefined && !labels(flow)) return false;
    if (id !== undefined && flow.id !== id) return false;
    if (
      timeout !== undefined &&
      !(flow.timeout !== undefined && flow.timeout >= timeout.min && flow.timeout <= timeout.max)
    ) return false;
    if (not !== undefined && not.match(flow)) return false;
    return true;
  };
}
