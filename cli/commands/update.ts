/**
 * `-U`: the entries the tuples, NAT, labels and id select get the new mark, status, timeout,
 * state or labels; each changed entry is printed as the kernel has it afterwards.
 * @module
 */
import { type Flow, NetlinkError, statusBits, type StatusFlag } from "../../mod.ts";
import type { Args } from "../command.ts";
import type { CliContext } from "../context.ts";
import { failed, OTHER_PROBLEM } from "../errors.ts";
import { flowPrinter } from "../print.ts";
import { checkMasks, flowKey, selection } from "../selection.ts";
import { dumped } from "./list.ts";
import type { NewFlow } from "./create.ts";

/** The status bits an update may set (the kernel refuses changing the others). */
const SETTABLE: readonly StatusFlag[] = [
  "EXPECTED",
  "SEEN_REPLY",
  "ASSURED",
  "FIXED_TIMEOUT",
  "OFFLOAD",
  "HW_OFFLOAD",
];

/** conntrack.c mnl_nfct_update_cb(): the new values of a matching entry, or undefined if unchanged. */
export function updated(args: Args, f: Flow): NewFlow | undefined {
  const u: NewFlow = { family: f.family, proto: f.proto, orig: f.orig, reply: f.reply };
  if (f.zone !== undefined) u.zone = f.zone;
  let changed = false;
  if (args.mark) {
    const m = (((f.mark ?? 0) & ~args.mark.mask) ^ args.mark.value) >>> 0;
    if (m !== (f.mark ?? 0)) changed = true;
    u.mark = m;
  }
  if (args.given.has("status")) {
    const old = statusBits(f.status ?? []);
    const want = [...new Set([...(f.status ?? []), ...args.status.set])].filter((s) =>
      SETTABLE.includes(s)
    );
    if ((statusBits(want) | old) !== old) changed = true;
    u.status = want;
  }
  if (args.timeout !== undefined) {
    if (args.timeout !== f.timeout) changed = true;
    u.timeout = args.timeout;
  }
  const { tcpState, sctpState } = args.l4;
  if (f.tcp && tcpState !== undefined && f.tcp.state !== tcpState) {
    changed = true;
    u.tcp = { state: tcpState };
  }
  if (f.sctp && sctpState !== undefined && f.sctp.state !== sctpState) {
    changed = true;
    u.sctp = { state: sctpState };
  }
  if (args.given.has("label-add") || args.given.has("label-del")) {
    const had = f.labels ?? [];
    if (args.given.has("label-add")) {
      const add = args.labelModify;
      if (add.some((b) => !had.includes(b))) changed = true;
      u.labels = add;
      u.labelsMask = add;
    } else if (f.labels !== undefined) {
      if (args.labelDelAll) {
        if (had.length) changed = true;
        u.labels = [];
      } else {
        const del = args.labelModify;
        if (del.some((b) => had.includes(b))) changed = true;
        u.labels = [];
        u.labelsMask = del;
      }
    }
  }
  return changed ? u : undefined;
}

/** -U: "N flow entries have been updated." (exit 1 when none was); `quiet` inside -R. */
export function update(ctx: CliContext, args: Args, quiet = false): number {
  checkMasks(args);
  const print = flowPrinter(args, "update", ctx.shownLabels(args));
  let n = 0;
  try {
    const matches = Array.from(dumped(ctx, selection(args, false)));
    const c = ctx.ct();
    for (const f of matches) {
      const u = updated(args, f);
      if (!u) continue;
      try {
        c.update(u);
      } catch (e) {
        if (e instanceof NetlinkError && e.code === "ENOENT") continue; // vanished meanwhile
        // no label storage
        if (e instanceof NetlinkError && e.code === "ENOSPC" && f.labels === undefined) continue;
        throw e;
      }
      const now = c.get(flowKey(f));
      if (!now) continue;
      if (!quiet) ctx.out.line(print(now));
      n++;
    }
  } catch (e) {
    ctx.out.flush();
    throw failed(e, "update");
  }
  ctx.out.flush();
  if (quiet) return 0;
  ctx.out.summary(`${n} flow entries have been updated.`);
  return n === 0 ? OTHER_PROBLEM : 0;
}
