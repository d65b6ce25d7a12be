/** Bun binding of {@link LIBC_SYMBOLS} through `bun:ffi`. @module */
import { type CType, LIBC_PATH, LIBC_SYMBOLS, type LibcSymbols, type RawLibc } from "./libc.ts";

/**
 * nfct's C types in `bun:ffi`'s names. Bun's `u64` takes numbers; `i64_fast` returns a number
 * when it fits (it always does for `ssize_t` byte counts), so no BigInt is allocated per call.
 */
const BUN_TYPE = {
  i32: "i32",
  u32: "u32",
  usize: "u64",
  isize: "i64_fast",
  buffer: "ptr",
  pointer: "ptr",
} as const satisfies Record<CType, string>;
type BunType = typeof BUN_TYPE;

/** What JS passes for a `bun:ffi` argument type, and gets back for a result type. */
type BunArg<T> = T extends "ptr" ? Uint8Array | number | null
  : T extends "u64" ? number | bigint
  : number;
type BunResult<T> = T extends "ptr" ? number | null
  : T extends "i64_fast" ? number | bigint
  : number;

/** C argument types in `bun:ffi`'s names (mapped element by element: the tuple stays a tuple). */
type BunTypes<A extends readonly CType[]> = {
  readonly [I in keyof A]: A[I] extends CType ? BunType[A[I]] : never;
};

/** One entry of {@link LIBC_SYMBOLS} as `bun:ffi`'s `dlopen` takes it. */
type BunFunction<S extends { args: readonly CType[]; returns: CType }> = {
  readonly args: BunTypes<S["args"]>;
  readonly returns: BunType[S["returns"]];
};

/** The symbols Bun binds: all but the `nonblocking` ones (Bun waits in a Worker, ffi/wait.ts). */
type BunSymbol = {
  [K in keyof LibcSymbols]: LibcSymbols[K] extends { nonblocking: true } ? never : K;
}[keyof LibcSymbols];
type BunSymbols = { readonly [K in BunSymbol]: BunFunction<LibcSymbols[K]> };

/** A `bun:ffi` declaration: argument and result types. */
type BunDeclaration = { readonly args: readonly string[]; readonly returns: string };
/** The JS arguments of a function declared with `bun:ffi` argument types `A`. */
type BunArgs<A extends readonly string[]> = { -readonly [I in keyof A]: BunArg<A[I]> };

/** The bound functions `bun:ffi` derives from declarations `F` (the part of its types nfct uses). */
type BunLibrary<F extends Record<string, BunDeclaration>> = {
  [K in keyof F]: (...args: BunArgs<F[K]["args"]>) => BunResult<F[K]["returns"]>;
};

/** The part of `bun:ffi` nfct uses, typed as `bun:ffi`'s own declarations type it. */
interface BunFfi {
  dlopen<F extends Record<string, BunDeclaration>>(
    path: string,
    defs: F,
  ): { symbols: BunLibrary<F> };
  read: { i32(ptr: number, offset: number): number };
  ptr(buf: Uint8Array): number;
}

/** {@link LIBC_SYMBOLS} in `bun:ffi`'s shape (the type above, built entry by entry). */
function bunSymbols(): BunSymbols {
  const defs: Record<string, BunDeclaration> = {};
  for (const [name, spec] of Object.entries(LIBC_SYMBOLS)) {
    if ("nonblocking" in spec) continue;
    defs[name] = { args: spec.args.map((t) => BUN_TYPE[t]), returns: BUN_TYPE[spec.returns] };
  }
  return defs as BunSymbols;
}

/** Opens libc with `bun:ffi` and adapts it to {@link RawLibc}. */
export function openBunLibc(): RawLibc {
  // `import.meta.require` loads bun:ffi synchronously, and only when Bun is the runtime.
  const ffi = (import.meta as unknown as { require(id: string): BunFfi }).require("bun:ffi");
  const s = ffi.dlopen(LIBC_PATH, bunSymbols()).symbols;
  const errnoAt = s.__errno_location();
  if (errnoAt === null) throw new Error("__errno_location() returned NULL");
  const read = ffi.read;
  const n = Number; // i64_fast results are numbers for every count nfct sees
  return {
    socket: s.socket,
    bind: s.bind,
    sendto: (fd, buf, len, flags, dest, dlen) => n(s.sendto(fd, buf, len, flags, dest, dlen)),
    recvfrom: (fd, buf, len, flags, src, slen) => n(s.recvfrom(fd, buf, len, flags, src, slen)),
    recvmsg: (fd, msg, flags) => n(s.recvmsg(fd, msg, flags)),
    setsockopt: s.setsockopt,
    getsockopt: s.getsockopt,
    getsockname: s.getsockname,
    poll: s.poll,
    close: s.close,
    open: s.open,
    setns: s.setns,
    unshare: s.unshare,
    uname: s.uname,
    readlink: (path, buf, bufsiz) => n(s.readlink(path, buf, bufsiz)),
    eventfd: s.eventfd,
    read: (fd, buf, count) => n(s.read(fd, buf, count)),
    write: (fd, buf, count) => n(s.write(fd, buf, count)),
    addressOf: (buf) => BigInt(ffi.ptr(buf)),
    // errno is thread-local: the address is this thread's (a Worker that opens libc gets its own).
    errno: () => read.i32(errnoAt, 0),
  };
}
