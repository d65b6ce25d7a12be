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
 * And nfct(8)'s `nfct timeout|helper ...` (cli/nfct/) and `nfct metrics` (cli/metrics.ts).
 *
 * Label names come from `/etc/xtables/connlabel.conf` (or the file `NFCT_CONNLABEL_CONF`
 * names), parsed like libnetfilter_conntrack does.
 *
 * Permissions: Deno needs `-A` (FFI); the kernel needs `CAP_NET_ADMIN` in the namespace.
 *
 * This file only runs `cli/main.ts`; the command line is parsed by `cli/parse.ts` (pure, unit
 * tested) and run by `cli/run.ts`.
 * @module
 */
import { main } from "./cli/main.ts";
import { host } from "./mod.ts";

host.exit(await main(host.args()));
