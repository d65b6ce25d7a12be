/**
 * The values conntrack's options take, parsed as conntrack-tools 1.4.7 parses them (`strtoul`,
 * `inet_aton`, CIDR masks, `ip[:port]`, status and output lists), minus its silent truncations:
 * a number out of range is refused with exit 1 "unexpected value", as newer conntrack-tools do.
 * No I/O: warnings are handed to the caller.
 * @module
 */
import { type Family, parseAddress, type StatusFlag } from "../mod.ts";
import { otherError, paramError } from "./errors.ts";

/** An address option's value: the address, and the CIDR prefix length when one was given. */
export interface Address {
  /** Which family the address is of. */
  family: Family;
  /** The address as text (`inet_aton`'s short forms spelled out: `127.1` is `127.0.0.1`). */
  addr: string;
  /** CIDR bits, or undefined for an exact address (also `/32`, `/128`). */
  bits?: number;
}

/** A `--src-nat`/`--dst-nat`/`--any-nat` value: `ip[:port]`, either part, or neither. */
export interface NatArg {
  /** The address, when one was given. */
  addr?: string;
  /** The port, when one was given. */
  port?: number;
}

/** `strtoul(s, &end, 0)` over the whole string; undefined if not entirely a number. */
export function strtoul(s: string): number | undefined {
  const t = s.trim();
  let m: RegExpExecArray | null;
  if ((m = /^\+?0[xX]([0-9a-fA-F]+)$/.exec(t))) return parseInt(m[1], 16);
  if ((m = /^\+?(0[0-7]*)$/.exec(t))) return parseInt(m[1], 8);
  if ((m = /^\+?([1-9][0-9]*)$/.exec(t))) return Number(m[1]);
  return undefined;
}

/** A number from 0 to `max`, else exit 1 "unexpected value 'S' with OPT option". */
export function value(s: string, max: number, opt: string): number {
  const v = strtoul(s);
  if (v === undefined || v > max) throw otherError(`unexpected value '${s}' with ${opt} option`);
  return v;
}

/** `inet_aton(3)` (1 to 4 parts, C number notation), else `inet_pton(AF_INET6)`. */
export function parseInet(s: string): { family: Family; addr: string } | undefined {
  if (/^[0-9a-fA-FxX.]+$/.test(s) && !s.includes(":")) {
    const parts = s.split(".");
    if (parts.length > 4) return undefined;
    const n: number[] = [];
    for (const p of parts) {
      const v = p === "" ? undefined : strtoul(p);
      if (v === undefined) return undefined;
      n.push(v);
    }
    const last = n[n.length - 1];
    const lastMax = [0xffffffff, 0xffffff, 0xffff, 0xff][n.length - 1];
    if (!n.slice(0, -1).every((x) => x <= 255) || last > lastMax) return undefined;
    const b = n.slice(0, -1);
    for (let i = 4 - n.length; i >= 0; i--) b.push(Math.floor(last / 2 ** (8 * i)) & 255);
    return { family: "ipv4", addr: b.join(".") };
  }
  try {
    parseAddress(s, "ipv6");
    return { family: "ipv6", addr: s };
  } catch {
    return undefined;
  }
}

/**
 * An address option's value `ip[/cidr]` (conntrack.c `parse_addr()` and `nfct_parse_addr_from_opt()`):
 * `family` is the family earlier options set (a different one is "mismatched address family");
 * `cidr` whether `--opt` takes a prefix length.
 */
export function parseAddressArg(
  arg: string,
  opt: string,
  cidr: boolean,
  family: Family | undefined,
): Address {
  const slash = arg.indexOf("/");
  let bits: number | undefined;
  let invalid = false;
  if (slash !== -1) {
    const m = /^-?[0-9]+$/.exec(arg.slice(slash + 1));
    if (!m || Number(m[0]) < 0) invalid = true;
    else bits = Number(m[0]);
  }
  const a = parseInet(slash === -1 ? arg : arg.slice(0, slash));
  if (!a) throw paramError(`Invalid IP address \`${arg}'`);
  const max = a.family === "ipv4" ? 32 : 128;
  if (bits !== undefined && bits > max) invalid = true;
  if (family && family !== a.family) throw paramError("mismatched address family");
  if (slash !== -1 && !cidr) throw paramError(`CIDR notation unavailable for \`--${opt}'`);
  if (invalid) throw paramError("Invalid netmask");
  return { family: a.family, addr: a.addr, bits: bits === max ? undefined : bits };
}

/**
 * A NAT option's value (conntrack.c `nat_parse()`): `ip`, `ip:port`, `[ip6]:port`; undefined
 * `arg` (the option without a value) is `{}`. The address is checked as {@link parseAddressArg}
 * does, without CIDR.
 */
export function parseNat(
  arg: string | undefined,
  opt: string,
  family: Family | undefined,
): { nat: NatArg; family?: Family } {
  if (arg === undefined) return { nat: {} };
  let address = arg, port: string | undefined;
  const br = arg.indexOf("[");
  if (br !== -1) {
    const end = arg.indexOf("]", br + 1);
    if (end === br + 1) throw paramError("No IPv6 address specified");
    if (end === -1) throw paramError("No closing ']' around IPv6 address");
    const colon = arg.indexOf(":", end);
    if (colon !== -1) {
      address = arg.slice(br + 1, end);
      port = arg.slice(colon + 1);
    }
  } else {
    const colon = arg.indexOf(":");
    if (colon !== -1 && arg.indexOf(":", colon + 1) === -1) {
      address = arg.slice(0, colon);
      port = arg.slice(colon + 1);
    }
  }
  const nat: NatArg = {};
  if (port !== undefined) {
    if (port === "") throw paramError("No port specified after `:'");
    if (!/^[0-9]+$/.test(port) || Number(port) > 65535) throw paramError(`Invalid port \`${port}'`);
    nat.port = Number(port);
  }
  const a = parseAddressArg(address, opt, false, family);
  nat.addr = a.addr;
  return { nat, family: a.family };
}

