/**
 * Every protocol extension, and the check of the protocol options a command line gave
 * (conntrack-tools' per-extension `final_check()` over `commands_v_options`).
 * @module
 */
import { paramError } from "../errors.ts";
import type { CommandName } from "../matrix.ts";
import { COMMANDS } from "../matrix.ts";
import { DCCP } from "./dccp.ts";
import { L4_LABEL, type L4Key, P_NEVER, type ProtoExt } from "./ext.ts";
import { GRE } from "./gre.ts";
import { ICMP } from "./icmp.ts";
import { ICMPV6 } from "./icmpv6.ts";
import { SCTP } from "./sctp.ts";
import { TCP } from "./tcp.ts";
import { UDP } from "./udp.ts";
import { UDPLITE } from "./udplite.ts";

/** The protocols with options after `-p`, in the order their names are looked up. */
export const EXTENSIONS: readonly ProtoExt[] = [TCP, UDP, UDPLITE, SCTP, DCCP, ICMP, ICMPV6, GRE];

/** The extension named `name` (case-insensitive), or undefined. */
export function extensionNamed(name: string): ProtoExt | undefined {
  const n = name.toLowerCase();
  return EXTENSIONS.find((x) => x.name === n);
}

/** The extension of IP protocol `num`, or undefined. */
export function extensionOf(num: number): ProtoExt | undefined {
  return EXTENSIONS.find((x) => x.num === num);
}

/**
 * Throws the {@link CliError} conntrack exits 2 with when `command` needs a protocol option
 * that is not in `seen`, refuses one that is, or lacks both fields of every coupled pair.
 * nfct extension: -F takes the protocol filters -D takes.
 */
export function checkProtoOptions(
  ext: ProtoExt,
  seen: ReadonlySet<L4Key>,
  command: CommandName,
  expect: boolean,
): void {
  const row = COMMANDS.indexOf(command === "flush" && !expect ? "delete" : command);
  let coupledRule = false;
  const label = (k: L4Key) => ext.labels?.[k] ?? L4_LABEL[k];
  for (const k of new Set(Object.values(ext.opts))) {
    const rule = ext.keys[k];
    const legal = expect ? rule?.exp?.[command] ?? 0 : (rule?.legal ?? P_NEVER)[row] ?? 0;
    const has = seen.has(k);
    if (!has && legal === 1) {
      throw paramError(`You need to supply the \`--${label(k)}' option for this command`);
    }
    if (has && legal === 0) {
      throw paramError(`Illegal option \`--${label(k)}' with this command`);
    }
    if (legal === 3) coupledRule = true;
  }
  if (coupledRule && ext.coupled) {
    if (ext.coupled.some(([pair]) => pair.every((k) => seen.has(k)))) return;
    const partial = ext.coupled.findIndex(([pair]) => pair.some((k) => seen.has(k)));
    throw paramError(ext.coupled[partial < 0 ? 0 : partial][1]);
  }
}
