#!/usr/bin/env -S deno run -A
/**
 * Live conntrack events, like `conntrack -E`, but typed: one line per event with its type, a
 * flow summary, the netlink port id of the process that caused it (0: a packet did) and the
 * time. Stops cleanly on Ctrl-C (SIGINT) or SIGTERM and prints how many events it saw.
 *
 *   deno run -A examples/watch.ts [--proto tcp|udp|…] [--port N] [--resync] [--types new,destroy]
 *                                 [--all-netns] [--reliable]
 *   bun examples/watch.ts --proto udp --port 53
 *   deno run -A examples/watch.ts --all-netns --types new,destroy   (every namespace at once)
 *   node scripts/netns.mjs deno run -A examples/watch.ts     (a throwaway namespace)
 *
 * `--port N` matches N as either the original source or destination port. `--resync`: after
 * the kernel dropped events (receive buffer full: `ENOBUFS`), take a fresh dump of the table
 * and say how many flows it holds, instead of carrying on with a stale picture.
 * Dropped events are always reported on stderr with their count. `--all-netns`: events of
 * every namespace that has an nsid here (named ones under /run/netns get one), each line
 * prefixed with `[name]` or `[nsid N]` (no prefix: this namespace). `--reliable`: destroy events
 * are never dropped (the kernel holds entries until this process took their event).
 *
 * Needs CAP_NET_ADMIN in the network namespace (root, or `unshare -rn` for a throwaway one);
 * Deno needs -A (FFI).
 */
import {
  Conntrack,
  type EventType,
  type Filter,
  type Flow,
  formatEndpoint,
  host,
  type ProtoName,
} from "../mod.ts";
import { exampleArgs, usageError } from "./_args.ts";

const USAGE =
  `usage: watch.ts [--proto NAME] [--port N] [--resync] [--types new,update,destroy] [--all-netns]
                [--reliable]

Prints conntrack events as they happen, one line each, until Ctrl-C (SIGINT) or SIGTERM.
  --proto NAME     only this protocol (tcp, udp, sctp, …)
  --port N         only flows with N as original source or destination port (needs --proto)
  --types LIST     event types, comma-separated (default new,update,destroy)
  --resync         after dropped events, dump the table afresh and say how many flows it holds
  --all-netns      events of every namespace with an nsid here (not with --resync)
  --reliable       destroy events are never dropped
`;
const usage = (msg: string): never => usageError(USAGE, msg);

const args = exampleArgs(USAGE, {
  flags: ["--resync", "--all-netns", "--reliable"],
  values: ["--proto", "--port", "--types"],
});
const resync = args.flags.has("--resync"), allNetns = args.flags.has("--all-netns");
const reliable = args.flags.has("--reliable");
const proto = args.values.get("--proto") as ProtoName | undefined;
let port: number | undefined;
if (args.values.has("--port")) {
  port = Number(args.values.get("--port"));
  if (!Number.isInteger(port) || port < 0 || port > 65535) usage("--port needs 0..65535");
}
const types = (args.values.get("--types") ?? "new,update,destroy").split(",") as EventType[];
if (resync && allNetns) {
  usage("--resync and --all-netns do not mix (a dump sees one namespace)");
}
if (port !== undefined && proto === undefined) {
  usage("--port needs --proto (ports exist for tcp, udp, sctp, …)");
}

/** `tcp 10.0.0.1:40000 -> 10.0.0.2:443 ESTABLISHED` */
function summary(f: Flow): string {
  const state = f.tcp?.state ?? f.sctp?.state ?? f.dccp?.state;
  const icmp = f.orig.type !== undefined ? ` type=${f.orig.type} code=${f.orig.code}` : "";
  return `${f.proto} ${formatEndpoint(f.orig.src, f.orig.sport)} -> ${
    formatEndpoint(f.orig.dst, f.orig.dport)
  }${icmp}` +
    `${state ? " " + state : ""}${f.mark ? ` mark=${f.mark}` : ""}${
      f.timeout !== undefined ? ` timeout=${f.timeout}` : ""
    }`;
}

function time(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString();
}

// The kernel filter takes one port per field: with --port, listen to the protocol and match
// either port here.
const filter: Filter = proto ? { proto } : {};
const wanted = (f: Flow) => port === undefined || f.orig.sport === port || f.orig.dport === port;

using ct = Conntrack.open();
const ac = new AbortController();
let seen = 0;
const stop = () => ac.abort();
host.onSignal("SIGINT", stop);
host.onSignal("SIGTERM", stop);

const stream = ct.events({ types, filter, resync, signal: ac.signal, allNetns, reliable });
console.error(
  `watch.ts: listening (${types.join(",")}${proto ? ` ${proto}` : ""}${
    port !== undefined ? ` port ${port}` : ""
  }); Ctrl-C stops`,
);
for await (const ev of stream) {
  switch (ev.type) {
    case "overrun":
      console.error(
        `watch.ts: the kernel dropped ${ev.lost ?? "some"} events (receive buffer full)${
          resync ? "; resyncing" : ""
        }`,
      );
      break;
    case "resync":
      console.error(
        `watch.ts: resynced at ${time(ev.time)}: ${
          ev.flows.filter(wanted).length
        } flows in the table now`,
      );
      break;
    case "new":
    case "update":
    case "destroy":
      if (!wanted(ev.flow)) break;
      seen++;
      console.log(
        `${ev.nsid !== undefined ? `[${ev.netnsName ?? `nsid ${ev.nsid}`}] ` : ""}${
          ev.type.padEnd(7)
        } ${summary(ev.flow)} portId=${ev.portId} time=${time(ev.time)}${
          ev.kernelTime ? " (kernel)" : ""
        }`,
      );
      break;
  }
}
console.error(`watch.ts: ${seen} events`);
