/** Bun binding of {@link LIBC_SYMBOLS} through `bun:ffi`. @module */
import { LIBC_PATH, LIBC_SYMBOLS, type CType, type RawLibc, type SymbolSpec } from "./libc.ts";

// Bun's `usize` is u64; `i64_fast` returns a number when it fits (it always does for ssize_t
// byte counts), so no BigInt is allocated per call.
const BUN_TYPE: Record<CType, string> = {
  i32: "i32",
  u32: "u32",
  usize: "u64",
  isize: "i64_fast",
  buffer: "ptr",
  pointer: "ptr",
};

interface BunFfi {
  dlopen(path: string, defs: Record<string, { args: string[]; returns: string }>): { symbols: Record<string, (...a: unknown[]) => unknown> };
  read: { i32(ptr: unknown, offset: number): number };
  ptr(buf: Uint8Array): number;
}

/** Opens libc with `bun:ffi` and adapts it to {@link RawLibc}. */
export function openBunLibc(): RawLibc {
  // `import.meta.require` loads bun:ffi synchronously, and only when Bun is the runtime.
  const ffi = (import.meta as unknown as { require(id: string): BunFfi }).require("bun:ffi");
  const defs: Record<string, { args: string[]; returns: string }> = {};
  for (const [name, spec] of Object.entries(LIBC_SYMBOLS) as [string, SymbolSpec][]) {
    if (spec.nonblocking) continue; // Bun waits in a Worker instead (ffi/wait.ts)
    defs[name] = { args: spec.args.map((t) => BUN_TYPE[t]), returns: BUN_TYPE[spec.returns] };
  }
  // deno-lint-ignore no-explicit-any
  const s = ffi.dlopen(LIBC_PATH, defs).symbols as any;
  const errnoPtr = s.__errno_location();
  const read = ffi.read;
  return {
    socket: s.socket,
    bind: s.bind,
    sendto: s.sendto,
    recvfrom: s.recvfrom,
    recvmsg: s.recvmsg,
    setsockopt: s.setsockopt,
    getsockopt: s.getsockopt,
    getsockname: s.getsockname,
    poll: s.poll,
    close: s.close,
    open: s.open,
    setns: s.setns,
    unshare: s.unshare,
    uname: s.uname,
    readlink: s.readlink,
    eventfd: s.eventfd,
    read: s.read,
    write: s.write,
    addressOf: (buf) => BigInt(ffi.ptr(buf)),
    errno: () => read.i32(errnoPtr, 0),
  };
}
