/**
 * Writing whole files, the same on Deno and Bun.
 * @module
 */
import { runtime } from "./syscalls.ts";

interface DenoFs {
  writeTextFileSync(path: string, data: string, o?: { mode?: number }): void;
  renameSync(from: string, to: string): void;
  removeSync(path: string): void;
  pid: number;
}
interface NodeFs {
  writeFileSync(path: string, data: string, o?: { mode?: number }): void;
  renameSync(from: string, to: string): void;
  rmSync(path: string, o?: { force?: boolean }): void;
}

/**
 * Replaces `path` with `text` atomically: writes `PATH.tmp.PID` beside it, then renames it over
 * `path` (same directory, so the same file system), so a reader (node_exporter's textfile
 * collector) sees the old file or the new one, never half of one. Mode 0644.
 */
export function writeFileAtomic(path: string, text: string): void {
  if (runtime() === "deno") {
    const D = (globalThis as unknown as { Deno: DenoFs }).Deno;
    const tmp = `${path}.tmp.${D.pid}`;
    try {
      D.writeTextFileSync(tmp, text, { mode: 0o644 });
      D.renameSync(tmp, path);
    } catch (e) {
      try {
        D.removeSync(tmp);
      } catch { /* not created */ }
      throw e;
    }
    return;
  }
  const fs = (import.meta as unknown as { require(id: string): NodeFs }).require("node:fs");
  const pid = (globalThis as unknown as { process: { pid: number } }).process.pid;
  const tmp = `${path}.tmp.${pid}`;
  try {
    fs.writeFileSync(tmp, text, { mode: 0o644 });
    fs.renameSync(tmp, path);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
