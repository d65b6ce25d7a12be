/**
 * `nfct helper list|add|delete|get|disable|flush` (nfct(8)'s `nfct-extensions/helper.c`), on
 * the library's `Helpers`: conntrackd's userspace helpers.
 * @module
 */
import { type Helper, Helpers, host } from "../../mod.ts";
import { Fail, family, type Subcommand } from "./fail.ts";

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

/** A helper as nfct(8) prints it. */
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

/** Runs `nfct CMD helper ...`. */
export function helper(cmd: string, { a, perror, netlink, out, version }: Subcommand): void {
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
      if (!pol) return perror("that helper is not supported");
      return run((h) => {
        if (cmd === "disable") h.disable(a[3], fam, proto);
        else {
          h.add({
            name: a[3],
            family: fam,
            proto,
            policies: [{ name: a[3], expectMax: pol[0], expectTimeout: pol[1] }],
          });
        }
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
