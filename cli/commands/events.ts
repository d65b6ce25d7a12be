/**
 * `-E [expect]`: events as conntrack prints them, until SIGINT or SIGTERM.
 * @module
 */
import {
  type EventStream,
  type EventType,
  EXPECT_XML_FOOTER,
  EXPECT_XML_HEADER,
  formatFlow,
  type FormatOptions,
  host,
  SyscallError,
  XML_FOOTER,
  XML_HEADER,
} from "../../mod.ts";
import type { Args } from "../command.ts";
import type { CliContext } from "../context.ts";
import { failed, otherError, STRERROR } from "../errors.ts";
import { eventLine } from "../json.ts";
import { expectPrinter, wallClockMs } from "../print.ts";
import { checkMasks, selection } from "../selection.ts";
import type { EventMaskType } from "../values.ts";

const ENOBUFS_WARNING = "WARNING: We have hit ENOBUFS! We are losing events.\n" +
  "This message means that the current netlink socket buffer size is too small.\n" +
  "Please, check --buffer-size in conntrack(8) manpage.\n";

/** The command owning a netlink socket's inode, by the sockets in /proc/PID/fd. */
function owner(pid: number, inode: string): string | undefined {
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
}

/** conntrack.c get_progname(): the command owning a netlink port, via /proc (the last one cached). */
class ProgNames {
  #last: { portId: number; inode: string; name: string | undefined } | undefined;

  /** The name of the process whose NETLINK_NETFILTER socket has port `portId`, if found. */
  of(portId: number): string | undefined {
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
      if (this.#last?.portId === portId && this.#last.inode === inode) return this.#last.name;
      // Many netlink users take their pid as port id; else search every process.
      let name = owner(portId, inode);
      if (name === undefined) {
        for (const d of host.readDir("/proc")) {
          const pid = Number(d);
          if (!/^\d+$/.test(d) || pid <= 1 || pid === portId) continue;
          if ((name = owner(pid, inode)) !== undefined) break;
        }
      }
      this.#last = { portId, inode, name };
      return name;
    }
    return undefined;
  }
}

/**
 * -E [expect]: prints each event as conntrack does (flushed at once) until SIGINT or SIGTERM,
 * then the XML footer (if a header was printed) and the summary, and exits 0.
 */
export async function events(ctx: CliContext, args: Args, expect: boolean): Promise<number> {
  if (!expect) checkMasks(args);
  const out = ctx.out;
  const o = args.output;
  const flowTypes: readonly EventMaskType[] = ["new", "update", "destroy"];
  const mask = args.eventMask;
  const types: EventType[] = expect
    ? ["expectNew", "expectDestroy"]
    : flowTypes.filter((t) => !mask || mask.has(t));
  const sel = expect ? undefined : selection(args, true);
  // conntrack's filter_mark() needs the mark in the message; events carry it only when set or changed.
  const markSet = args.mark !== undefined;
  let stream: EventStream;
  try {
    stream = ctx.ct().events({ types, filter: sel?.filter, receiveBufferSize: args.bufferSize });
  } catch (e) {
    if (e instanceof SyscallError) throw otherError("Can't open netlink socket");
    throw failed(e, "event", expect);
  }
  if (args.bufferSize !== undefined) {
    out.err(
      `NOTICE: Netlink socket buffer size has been set to ${stream.receiveBufferSize()} bytes.\n`,
    );
  }
  const xml = o.has("xml");
  const json = o.has("json");
  const fmt: FormatOptions = {
    xml,
    save: o.has("save"),
    extended: o.has("extended"),
    id: o.has("id"),
    ktimestamp: o.has("ktimestamp"),
    timestamp: o.has("timestamp"),
    labels: ctx.shownLabels(args),
  };
  const printExp = expectPrinter(args);
  const progNames = new ProgNames();
  let n = 0, header = false;
  const finish = () => {
    if (header) out.line(expect ? EXPECT_XML_FOOTER : XML_FOOTER);
    out.flush();
    out.summary(`${n} ${expect ? "expectation" : "flow"} events have been shown.`);
    stream.close();
    ctx.close();
    host.exit(0);
  };
  host.onSignal("SIGINT", finish);
  host.onSignal("SIGTERM", finish);
  try {
    for await (const ev of stream) {
      if (ev.type === "overrun") {
        out.err(ENOBUFS_WARNING);
        continue;
      }
      if (ev.type === "resync") continue;
      let line: string;
      if ("flow" in ev && markSet && ev.flow.mark === undefined) continue;
      if (json) line = eventLine(ev);
      else if ("expectation" in ev) {
        line = printExp(ev.expectation, ev.type === "expectNew" ? "new" : "destroy");
      } else {
        line = formatFlow(ev.flow, { ...fmt, event: ev.type, now: wallClockMs() });
        // conntrack.c event_cb(): an event a process caused names its netlink port (and program).
        if (ev.portId) {
          const prog = progNames.of(ev.portId);
          line += ` [USERSPACE] portid=${ev.portId}${
            prog !== undefined ? ` progname=${prog}` : ""
          }`;
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
    if (e instanceof SyscallError) {
      throw otherError(`failed to received netlink event: ${STRERROR[e.code] ?? e.code}`);
    }
    throw failed(e, "event", expect);
  }
  finish();
  return 0;
}
