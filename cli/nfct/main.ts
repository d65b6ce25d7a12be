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
import { host, NetlinkError, NO_CTHELPER_HINT, SyscallError } from "../../mod.ts";
import { STRERROR } from "../errors.ts";
import { Fail } from "./fail.ts";
import { helper } from "./helper.ts";
import { timeout } from "./timeout.ts";

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
        err(`${prefix}netlink error: ${STRERROR[e.code] ?? e.message}\n`);
        if (e instanceof NetlinkError && e.message.includes(NO_CTHELPER_HINT)) {
          err(`${prefix}${NO_CTHELPER_HINT}\n`);
        }
        throw new Fail();
      }
      if (e instanceof TypeError || e instanceof RangeError) perror(e.message);
      throw e;
    };
    const sub = { a, perror, netlink, out, version };
    if (name === "timeout") timeout(CMDS[cmd], sub);
    else helper(CMDS[cmd], sub);
    if (out.length) host.writeText(1, out.join(""));
    return 0;
  } catch (e) {
    if (out.length) host.writeText(1, out.join(""));
    if (e instanceof Fail) return 1;
    throw e;
  }
}
