#!/usr/bin/env -S deno run -A
/**
 * `nfct`: a drop-in conntrack(8) for the conntrack table, on nfct's library (`mod.ts` only).
 *
 *   deno run -A cli.ts -L -p udp --dport 53 -o extended
 *   bun cli.ts -D -s 10.88.0.5
 *   npm run nfct -- -L          deno task nfct -L          ./nfct -L
 *
 * It accepts conntrack-tools 1.4.7's command line (commands, options, protocol options after
 * `-p`, abbreviations of long options), refuses the same bad or conflicting options with the
 * same exit codes (0 success; 1 failure, and -D/-U/-G/-I that affected nothing; 2 bad
 * parameters), prints the same bytes on stdout (`-o extended,id,ktimestamp,labels,save,xml`
 * through `formatFlow`) and the same summary lines on stderr, under its own name:
 * `nfct v0.1.0 (conntrack-tools compatible): 3 flow entries have been shown.`
 *
 * Beyond conntrack:
 * - `-o json`: one JSON object per line, the `Flow` shape of mod.ts; BigInts (timestamps) and
 *   byte arrays are strings (decimal, hex). Cannot be combined with other `-o` types.
 * - `-F` takes the filter options of `-D` and deletes through `Conntrack.flush(filter)`: in
 *   the kernel when it can apply the filter, else dump + pipelined deletes (no per-entry
 *   listing; the fastest way to delete many entries). Plain `-F` empties the table.
 * - a progress line on stderr for long dumps and deletes when stderr is a terminal.
 * - stricter values: `-w abc`, `-m 5/x`, `--sport 70000` are refused (exit 1 "unexpected
 *   value", as newer conntrack-tools do) where 1.4.7 silently used 0 or truncated.
 *
 * Also conntrack's other tables and commands: `-E` (events, `-e` mask, filters, `-o` incl.
 * `timestamp`, `-b`; stops with the summary on SIGINT/SIGTERM), the `expect` table (`-L -G -D
 * -I -F -E -C -S expect`), `-L dying`, `-L unconfirmed` and `-L -z`. Where conntrack 1.4.7 is
 * broken nfct does what was meant (see README: `-I expect` tuple protocol, `-D expect` result).
 *
 * Label names come from `/etc/xtables/connlabel.conf` (or the file `NFCT_CONNLABEL_CONF`
 * names), parsed like libnetfilter_conntrack does.
 *
 * Permissions: Deno needs `-A` (FFI); the kernel needs `CAP_NET_ADMIN` in the namespace.
 * @module
 */
import {
  compileFilter,
  Conntrack,
  type EventStream,
  type EventType,
  type Expectation,
  EXPECT_XML_FOOTER,
  EXPECT_XML_HEADER,
  formatExpect,
  type Filter,
  flowFromJSON,
  flowToJSON,
  type NatFilter,
  type Flow,
  type FlowKey,
  formatFlow,
  type FormatOptions,
  host,
  invertTuple,
  type LabelMap,
  NetlinkError,
  parseAddress,
  parseConnlabelConf,
  type Proto,
  type StatusFlag,
  statusBits,
  SyscallError,
  type Tuple,
  XML_FOOTER,
  XML_HEADER,
} from "./mod.ts";

const VERSION = "0.1.0";
const PROG = "nfct";
const PREFIX = `${PROG} v${VERSION} (conntrack-tools compatible): `;
const OTHER_PROBLEM = 1;
const PARAMETER_PROBLEM = 2;

/** A reason to stop: message (without prefix) and exit code. */
class CliExit extends Error {
  constructor(readonly code: number, message: string, readonly bare = false) {
    super(message);
  }
}
const paramError = (msg: string) => new CliExit(PARAMETER_PROBLEM, msg);
const otherError = (msg: string) => new CliExit(OTHER_PROBLEM, msg);

// ---------------------------------------------------------------------------------------------
// Commands and options (conntrack.c: cmd bits, CT_OPT_* bits, commands_v_options)

const CMD = { LIST: 0, CREATE: 1, UPDATE: 2, DELETE: 3, GET: 4, FLUSH: 5, EVENT: 6, VERSION: 7, HELP: 8, COUNT: 9, STATS: 10, ADD: 11 } as const;
const CMD_LETTER: Record<string, number> = { L: 0, I: 1, U: 2, D: 3, G: 4, F: 5, E: 6, V: 7, h: 8, C: 9, S: 10, A: 11 };
const CMD_NAME = ["dump", "create", "update", "delete", "get", "flush", "event", "version", "help", "counter", "stats", "add"];

const OPT_NAMES = [
  "src", "dst", "reply-src", "reply-dst", "protonum", "timeout", "status", "zero", "event-mask", "tuple-src",
  "tuple-dst", "mask-src", "mask-dst", "nat-range", "mark", "id", "family", "src-nat", "dst-nat", "output",
  "secmark", "buffer-size", "any-nat", "zone", "label", "label-add", "label-del", "orig-zone", "reply-zone",
] as const;
type OptName = typeof OPT_NAMES[number];
const BIT = Object.fromEntries(OPT_NAMES.map((n, i) => [n, i])) as Record<OptName, number>;

