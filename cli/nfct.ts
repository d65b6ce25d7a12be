/**
 * `nfct timeout ...` and `nfct helper ...`: conntrack-tools' nfct(8) command lines, output and
 * exit codes (1.4.7), on top of mod.ts. Both word orders work, as in nfct(8): `nfct list
 * timeout` and `nfct timeout list`, and commands may be abbreviated (`nfct l timeout`).
 *
 * Differences, on purpose: messages start `nfct vOURS:`; a timeout that is not a whole number
 * of seconds 0..4294967 is refused (nfct(8) sends `atoi()` of it: `x` becomes 0, `-1` wraps);
 * `add`/`default-set` also take the states nfct(8) does not know yet (SCTP `heartbeat_sent`,
 * `heartbeat_acked`); where the kernel has no nfnetlink_cthelper a second line says so.
 * @module
 */
import {
  type Helper,
  Helpers,
  host,
  NetlinkError,
  NO_CTHELPER_HINT,
  SyscallError,
  TIMEOUT_PROTO_NUMBERS,
  TIMEOUT_STATES,
  type TimeoutPolicy,
  type TimeoutProto,
  Timeouts,
} from "../mod.ts";

const CMDS = [
  "",
  "list",
  "add",
  "delete",
  "get",
  "flush",
  "disable",
  "default-set",
  "default-get",
] as const;
const SUBSYS = ["", "timeout", "helper", "version", "help"] as const;

/** nfct(8)'s `strncmp(name, arg, strlen(arg))`: a prefix (even empty) picks the first match. */
function pick(list: readonly string[], arg: string): number {
  for (let i = 1; i < list.length; i++) if (list[i].startsWith(arg)) return i;
  return -1;
}

/** Whether `argv` is an nfct(8) command line rather than a conntrack(8) one. */
export function isNfctCommandLine(argv: readonly string[]): boolean {
  const a = argv[0];
  if (a === undefined || a.startsWith("-")) return false;
  return a === "metrics" || ["timeout", "helper"].includes(a) ||
    (CMDS as readonly string[]).includes(a) ||
    (argv.length >= 2 &&
      (argv[1] === "timeout" || argv[1] === "helper" ||
        (pick(SUBSYS, argv[1]) > 0 && pick(CMDS, a) > 0)));
}

/** libc's strerror() text, as nfct(8) prints it after "netlink error: ". */
const STRERROR: Record<number, string> = {
  1: "Operation not permitted",
  2: "No such file or directory",
  12: "Cannot allocate memory",
  13: "Permission denied",
  16: "Device or resource busy",
  17: "File exists",
  22: "Invalid argument",
  93: "Protocol not supported",
  95: "Operation not supported",
  105: "No buffer space available",
};

/** libnetfilter_cttimeout 1.0.1's state list per protocol: what nfct(8) 1.4.7 prints. */
const NFCT_PRINTS: Record<TimeoutProto, number> = {
  tcp: 11,
  udp: 2,
  udplite: 2,
  icmp: 1,
  icmpv6: 1,
  sctp: 7,
  dccp: 7,
  gre: 2,
  generic: 1,
};

/** A policy as nfct(8) prints it (`nfct_timeout_snprintf`); without a name for defaults. */
export function formatNfctTimeout(
  p: { name?: string; family: string; proto: TimeoutProto; timeouts: object },
): string {
  const lines: string[] = [];
  if (p.name) lines.push(`.${p.name} = {`);
  lines.push(
    `\t.l3proto = ${p.family === "ipv6" ? 10 : 2},`,
    `\t.l4proto = ${TIMEOUT_PROTO_NUMBERS[p.proto]},`,
    "\t.policy = {",
  );
  const states = TIMEOUT_STATES[p.proto] as readonly (readonly [string, string])[];
  const t = p.timeouts as Record<string, number | undefined>;
  for (const [key, name] of states.slice(0, NFCT_PRINTS[p.proto])) {
    lines.push(`\t\t.${name} = ${t[key] ?? 0},`);
  }
  lines.push("\t},", "};");
  return lines.join("\n") + "\n";
}

class Fail extends Error {}

