/**
 * Runs a command under `strace -f` and returns what it did: exit status, output, and the
 * traced system calls of the process and all its threads and children. For tests that prove
 * a command did NOT do something (open a netlink socket, enter a namespace).
 * @module
 */
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import process from "node:process";

/** What {@link traced} saw. */
export interface Traced {
  status: number | null;
  stdout: string;
  stderr: string;
  /** One line per traced call, as strace prints it (`socket(AF_NETLINK, …) = 3`). */
  calls: string[];
}

/** Runs `argv` in `cwd` (with `env`, default this process's) under `strace -f -qq -e trace=<syscalls>`. */
export function traced(
  argv: string[],
  o: { cwd: string; syscalls: string[]; env?: Record<string, string | undefined> },
): Traced {
  const out = `/tmp/nfct-strace-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    const r = spawnSync(
      "strace",
      ["-f", "-qq", "-e", `trace=${o.syscalls.join(",")}`, "-o", out, ...argv],
      { cwd: o.cwd, encoding: "utf8", env: o.env },
    );
    const calls = readFileSync(out, "utf8").split("\n").filter(Boolean);
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls };
  } finally {
    rmSync(out, { force: true });
  }
}