// 0 illegal, 1 compulsory, 2 optional, 3 coupled (--src and --dst, or --reply-src and --reply-dst)
//              s d r q p t u z e [ ] { } a m i f n g o c b j w l < > ( )
const MATRIX: number[][] = [
  /* LIST    */ [2, 2, 2, 2, 2, 0, 2, 2, 0, 0, 0, 2, 2, 0, 2, 0, 2, 2, 2, 2, 2, 0, 2, 2, 2, 0, 0, 2, 2],
  /* CREATE  */ [3, 3, 3, 3, 1, 1, 2, 0, 0, 0, 0, 0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 0, 0, 2, 0, 2, 0, 2, 2],
  /* UPDATE  */ [2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 2, 2, 0, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 2, 2, 2, 0, 0],
  /* DELETE  */ [2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 2, 2, 0, 2, 2, 2, 2, 2, 2, 0, 0, 0, 2, 2, 0, 0, 2, 2],
  /* GET     */ [3, 3, 3, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0],
  /* FLUSH   */ [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  /* EVENT   */ [2, 2, 2, 2, 2, 0, 0, 0, 2, 0, 0, 2, 2, 0, 2, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 2, 2],
  /* VERSION */ [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  /* HELP    */ [0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  /* COUNT   */ [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  /* STATS   */ [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  /* ADD     */ [3, 3, 3, 3, 1, 1, 2, 0, 0, 0, 0, 0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 0, 0, 2, 0, 2, 0, 2, 2],
];
/**
 * The same for the `expect` table (conntrack.c EXP_LIST … EXP_STATS), by command. With
 * `expect`, -s/-d are the master's addresses for -I and the expectation's own for -D/-G.
 */
//                           s d r q p t u z e [ ] { } a m i f n g o c b j w l < > ( )
const EXP_MATRIX: Record<number, number[]> = {
  [CMD.LIST]: /*   */ [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  [CMD.CREATE]: /* */ [1, 1, 2, 2, 1, 1, 2, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  [CMD.DELETE]: /* */ [1, 1, 2, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  [CMD.GET]: /*    */ [1, 1, 2, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  [CMD.EVENT]: /*  */ [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0],
};
const NO_OPTIONS = new Array(OPT_NAMES.length).fill(0);
/** nfct extension: -F takes the filters -D takes (conntrack allows only -f). */
const FLUSH_EXTENDED = MATRIX[CMD.DELETE].map((v, i) => (i === BIT.output || i === BIT.id || i === BIT.timeout ? 0 : v));

/** Options that make -L/-D compare entries (conntrack.c CT_COMPARISON). */
const COMPARISON: OptName[] = ["protonum", "src", "dst", "reply-src", "reply-dst", "mark", "secmark", "status", "id", "zone", "label", "orig-zone", "reply-zone"];

type ArgKind = 0 | 1 | 2; // none, required, optional (attached, or the next word not starting with - or !)
interface OptSpec {
  /** Command letter, main option name, or protocol option key. */
  key: string;
  arg: ArgKind;
}

const LONG: Record<string, OptSpec> = {
  dump: { key: "L", arg: 2 }, create: { key: "I", arg: 2 }, add: { key: "A", arg: 2 }, delete: { key: "D", arg: 2 },
  update: { key: "U", arg: 2 }, get: { key: "G", arg: 2 }, flush: { key: "F", arg: 2 }, event: { key: "E", arg: 2 },
  counter: { key: "C", arg: 2 }, stats: { key: "S", arg: 2 }, version: { key: "V", arg: 0 }, help: { key: "h", arg: 0 },
  "orig-src": { key: "src", arg: 1 }, src: { key: "src", arg: 1 }, "orig-dst": { key: "dst", arg: 1 }, dst: { key: "dst", arg: 1 },
  "reply-src": { key: "reply-src", arg: 1 }, "reply-dst": { key: "reply-dst", arg: 1 }, protonum: { key: "protonum", arg: 1 },
  timeout: { key: "timeout", arg: 1 }, status: { key: "status", arg: 1 }, zero: { key: "zero", arg: 0 },
  "event-mask": { key: "event-mask", arg: 1 }, "tuple-src": { key: "tuple-src", arg: 1 }, "tuple-dst": { key: "tuple-dst", arg: 1 },
  "mask-src": { key: "mask-src", arg: 1 }, "mask-dst": { key: "mask-dst", arg: 1 }, "nat-range": { key: "nat-range", arg: 1 },
  mark: { key: "mark", arg: 1 }, secmark: { key: "secmark", arg: 1 }, id: { key: "id", arg: 2 }, family: { key: "family", arg: 1 },
  "src-nat": { key: "src-nat", arg: 2 }, "dst-nat": { key: "dst-nat", arg: 2 }, output: { key: "output", arg: 1 },
  "buffer-size": { key: "buffer-size", arg: 1 }, "any-nat": { key: "any-nat", arg: 2 }, zone: { key: "zone", arg: 1 },
  label: { key: "label", arg: 1 }, "label-add": { key: "label-add", arg: 1 }, "label-del": { key: "label-del", arg: 2 },
  "orig-zone": { key: "orig-zone", arg: 1 }, "reply-zone": { key: "reply-zone", arg: 1 },
};
const SHORT: Record<string, OptSpec> = {
  L: { key: "L", arg: 2 }, I: { key: "I", arg: 2 }, U: { key: "U", arg: 2 }, D: { key: "D", arg: 2 }, G: { key: "G", arg: 2 },
  E: { key: "E", arg: 2 }, F: { key: "F", arg: 2 }, A: { key: "A", arg: 2 }, h: { key: "h", arg: 0 }, V: { key: "V", arg: 0 },
  C: { key: "C", arg: 2 }, S: { key: "S", arg: 2 },
  s: { key: "src", arg: 1 }, d: { key: "dst", arg: 1 }, r: { key: "reply-src", arg: 1 }, q: { key: "reply-dst", arg: 1 },
  p: { key: "protonum", arg: 1 }, t: { key: "timeout", arg: 1 }, u: { key: "status", arg: 1 }, e: { key: "event-mask", arg: 1 },
  a: { key: "nat-range", arg: 1 }, z: { key: "zero", arg: 0 }, m: { key: "mark", arg: 1 }, i: { key: "id", arg: 1 },
  f: { key: "family", arg: 1 }, o: { key: "output", arg: 1 }, n: { key: "src-nat", arg: 2 }, g: { key: "dst-nat", arg: 2 },
  c: { key: "secmark", arg: 1 }, b: { key: "buffer-size", arg: 1 }, j: { key: "any-nat", arg: 2 }, w: { key: "zone", arg: 1 },
  l: { key: "label", arg: 1 },
};

// Protocol options (conntrack-tools extensions/libct_proto_*.c), available after -p.
interface ProtoExt {
  name: string;
  num: number;
  /** long option → key */
  opts: Record<string, string>;
  /** key → legality per command (index as in MATRIX); missing = 0. */
  legal: Record<string, number[]>;
  /** pairs that CREATE/GET need, with the message when missing */
  coupled?: [string[], string][];
  states?: readonly string[];
  /** key → legality with the `expect` table, by command (-I, -D, -G); missing = 0. */
  expLegal?: Record<string, Partial<Record<number, number>>>;
}
//             L  I  U  D  G  F  E  V  h  C  S  A
const P_PORT = [2, 3, 2, 2, 3, 0, 2, 0, 0, 0, 0, 3];
const P_STATE = [2, 1, 2, 2, 2, 0, 2, 0, 0, 0, 0, 1];
const P_SET = [0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const P_ICMP_TC = [2, 1, 2, 2, 1, 0, 2, 0, 0, 0, 0, 1];
const P_ICMP_ID = [2, 2, 2, 2, 2, 0, 2, 0, 0, 0, 0, 2];
const P_NEVER = new Array(12).fill(0);

const PORT_OPTS = {
  "orig-port-src": "sport", sport: "sport", "orig-port-dst": "dport", dport: "dport",
  "reply-port-src": "rsport", "reply-port-dst": "rdport", "mask-port-src": "mask-port-src",
  "mask-port-dst": "mask-port-dst", "tuple-port-src": "tuple-port-src", "tuple-port-dst": "tuple-port-dst",
};
const PORT_LEGAL = {
  sport: P_PORT, dport: P_PORT, rsport: P_PORT, rdport: P_PORT, "mask-port-src": P_NEVER,
  "mask-port-dst": P_NEVER, "tuple-port-src": P_NEVER, "tuple-port-dst": P_NEVER,
};
// libct_proto_*.c, EXP_CREATE/EXP_DELETE/EXP_GET rows: -I expect needs the master's ports and
// the expectation's tuple and mask ports; -D/-G expect need both directions' ports (the reply
// ports are required and then ignored).
const EXP_PORT_LEGAL: Record<string, Partial<Record<number, number>>> = {
  sport: { [CMD.CREATE]: 1, [CMD.DELETE]: 1, [CMD.GET]: 1 },
  dport: { [CMD.CREATE]: 1, [CMD.DELETE]: 1, [CMD.GET]: 1 },
  rsport: { [CMD.DELETE]: 1, [CMD.GET]: 1 },
  rdport: { [CMD.DELETE]: 1, [CMD.GET]: 1 },
  "mask-port-src": { [CMD.CREATE]: 1 },
  "mask-port-dst": { [CMD.CREATE]: 1 },
  "tuple-port-src": { [CMD.CREATE]: 1 },
  "tuple-port-dst": { [CMD.CREATE]: 1 },
};
const PORT_COUPLED: [string[], string][] = [
  [["sport", "dport"], "you have to specify `--sport' and `--dport'"],
  [["rsport", "rdport"], "you have to specify `--reply-port-src' and `--reply-port-dst'"],
];
// conntrack's own state names (extensions/libct_proto_*.c); for TCP it also takes `LISTEN`, the
// pre-2.6.31 name of state 9 (SYN_SENT2, the name every listing prints).
const TCP_STATES = ["NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2"];
const SCTP_STATES = ["NONE", "CLOSED", "COOKIE_WAIT", "COOKIE_ECHOED", "ESTABLISHED", "SHUTDOWN_SENT", "SHUTDOWN_RECD", "SHUTDOWN_ACK_SENT", "HEARTBEAT_SENT", "HEARTBEAT_ACKED"];
const DCCP_STATES = ["NONE", "REQUEST", "RESPOND", "PARTOPEN", "OPEN", "CLOSEREQ", "CLOSING", "TIMEWAIT"];

const PROTOS: ProtoExt[] = [
  { name: "tcp", num: 6, opts: { ...PORT_OPTS, state: "state" }, legal: { ...PORT_LEGAL, state: P_STATE }, coupled: PORT_COUPLED, states: TCP_STATES, expLegal: EXP_PORT_LEGAL },
  { name: "udp", num: 17, opts: PORT_OPTS, legal: PORT_LEGAL, coupled: PORT_COUPLED, expLegal: EXP_PORT_LEGAL },
  { name: "udplite", num: 136, opts: PORT_OPTS, legal: PORT_LEGAL, coupled: PORT_COUPLED, expLegal: EXP_PORT_LEGAL },
  {
    name: "sctp", num: 132, opts: { ...PORT_OPTS, state: "state", "orig-vtag": "vtag", "reply-vtag": "rvtag" },
    legal: { ...PORT_LEGAL, state: P_STATE, vtag: P_SET, rvtag: P_SET }, coupled: PORT_COUPLED, states: SCTP_STATES,
    expLegal: EXP_PORT_LEGAL,
  },
  {
    name: "dccp", num: 33, opts: { ...PORT_OPTS, state: "state", role: "role" },
    legal: { ...PORT_LEGAL, state: P_STATE, role: P_SET }, coupled: PORT_COUPLED, states: DCCP_STATES,
    expLegal: EXP_PORT_LEGAL,
  },
  {
    name: "icmp", num: 1, opts: { "icmp-type": "type", "icmp-code": "code", "icmp-id": "icmpid" },
    legal: { type: P_ICMP_TC, code: P_ICMP_TC, icmpid: P_ICMP_ID },
  },
  {
    name: "icmpv6", num: 58, opts: { "icmpv6-type": "type", "icmpv6-code": "code", "icmpv6-id": "icmpid" },
    legal: { type: P_ICMP_TC, code: P_ICMP_TC, icmpid: P_ICMP_ID },
  },
  {
    name: "gre", num: 47,
    opts: { srckey: "sport", "orig-key-src": "sport", dstkey: "dport", "orig-key-dst": "dport", "reply-key-src": "rsport", "reply-key-dst": "rdport" },
    legal: { sport: P_PORT, dport: P_PORT, rsport: P_PORT, rdport: P_PORT },
    expLegal: { sport: EXP_PORT_LEGAL.sport, dport: EXP_PORT_LEGAL.dport, rsport: EXP_PORT_LEGAL.rsport, rdport: EXP_PORT_LEGAL.rdport },
    coupled: [
      [["sport", "dport"], "you have to specify `--srckey' and `--dstkey'"],
      [["rsport", "rdport"], "you have to specify `--reply-key-src' and `--reply-key-dst'"],
    ],
  },
];
const OPT_LABEL: Record<string, string> = {
  sport: "sport", dport: "dport", rsport: "reply-port-src", rdport: "reply-port-dst", state: "state", vtag: "orig-vtag",
  rvtag: "reply-vtag", role: "role", type: "icmp-type", code: "icmp-code", icmpid: "icmp-id",
  "mask-port-src": "mask-port-src", "mask-port-dst": "mask-port-dst", "tuple-port-src": "tuple-port-src", "tuple-port-dst": "tuple-port-dst",
};

/** `getprotobyname(3)` through /etc/protocols. */
function protoByName(name: string): number | undefined {
  try {
    for (const line of host.readTextFile("/etc/protocols").split("\n")) {
      const f = line.replace(/#.*/, "").trim().split(/\s+/);
      if (f.length >= 2 && (f[0] === name || f.slice(2).includes(name))) return Number(f[1]);
    }
  } catch { /* no /etc/protocols */ }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Values

/** `strtoul(s, &end, 0)` over the whole string; undefined if not entirely a number. */
function strtoul(s: string): number | undefined {
  const t = s.trim();
  let m: RegExpExecArray | null;
  if ((m = /^\+?0[xX]([0-9a-fA-F]+)$/.exec(t))) return parseInt(m[1], 16);
  if ((m = /^\+?(0[0-7]*)$/.exec(t))) return parseInt(m[1], 8);
  if ((m = /^\+?([1-9][0-9]*)$/.exec(t))) return Number(m[1]);
  return undefined;
}

function value(s: string, max: number, opt: string): number {
  const v = strtoul(s);
  if (v === undefined || v > max) throw otherError(`unexpected value '${s}' with ${opt} option`);
  return v;
}

/** `inet_aton(3)` (1 to 4 parts, C number notation), else `inet_pton(AF_INET6)`. */
function parseInet(s: string): { family: "ipv4" | "ipv6"; addr: string } | undefined {
  if (/^[0-9a-fA-FxX.]+$/.test(s) && !s.includes(":")) {
    const parts = s.split(".");
    if (parts.length >= 1 && parts.length <= 4) {
      const nums = parts.map((p) => (p === "" ? undefined : strtoul(p)));
      if (nums.every((n) => n !== undefined)) {
        const n = nums as number[];
        const last = n[n.length - 1];
        const lastMax = [0xffffffff, 0xffffff, 0xffff, 0xff][n.length - 1];
        if (n.slice(0, -1).every((x) => x <= 255) && last <= lastMax) {
          const b = [...n.slice(0, -1)];
          const tail = n.length - 1;
          for (let i = 3 - tail; i >= 0; i--) b.push(Math.floor(last / 2 ** (8 * i)) & 255);
          return { family: "ipv4", addr: b.join(".") };
        }
      }
    }
    return undefined;
  }
  try {
    parseAddress(s, "ipv6");
    return { family: "ipv6", addr: s };
  } catch {
    return undefined;
  }
}

function statusParse(arg: string, positive: Set<StatusFlag>, negative: Set<StatusFlag>): void {
  const NAMES: [string, StatusFlag[]][] = [
    ["ASSURED", ["ASSURED"]], ["SEEN_REPLY", ["SEEN_REPLY"]], ["UNSET", []], ["FIXED_TIMEOUT", ["FIXED_TIMEOUT"]],
    ["EXPECTED", ["EXPECTED"]], ["OFFLOAD", ["OFFLOAD"]], ["HW_OFFLOAD", ["HW_OFFLOAD"]],
  ];
  const parts = arg.split(",");
  for (let i = 0; i < parts.length; i++) {
    let tok = parts[i];
    const bad = () => paramError(`Bad parameter \`${parts.slice(i).join(",")}'`);
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
      const which = pre("SRC_NAT") ? "SRC_NAT" : "DST_NAT";
      stderr(`WARNING: ignoring ${which}, use --${which === "SRC_NAT" ? "src" : "dst"}-nat instead\n`);
      continue;
    }
    const hit = NAMES.find(([n]) => pre(n));
    if (!hit) throw bad();
    for (const f of hit[1]) (neg ? negative : positive).add(f);
  }
}

const OUTPUT_NAMES = ["xml", "extended", "timestamp", "id", "ktimestamp", "labels", "userspace", "save", "json"] as const;
type OutputName = typeof OUTPUT_NAMES[number];

function outputParse(arg: string, out: Set<OutputName>): void {
  const parts = arg.split(",");
  for (let i = 0; i < parts.length; i++) {
    const tok = parts[i].toLowerCase();
    const hit = tok === "" ? undefined : OUTPUT_NAMES.find((n) => n.startsWith(tok));
    if (!hit) throw paramError(`Bad parameter \`${parts.slice(i).join(",")}'`);
    out.add(hit);
  }
  for (const only of ["save", "json"] as const) {
    if (out.has(only) && out.size > 1) {
      // conntrack exits 1 for save; json is nfct's own, and conntrack rejects any -o json,... with
      // "Bad parameter" (exit 2), so nfct does too.
      const msg = `cannot combine ${only} output with any other output type, use -o ${only} only`;
      throw only === "save" ? otherError(msg) : paramError(msg);
    }
  }
}

let labelMapCache: LabelMap | undefined;
function labelMap(): LabelMap {
  if (labelMapCache) return labelMapCache;
  const path = host.env("NFCT_CONNLABEL_CONF") ?? "/etc/xtables/connlabel.conf";
  try {
    labelMapCache = parseConnlabelConf(host.readTextFile(path));
  } catch (e) {
    stderr(`${PROG}: cannot read label names from ${path}: ${(e as { code?: string }).code ?? String(e)}\n`);
    labelMapCache = new Map();
  }
  return labelMapCache;
}

/**
 * Whether conntrack loads its label map for this command line (`labelmap_init()`: `-l`,
 * `--label-add`, `--label-del`, `-o labels`). Whenever it has, every printed entry that has labels
 * ends in `labels=...`, whether or not `-o labels` was asked for.
 */
function labelMapLoaded(p: Parsed): boolean {
  return p.options.has("label") || p.options.has("label-add") || p.options.has("label-del") || p.output.has("labels");
}

function labelBits(names: string[]): number[] {
  const byName = new Map([...labelMap()].map(([bit, name]) => [name, bit]));
  const bits: number[] = [];
  for (const list of names) {
    for (const n of list.split(",")) {
      const bit = byName.get(n);
      if (bit === undefined) throw paramError(`unknown label '${n}'`);
      if (bit > 127) throw otherError(`label '${n}' is bit ${bit}: the kernel keeps 128 label bits`);
      bits.push(bit);
    }
  }
  return bits;
}

// ---------------------------------------------------------------------------------------------
// Parsing

interface Addr {
  family: "ipv4" | "ipv6";
  addr: string;
  /** CIDR bits, or undefined for an exact address. */
  bits?: number;
}

interface Nat {
  addr?: string;
  port?: number;
}

/** One parsed command line. */
interface Parsed {
  command: number;
  /** "conntrack" | "expect" | "dying" | "unconfirmed" */
  table: string;
  options: Set<OptName>;
  family?: "ipv4" | "ipv6";
  proto?: ProtoExt | { name: string; num: number };
  ext?: ProtoExt;
  pvals: Record<string, number | string>;
  src?: Addr;
  dst?: Addr;
  rsrc?: Addr;
  rdst?: Addr;
  maskSrc?: Addr;
  maskDst?: Addr;
  /** --tuple-src/--tuple-dst: the expectation's tuple (-I expect). */
  tupleSrc?: Addr;
  tupleDst?: Addr;
  /** -e: the event types asked for (undefined: all). */
  eventMask?: Set<"new" | "update" | "destroy">;
  timeout?: number;
  statusSet: Set<StatusFlag>;
  statusNeg: Set<StatusFlag>;
  mark?: { value: number; mask: number };
  secmark?: number;
  id?: number;
  zone?: number;
  origZone?: number;
  replyZone?: number;
  output: Set<OutputName>;
  srcNat?: Nat;
  dstNat?: Nat;
  anyNat?: Nat;
  labels: string[];
  labelModify: string[];
  labelDelAll: boolean;
  bufferSize?: number;
}

function parseNat(arg: string | undefined, opt: string, p: Parsed): Nat {
  if (arg === undefined) return {};
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
  const out: Nat = {};
  if (port !== undefined) {
    if (port === "") throw paramError("No port specified after `:'");
    if (!/^[0-9]+$/.test(port) || Number(port) > 65535) throw paramError(`Invalid port \`${port}'`);
    out.port = Number(port);
  }
  const a = addrOpt(address, opt, false, p);
  out.addr = a.addr;
  return out;
}

/** Address options: the field they set, and for those that take a CIDR, the mask it implies. */
const ADDR_OPTS: Record<
  "src" | "dst" | "reply-src" | "reply-dst" | "tuple-src" | "tuple-dst" | "mask-src" | "mask-dst",
  readonly ["src" | "dst" | "rsrc" | "rdst" | "tupleSrc" | "tupleDst" | "maskSrc" | "maskDst", OptName?]
> = {
  "src": ["src", "mask-src"],
  "dst": ["dst", "mask-dst"],
  "reply-src": ["rsrc"],
  "reply-dst": ["rdst"],
  "tuple-src": ["tupleSrc", "mask-src"],
  "tuple-dst": ["tupleDst", "mask-dst"],
  "mask-src": ["maskSrc"],
  "mask-dst": ["maskDst"],
};

function addrOpt(arg: string, opt: string, cidr: boolean, p: Parsed): Addr {
  const slash = arg.indexOf("/");
  let bits: number | undefined;
  let invalid = false;
  const text = slash === -1 ? arg : arg.slice(0, slash);
  if (slash !== -1) {
    const m = /^-?[0-9]+$/.exec(arg.slice(slash + 1));
    if (!m || Number(m[0]) < 0) invalid = true;
    else bits = Number(m[0]);
  }
  const a = parseInet(text);
  if (!a) throw paramError(`Invalid IP address \`${arg}'`);
  if (bits !== undefined && bits > (a.family === "ipv4" ? 32 : 128)) invalid = true;
  if (p.family && p.family !== a.family) throw paramError("mismatched address family");
  p.family = a.family;
  if (slash !== -1 && !cidr) throw paramError(`CIDR notation unavailable for \`--${opt}'`);
  if (invalid) throw paramError("Invalid netmask");
  if (bits === (a.family === "ipv4" ? 32 : 128)) bits = undefined;
  return { family: a.family, addr: a.addr, bits };
}

/** conntrack's `do_parse()`: argv (without the program name) to a checked command. */
function parseArgs(argv: string[]): Parsed {
  const p: Parsed = {
    command: -1, table: "conntrack", options: new Set(), pvals: {}, statusSet: new Set(), statusNeg: new Set(),
    output: new Set(), labels: [], labelModify: [], labelDelAll: false,
  };
  let ext: ProtoExt | undefined;
  const protoSeen = new Set<string>();
  let i = 0;
  const optional = (attached: string | undefined): string | undefined => {
    if (attached !== undefined) return attached;
    if (i < argv.length && !argv[i].startsWith("-") && !argv[i].startsWith("!")) return argv[i++];
    return undefined;
  };
  while (i < argv.length) {
    const word = argv[i++];
    let spec: OptSpec | undefined, attached: string | undefined, shown = word;
    let protoKey: string | undefined;
    if (word.startsWith("--") && word.length > 2) {
      const eq = word.indexOf("=");
      const name = eq === -1 ? word.slice(2) : word.slice(2, eq);
      if (eq !== -1) attached = word.slice(eq + 1);
      // getopt_long: an exact name, else a unique prefix.
      const all: [string, OptSpec | string][] = [...Object.entries(LONG), ...(ext ? Object.entries(ext.opts) : [])];
      const exact = all.find(([n]) => n === name);
      const hits = exact ? [exact] : all.filter(([n]) => n.startsWith(name));
      const uniq = new Set(hits.map(([, s]) => (typeof s === "string" ? "p:" + s : s.key)));
      if (hits.length === 0 || uniq.size > 1) throw paramError(`unknown option \`${word}'`);
      const s = hits[0][1];
      if (typeof s === "string") protoKey = s;
      else spec = s;
      shown = word;
    } else if (word.startsWith("-") && word.length > 1 && word !== "-") {
      spec = SHORT[word[1]];
      if (!spec) throw paramError(`unknown option \`${word}'`);
      if (word.length > 2) attached = word.slice(2);
    } else {
      continue; // getopt permutes stray words to the end; conntrack ignores them
    }
    if (protoKey !== undefined) {
      const v = attached ?? argv[i++];
      if (v === undefined) throw paramError(`option \`${shown}' requires an argument`);
      protoOpt(p, ext!, protoKey, v, shown);
      protoSeen.add(protoKey);
      continue;
    }
    const s = spec!;
    let arg: string | undefined;
    if (s.arg === 1) {
      arg = attached ?? argv[i++];
      if (arg === undefined) throw paramError(`option \`${shown}' requires an argument`);
    } else if (s.arg === 2) arg = optional(attached);
    if (s.key in CMD_LETTER) {
      const table = arg ?? "conntrack";
      let t: string;
      if (table !== "" && "expect".startsWith(table)) t = "expect";
      else if (table !== "" && "conntrack".startsWith(table)) t = "conntrack";
      else if (table !== "" && "dying".startsWith(table)) t = "dying";
      else if (table !== "" && "unconfirmed".startsWith(table)) t = "unconfirmed";
      else throw paramError(`unknown type \`${table}'`);
      if ((t === "dying" || t === "unconfirmed") && s.key !== "L") {
        throw paramError("Can't do that command with tables `dying' and `unconfirmed'");
      }
      if (t === "expect" && (s.key === "U" || s.key === "A")) {
        throw paramError(`Can't do --${CMD_NAME[CMD_LETTER[s.key]]} on expectations`);
      }
      if (p.command !== -1) throw paramError("Invalid commands combination");
      p.command = CMD_LETTER[s.key];
      p.table = t;
      continue;
    }
    const key = s.key as OptName;
    switch (key) {
      case "src":
      case "dst":
      case "reply-src":
      case "reply-dst":
      case "tuple-src":
      case "tuple-dst":
      case "mask-src":
      case "mask-dst": {
        const [field, cidrMask] = ADDR_OPTS[key];
        const a = addrOpt(arg!, key, cidrMask !== undefined, p);
        p[field] = a;
        p.options.add(key);
        if (cidrMask && a.bits !== undefined) {
          // A CIDR implies its mask; like conntrack, whichever of it and --mask-* comes last wins.
          p.options.add(cidrMask);
          delete p[ADDR_OPTS[cidrMask as "mask-src" | "mask-dst"][0]];
        }
        break;
      }
      case "protonum": {
        p.options.add(key);
        const name = arg!;
        const known = PROTOS.find((x) => x.name === name.toLowerCase());
        if (known) {
          ext = known;
          p.proto = known;
        } else {
          const byName = protoByName(name);
          const num = byName ?? strtoul(name);
          if (num === undefined || num > 255) throw paramError(`\`${name}' unsupported protocol`);
          const byNum = PROTOS.find((x) => x.num === num);
          if (byNum) ext = byNum;
          p.proto = byNum ?? { name: String(num), num };
        }
        break;
      }
      case "timeout":
        p.options.add(key);
        p.timeout = value(arg!, 0xffffffff, "-t");
        break;
      case "status":
        p.options.add(key);
        statusParse(arg!, p.statusSet, p.statusNeg);
        break;
      case "event-mask":
        p.options.add(key);
        p.eventMask ??= new Set();
        for (const tok of arg!.split(",")) {
          const hit = tok ? ["ALL", "NEW", "UPDATES", "DESTROY"].find((n) => n.toLowerCase().startsWith(tok.toLowerCase())) : undefined;
          if (!hit) throw paramError(`Bad parameter \`${arg}'`);
          if (hit === "ALL" || hit === "NEW") p.eventMask.add("new");
          if (hit === "ALL" || hit === "UPDATES") p.eventMask.add("update");
          if (hit === "ALL" || hit === "DESTROY") p.eventMask.add("destroy");
        }
        break;
      case "output":
        p.options.add(key);
        outputParse(arg!, p.output);
        break;
      case "zero":
        p.options.add(key);
        break;
      case "src-nat":
      case "dst-nat":
      case "any-nat": {
        p.options.add(key);
        const n = parseNat(arg, key, p);
        if (key === "src-nat") p.srcNat = n;
        else if (key === "dst-nat") p.dstNat = n;
        else p.anyNat = n;
        break;
      }
      case "zone":
      case "orig-zone":
      case "reply-zone": {
        const v = value(arg!, 0xffff, key === "zone" ? "-w" : `--${key}`);
        p.options.add(key);
        if (key === "zone") p.zone = v;
        else if (key === "orig-zone") p.origZone = v;
        else p.replyZone = v;
        break;
      }
      case "id":
      case "secmark": {
        if (arg === undefined) throw paramError(`option \`${shown}' requires an argument`);
        const v = value(arg, 0xffffffff, key === "id" ? "-i" : "-c");
        p.options.add(key);
        if (key === "id") p.id = v;
        else p.secmark = v;
        break;
      }
      case "mark": {
        p.options.add(key);
        const m = /^([^/]*)(?:\/(.*))?$/.exec(arg!)!;
        const v = strtoul(m[1]);
        const mask = m[2] === undefined ? 0xffffffff : strtoul(m[2]);
        if (v === undefined || mask === undefined || v > 0xffffffff || mask > 0xffffffff) {
          throw otherError(`unexpected value '${arg}' with -m option`);
        }
        p.mark = { value: v, mask };
        break;
      }
      case "label":
      case "label-add":
      case "label-del": {
        p.options.add(key);
        if (p.options.has("label-add") && p.options.has("label-del")) {
          throw otherError("cannot use --label-add and --label-del at the same time");
        }
        if (key === "label") p.labels.push(arg!);
        else if (arg === undefined) p.labelDelAll = true;
        else p.labelModify.push(arg);
        break;
      }
      case "nat-range":
        stderr("WARNING: ignoring -a, deprecated option.\n");
        break;
      case "family":
        p.options.add(key);
        {
          const f = arg!.startsWith("ipv4") ? "ipv4" : arg!.startsWith("ipv6") ? "ipv6" : undefined;
          if (!f) throw paramError(`\`${arg}' unsupported protocol`);
          if (p.family && p.family !== f) throw paramError("mismatched address family");
          p.family = f;
        }
        break;
      case "buffer-size":
        p.options.add(key);
        p.bufferSize = value(arg!, Number.MAX_SAFE_INTEGER, "-b");
        break;
    }
  }
  p.ext = ext;
  if (p.command === -1 && p.options.size === 0) return p; // usage

  if (labelMapLoaded(p)) {
    labelBits([...p.labels, ...p.labelModify]); // unknown names are a parameter problem
  }
  if (p.options.has("any-nat") && (p.options.has("src-nat") || p.options.has("dst-nat"))) {
    throw paramError("cannot specify `--src-nat' or `--dst-nat' with `--any-nat'");
  }
  // nfct extension: -F with the filters of -D.
  // Options without a command: each is illegal (conntrack exits 2, naming the first one).
  const row = p.command === -1 ? NO_OPTIONS : p.table === "expect" ? EXP_MATRIX[p.command] ?? NO_OPTIONS
    : p.command === CMD.FLUSH && p.table === "conntrack" ? FLUSH_EXTENDED : MATRIX[p.command];
  let coupled = false;
  for (let b = 0; b < OPT_NAMES.length; b++) {
    const has = p.options.has(OPT_NAMES[b]);
    if (!has && row[b] === 1) throw paramError(`You need to supply the \`--${OPT_NAMES[b]}' option for this command`);
    if (has && row[b] === 0) throw paramError(`Illegal option \`--${OPT_NAMES[b]}' with this command`);
    if (row[b] === 3) coupled = true;
  }
  if (coupled) {
    const o = p.options;
    const origOk = o.has("src") && o.has("dst"), replOk = o.has("reply-src") && o.has("reply-dst");
    if (!origOk && !replOk) {
      if (!o.has("src") && !o.has("dst") && (o.has("reply-src") || o.has("reply-dst"))) {
        throw paramError("you have to specify `--reply-src' and `--reply-dst'");
      }
      throw paramError("you have to specify `--src' and `--dst'");
    }
  }
  if (ext && p.command !== CMD.HELP) protoCheck(p, ext, protoSeen);
  return p;
}

function protoOpt(p: Parsed, ext: ProtoExt, key: string, v: string, shown: string): void {
  switch (key) {
    case "state": {
      const state = ext.name === "tcp" && v === "LISTEN" ? "SYN_SENT2" : v;
      if (!ext.states!.includes(state)) throw paramError(`unknown ${ext.name.toUpperCase()} state \`${v}'`);
      p.pvals.state = state;
      return;
    }
    case "role":
      if (v !== "client" && v !== "server") throw paramError(`unknown DCCP role \`${v}'`);
      p.pvals.role = v === "client" ? 0 : 1;
      return;
    case "type":
    case "code":
      p.pvals[key] = value(v, 0xff, shown);
      return;
    case "vtag":
    case "rvtag":
      p.pvals[key] = value(v, 0xffffffff, shown);
      return;
    default:
      p.pvals[key] = value(v, 0xffff, shown);
  }
}

function protoCheck(p: Parsed, ext: ProtoExt, seen: Set<string>): void {
  const keys = new Set([...Object.values(ext.opts)]);
  let coupledRule = false;
  for (const k of keys) {
    // nfct extension: -F takes the protocol filters -D takes.
    const cmd = p.command === CMD.FLUSH ? CMD.DELETE : p.command;
    const legal = p.table === "expect" ? ext.expLegal?.[k]?.[p.command] ?? 0 : (ext.legal[k] ?? P_NEVER)[cmd] ?? 0;
    const has = seen.has(k);
    if (!has && legal === 1) throw paramError(`You need to supply the \`--${OPT_LABEL[k]}' option for this command`);
    if (has && legal === 0) throw paramError(`Illegal option \`--${OPT_LABEL[k]}' with this command`);
    if (legal === 3) coupledRule = true;
  }
  if (coupledRule && ext.coupled) {
    const ok = ext.coupled.some(([pair]) => pair.every((k) => seen.has(k)));
    if (!ok) {
      const partial = ext.coupled.findIndex(([pair]) => pair.some((k) => seen.has(k)));
      throw paramError(ext.coupled[partial < 0 ? 0 : partial][1]);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Output

/** Buffered, synchronous stdout (a pipe is flushed before the process exits). */
class Out {
  #buf = "";
  line(s: string): void {
    this.#buf += s + "\n";
    if (this.#buf.length > 65536) this.flush();
  }
  flush(): void {
    if (!this.#buf) return;
    const text = this.#buf;
    this.#buf = "";
    write(1, text);
  }
}
/**
 * Writes to stdout or stderr, or ends the process: silently with 0 when the reader left (EPIPE,
 * as conntrack on SIGPIPE), else (ENOSPC, EIO, …) with 1 after a one-line message when stderr
 * still takes it. conntrack ignores write errors: `conntrack -L > /dev/full` prints its summary
 * and exits 0 with every line lost; nfct stops at the first lost line.
 */
function write(fd: 1 | 2, text: string): void {
  try {
    host.writeText(fd, text);
  } catch (e) {
    const code = (e as { code?: string }).code ?? "EIO";
    if (code === "EPIPE") host.exit(0);
    const what = STRERROR[code] ? `${code} (${STRERROR[code]})` : code;
    if (fd === 1) {
      try {
        host.writeText(2, `${progressShown ? ERASE : ""}${PREFIX}write error: ${what}\n`);
      } catch { /* stderr is gone too: the exit code tells */ }
    }
    host.exit(OTHER_PROBLEM);
  }
}
const ERASE = "\r\x1b[K";
/** Whether a progress line is on the terminal: the next stderr text erases it first. */
let progressShown = false;
/** Unbuffered standard error. */
function stderr(text: string): void {
  if (progressShown) [text, progressShown] = [ERASE + text, false];
  write(2, text);
}
const out = new Out();

/** Whether stdout is the terminal stderr is (then a progress line would mix into the output). */
function stdoutOnStderrTerminal(): boolean {
  if (!host.isTerminal(1)) return false;
  try {
    return host.readLink("/proc/self/fd/1") === host.readLink("/proc/self/fd/2");
  } catch {
    return true;
  }
}

/**
 * "nfct: N of T flow entries listed (P%), R/s" on stderr, redrawn in place, erased at the end:
 * only when stderr is a terminal that stdout does not write to (a listing to the terminal shows
 * none, `nfct -L > file` does; `quietStdout` for commands that print nothing) and the job takes
 * a while. `total` (called once, only then) is the count the job runs up to, when known.
 */
class Progress {
  #tty: boolean;
  #start = Date.now();
  #last = 0;
  #total: number | undefined;
  constructor(readonly verb: string, total?: () => number, quietStdout = false) {
    this.#tty = host.isTerminal(2) && (quietStdout || !stdoutOnStderrTerminal());
    this.#total = this.#tty ? total?.() : undefined;
  }
  tick(n: number): void {
    if (!this.#tty || (n & 1023) !== 0) return;
    const now = Date.now();
    if (now - this.#start < 500 || now - this.#last < 200) return;
    this.#last = now;
    const t = this.#total;
    const of = t && n <= t ? `${n} of ${t} flow entries ${this.verb} (${Math.floor((100 * n) / t)}%)` : `${n} flow entries ${this.verb}`;
    const r = (n * 1000) / (now - this.#start);
    const rate = r >= 1e6 ? `${(r / 1e6).toFixed(1)}M` : r >= 1e4 ? `${Math.round(r / 1e3)}k` : r >= 1e3 ? `${(r / 1e3).toFixed(1)}k` : `${Math.round(r)}`;
    write(2, `${ERASE}${PROG}: ${of}, ${rate}/s`);
    progressShown = true;
  }
  done(): void {
    if (progressShown) stderr("");
  }
}

function jsonReplacer(_k: string, v: unknown): unknown {
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Uint8Array) return Array.from(v, (b) => b.toString(16).padStart(2, "0")).join("");
  return v;
}

interface Printer {
  (f: Flow): string;
}

/** What conntrack's callbacks print for each command: `-L`/`-G` (all flags), `-D`, `-U`. */
function printer(p: Parsed, kind: "dump" | "delete" | "update"): Printer {
  const o = p.output;
  if (o.has("json")) return (f) => JSON.stringify(flowToJSON(f));
  if (o.has("save")) {
    const event = kind === "delete" ? "destroy" : undefined;
    return (f) => formatFlow(f, { save: true, event });
  }
  const opts: FormatOptions = { xml: o.has("xml"), extended: o.has("extended"), id: o.has("id") };
  if (kind === "dump") opts.ktimestamp = o.has("ktimestamp");
  if (kind !== "delete" && labelMapLoaded(p)) opts.labels = labelMap();
  return (f) => formatFlow(f, opts);
}

/**
 * Wall-clock "now" in milliseconds with a microsecond fraction, for `-E -o timestamp`: conntrack
 * prints gettimeofday()'s microseconds; Date.now() has whole milliseconds only. The fraction comes
 * from the high-resolution clock, kept within Date.now()'s millisecond should the two drift apart.
 */
function wallClockMs(): number {
  const ms = Date.now();
  const hr = performance.timeOrigin + performance.now();
  return Math.abs(hr - ms) < 1 ? hr : ms + (hr - Math.floor(hr));
}

function summary(msg: string): void {
  stderr(PREFIX + msg + "\n");
}

// ---------------------------------------------------------------------------------------------
// Selection: conntrack's template + filters as a library Filter plus a userspace predicate

/** A --src-nat/--dst-nat/--any-nat value as the library's filter takes it. */
function natFilter(n: Nat): NatFilter {
  if (n.addr === undefined && n.port === undefined) return true;
  const out: { addr?: string; port?: number } = {};
  if (n.addr !== undefined) out.addr = n.addr;
  if (n.port !== undefined) out.port = n.port;
  return out;
}

function maskMatch(a: Addr, mask: Addr, addr: string): boolean {
  if (!addr.includes(":") !== (a.family === "ipv4")) return false;
  const x = parseAddress(addr), n = parseAddress(a.addr), m = parseAddress(mask.addr);
  for (let i = 0; i < x.length; i++) if ((x[i] & m[i]) !== (n[i] & m[i])) return false;
  return true;
}

interface Selection {
  filter: Filter;
  /** Conditions the library Filter cannot express; undefined when there are none. */
  extra?: (f: Flow) => boolean;
}

/**
 * The entries a command is about. `full` (-L, -D, -F): every comparison option is a filter.
 * Otherwise (-U): only the tuples, NAT, labels, masks and id select; -m/-u/-t/--state are
 * the new values.
 */
function selection(p: Parsed, full: boolean): Selection {
  const filter: Filter = {};
  const extra: ((f: Flow) => boolean)[] = [];
  const o = p.options;
  if (p.family) filter.family = p.family;
  if (p.proto) filter.proto = protoOf(p);
  const cidr = (a: Addr) => (a.bits === undefined ? a.addr : `${a.addr}/${a.bits}`);
  if (p.src) {
    if (p.maskSrc) extra.push((f) => maskMatch(p.src!, p.maskSrc!, f.orig.src));
    else filter.src = cidr(p.src);
  }
  if (p.dst) {
    if (p.maskDst) extra.push((f) => maskMatch(p.dst!, p.maskDst!, f.orig.dst));
    else filter.dst = cidr(p.dst);
  }
  const reply: NonNullable<Filter["reply"]> = {};
  if (p.rsrc) reply.src = p.rsrc.addr;
  if (p.rdst) reply.dst = p.rdst.addr;
  const pv = p.pvals;
  const gre = p.proto?.num === 47;
  if (!gre) {
    if (pv.sport !== undefined) filter.sport = pv.sport as number;
    if (pv.dport !== undefined) filter.dport = pv.dport as number;
    if (pv.rsport !== undefined) reply.sport = pv.rsport as number;
    if (pv.rdport !== undefined) reply.dport = pv.rdport as number;
  } else {
    const keys: [string, (f: Flow) => number | undefined][] = [
      ["sport", (f) => f.orig.srcKey], ["dport", (f) => f.orig.dstKey], ["rsport", (f) => f.reply.srcKey], ["rdport", (f) => f.reply.dstKey],
    ];
    for (const [k, get] of keys) if (pv[k] !== undefined) extra.push((f) => get(f) === pv[k]);
  }
  for (const [k, field] of [["type", "type"], ["code", "code"], ["icmpid", "id"]] as const) {
    if (pv[k] !== undefined) extra.push((f) => f.orig[field] === pv[k]);
  }
  if (full && pv.state !== undefined) filter.state = pv.state as string;
  if (full) {
    if (p.replyZone !== undefined) reply.zone = p.replyZone;
    if (p.origZone !== undefined) filter.origZone = p.origZone;
    if (p.zone !== undefined) filter.zone = p.zone;
    if (p.mark) filter.mark = p.mark;
    if (o.has("status")) {
      const value = [...p.statusSet];
      const mask = [...new Set([...p.statusSet, ...p.statusNeg])];
      if (mask.length) filter.status = { value, mask };
    }
    // nfct_cmp(): an attribute the kernel did not send compares equal.
    if (p.secmark !== undefined) extra.push((f) => f.secmark === undefined || f.secmark === p.secmark);
    if (p.timeout !== undefined) extra.push((f) => f.timeout === p.timeout);
  }
  if (Object.keys(reply).length) filter.reply = reply;
  if (p.id !== undefined) extra.push((f) => f.id === p.id);
  if (p.labels.length) filter.labels = { all: labelBits(p.labels) };
  // conntrack.c filter_nat(): --any-nat alone decides when it is given.
  if (p.anyNat) filter.anyNat = natFilter(p.anyNat);
  else {
    if (p.srcNat) filter.srcNat = natFilter(p.srcNat);
    if (p.dstNat) filter.dstNat = natFilter(p.dstNat);
  }
  return { filter, extra: extra.length ? (f) => extra.every((x) => x(f)) : undefined };
}

function protoOf(p: Parsed): Proto {
  const n = p.proto!.num;
  return (PROTOS.find((x) => x.num === n)?.name as Proto | undefined) ?? n;
}

/** The tuples a -I/-A/-G command names (conntrack's template with SETUP_REPLY/ORIGINAL). */
function tuples(p: Parsed): { orig?: Tuple; reply?: Tuple } {
  const pv = p.pvals, num = p.proto!.num;
  const l4 = (dir: "o" | "r"): Partial<Tuple> => dir === "o" ? tupleL4(p, "sport", "dport") : tupleL4(p, "rsport", "rdport");
  let orig: Tuple | undefined, reply: Tuple | undefined;
  if (p.src && p.dst) orig = { src: p.src.addr, dst: p.dst.addr, ...l4("o") };
  if (p.rsrc && p.rdst) reply = { src: p.rsrc.addr, dst: p.rdst.addr, ...l4("r") };
  // One address of a direction (as `-o save` writes with NAT: `-g ip -q ip`): the rest is the
  // other direction's, swapped.
  if (orig && !reply && (p.rsrc || p.rdst)) {
    reply = { src: p.rsrc?.addr ?? orig.dst, dst: p.rdst?.addr ?? orig.src, ...l4("r") };
  } else if (reply && !orig && (p.src || p.dst)) {
    orig = { src: p.src?.addr ?? reply.dst, dst: p.dst?.addr ?? reply.src, ...l4("o") };
  }
  if (num === 1 || num === 58) {
    const icmp = { type: pv.type as number, code: pv.code as number, id: (pv.icmpid as number | undefined) ?? 0 };
    if (orig) Object.assign(orig, icmp);
    else if (reply) Object.assign(reply, icmp);
  }
  // libct_proto_*.c final_check(): the ports of the missing direction are the other's, swapped.
  const swapPorts = (from: Tuple, to: Tuple) => {
    if (to.sport === undefined && from.dport !== undefined) to.sport = from.dport;
    if (to.dport === undefined && from.sport !== undefined) to.dport = from.sport;
    if (to.srcKey === undefined && from.dstKey !== undefined) to.srcKey = from.dstKey;
    if (to.dstKey === undefined && from.srcKey !== undefined) to.dstKey = from.srcKey;
  };
  if (orig && reply) {
    swapPorts(orig, reply);
    swapPorts(reply, orig);
    if ((num === 1 || num === 58) && reply.type === undefined) {
      try {
        Object.assign(reply, { type: invertTuple(orig, num).type, code: orig.code, id: orig.id });
      } catch { /* no inverse type: let the kernel say */ }
    }
  }
  if (p.origZone !== undefined && orig) orig.zone = p.origZone;
  if (p.replyZone !== undefined && reply) reply.zone = p.replyZone;
  return { orig, reply };
}

// ---------------------------------------------------------------------------------------------
// Errors

const STRERROR: Record<string, string> = {
  EPERM: "Operation not permitted", ENOENT: "No such file or directory", EINTR: "Interrupted system call",
  EIO: "Input/output error", E2BIG: "Argument list too long", EAGAIN: "Resource temporarily unavailable",
  ENOMEM: "Cannot allocate memory", EACCES: "Permission denied", EBUSY: "Device or resource busy",
  EEXIST: "File exists", EINVAL: "Invalid argument", ENOSPC: "No space left on device", ERANGE: "Numerical result out of range",
  ETIME: "Timer expired", EPROTONOSUPPORT: "Protocol not supported", EOPNOTSUPP: "Operation not supported",
  EAFNOSUPPORT: "Address family not supported by protocol", ENOBUFS: "No buffer space available",
  ENOTSUPP: "function not implemented",
};

/** conntrack.c err2str(): its own texts for some (command, errno) pairs, else strerror. */
function err2str(code: string, command: number, expect = false): string {
  const c = command === CMD.ADD ? CMD.CREATE : command;
  if (code === "EINVAL") return "invalid parameters";
  if (expect) {
    if (code === "ENOENT" && c === CMD.CREATE) return "master conntrack not found";
    if (code === "EPERM") return "sorry, you must be root or get CAP_NET_ADMIN capability to do this";
    return STRERROR[code] ?? code;
  }
  if (code === "EEXIST" && c === CMD.CREATE) return "Such conntrack exists, try -U to update";
  if (code === "ENOENT" && (c === CMD.CREATE || c === CMD.GET || c === CMD.DELETE)) return "such conntrack doesn't exist";
  if (code === "ENOMEM" && (c === CMD.CREATE || c === CMD.GET)) return "not enough memory";
  if (code === "EAFNOSUPPORT" && c === CMD.GET) return "protocol not supported";
  if (code === "ETIME" && c === CMD.CREATE) return "conntrack has expired";
  if (code === "EPERM") return "sorry, you must be root or get CAP_NET_ADMIN capability to do this";
  return STRERROR[code] ?? code;
}

function failed(e: unknown, command: number, expect = false): CliExit {
  if (e instanceof CliExit) return e;
  if (e instanceof NetlinkError || e instanceof SyscallError) {
    const msg = `Operation failed: ${err2str(e.code, command, expect)}`;
    return otherError(e instanceof NetlinkError && e.kernelMessage ? `${msg} (kernel: ${e.kernelMessage})` : msg);
  }
  if (e instanceof TypeError || e instanceof RangeError) return otherError(`Operation failed: ${e.message}`);
  throw e;
}

// ---------------------------------------------------------------------------------------------
// Commands

let client: Conntrack | undefined;
let clientBuffer: number | undefined;
function ct(): Conntrack {
  if (client) return client;
  try {
    client = Conntrack.open(clientBuffer ? { receiveBufferSize: clientBuffer } : {});
    client.count(); // opens the socket now, so "Can't open handler" comes first
  } catch (e) {
    client = undefined;
    const detail = e instanceof SyscallError || e instanceof NetlinkError ? `: ${err2str(e.code, -1)}` : `: ${String(e)}`;
    throw otherError(`Can't open handler${detail}`);
  }
  return client;
}

function iterate(sel: Selection): Iterable<Flow> {
  const it = ct().dump(sel.filter, { readAhead: "auto" });
  if (!sel.extra) return it;
  const extra = sel.extra;
  return (function* () {
    for (const f of it) if (extra(f)) yield f;
  })();
}

function key(f: Flow): FlowKey {
  return { family: f.family, proto: f.proto, orig: f.orig, reply: f.reply, zone: f.zone, id: f.id };
}

/** The flows -L lists: the table (optionally zeroing counters), or the dying/unconfirmed list. */
function listed(p: Parsed): Iterable<Flow> {
  const sel = selection(p, true);
  const kernelList = p.table === "dying" || p.table === "unconfirmed";
  if (!kernelList && !p.options.has("zero")) return iterate(sel);
  // The kernel lists take no filter and -z is refused with comparisons: the rest is matched
  // here, as conntrack's dump callback does.
  const cf = compileFilter(sel.filter);
  const extra = sel.extra;
  const it = p.table === "dying" ? ct().dying() : p.table === "unconfirmed" ? ct().unconfirmed() : ct().dump(sel.filter, { zero: true });
  if (cf.empty && !extra) return it;
  return (function* () {
    for (const f of it) if ((cf.empty || cf.match(f)) && (!extra || extra(f))) yield f;
  })();
}

/**
 * -L of the whole conntrack table in the default, `extended` or `id` format: the lines made
 * straight from the kernel's bytes (`Conntrack.lines`, the same text as `formatFlow`, a third
 * faster on big tables). Undefined for everything else (filters, other formats, other lists).
 */
function wholeTableLines(p: Parsed): Iterable<string> | undefined {
  if (p.table === "dying" || p.table === "unconfirmed" || p.options.has("zero")) return undefined;
  if ([...p.output].some((o) => o !== "extended" && o !== "id")) return undefined;
  const sel = selection(p, true);
  if (Object.keys(sel.filter).length > 0 || sel.extra) return undefined;
  return ct().lines(undefined, { readAhead: "auto" }, { extended: p.output.has("extended"), id: p.output.has("id") });
}

function cmdList(p: Parsed): number {
  const kernelList = p.table === "dying" || p.table === "unconfirmed";
  if (!kernelList) {
    // conntrack checks these for the table only (its dying/unconfirmed dumps return first).
    if (p.options.has("zero") && COMPARISON.some((o) => p.options.has(o))) {
      throw paramError("Can't use -z with filtering parameters");
    }
    if (p.maskSrc && !p.src) throw paramError("Can't use --mask-src without --src");
    if (p.maskDst && !p.dst) throw paramError("Can't use --mask-dst without --dst");
  }
  const print = printer(p, "dump");
  const xml = p.output.has("xml") && !p.output.has("save");
  const lines = wholeTableLines(p);
  const progress = new Progress("listed", lines && (() => ct().count()));
  let n = 0;
  try {
    if (lines) {
      for (const line of lines) {
        out.line(line);
        progress.tick(++n);
      }
    } else {
      for (const f of listed(p)) {
        if (xml && n === 0) out.line(XML_HEADER);
        out.line(print(f));
        progress.tick(++n);
      }
    }
  } catch (e) {
    progress.done();
    out.flush();
    throw failed(e, CMD.LIST);
  }
  progress.done();
  if (xml && n > 0) out.line(XML_FOOTER);
  out.flush();
  summary(`${n} flow entries have been shown.`);
  return 0;
}

function cmdGet(p: Parsed): number {
  const { orig, reply } = tuples(p);
  let f: Flow | undefined;
  try {
    f = ct().get({ family: p.family, proto: protoOf(p), orig, reply: orig ? undefined : reply, zone: p.zone, id: p.id });
  } catch (e) {
    throw failed(e, CMD.GET);
  }
  if (!f) throw otherError(`Operation failed: ${err2str("ENOENT", CMD.GET)}`);
  if (p.output.has("xml") && !p.output.has("save") && !p.output.has("json")) out.line(XML_HEADER); // conntrack prints no footer after -G
  out.line(printer(p, "dump")(f));
  out.flush();
  summary("1 flow entries have been shown.");
  return 0;
}

/** The flow a -I/-A line describes. */
function newFlow(p: Parsed): Partial<Flow> & Pick<Flow, "proto"> {
  const { orig, reply } = tuples(p);
  const num = p.proto!.num;
  const f: Partial<Flow> & Pick<Flow, "proto"> = { proto: protoOf(p), timeout: p.timeout };
  if (p.family) f.family = p.family;
  if (orig) f.orig = orig;
  if (reply) f.reply = reply;
  if (!orig && reply) f.orig = invertTuple(reply, num); // NFCT_SOPT_SETUP_ORIGINAL
  if (f.orig && f.reply === undefined && (f.orig.zone !== undefined || p.replyZone !== undefined)) {
    f.reply = invertTuple(f.orig, num);
    if (p.replyZone !== undefined) f.reply.zone = p.replyZone;
  }
  if (p.options.has("status")) f.status = [...p.statusSet];
  if (p.mark) f.mark = p.mark.value;
  if (p.zone !== undefined) f.zone = p.zone;
  if (p.labelModify.length) f.labels = labelBits(p.labelModify);
  const pv = p.pvals;
  if (num === 6 && pv.state !== undefined) f.tcp = { state: pv.state as never };
  // conntrack passes --orig-vtag/--reply-vtag through htonl() once more than the kernel expects
  // (its `-o save` swaps them back): do the same, so that `-o save` lines replay to the same entry.
  const bswap = (v: unknown) => v === undefined ? undefined : ((((v as number) & 0xff) << 24) | (((v as number) & 0xff00) << 8) | (((v as number) >>> 8) & 0xff00) | ((v as number) >>> 24)) >>> 0;
  if (num === 132) f.sctp = { state: pv.state as never, vtagOrig: bswap(pv.vtag), vtagReply: bswap(pv.rvtag) };
  if (num === 33) f.dccp = { state: pv.state as never, role: pv.role as number | undefined };
  const nat = (n: Nat | undefined) => n && n.addr !== undefined ? { minIp: n.addr, maxIp: n.addr, ...(n.port !== undefined ? { minPort: n.port, maxPort: n.port } : {}) } : undefined;
  if (nat(p.srcNat)) f.natSrc = nat(p.srcNat);
  if (nat(p.dstNat)) f.natDst = nat(p.dstNat);
  return f;
}

function cmdCreate(p: Parsed, quiet = false): number {
  const add = p.command === CMD.ADD;
  let n = 0;
  try {
    ct().create(newFlow(p));
    n = 1;
  } catch (e) {
    // -A: an existing entry is not an error (nothing is added).
    if (!(add && e instanceof NetlinkError && e.code === "EEXIST")) throw failed(e, p.command);
  }
  if (!quiet) summary(`${n} flow entries have been ${add ? "added" : "created"}.`);
  return 0;
}

/** conntrack.c mnl_nfct_update_cb(): the new values of a matching entry, or undefined if unchanged. */
function updated(p: Parsed, f: Flow): (Partial<Flow> & Pick<Flow, "proto">) | undefined {
  const u: Partial<Flow> & Pick<Flow, "proto"> = { family: f.family, proto: f.proto, orig: f.orig, reply: f.reply };
  if (f.zone !== undefined) u.zone = f.zone;
  let changed = false;
  if (p.mark) {
    const m = (((f.mark ?? 0) & ~p.mark.mask) ^ p.mark.value) >>> 0;
    if (m !== (f.mark ?? 0)) changed = true;
    u.mark = m;
  }
  if (p.options.has("status")) {
    const old = statusBits(f.status ?? []);
    const want = [...new Set([...(f.status ?? []), ...p.statusSet])].filter((s) => ["EXPECTED", "SEEN_REPLY", "ASSURED", "FIXED_TIMEOUT", "OFFLOAD", "HW_OFFLOAD"].includes(s));
    if ((statusBits(want) | old) !== old) changed = true;
    u.status = want;
  }
  if (p.timeout !== undefined) {
    if (p.timeout !== f.timeout) changed = true;
    u.timeout = p.timeout;
  }
  const st = p.pvals.state as string | undefined;
  if (st !== undefined) {
    if (f.tcp && f.tcp.state !== st) changed = true, u.tcp = { state: st as never };
    if (f.sctp && f.sctp.state !== st) changed = true, u.sctp = { state: st as never };
  }
  if (p.options.has("label-add") || p.options.has("label-del")) {
    const had = f.labels ?? [];
    if (p.options.has("label-add")) {
      const add = labelBits(p.labelModify);
      if (add.some((b) => !had.includes(b))) changed = true;
      u.labels = add;
      u.labelsMask = add;
    } else if (f.labels !== undefined) {
      if (p.labelDelAll) {
        if (had.length) changed = true;
        u.labels = [];
      } else {
        const del = labelBits(p.labelModify);
        if (del.some((b) => had.includes(b))) changed = true;
        u.labels = [];
        u.labelsMask = del;
      }
    }
  }
  return changed ? u : undefined;
}

function cmdUpdate(p: Parsed, quiet = false): number {
  if (p.maskSrc && !p.src) throw paramError("Can't use --mask-src without --src");
  if (p.maskDst && !p.dst) throw paramError("Can't use --mask-dst without --dst");
  const print = printer(p, "update");
  let n = 0;
  try {
    const matches = Array.from(iterate(selection(p, false)));
    const c = ct();
    for (const f of matches) {
      const u = updated(p, f);
      if (!u) continue;
      try {
        c.update(u);
      } catch (e) {
        if (e instanceof NetlinkError && e.code === "ENOENT") continue; // vanished meanwhile
        if (e instanceof NetlinkError && e.code === "ENOSPC" && f.labels === undefined) continue; // no label storage
        throw e;
      }
      const now = c.get(key(f));
      if (!now) continue;
      if (!quiet) out.line(print(now));
      n++;
    }
  } catch (e) {
    out.flush();
    throw failed(e, CMD.UPDATE);
  }
  out.flush();
  if (quiet) return 0;
  summary(`${n} flow entries have been updated.`);
  return n === 0 ? OTHER_PROBLEM : 0;
}

/** -D: streams the matching entries, prints each (as conntrack does), deletes them in pipelined batches. */
function cmdDelete(p: Parsed, quiet = false): number {
  if (p.maskSrc && !p.src) throw paramError("Can't use --mask-src without --src");
  if (p.maskDst && !p.dst) throw paramError("Can't use --mask-dst without --dst");
  const print = printer(p, "delete");
  const sel = selection(p, true);
  const whole = Object.keys(sel.filter).length === 0 && !sel.extra;
  const progress = new Progress("deleted", whole ? () => ct().count() : undefined, quiet);
  let seen = 0;
  let deleted: number;
  try {
    // The library's streaming path: each matching entry's delete is copied from the dump
    // datagram and pipelined on a second socket; a flow is printed once its delete succeeded.
    const opts = {
      via: "dump" as const,
      where: sel.extra,
      onDeleted: (f: Flow) => {
        if (!quiet) out.line(print(f));
        progress.tick(++seen);
      },
    };
    if (!sel.extra) delete opts.where;
    deleted = (Object.keys(sel.filter).length ? ct().flush(sel.filter, opts) : ct().flushAll(opts)).deleted;
  } catch (e) {
    progress.done();
    out.flush();
    throw failed(e, CMD.DELETE);
  }
  progress.done();
  out.flush();
  if (quiet) return 0;
  summary(`${deleted} flow entries have been deleted.`);
  return deleted === 0 ? OTHER_PROBLEM : 0;
}

/** -F: the whole table, or (nfct extension) the entries a filter selects, through `flush()`. */
function cmdFlush(p: Parsed, quiet = false): number {
  const sel = selection(p, true);
  const onlyFamily = Object.keys(sel.filter).every((k) => k === "family") && !sel.extra;
  let n: number | undefined;
  try {
    if (onlyFamily && p.family) ct().flush({ family: p.family });
    else if (onlyFamily) ct().flushAll();
    else if (!sel.extra) n = ct().flush(sel.filter).deleted;
    else n = ct().deleteMany(Array.from(iterate(sel), key)).deleted; // collected first: one client
  } catch (e) {
    throw failed(e, CMD.FLUSH);
  }
  if (quiet) return 0;
  if (onlyFamily) summary("connection tracking table has been emptied.");
  else if (n === undefined) summary("the flow entries that match have been deleted in the kernel, which does not count them.");
  else summary(`${n} flow entries have been deleted.`);
  return 0;
}

function cmdCount(): number {
  let n: number;
  try {
    n = ct().count();
  } catch (e) {
    throw failed(e, CMD.COUNT);
  }
  out.line(String(n));
  out.flush();
  return 0;
}

function cmdStats(): number {
  try {
    for (const s of ct().stats()) {
      out.line(
        `cpu=${String(s.cpu).padEnd(4)}\tfound=${s.found} invalid=${s.invalid} insert=${s.insert} insert_failed=${s.insertFailed} ` +
          `drop=${s.drop} early_drop=${s.earlyDrop} error=${s.error} search_restart=${s.searchRestart} ` +
          `clash_resolve=${s.clashResolve} chaintoolong=${s.chainTooLong} `,
      );
    }
  } catch (e) {
    throw failed(e, CMD.STATS);
  }
  out.flush();
  return 0;
}

// ---------------------------------------------------------------------------------------------
// The expect table (conntrack.c EXP_* commands)

/** The netmask of `bits` (conntrack's `-I expect` takes a CIDR on --tuple-src/-s as the mask). */
function cidrMask(family: "ipv4" | "ipv6", bits: number): string {
  const n = family === "ipv4" ? 4 : 16;
  const b: number[] = [];
  for (let i = 0; i < n; i++) b.push(bits >= 8 * (i + 1) ? 255 : bits <= 8 * i ? 0 : (0xff << (8 - (bits - 8 * i))) & 0xff);
  if (family === "ipv4") return b.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
  return groups.join(":");
}

/** The layer-4 part of a tuple from two protocol options (ports, or GRE keys). */
function tupleL4(p: Parsed, src: string, dst: string): Partial<Tuple> {
  const num = p.proto!.num, s = p.pvals[src] as number | undefined, d = p.pvals[dst] as number | undefined;
  const t: Partial<Tuple> = {};
  if (num === 47) {
    if (s !== undefined) t.srcKey = s;
    if (d !== undefined) t.dstKey = d;
  } else if ([6, 17, 136, 132, 33].includes(num)) {
    if (s !== undefined) t.sport = s;
    if (d !== undefined) t.dport = d;
  }
  return t;
}

/** -G/-D expect: the expectation's own tuple, given by -s/-d/-p and the original ports. */
function expectKey(p: Parsed): { family: "ipv4" | "ipv6"; proto: Proto; tuple: Tuple } {
  return { family: p.family ?? "ipv4", proto: protoOf(p), tuple: { src: p.src!.addr, dst: p.dst!.addr, ...tupleL4(p, "sport", "dport") } };
}

function expectPrinter(p: Parsed): (e: Expectation, event?: "new" | "destroy") => string {
  const o = p.output;
  if (o.has("json")) return (e) => JSON.stringify(e, jsonReplacer);
  // conntrack honours only xml and timestamp for expectations.
  return (e, event) => formatExpect(e, { xml: o.has("xml"), timestamp: o.has("timestamp"), event, now: wallClockMs() });
}

function cmdListExpect(p: Parsed): number {
  const print = expectPrinter(p);
  const xml = p.output.has("xml");
  let n = 0;
  try {
    // conntrack asks for AF_INET unless -f says otherwise: IPv6 expectations need -f ipv6.
    for (const e of ct().dumpExpect({ family: p.family ?? "ipv4" })) {
      if (xml && n === 0) out.line(EXPECT_XML_HEADER);
      out.line(print(e));
      n++;
    }
  } catch (e) {
    out.flush();
    throw failed(e, CMD.LIST, true);
  }
  if (xml && n > 0) out.line(EXPECT_XML_FOOTER);
  out.flush();
  summary(`${n} expectations have been shown.`);
  return 0;
}

function cmdGetExpect(p: Parsed): number {
  let e: Expectation | undefined;
  try {
    e = ct().getExpect(expectKey(p));
  } catch (err) {
    throw failed(err, CMD.GET, true);
  }
  if (!e) throw otherError(`Operation failed: ${err2str("ENOENT", CMD.GET, true)}`);
  out.line(expectPrinter(p)(e)); // -G expect takes no -o
  out.flush();
  return 0; // conntrack prints no summary for -G expect
}

function cmdDeleteExpect(p: Parsed, quiet = false): number {
  try {
    ct().deleteExpect(expectKey(p));
  } catch (e) {
    throw failed(e, CMD.DELETE, true);
  }
  // conntrack 1.4.7 counts nothing here: after a successful delete it says "0 expectations have
  // been shown." and exits 1. nfct reports what happened.
  if (!quiet) summary("1 expectations have been deleted.");
  return 0;
}

function cmdCreateExpect(p: Parsed): number {
  const family = p.family ?? "ipv4";
  const proto = protoOf(p);
  const mask = (a: Addr | undefined, via: (Addr | undefined)[]): string => {
    if (a) return a.addr;
    const bits = via.find((x) => x?.bits !== undefined)?.bits;
    return cidrMask(family, bits ?? (family === "ipv4" ? 32 : 128));
  };
  try {
    ct().createExpect({
      family,
      proto,
      master: { proto, src: p.src!.addr, dst: p.dst!.addr, ...tupleL4(p, "sport", "dport") },
      // conntrack 1.4.7 puts a byte of --tuple-port-* in the expected tuple's protocol; nfct
      // uses -p for both tuples, as intended.
      tuple: { src: p.tupleSrc!.addr, dst: p.tupleDst!.addr, ...tupleL4(p, "tuple-port-src", "tuple-port-dst") },
      mask: { src: mask(p.maskSrc, [p.tupleSrc, p.src]), dst: mask(p.maskDst, [p.tupleDst, p.dst]), ...tupleL4(p, "mask-port-src", "mask-port-dst") },
      timeout: p.timeout,
    });
  } catch (e) {
    throw failed(e, CMD.CREATE, true);
  }
  return 0; // conntrack prints no summary for -I expect
}

function cmdFlushExpect(quiet = false): number {
  try {
    ct().flushExpect();
  } catch (e) {
    throw failed(e, CMD.FLUSH, true);
  }
  if (!quiet) summary("expectation table has been emptied.");
  return 0;
}

function cmdCountExpect(): number {
  let n = 0;
  try {
    for (const _ of ct().dumpExpect({ family: "ipv4" })) n++; // conntrack counts AF_INET only
  } catch (e) {
    throw failed(e, CMD.COUNT, true);
  }
  out.line(String(n));
  out.flush();
  return 0;
}

function cmdStatsExpect(): number {
  try {
    for (const s of ct().expectStats()) {
      out.line(`cpu=${String(s.cpu).padEnd(4)}\texpect_new=${s.new} expect_create=${s.create} expect_delete=${s.delete} `);
    }
  } catch (e) {
    throw failed(e, CMD.STATS, true);
  }
  out.flush();
  return 0;
}

// ---------------------------------------------------------------------------------------------
// -E: events

const ENOBUFS_WARNING = "WARNING: We have hit ENOBUFS! We are losing events.\n" +
  "This message means that the current netlink socket buffer size is too small.\n" +
  "Please, check --buffer-size in conntrack(8) manpage.\n";

/** conntrack.c get_progname(): the command owning netlink port `portId`, via /proc (cached). */
let lastOwner: { portId: number; inode: string; name: string | undefined } | undefined;
function progName(portId: number): string | undefined {
  let text: string;
  try {
    text = host.readTextFile("/proc/net/netlink");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n").slice(1)) {
    // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[1] !== "12" || Number(f[2]) !== portId) continue; // NETLINK_NETFILTER
    const inode = f[9];
    if (lastOwner?.portId === portId && lastOwner.inode === inode) return lastOwner.name;
    const owner = (pid: number): string | undefined => {
      let fds: string[];
      try {
        fds = host.readDir(`/proc/${pid}/fd`);
      } catch {
        return undefined;
      }
      for (const fd of fds) {
        try {
          if (host.readLink(`/proc/${pid}/fd/${fd}`) !== `socket:[${inode}]`) continue;
          return /^\d+ \(([^)]*)/.exec(host.readTextFile(`/proc/${pid}/stat`))?.[1];
        } catch { /* gone meanwhile */ }
      }
      return undefined;
    };
    // Many netlink users take their pid as port id; else search every process.
    let name = owner(portId);
    if (name === undefined) {
      for (const d of host.readDir("/proc")) {
        const pid = Number(d);
        if (!/^\d+$/.test(d) || pid <= 1 || pid === portId) continue;
        if ((name = owner(pid)) !== undefined) break;
      }
    }
    lastOwner = { portId, inode, name };
    return name;
  }
  return undefined;
}

/**
 * -E [expect]: prints each event as conntrack does (flushed at once) until SIGINT or SIGTERM,
 * then the XML footer (if a header was printed) and the summary, and exits 0.
 */
async function cmdEvent(p: Parsed): Promise<number> {
  const expect = p.table === "expect";
  const o = p.output;
  const flowTypes: EventType[] = ["new", "update", "destroy"];
  const types: EventType[] = expect ? ["expectNew", "expectDestroy"]
    : p.eventMask ? flowTypes.filter((t) => p.eventMask!.has(t as "new")) : flowTypes;
  const sel = expect ? undefined : selection(p, true);
  // conntrack's filter_mark() needs the mark in the message; events carry it only when set or changed.
  const extra = sel?.extra, markSet = p.mark !== undefined;
  let stream: EventStream;
  try {
    stream = ct().events({ types, filter: sel?.filter, receiveBufferSize: p.bufferSize });
  } catch (e) {
    if (e instanceof SyscallError) throw otherError("Can't open netlink socket");
    throw failed(e, CMD.EVENT, expect);
  }
  if (p.bufferSize !== undefined) {
    stderr(`NOTICE: Netlink socket buffer size has been set to ${stream.receiveBufferSize()} bytes.\n`);
  }
  const xml = o.has("xml");
  const json = o.has("json");
  const fmt: FormatOptions = {
    xml, save: o.has("save"), extended: o.has("extended"), id: o.has("id"), ktimestamp: o.has("ktimestamp"),
    timestamp: o.has("timestamp"), labels: labelMapLoaded(p) ? labelMap() : undefined,
  };
  const printExp = expectPrinter(p);
  let n = 0, header = false;
  const finish = () => {
    if (header) out.line(expect ? EXPECT_XML_FOOTER : XML_FOOTER);
    out.flush();
    summary(`${n} ${expect ? "expectation" : "flow"} events have been shown.`);
    stream.close();
    client?.close();
    host.exit(0);
  };
  host.onSignal("SIGINT", finish);
  host.onSignal("SIGTERM", finish);
  try {
    for await (const ev of stream) {
      if (ev.type === "overrun") {
        stderr(ENOBUFS_WARNING);
        continue;
      }
      if (ev.type === "resync") continue;
      let line: string;
      if ("expectation" in ev) {
        line = json ? JSON.stringify(ev, jsonReplacer) : printExp(ev.expectation, ev.type === "expectNew" ? "new" : "destroy");
      } else {
        if (extra && !extra(ev.flow)) continue;
        if (markSet && ev.flow.mark === undefined) continue;
        if (json) line = JSON.stringify({ ...ev, flow: flowToJSON(ev.flow) }, jsonReplacer);
        else {
          line = formatFlow(ev.flow, { ...fmt, event: ev.type, now: wallClockMs() });
          // conntrack.c event_cb(): an event a process caused names its netlink port (and program).
          if (ev.portId) {
            const prog = progName(ev.portId);
            line += ` [USERSPACE] portid=${ev.portId}${prog !== undefined ? ` progname=${prog}` : ""}`;
          }
        }
      }
      if (xml && !header) {
        out.line(expect ? EXPECT_XML_HEADER : XML_HEADER);
        header = true;
      }
      out.line(line);
      out.flush();
      n++;
    }
  } catch (e) {
    out.flush();
    if (e instanceof SyscallError) throw otherError(`failed to received netlink event: ${STRERROR[e.code] ?? e.code}`);
    throw failed(e, CMD.EVENT, expect);
  }
  finish();
  return 0;
}

const USAGE = `Command line interface for the connection tracking system (nfct ${VERSION}, conntrack-tools compatible)
Usage: ${PROG} [commands] [options]

Commands:
  -L [table] [options]		List conntrack table
  -G [table] parameters		Get conntrack
  -D [table] parameters		Delete conntrack entries (each is printed)
  -I [table] parameters		Create a conntrack
  -A [table] parameters		Add a conntrack (no error if it exists)
  -U [table] parameters		Update conntrack entries
  -E [table] [options]		Show events
  -F [table] [filters]		Flush table; with filters, delete what they select (kernel-side when possible)
  -C [table]			Show counter
  -S				Show statistics
  -R file|-			Run -I/-A/-U/-D/-F lines from a file (-o save output), or restore JSON lines (-o json)

Tables: conntrack, expect, dying, unconfirmed

Conntrack parameters and options:
  -n, --src-nat ip[:port]		source NAT ip
  -g, --dst-nat ip[:port]		destination NAT ip
  -j, --any-nat ip[:port]		source or destination NAT ip
  -m, --mark mark[/mask]		Set mark
  -c, --secmark secmark			Set selinux secmark
  -e, --event-mask eventmask		Event mask, eg. NEW,DESTROY
  -z, --zero 				Zero counters while listing
  -o, --output type[,...]		extended,id,ktimestamp,labels,timestamp,save,xml, or json
  -l, --label label[,...]		conntrack labels

Expectation parameters and options:
  --tuple-src ip	Source address in expect tuple
  --tuple-dst ip	Destination address in expect tuple
  (-s/-d: the master's addresses with -I expect; the expectation's own with -G/-D expect)

Updating parameters and options:
  --label-add label	Add label
  --label-del label	Delete label

Common parameters and options:
  -s, --src, --orig-src ip[/cidr]	Source address from original direction
  -d, --dst, --orig-dst ip[/cidr]	Destination address from original direction
  -r, --reply-src ip		Source address from reply direction
  -q, --reply-dst ip		Destination address from reply direction
  -p, --protonum proto		Layer 4 Protocol, eg. 'tcp'
  -f, --family proto		Layer 3 Protocol, eg. 'ipv6'
  -t, --timeout timeout		Set timeout
  -u, --status status		Set status, eg. ASSURED
  -w, --zone value		Set conntrack zone
  --orig-zone value		Set zone for original direction
  --reply-zone value		Set zone for reply direction
  -b, --buffer-size		Netlink socket buffer size
  --mask-src ip			Source mask address
  --mask-dst ip			Destination mask address

Protocol options after -p: tcp/udp/udplite/sctp/dccp --sport --dport --reply-port-src --reply-port-dst
  (tcp/sctp/dccp --state, sctp --orig-vtag --reply-vtag, dccp --role); icmp --icmp-type --icmp-code
  --icmp-id; icmpv6 --icmpv6-type --icmpv6-code --icmpv6-id; gre --srckey --dstkey --reply-key-src --reply-key-dst;
  -I expect: --tuple-port-src --tuple-port-dst --mask-port-src --mask-port-dst
`;

/** Runs one parsed command; returns the exit code. `quiet`: inside -R (no summaries). */
function run(p: Parsed, quiet = false): number | Promise<number> {
  if (p.bufferSize !== undefined && p.command !== CMD.EVENT) clientBuffer = p.bufferSize;
  if (p.table === "expect") {
    switch (p.command) {
      case CMD.LIST:
        return cmdListExpect(p);
      case CMD.GET:
        return cmdGetExpect(p);
      case CMD.DELETE:
        return cmdDeleteExpect(p, quiet);
      case CMD.CREATE:
        return cmdCreateExpect(p);
      case CMD.FLUSH:
        return cmdFlushExpect(quiet);
      case CMD.EVENT:
        return cmdEvent(p);
      case CMD.COUNT:
        return cmdCountExpect();
      case CMD.STATS:
        return cmdStatsExpect();
    }
  }
  switch (p.command) {
    case -1:
    case CMD.HELP:
      out.line(USAGE);
      out.flush();
      return 0;
    case CMD.VERSION:
      out.line(`${PROG} v${VERSION} (conntrack-tools compatible)`);
      out.flush();
      return 0;
    case CMD.LIST:
      return cmdList(p);
    case CMD.GET:
      return cmdGet(p);
    case CMD.CREATE:
    case CMD.ADD:
      return cmdCreate(p, quiet);
    case CMD.UPDATE:
      return cmdUpdate(p, quiet);
    case CMD.DELETE:
      return cmdDelete(p, quiet);
    case CMD.FLUSH:
      return cmdFlush(p, quiet);
    case CMD.EVENT:
      return cmdEvent(p);
    case CMD.COUNT:
      return cmdCount();
    case CMD.STATS:
      return cmdStats();
  }
  throw otherError("unknown command");
}

// ---------------------------------------------------------------------------------------------
// -R / --load-file

/** conntrack.c add_param_to_argv(): words, double quotes, backslash escapes inside quotes. */
function splitLine(line: string): string[] {
  const words: string[] = [];
  let cur = "", open = false, esc = false, has = false;
  for (const ch of line) {
    if (open) {
      if (esc) {
        cur += ch;
        esc = false;
      } else if (ch === "\\") esc = true;
      else if (ch === '"') open = false;
      else cur += ch;
      continue;
    }
    if (ch === '"') {
      open = true;
      has = true;
    } else if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r") {
      if (cur || has) words.push(cur);
      cur = "";
      has = false;
    } else cur += ch;
  }
  if (cur || has) words.push(cur);
  return words;
}

const FILE_OK = new Set<number>([CMD.CREATE, CMD.ADD, CMD.UPDATE, CMD.DELETE, CMD.FLUSH]);
const FILE_CMD_TEXT: Record<number, string> = {
  [CMD.LIST]: "-L", [CMD.GET]: "-G", [CMD.EVENT]: "-E", [CMD.VERSION]: "-V", [CMD.HELP]: "-h", [CMD.COUNT]: "-C", [CMD.STATS]: "-S",
};

/**
 * Parses every line first (a bad line stops everything before any change), then runs them in
 * order. Consecutive -I/-A lines are sent as one pipelined `createMany()`.
 */
function loadFile(name: string): number {
  let text: string;
  try {
    text = host.readTextFile(name === "-" ? "/dev/stdin" : name);
  } catch {
    throw paramError(`Failed to open file ${name === "-" ? "/dev/stdin" : name} for reading`);
  }
  // Lines are -I/-A/-U/-D/-F command lines (-o save output), or flows as JSON (a snapshot,
  // nfct -L -o json): those are created again as Conntrack.restore() does.
  const cmds: (Parsed | { json: Flow })[] = [];
  for (const [n, raw] of text.split("\n").entries()) {
    const line = raw.replace(/^[ \t]+/, "");
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("{")) {
      try {
        cmds.push({ json: flowFromJSON(JSON.parse(line)) });
      } catch (e) {
        throw paramError(`line ${n + 1}: not a flow: ${e instanceof Error ? e.message : String(e)}`);
      }
      continue;
    }
    cmds.push(parseArgs(splitLine(line)));
  }
  for (const c of cmds) {
    if ("json" in c) continue;
    if (!FILE_OK.has(c.command) || c.table !== "conntrack") {
      const t = c.table === "expect" ? `${FILE_CMD_TEXT[c.command] ?? "-" + Object.keys(CMD_LETTER)[c.command]} expect` : FILE_CMD_TEXT[c.command] ?? "unknown";
      throw paramError(`Cannot use command \`${t}' with --load-file`);
    }
  }
  const progress = new Progress("loaded", () => cmds.length, true);
  let done = 0;
  for (let i = 0; i < cmds.length;) {
    const c = cmds[i];
    if ("json" in c) {
      let j = i;
      while (j < cmds.length && "json" in cmds[j]) j++;
      const flows = cmds.slice(i, j).map((x) => (x as { json: Flow }).json);
      let res;
      try {
        res = ct().restore(flows);
      } catch (e) {
        progress.done();
        throw failed(e, CMD.CREATE);
      }
      if (res.failed.length) {
        progress.done();
        throw failed(res.failed[0].error, CMD.CREATE);
      }
      done += flows.length;
      progress.tick(done);
      i = j;
      continue;
    }
    if (c.command === CMD.CREATE || c.command === CMD.ADD) {
      let j = i;
      const isCreate = (x: Parsed | { json: Flow }) => !("json" in x) && (x.command === CMD.CREATE || x.command === CMD.ADD);
      while (j < cmds.length && isCreate(cmds[j])) j++;
      const group = cmds.slice(i, j) as Parsed[];
      const flows = group.map(newFlow);
      const lineOf = new Map(flows.map((f, k) => [f, group[k]]));
      let res;
      try {
        res = ct().createMany(flows);
      } catch (e) {
        progress.done();
        throw failed(e, CMD.CREATE);
      }
      for (const f of res.failed) {
        const line = lineOf.get(f.flow as never)!;
        if (line.command === CMD.ADD && f.error.code === "EEXIST") continue; // -A: already there
        progress.done();
        throw failed(f.error, line.command);
      }
      done += group.length;
      progress.tick(done - (done & 1023));
      i = j;
      continue;
    }
    try {
      run(c, true);
    } catch (e) {
      progress.done();
      throw failed(e, c.command);
    }
    i++;
    progress.tick(++done);
  }
  progress.done();
  return 0;
}

// ---------------------------------------------------------------------------------------------

/** The exit code of an error, after printing it as conntrack does. */
function report(e: unknown): number {
  out.flush();
  if (!(e instanceof CliExit)) {
    const x = failed(e, -1);
    stderr(PREFIX + x.message + "\n");
    return x.code;
  }
  stderr(PREFIX + e.message + "\n");
  if (e.code === PARAMETER_PROBLEM) stderr(`Try \`${PROG} -h' or '${PROG} --help' for more information.\n`);
  return e.code;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "metrics") return (await import("./cli/metrics.ts")).main(argv.slice(1), VERSION);
  const nfct = argv[0] !== undefined && !argv[0].startsWith("-") ? await import("./cli/nfct.ts") : undefined;
  if (nfct?.isNfctCommandLine(argv)) return nfct.main(argv, VERSION);
  try {
    if (argv.length > 1 && (argv[0] === "-R" || argv[0] === "--load-file")) return loadFile(argv[1]);
    return await run(parseArgs(argv));
  } catch (e) {
    return report(e);
  } finally {
    client?.close();
  }
}

host.exit(await main(host.args()));
