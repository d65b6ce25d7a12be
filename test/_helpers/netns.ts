/**
 * Guards for kernel tests: they must run in a throwaway network namespace (scripts/test.mjs
 * starts one), never in the host's, whose conntrack table they would change.
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import process from "node:process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { assertThrowawayNetns as guardNetns } from "../../mod.ts";
import { waitFor } from "./wait.ts";

/**
 * Throws unless this process runs in a throwaway network namespace: one other than the one the
 * test runner started in (scripts/test.mjs and scripts/netns.mjs put theirs in `NFCT_HOST_NETNS`
 * and start the tests under `unshare -n`; without that variable the tests refuse to run), and
 * other than the initial namespace and pid 1's (the library's {@link guardNetns}, which also
 * protects the child scripts the tests start).
 */
export function assertThrowawayNetns(): void {
  const host = process.env.NFCT_HOST_NETNS;
  if (!host) {
    throw new Error(
      "Refusing to run kernel tests outside a throwaway network namespace: run them with `npm test` " +
        "(or `node scripts/netns.mjs deno test -A test/kernel/`)",
    );
  }
  let self: string;
  try {
    self = readlinkSync("/proc/self/ns/net");
  } catch (e) {
    throw new Error(
      `Cannot tell which network namespace this is (${String(e)}); refusing to touch conntrack`,
    );
  }
  if (self === host) {
    throw new Error(`Refusing to run kernel tests in the host's network namespace (${self})`);
  }
  guardNetns("run kernel tests");
}

/** Runs a shell command (inside the same namespace) and returns its stdout. */
export function sh(cmd: string): string {
  return execFileSync("sh", ["-c", cmd], { encoding: "utf8", maxBuffer: 512 << 20 });
}

/** Runs conntrack(8) with arguments; returns stdout. Throws on a non-zero exit. */
export function conntrackCli(args: string[]): string {
  return execFileSync("conntrack", args, {
    encoding: "utf8",
    maxBuffer: 512 << 20,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

let netnsSerial = 0;

/**
 * `ip netns add` a uniquely named namespace (inside the test's own throwaway namespace, whose
 * /run/netns it uses); returns its name, path and a remover to call in `finally`.
 */
export function addNetns(prefix: string): { name: string; path: string; remove(): void } {
  const name = `${prefix}-${process.pid}-${++netnsSerial}`;
  execFileSync("ip", ["netns", "add", name]);
  return {
    name,
    path: `/run/netns/${name}`,
    remove: () => {
      try {
        execFileSync("ip", ["netns", "del", name], { stdio: "ignore" });
      } catch { /* already gone */ }
    },
  };
}

/**
 * Makes this namespace track its loopback traffic: brings `lo` up, sets the given
 * `net.netfilter.nf_conntrack_*` sysctls (e.g. `{ acct: 1, timestamp: 1 }`), and loads nft table
 * `table` with an output chain whose rule uses conntrack (without one, no packet is tracked),
 * plus any `rules` given. Remove it with `nft delete table inet <table>`.
 */
export function trackLoopback(
  table: string,
  sysctls: Record<string, number> = {},
  rules: string[] = [],
): void {
  sh("ip link set lo up");
  const settings = Object.entries(sysctls).map(([k, v]) => `net.netfilter.nf_conntrack_${k}=${v}`);
  if (settings.length) sh(`sysctl -qw ${settings.join(" ")}`);
  sh(`nft -f - <<'EOF'
table inet ${table} {
  chain out {
    type filter hook output priority 0; policy accept;
    ct state new,established,related counter
${rules.map((r) => `    ${r}\n`).join("")}  }
}
EOF`);
}

/**
 * A `sleep` in a fresh network namespace of its own (`unshare -n`), for `seconds`; its pid names
 * that namespace. Resolves once the pid has left this namespace (unshare execs sleep in place);
 * kill `child` when done.
 */
export async function sleeperInOwnNetns(
  seconds = 120,
): Promise<{ pid: number; child: ChildProcess }> {
  const child = spawn("unshare", ["-n", "--", "sleep", String(seconds)], { stdio: "ignore" });
  const pid = child.pid!;
  const ours = readlinkSync("/proc/self/ns/net");
  const moved = () => {
    try {
      return readlinkSync(`/proc/${pid}/ns/net`) !== ours &&
        readlinkSync(`/proc/${pid}/exe`).endsWith("sleep");
    } catch {
      return false; // not there yet
    }
  };
  try {
    await waitFor(moved, `unshare -n (pid ${pid}) to be in its own namespace`, 30000, 10);
  } catch (e) {
    child.kill();
    throw e;
  }
  return { pid, child };
}

/**
 * The NETLINK_NETFILTER sockets of process `pid` that are subscribed to a multicast group (that
 * listen for events), with the bytes queued on each: its socket inodes (/proc/PID/fd) looked up
 * in its namespace's /proc/PID/net/netlink (columns sk, Eth, Pid, Groups, Rmem, …, Inode).
 * Empty when the process is gone or listens to nothing yet.
 */
export function eventSockets(pid: number): { queued: number }[] {
  let inodes: Set<string>, table: string;
  try {
    inodes = new Set(
      readdirSync(`/proc/${pid}/fd`).map((fd) => {
        try {
          return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? "";
        } catch {
          return ""; // closed meanwhile
        }
      }),
    );
    table = readFileSync(`/proc/${pid}/net/netlink`, "utf8");
  } catch {
    return [];
  }
  return table.split("\n").slice(1).map((l) => l.trim().split(/\s+/))
    .filter((c) =>
      c.length >= 10 && c[1] === "12" && Number.parseInt(c[3], 16) !== 0 && inodes.has(c[9])
    )
    .map((c) => ({ queued: Number(c[4]) }));
}
