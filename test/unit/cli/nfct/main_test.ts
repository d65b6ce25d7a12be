/**
 * Which command lines are nfct(8)'s (`nfct timeout ...`, `nfct helper ...`) rather than
 * conntrack(8)'s (cli/nfct/main.ts), and how a timeout policy prints (cli/nfct/timeout.ts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { isNfctCommandLine } from "../../../../cli/nfct/main.ts";
import { formatNfctTimeout } from "../../../../cli/nfct/timeout.ts";

test("isNfctCommandLine: nfct(8)'s words in either order and abbreviated; not conntrack's", () => {
  const yes = [
    ["timeout", "list"],
    ["list", "timeout"],
    ["l", "t"],
    ["helper"],
    ["add", "helper", "ftp", "inet", "tcp"],
    ["default-get", "timeout", "inet", "tcp"],
    ["flush", "x"],
    ["metrics"],
  ];
  for (const argv of yes) assert.ok(isNfctCommandLine(argv), argv.join(" "));
  const no = [[], ["-L"], ["-L", "timeout"], ["foo"], ["foo", "bar"], ["top"]];
  for (const argv of no) assert.ok(!isNfctCommandLine(argv), argv.join(" "));
});

test("formatNfctTimeout prints as nfct(8) 1.4.7: libnetfilter_cttimeout's state list, 0 for unset", () => {
  assert.equal(
    formatNfctTimeout({ name: "p1", family: "ipv4", proto: "udp", timeouts: { unreplied: 10 } }),
    ".p1 = {\n\t.l3proto = 2,\n\t.l4proto = 17,\n\t.policy = {\n\t\t.UNREPLIED = 10,\n" +
      "\t\t.REPLIED = 0,\n\t},\n};\n",
  );
  const gre = formatNfctTimeout({ family: "ipv6", proto: "gre", timeouts: {} });
  assert.ok(gre.startsWith("\t.l3proto = 10,\n\t.l4proto = 47,\n"), "no name for a default");
});
