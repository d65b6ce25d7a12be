/**
 * The process around nfct, the same on Deno and Bun: arguments, environment, exit, reading
 * text files, synchronous writes to standard output and error, terminal checks and signals.
 *
 * Why not `node:process` and `node:fs`, which both runtimes have: on Deno the first `node:`
 * import starts Node compatibility, a start-up cost paid on every run of a one-shot command
 * (bench/ measures start-up). On Bun the `node:` modules are native, but the first `node:fs`
 * or `node:tty` still costs milliseconds: standard output and error are written with libc's
 * `write(2)` there, and terminals checked with `isatty(3)` (the commands open libc anyway);
 * `node:fs` serves only file reads.
 *
 * Errors keep the runtime's own error, which carries the errno name as `code` on both
 * (`ENOENT`, `EPIPE`, `EAGAIN`, …).
 * @module
 */
import { POLLOUT } from "./libc.ts";
import { isatty, pollOne, runtime, writeFd } from "./syscalls.ts";

interface DenoHost {
  args: string[];
  exit(code: number): never;
  env: { get(name: string): string | undefined };
  readTextFileSync(path: string): string;
  readDirSync(path: string): Iterable<{ name: string }>;
  readLinkSync(path: string): string;
  stdin: { isTerminal(): boolean };
  stdout: { isTerminal(): boolean; writeSync(b: Uint8Array): number };
  stderr: { isTerminal(): boolean; writeSync(b: Uint8Array): number };
  addSignalListener(sig: string, fn: () => void): void;
  removeSignalListener(sig: string, fn: () => void): void;
}
interface NodeProcess {
  argv: string[];
  env: Record<string, string | undefined>;
  exit(code: number): never;
  on(sig: string, fn: () => void): void;
  off(sig: string, fn: () => void): void;
}
interface NodeFs {
  readFileSync(path: string, enc: "utf8"): string;
  readdirSync(path: string): string[];
  readlinkSync(path: string): string;
}

const deno = () => (globalThis as unknown as { Deno: DenoHost }).Deno;
const proc = () => (globalThis as unknown as { process: NodeProcess }).process;
let fs: NodeFs | undefined;
/** Bun's `node:fs`, loaded synchronously on first use (never on Deno). */
const nodeFs =
  () => (fs ??= (import.meta as unknown as { require(id: string): NodeFs }).require("node:fs"));

/** The command-line arguments after the script name. */
export function args(): string[] {
  return runtime() === "deno" ? deno().args : proc().argv.slice(2);
}

/** An environment variable, or `undefined` (also when Deno may not read the environment). */
export function env(name: string): string | undefined {
  if (runtime() !== "deno") return proc().env[name];
  try {
    return deno().env.get(name);
  } catch {
    return undefined;
  }
}

/** Ends the process with `code`. */
export function exit(code: number): never {
  return runtime() === "deno" ? deno().exit(code) : proc().exit(code);
}

/** Whether fd 0, 1 or 2 is a terminal. */
export function isTerminal(fd: 0 | 1 | 2): boolean {
  if (runtime() === "deno") {
    const d = deno();
    return (fd === 0 ? d.stdin : fd === 1 ? d.stdout : d.stderr).isTerminal();
  }
  // Not node:tty, which loads Bun's stream modules (~20 ms): libc, which the commands open anyway.
  return isatty(fd);
}

/** A whole file as UTF-8 text. */
export function readTextFile(path: string): string {
  return runtime() === "deno" ? deno().readTextFileSync(path) : nodeFs().readFileSync(path, "utf8");
}

/** The names in a directory. */
export function readDir(path: string): string[] {
  return runtime() === "deno"
    ? Array.from(deno().readDirSync(path), (e) => e.name)
    : nodeFs().readdirSync(path);
}

/** The target of a symbolic link. */
export function readLink(path: string): string {
  return runtime() === "deno" ? deno().readLinkSync(path) : nodeFs().readlinkSync(path);
}

/**
 * Writes all of `bytes` to fd 1 or 2, synchronously (on a full non-blocking pipe it waits until
 * the reader makes room). Throws otherwise an error whose `code` names the errno (Deno's own
 * error; on Bun a `SyscallError` from `write(2)`), e.g. `EPIPE` when the reader left.
 */
export function writeAll(fd: 1 | 2, bytes: Uint8Array): void {
  const write = runtime() === "deno"
    ? (fd === 1 ? deno().stdout : deno().stderr).writeSync.bind(
      fd === 1 ? deno().stdout : deno().stderr,
    )
    : (b: Uint8Array) => writeFd(fd, b);
  let off = 0;
  while (off < bytes.length) {
    try {
      off += write(bytes.subarray(off));
    } catch (e) {
      if ((e as { code?: string }).code !== "EAGAIN") throw e;
      try {
        pollOne(fd, POLLOUT, 100);
      } catch { /* no FFI here (Deno without --allow-ffi): retry at once */ }
    }
  }
}

const encoder = new TextEncoder();
/** {@link writeAll} of a string, UTF-8 encoded. */
export function writeText(fd: 1 | 2, text: string): void {
  writeAll(fd, encoder.encode(text));
}

/** Calls `fn` on each `signal` until the returned function is called. */
export function onSignal(signal: "SIGINT" | "SIGTERM", fn: () => void): () => void {
  if (runtime() === "deno") {
    deno().addSignalListener(signal, fn);
    return () => deno().removeSignalListener(signal, fn);
  }
  proc().on(signal, fn);
  return () => proc().off(signal, fn);
}
