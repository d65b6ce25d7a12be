/** Deno binding of {@link LIBC_SYMBOLS} through `Deno.dlopen`. @module */
import { LIBC_PATH, LIBC_SYMBOLS, type CType, type RawLibc, type SymbolSpec } from "./libc.ts";

const DENO_TYPE: Record<CType, Deno.NativeType> = {
  i32: "i32",
  u32: "u32",
  usize: "usize",
  isize: "isize",
  buffer: "buffer",
  pointer: "pointer",
};

/** Opens libc with `Deno.dlopen` and adapts it to {@link RawLibc}. */
export function openDenoLibc(): RawLibc {
  const defs: Record<string, Deno.ForeignFunction> = {};
  for (const [name, spec] of Object.entries(LIBC_SYMBOLS) as [string, SymbolSpec][]) {
    defs[name] = { parameters: spec.args.map((t) => DENO_TYPE[t]), result: DENO_TYPE[spec.returns] };
    if (spec.symbol) defs[name].name = spec.symbol;
    if (spec.nonblocking) defs[name].nonblocking = true;
  }
  // deno-lint-ignore no-explicit-any
  const s = Deno.dlopen(LIBC_PATH, defs).symbols as any;
  const errnoView = new Deno.UnsafePointerView(s.__errno_location());
  return {
    socket: s.socket,
    bind: s.bind,
    sendto: (fd, buf, len, flags, dest, dlen) => Number(s.sendto(fd, buf, len, flags, dest, dlen)),
    recvfrom: (fd, buf, len, flags, src, slen) => Number(s.recvfrom(fd, buf, len, flags, src, slen)),
    recvmsg: (fd, msg, flags) => Number(s.recvmsg(fd, msg, flags)),
    setsockopt: s.setsockopt,
    getsockopt: s.getsockopt,
    getsockname: s.getsockname,
    poll: s.poll,
    close: s.close,
    open: s.open,
    setns: s.setns,
    unshare: s.unshare,
    uname: s.uname,
    readlink: (path, buf, bufsiz) => Number(s.readlink(path, buf, bufsiz)),
    eventfd: s.eventfd,
    read: (fd, buf, count) => Number(s.read(fd, buf, count)),
    write: (fd, buf, count) => Number(s.write(fd, buf, count)),
    pollWait: s.poll_wait,
    addressOf: (buf) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf as Uint8Array<ArrayBuffer>))),
    // errno is thread-local; every call nfct makes runs on the JS thread, so the address is fixed.
    errno: () => errnoView.getInt32(),
  };
}
