/** Deno binding of {@link LIBC_SYMBOLS} through `Deno.dlopen`. @module */
import {
  LIBC_PATH,
  LIBC_SYMBOLS,
  type LibcSymbols,
  type RawLibc,
  type SymbolSpec,
} from "./libc.ts";

/**
 * One entry of {@link LIBC_SYMBOLS} as `Deno.dlopen` takes it. nfct's C type names are Deno's
 * own, so the parameters and result are the table's; `Deno.dlopen` derives each function's JS
 * type from them.
 */
type DenoFunction<S extends SymbolSpec> = {
  readonly name?: string;
  readonly parameters: S["args"];
  readonly result: S["returns"];
  readonly nonblocking: S extends { readonly nonblocking: true } ? true : false;
};

/** The whole table as `Deno.dlopen` takes it. */
type DenoSymbols = { readonly [K in keyof LibcSymbols]: DenoFunction<LibcSymbols[K]> };

/** {@link LIBC_SYMBOLS} in `Deno.dlopen`'s shape (the type above, built entry by entry). */
function denoSymbols(): DenoSymbols {
  const defs: Record<string, Deno.ForeignFunction> = {};
  for (const [name, spec] of Object.entries(LIBC_SYMBOLS) as [string, SymbolSpec][]) {
    defs[name] = {
      parameters: spec.args,
      result: spec.returns,
      nonblocking: spec.nonblocking ?? false,
    };
    if (spec.symbol) defs[name].name = spec.symbol;
  }
  return defs as DenoSymbols;
}

/**
 * Opens libc with `Deno.dlopen` and adapts it to {@link RawLibc}. Deno passes and returns C's
 * 64-bit integers (`size_t`, `ssize_t`) as bigints (a number argument there takes a slower path),
 * so byte counts are converted here.
 */
export function openDenoLibc(): RawLibc {
  const s = Deno.dlopen(LIBC_PATH, denoSymbols() satisfies Deno.ForeignLibraryInterface).symbols;
  const errnoAt = s.__errno_location();
  if (errnoAt === null) throw new Error("__errno_location() returned NULL");
  const errnoView = new Deno.UnsafePointerView(errnoAt);
  return {
    socket: s.socket,
    bind: s.bind,
    sendto: (fd, buf, len, flags, dest, dlen) =>
      Number(s.sendto(fd, buf, BigInt(len), flags, dest, dlen)),
    recvfrom: (fd, buf, len, flags, src, slen) =>
      Number(s.recvfrom(fd, buf, BigInt(len), flags, src, slen)),
    recvmsg: (fd, msg, flags) => Number(s.recvmsg(fd, msg, flags)),
    setsockopt: s.setsockopt,
    getsockopt: s.getsockopt,
    getsockname: s.getsockname,
    poll: (fds, nfds, timeout) => s.poll(fds, BigInt(nfds), timeout),
    close: s.close,
    open: s.open,
    setns: s.setns,
    unshare: s.unshare,
    uname: s.uname,
    readlink: (path, buf, bufsiz) => Number(s.readlink(path, buf, BigInt(bufsiz))),
    eventfd: s.eventfd,
    read: (fd, buf, count) => Number(s.read(fd, buf, BigInt(count))),
    write: (fd, buf, count) => Number(s.write(fd, buf, BigInt(count))),
    pollWait: (fds, nfds, timeout) => s.poll_wait(fds, BigInt(nfds), timeout),
    addressOf: (buf) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf))),
    // errno is thread-local; every call nfct makes runs on the JS thread, so the address is fixed.
    errno: () => errnoView.getInt32(),
  };
}