/** Runs one nfct(8) command line; returns the exit code. */
export function main(argv: string[], version: string): number {
  const prefix = `nfct v${version}: `;
  const out: string[] = [];
  const err = (s: string) => host.writeText(2, s);
  const perror = (msg: string): never => {
    err(prefix + msg + "\n");
    throw new Fail();
  };
  const usage = () => err("Usage: nfct command subsystem [parameters]...\n");
  const a = ["nfct", ...argv];
  try {
    if (a.length < 3) {
      usage();
      return 1;
    }
    let cmd = pick(CMDS, a[1]);
    let subsys: number;
    if (cmd < 0) {
      subsys = pick(SUBSYS, a[1]);
      if (subsys < 0) {
        err(`${prefix}Unknown subsystem: ${a[1]}\n`);
        usage();
        return 1;
      }
      cmd = pick(CMDS, a[2]);
      if (cmd < 0) {
        err(`${prefix}Unknown command: ${a[1]}\n`);
        usage();
        return 1;
      }
    } else {
      subsys = pick(SUBSYS, a[2]);
      if (subsys < 0) {
        err(`${prefix}Unknown subsystem: ${a[1]}\n`);
        usage();
        return 1;
      }
    }
    const name = SUBSYS[subsys];
    if (name === "version") {
      host.writeText(
        1,
        `nfct v${version}: conntrack timeout policies and helpers (conntrack-tools nfct(8) compatible), in TypeScript\n`,
      );
      return 0;
    }
    if (name === "help") {
      host.writeText(1, HELP.replace("%V", version));
      return 0;
    }
    const netlink = (e: unknown): never => {
      if (e instanceof NetlinkError || e instanceof SyscallError) {
        err(`${prefix}netlink error: ${STRERROR[e.errno] ?? e.message}\n`);
        if (e instanceof NetlinkError && e.message.includes(NO_CTHELPER_HINT)) {
          err(`${prefix}${NO_CTHELPER_HINT}\n`);
        }
        throw new Fail();
      }
      if (e instanceof TypeError || e instanceof RangeError) perror(e.message);
      throw e;
    };
    if (name === "timeout") timeout(CMDS[cmd], a, perror, netlink, out, version);
    else helper(CMDS[cmd], a, perror, netlink, out, version);
    if (out.length) host.writeText(1, out.join(""));
    return 0;
  } catch (e) {
    if (out.length) host.writeText(1, out.join(""));
    if (e instanceof Fail) return 1;
    throw e;
  }
}

const HELP = `nfct v%V: utility for the Netfilter's Connection Tracking System
Usage: nfct command [parameters]...

Subsystem:
  helper\t\tAllows to configure user-space helper
  timeout\t\tAllows definition of fine-grain timeout policies
  version\t\tDisplay version and disclaimer
  help\t\t\tDisplay this help message
Commands:
  list [reset]\t\tList the accounting object table (and reset)
  add object-name\tAdd new accounting object to table
  delete object-name\tDelete existing accounting object
  get object-name\tGet existing accounting object
  disable\t\tDisable queueing packets to userspace for helper inspection
  default-set\t\tSet default timeouts
  default-get\t\tGet default timeouts
  flush\t\t\tFlush accounting object table

Beyond nfct(8): nfct metrics [--textfile PATH] [--listen ADDR:PORT] [--per-state] (see README)
and every conntrack(8) command line (nfct -L, -E, ...).
`;

type Perror = (msg: string) => never;
type Netlink = (e: unknown) => never;

function family(arg: string, perror: Perror): "ipv4" | "ipv6" {
  if (arg === "inet") return "ipv4";
  if (arg === "inet6") return "ipv6";
  return perror("unknown layer 3 protocol");
}

