/**
 * Kernel settings under `/proc/sys` (sysctl(8)), read and written as text, the same on Deno and
 * Bun. Network settings (`net.*`) are those of the calling process's network namespace.
 * @module
 */
import { readTextFile } from "./host.ts";
import { runtime } from "./syscalls.ts";

/** `net.netfilter.nf_conntrack_acct` → `/proc/sys/net/netfilter/nf_conntrack_acct`. */
function sysctlPath(name: string): string {
  if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/.test(name)) {
    throw new TypeError(
      `Invalid sysctl name ${JSON.stringify(name)}: expected e.g. net.netfilter.nf_conntrack_acct`,
    );
  }
  return `/proc/sys/${name.replaceAll(".", "/")}`;
}

/**
 * A sysctl's value with surrounding white space removed, e.g.
 * `readSysctl("net.netfilter.nf_conntrack_acct")` → `"0"`; `undefined` when it does not exist
 * (e.g. `nf_conntrack` is not loaded) or cannot be read.
 * @throws {TypeError} on a malformed name.
 */
export function readSysctl(name: string): string | undefined {
  const path = sysctlPath(name);
  try {
    return readTextFile(path).trim();
  } catch {
    return undefined;
  }
}

/**
 * Sets a sysctl, like `sysctl -w name=value`. Needs the privilege the setting asks for (for
 * `net.netfilter.*`: root in the network namespace's owning user namespace).
 * @throws {TypeError} on a malformed name; the runtime's error otherwise, with `code` `EACCES`,
 * `EPERM`, `ENOENT` or `EINVAL` (a value the kernel refuses).
 */
export function writeSysctl(name: string, value: string): void {
  const path = sysctlPath(name);
  if (runtime() === "deno") {
    const D = (globalThis as unknown as {
      Deno: { writeTextFileSync(p: string, s: string, o: { create: boolean }): void };
    }).Deno;
    D.writeTextFileSync(path, value, { create: false });
    return;
  }
  const fs = (import.meta as unknown as {
    require(id: string): { writeFileSync(p: string, s: string, o: { flag: string }): void };
  }).require("node:fs");
  fs.writeFileSync(path, value, { flag: "r+" });
}
