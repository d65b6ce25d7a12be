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
import { Conntrack, type EventType, type Filter, type Flow, host, type ProtoName } from "../mod.ts";

function usage(msg: string): never {
  console.error(
    `watch.ts: ${msg}\nusage: watch.ts [--proto NAME] [--port N] [--resync] [--types new,update,destroy] [--all-netns] [--reliable]`,
  );
  host.exit(2);
}

const args = host.args();
let proto: ProtoName | undefined, port: number | undefined, resync = false, allNetns = false, reliable = false;
let types: EventType[] = ["new", "update", "destroy"];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--resync") resync = true;
  else if (a === "--all-netns") allNetns = true;
  else if (a === "--reliable") reliable = true;
  else if (a === "--proto") proto = (args[++i] ?? usage("--proto needs a name")) as ProtoName;
  else if (a === "--port") {
    port = Number(args[++i]);
    if (!Number.isInteger(port) || port < 0 || port > 65535) usage("--port needs 0..65535");
  } else if (a === "--types") types = (args[++i] ?? usage("--types needs a list")).split(",") as EventType[];
  else usage(`unknown argument ${a}`);
}
if (resync && allNetns) usage("--resync and --all-netns do not mix (a dump sees one namespace)");
if (port !== undefined && proto === undefined) usage("--port needs --proto (ports exist for tcp, udp, sctp, …)");

/** `tcp 10.0.0.1:40000 -> 10.0.0.2:443 ESTABLISHED` */
function summary(f: Flow): string {
  const ep = (addr: string, p?: number) => (p === undefined ? addr : addr.includes(":") ? `[${addr}]:${p}` : `${addr}:${p}`);
  const state = f.tcp?.state ?? f.sctp?.state ?? f.dccp?.state;
  const icmp = f.orig.type !== undefined ? ` type=${f.orig.type} code=${f.orig.code}` : "";
  return `${f.proto} ${ep(f.orig.src, f.orig.sport)} -> ${ep(f.orig.dst, f.orig.dport)}${icmp}` +
    `${state ? " " + state : ""}${f.mark ? ` mark=${f.mark}` : ""}${f.timeout !== undefined ? ` timeout=${f.timeout}` : ""}`;
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
console.error(`watch.ts: listening (${types.join(",")}${proto ? ` ${proto}` : ""}${port !== undefined ? ` port ${port}` : ""}); Ctrl-C stops`);
for await (const ev of stream) {
  switch (ev.type) {
    case "overrun":
      console.error(`watch.ts: the kernel dropped ${ev.lost ?? "some"} events (receive buffer full)${resync ? "; resyncing" : ""}`);
      break;
    case "resync":
      console.error(`watch.ts: resynced at ${time(ev.time)}: ${ev.flows.filter(wanted).length} flows in the table now`);
      break;
    case "new":
    case "update":
    case "destroy":
      if (!wanted(ev.flow)) break;
      seen++;
      console.log(`${ev.nsid !== undefined ? `[${ev.netnsName ?? `nsid ${ev.nsid}`}] ` : ""}${ev.type.padEnd(7)} ${summary(ev.flow)} portId=${ev.portId} time=${time(ev.time)}${ev.kernelTime ? " (kernel)" : ""}`);
      break;
  }
}
console.error(`watch.ts: ${seen} events`);