/** /etc/protocols, as getprotobyname(3) reads it: names and aliases → number. */
function protocols(): Map<string, number> {
  const m = new Map<string, number>();
  let text = "";
  try {
    text = host.readTextFile("/etc/protocols");
  } catch { /* none: only the built-in names below */ }
  for (const line of text.split("\n")) {
    const f = line.replace(/#.*/, "").trim().split(/\s+/);
    if (f.length < 2 || !/^\d+$/.test(f[1])) continue;
    for (const n of [f[0], ...f.slice(2)]) if (!m.has(n)) m.set(n, Number(f[1]));
  }
  return m;
}

/** nfct's l4 protocol: getprotobyname(), then `icmpv6` and `generic`; the tracker it maps to. */
function l4proto(arg: string, perror: Perror): { proto: TimeoutProto | undefined; number: number } {
  let n = protocols().get(arg);
  if (n === undefined) {
    if (arg === "icmpv6") n = 58;
    else if (arg === "generic") n = 255;
    else if (Object.hasOwn(TIMEOUT_PROTO_NUMBERS, arg)) {
      n = TIMEOUT_PROTO_NUMBERS[arg as TimeoutProto]; // no /etc/protocols
    } else return perror("unknown layer 4 protocol");
  }
  const proto = (Object.keys(TIMEOUT_PROTO_NUMBERS) as TimeoutProto[]).find((p) =>
    TIMEOUT_PROTO_NUMBERS[p] === n
  );
  return { proto, number: n };
}

/** `STATE SECONDS ...` pairs → timeouts, as nfct_cmd_timeout_parse() checks them. */
function statePairs(
  args: string[],
  protoArg: string,
  proto: TimeoutProto | undefined,
  perror: Perror,
  version: string,
): Record<string, number> {
  const t: Record<string, number> = {};
  const states = (proto ? TIMEOUT_STATES[proto] : []) as readonly (readonly [string, string])[];
  let i = 0;
  for (; args.length - i > 1; i += 2) {
    const st = states.find(([, n]) => n.toLowerCase() === args[i].toLowerCase());
    if (!st) {
      host.writeText(
        2,
        `nfct v${version}: Wrong state name: \`${args[i]}' for protocol \`${protoArg}'\n`,
      );
      throw new Fail();
    }
    const v = args[i + 1];
    if (!/^\d+$/.test(v)) {
      perror(`invalid timeout \`${v}' for state \`${args[i]}': expected whole seconds`);
    }
    t[st[0]] = Number(v);
  }
  if (args.length - i > 0) perror("missing value for this timeout");
  return t;
}

function timeout(
  cmd: string,
  a: string[],
  perror: Perror,
  netlink: Netlink,
  out: string[],
  version: string,
): void {
  const argc = a.length;
  const open = () => {
    try {
      return Timeouts.open();
    } catch (e) {
      return netlink(e);
    }
  };
  switch (cmd) {
    case "list": {
      if (argc > 3) perror("too many arguments");
      using t = open();
      let list: TimeoutPolicy[] = [];
      try {
        list = t.list();
      } catch (e) {
        netlink(e);
      }
      for (const p of list) out.push(formatNfctTimeout(p));
      return;
    }
    case "add":
    case "default-set": {
      const add = cmd === "add";
      if (argc < 6) {
        perror(
          `missing parameters\nsyntax: nfct ${cmd} timeout ${
            add ? "name family protocol state1 timeout1 ..." : "family protocol state1 timeout1..."
          }`,
        );
      }
      const rest = a.slice(add ? 4 : 3);
      const fam = family(rest[0], perror);
      const l4 = l4proto(rest[1], perror);
      const timeouts = statePairs(rest.slice(2), rest[1], l4.proto, perror, version);
      // The kernel refuses a policy without CTA_TIMEOUT_DATA (what nfct(8) sends then) with EINVAL.
      if (l4.proto === undefined || Object.keys(timeouts).length === 0) {
        netlink(new NetlinkError("", 22));
      }
      using t = open();
      try {
        const p = { family: fam, proto: l4.proto!, timeouts } as TimeoutPolicy;
        if (add) t.add({ ...p, name: a[3] });
        else t.defaultSet(p);
      } catch (e) {
        netlink(e);
      }
      return;
    }
    case "delete":
    case "get": {
      if (argc < 4) perror("missing timeout policy name");
      if (argc > 4) perror("too many arguments");
      using t = open();
      try {
        if (cmd === "delete") t.delete(a[3]);
        else {
          const p = t.get(a[3]);
          if (!p) netlink(new NetlinkError("", 2));
          out.push(formatNfctTimeout(p!));
        }
      } catch (e) {
        netlink(e);
      }
      return;
    }
    case "flush": {
      if (argc > 3) perror("too many arguments");
      using t = open();
      try {
        t.flush();
      } catch (e) {
        netlink(e);
      }
      return;
    }
    case "default-get": {
      if (argc < 5) perror("missing parameters\nsyntax: nfct default-get timeout family protocol");
      const fam = family(a[3], perror);
      const l4 = l4proto(a[4], perror);
      if (l4.proto === undefined) netlink(new NetlinkError("", 22));
      using t = open();
      try {
        out.push(formatNfctTimeout(t.defaultGet(fam, l4.proto!)));
      } catch (e) {
        netlink(e);
      }
      return;
    }
    default:
      host.writeText(
        2,
        `nfct v${version}: Missing command\nnfct <list|add|delete|get|default-set|default-get|flush> timeout [<parameters>, ...]\n`,
      );
      throw new Fail();
  }
}

/** conntrackd's userspace helpers nfct(8) can register: name → protocol → expectation policy. */
const CTD_HELPERS: Record<string, { tcp?: [number, number]; udp?: [number, number] }> = {
  amanda: { udp: [3, 180] },
  dhcpv6: { udp: [1, 300] },
  ftp: { tcp: [1, 300] },
  mdns: { udp: [8, 30] },
  rpc: { tcp: [1, 300], udp: [1, 300] },
  sane: { tcp: [1, 300] },
  slp: { udp: [8, 16] },
  ssdp: { tcp: [8, 300], udp: [8, 300] },
  tftp: { udp: [1, 300] },
  tns: { tcp: [1, 300] },
};

function formatHelper(h: Helper): string {
  const lines = [
    `helper ${h.name} {`,
    `\tl3proto ${h.family === "ipv6" ? 10 : 2};`,
    `\tl4proto ${h.proto === "udp" ? 17 : 6};`,
  ];
  if (h.queueNum !== undefined) lines.push(`\tqueue_num ${h.queueNum};`);
  if (h.enabled !== undefined) lines.push(`\tstatus ${h.enabled ? "enabled" : "disabled"};`);
  for (const p of h.policies) {
    lines.push(`\tpolicy ${p.name} { max_expected ${p.expectMax}; timeout ${p.expectTimeout}; }`);
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}

function helper(
  cmd: string,
  a: string[],
  perror: Perror,
  netlink: Netlink,
  out: string[],
  version: string,
): void {
  const argc = a.length;
  const l4 = (arg: string): "tcp" | "udp" =>
    arg === "tcp" || arg === "udp" ? arg : perror("unsupported layer 4 protocol");
  const run = (fn: (h: Helpers) => void) => {
    try {
      using h = Helpers.open();
      fn(h);
    } catch (e) {
      netlink(e);
    }
  };
  switch (cmd) {
    case "list":
      if (argc > 3) perror("too many arguments");
      return run((h) => {
        for (const x of h.list()) out.push(formatHelper(x));
      });
    case "flush":
      if (argc > 3) perror("too many arguments");
      return run((h) => h.flush());
    case "get":
    case "delete": {
      if (argc < 4) perror("missing helper policy name");
      if (argc > 6) perror("too many arguments");
      const fam = argc >= 5 ? family(a[4], perror) : undefined;
      const proto = argc === 6 ? l4(a[5]) : undefined;
      return run((h) => {
        if (cmd === "delete") h.delete(a[3], fam, proto);
        else for (const x of h.get(a[3], fam, proto)) out.push(formatHelper(x));
      });
    }
    case "add":
    case "disable": {
      if (argc < 6) perror(`missing parameters\nsyntax: nfct ${cmd} helper name family protocol`);
      const fam = family(a[4], perror);
      const proto = l4(a[5]);
      const pol = CTD_HELPERS[a[3]]?.[proto];
      if (!pol) perror("that helper is not supported");
      return run((h) => {
        if (cmd === "disable") h.disable(a[3], fam, proto);
        else {h.add({
            name: a[3],
            family: fam,
            proto,
            policies: [{ name: a[3], expectMax: pol![0], expectTimeout: pol![1] }],
          });}
      });
    }
    default:
      host.writeText(2, `nfct v${version}: Unknown command: ${a[2]}\n`);
      host.writeText(
        2,
        `nfct v${version}: Missing command\nnfct helper list|add|delete|disable|get|flush [parameters...]\n`,
      );
      throw new Fail();
  }
}
