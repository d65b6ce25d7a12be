/**
 * Long-running listeners in kernel tests (`nfct -E`, `conntrack -E`, examples/watch.ts): started
 * as child processes whose output is collected, stopped with a signal; and marker flows, made
 * and deleted, that show a listener is subscribed (or has seen everything before them).
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import type { Conntrack } from "../../mod.ts";
import { createFtpMaster, ftpExpectation } from "./ftp.ts";
import { ROOT } from "./run.ts";

/** A child process and what it printed so far. */
export interface Listener {
  name: string;
  args: string[];
  proc: ChildProcess;
  out: string;
  err: string;
  /** Its exit code. */
  done: Promise<number | null>;
}

/** Starts `argv` (in {@link ROOT}, NO_COLOR=1) and collects its stdout and stderr. */
export function listen(name: string, argv: string[]): Listener {
  const proc = spawn(argv[0], argv.slice(1), { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" } });
  const l: Listener = { name, args: argv, proc, out: "", err: "", done: undefined as never };
  proc.stdout!.setEncoding("utf8").on("data", (d: string) => (l.out += d));
  proc.stderr!.setEncoding("utf8").on("data", (d: string) => (l.err += d));
  l.done = new Promise((r) => proc.on("exit", (code) => r(code)));
  return l;
}

/**
 * Signals a listener. (Through process.kill: Deno's ChildProcess.kill() reports the child as
 * killed by the signal even when it handled it and exited 0.)
 */
export function stop(l: Listener, sig: string): void {
  process.kill(l.proc.pid!, sig);
}

/** A UDP flow `src` -> `dst` to port 53, mark 5, created and deleted. */
function blip(ct: Conntrack, src: string, dst: string, sport: number): void {
  const f = { proto: "udp" as const, orig: { src, dst, sport, dport: 53 }, timeout: 30, mark: 5 };
  ct.create(f);
  ct.delete(f);
}

/** A flow every listener shows (udp to port 53, mark 5), created and deleted: a marker. */
export function sentinel(ct: Conntrack, port: number): void {
  blip(ct, "10.255.255.1", "10.255.255.2", port);
}

/**
 * A marker for listeners of every kind: the flow of {@link sentinel}, the same in IPv6 (for
 * `-f ipv6`), and an expectation on an FTP master (for `expect`), all made and deleted.
 */
export function sentinelAll(ct: Conntrack, port: number): void {
  sentinel(ct, port);
  blip(ct, "fd00:ffff::1", "fd00:ffff::2", port);
  const m = {
    proto: "tcp" as const,
    src: "10.255.255.1",
    dst: "10.255.255.2",
    sport: port,
    dport: 21,
  };
  createFtpMaster(ct, m);
  ct.createExpect(ftpExpectation(m, port));
  ct.delete({ proto: "tcp", orig: m }); // and its expectation with it
}

/** Whether a printed line is about a marker. */
export const isSentinel = (line: string): boolean =>
  line.includes("10.255.255.") || line.includes("fd00:ffff::");

/** Whether the listener printed the marker of `port`. */
export const hasSentinel = (l: Listener, port: number): boolean =>
  l.out.split("\n").some((x) => isSentinel(x) && new RegExp(`[ =>]${port}[ <]`).test(x));
