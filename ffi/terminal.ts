/**
 * The terminal a full-screen view draws on, the same on Deno and Bun: its size, raw keyboard
 * input and the resize and hang-up signals. Standard output and input must be the terminal
 * (check with `host.isTerminal(1)` and `host.isTerminal(0)` first).
 * @module
 */
import { runtime } from "./syscalls.ts";

/** Signals a terminal program reacts to: window resized, terminal gone. */
export type TerminalSignal = "SIGWINCH" | "SIGHUP";

interface DenoTty {
  consoleSize(): { columns: number; rows: number };
  stdin: {
    setRaw(on: boolean): void;
    read(b: Uint8Array): Promise<number | null>;
  };
  addSignalListener(sig: string, fn: () => void): void;
  removeSignalListener(sig: string, fn: () => void): void;
}
interface NodeTty {
  stdout: { columns?: number; rows?: number };
  stdin: {
    setRawMode(on: boolean): void;
    on(ev: "data", fn: (b: Uint8Array) => void): void;
    off(ev: "data", fn: (b: Uint8Array) => void): void;
    resume(): void;
    pause(): void;
  };
  on(sig: string, fn: () => void): void;
  off(sig: string, fn: () => void): void;
}

const deno = () => (globalThis as unknown as { Deno: DenoTty }).Deno;
const proc = () => (globalThis as unknown as { process: NodeTty }).process;

/**
 * The terminal's size in character cells, read afresh on each call (it changes on resize).
 * 80×24 when standard output is not a terminal.
 */
export function size(): { columns: number; rows: number } {
  if (runtime() === "deno") {
    try {
      return deno().consoleSize();
    } catch {
      return { columns: 80, rows: 24 };
    }
  }
  const out = proc().stdout;
  return { columns: out.columns || 80, rows: out.rows || 24 };
}

/**
 * Switches standard input's raw mode on or off: on, each key arrives at once and unechoed, and
 * Ctrl-C arrives as byte 3 instead of raising SIGINT.
 * @throws the runtime's error when standard input is not a terminal.
 */
export function setRaw(on: boolean): void {
  if (runtime() === "deno") deno().stdin.setRaw(on);
  else proc().stdin.setRawMode(on);
}

/**
 * Calls `onKeys` with the bytes of each read from standard input (a key, or an escape sequence
 * such as an arrow key's `ESC [ A`) until the returned function is called. On Deno a read
 * already waiting then stays pending until the next key or the process's exit (Deno cannot
 * cancel it): exit the process when done.
 */
export function readKeys(onKeys: (bytes: Uint8Array) => void): () => void {
  let stopped = false;
  if (runtime() === "deno") {
    const buf = new Uint8Array(64);
    (async () => {
      while (!stopped) {
        const n = await deno().stdin.read(buf);
        if (n === null || stopped) break;
        onKeys(buf.slice(0, n));
      }
    })().catch(() => {/* standard input closed: no more keys */});
    return () => {
      stopped = true;
    };
  }
  const stdin = proc().stdin;
  const fn = (b: Uint8Array) => {
    if (!stopped) onKeys(new Uint8Array(b));
  };
  stdin.on("data", fn);
  stdin.resume();
  return () => {
    stopped = true;
    stdin.off("data", fn);
    stdin.pause();
  };
}

/**
 * Calls `fn` on each `signal` until the returned function is called. On SIGWINCH, {@link size}
 * already gives the new size.
 */
export function onSignal(signal: TerminalSignal, fn: () => void): () => void {
  if (runtime() === "deno") {
    deno().addSignalListener(signal, fn);
    return () => deno().removeSignalListener(signal, fn);
  }
  // Bun updates `process.stdout.columns`/`rows` in a SIGWINCH listener of its own that runs
  // after this one: `fn` runs on the next turn, when size() is current.
  const later = () => void setTimeout(fn, 0);
  proc().on(signal, later);
  return () => proc().off(signal, later);
}