const STATUS_NAMES: readonly (readonly [string, readonly StatusFlag[]])[] = [
  ["ASSURED", ["ASSURED"]],
  ["SEEN_REPLY", ["SEEN_REPLY"]],
  ["UNSET", []],
  ["FIXED_TIMEOUT", ["FIXED_TIMEOUT"]],
  ["EXPECTED", ["EXPECTED"]],
  ["OFFLOAD", ["OFFLOAD"]],
  ["HW_OFFLOAD", ["HW_OFFLOAD"]],
];

/**
 * A `-u` list (conntrack.c `parse_parameter()` over its status names, case-insensitive
 * prefixes): flags into `positive`, `!FLAG` into `negative`; `UNREPLIED` is `!SEEN_REPLY`;
 * `SRC_NAT`/`DST_NAT` are ignored with a warning line passed to `warn`.
 */
export function parseStatus(
  arg: string,
  positive: Set<StatusFlag>,
  negative: Set<StatusFlag>,
  warn: (line: string) => void,
): void {
  const parts = arg.split(",");
  for (let i = 0; i < parts.length; i++) {
    let tok = parts[i];
    // conntrack names the rest of the list from this flag on, without its `!`.
    const rest = () => [parts[i].replace(/^!/, ""), ...parts.slice(i + 1)].join(",");
    const bad = () => paramError(`Bad parameter \`${rest()}'`);
    if (tok === "" && i < parts.length - 1) throw bad();
    const neg = tok.startsWith("!");
    if (neg) tok = tok.slice(1);
    if (!neg && tok.startsWith("UNREPLIED")) {
      negative.add("SEEN_REPLY");
      continue;
    }
    if (tok === "") throw bad();
    const pre = (name: string) => name.toLowerCase().startsWith(tok.toLowerCase());
    if (pre("SRC_NAT") || pre("DST_NAT")) {
      const src = pre("SRC_NAT");
      warn(
        `WARNING: ignoring ${src ? "SRC_NAT" : "DST_NAT"}, use --${
          src ? "src" : "dst"
        }-nat instead\n`,
      );
      continue;
    }
    const hit = STATUS_NAMES.find(([n]) => pre(n));
    if (!hit) throw bad();
    for (const f of hit[1]) (neg ? negative : positive).add(f);
  }
}

/** The `-o` types, in conntrack's order (prefixes pick the first), and nfct's `json`, `csv`. */
export const OUTPUT_NAMES = [
  "xml",
  "extended",
  "timestamp",
  "id",
  "ktimestamp",
  "labels",
  "userspace",
  "save",
  "json",
  "csv",
] as const;
/** One `-o` type. */
export type OutputName = typeof OUTPUT_NAMES[number];

/** A `-o` list into `out`; `save`, `json` and `csv` combine with nothing else. */
export function parseOutput(arg: string, out: Set<OutputName>): void {
  const parts = arg.split(",");
  for (let i = 0; i < parts.length; i++) {
    const tok = parts[i].toLowerCase();
    const hit = tok === "" ? undefined : OUTPUT_NAMES.find((n) => n.startsWith(tok));
    if (!hit) throw paramError(`Bad parameter \`${parts.slice(i).join(",")}'`);
    out.add(hit);
  }
  for (const only of ["save", "json", "csv"] as const) {
    if (out.has(only) && out.size > 1) {
      // conntrack exits 1 for save; json and csv are nfct's own, and conntrack rejects any
      // -o json,... with "Bad parameter" (exit 2), so nfct does too.
      const msg = `cannot combine ${only} output with any other output type, use -o ${only} only`;
      throw only === "save" ? otherError(msg) : paramError(msg);
    }
  }
}

/** An `-e` type: which flow events to show. */
export type EventMaskType = "new" | "update" | "destroy";

/** An `-e` list (`ALL`, `NEW`, `UPDATES`, `DESTROY`, case-insensitive prefixes) into `mask`. */
export function parseEventMask(arg: string, mask: Set<EventMaskType>): void {
  const parts = arg.split(",");
  for (const [i, tok] of parts.entries()) {
    const hit = tok
      ? ["ALL", "NEW", "UPDATES", "DESTROY"].find((n) =>
        n.toLowerCase().startsWith(tok.toLowerCase())
      )
      : undefined;
    if (!hit) throw paramError(`Bad parameter \`${parts.slice(i).join(",")}'`);
    if (hit === "ALL" || hit === "NEW") mask.add("new");
    if (hit === "ALL" || hit === "UPDATES") mask.add("update");
    if (hit === "ALL" || hit === "DESTROY") mask.add("destroy");
  }
}

/** A `-m` value `mark[/mask]` (the mask defaults to all ones). */
export function parseMark(arg: string): { value: number; mask: number } {
  const m = /^([^/]*)(?:\/(.*))?$/.exec(arg)!;
  const v = strtoul(m[1]);
  const mask = m[2] === undefined ? 0xffffffff : strtoul(m[2]);
  if (v === undefined || mask === undefined || v > 0xffffffff || mask > 0xffffffff) {
    throw otherError(`unexpected value '${arg}' with -m option`);
  }
  return { value: v, mask };
}

/** A `-f` value: anything starting `ipv4` or `ipv6`. */
export function parseFamily(arg: string): Family {
  if (arg.startsWith("ipv4")) return "ipv4";
  if (arg.startsWith("ipv6")) return "ipv6";
  throw paramError(`\`${arg}' unsupported protocol`);
}
