/**
 * `nfct timeout list|add|delete|get|flush|default-set|default-get` (nfct(8)'s
 * `nfct-extensions/timeout.c`), on the library's `Timeouts`.
 * @module
 */
import {
  host,
  NetlinkError,
  TIMEOUT_PROTO_NUMBERS,
  TIMEOUT_STATES,
  type TimeoutPolicy,
  type TimeoutProto,
  Timeouts,
} from "../../mod.ts";
import { readEtcProtocols } from "../etc_protocols.ts";
import { Fail, family, type Perror, type Subcommand } from "./fail.ts";

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

/** nfct's l4 protocol: getprotobyname(), then `icmpv6` and `generic`; the tracker it maps to. */
function l4proto(arg: string, perror: Perror): { proto: TimeoutProto | undefined; number: number } {
  let n = readEtcProtocols().get(arg);
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

/** Runs `nfct CMD timeout ...`. */
export function timeout(cmd: string, { a, perror, netlink, out, version }: Subcommand): void {
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
