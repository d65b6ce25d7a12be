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

/** What {@link fileOwner} reports of a path. */
export interface FileOwner {
  /** Owner's user id. */
  uid: number;
  /** Permission bits (`0o755`). */
  perm: number;
  /** A directory (not a symbolic link to one). */
  dir: boolean;
}

interface StatLike {
  uid: number | null;
  mode: number | null;
  isDirectory: boolean | (() => boolean);
  isSymlink?: boolean;
  isSymbolicLink?: () => boolean;
}

/**
 * Owner and permissions of `path` itself (a final symbolic link is not followed), or undefined
 * when it does not exist or cannot be looked at.
 */
export function fileOwner(path: string): FileOwner | undefined {
  let st: StatLike;
  try {
    st = runtime() === "deno"
      ? (globalThis as unknown as { Deno: { lstatSync(p: string): StatLike } }).Deno.lstatSync(path)
      : (import.meta as unknown as { require(id: string): { lstatSync(p: string): StatLike } })
        .require("node:fs").lstatSync(path);
  } catch {
    return undefined;
  }
  if (st.uid === null || st.mode === null) return undefined;
  const link = typeof st.isSymbolicLink === "function"
    ? st.isSymbolicLink()
    : st.isSymlink === true;
  const dir = !link && (typeof st.isDirectory === "function" ? st.isDirectory() : st.isDirectory);
  return { uid: st.uid, perm: st.mode & 0o7777, dir };
}

/** Creates directory `path` with permissions `mode` (parents must exist); no error if it exists. */
export function makeDir(path: string, mode: number): void {
  try {
    if (runtime() === "deno") {
      (globalThis as unknown as { Deno: { mkdirSync(p: string, o: { mode: number }): void } }).Deno
        .mkdirSync(path, { mode });
    } else {
      (import.meta as unknown as {
        require(id: string): { mkdirSync(p: string, o: { mode: number }): void };
      })
        .require("node:fs").mkdirSync(path, { mode });
    }
  } catch (e) {
    if (
      (e as { code?: string }).code !== "EEXIST" &&
      !(e instanceof Error && e.name === "AlreadyExists")
    ) throw e;
  }
}
