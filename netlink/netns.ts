/**
 * Network namespaces: open a netlink socket inside another namespace than the process's own.
 *
 * A socket belongs for its whole life to the network namespace it was created in. To create one
 * elsewhere, the calling thread enters the target with `setns(fd, CLONE_NEWNET)`, calls
 * `socket()`, and goes straight back to the namespace it came from (an fd of
 * `/proc/thread-self/ns/net` taken just before). Everything else — bind, send, receive — then
 * works from the original namespace, so one process can manage several tables at once.
 *
 * Entering a namespace needs `CAP_SYS_ADMIN` over it (root, or the user namespace that owns it).
 *
 * Also here: {@link assertThrowawayNetns}, the guard that demos, benchmarks and tests call before
 * they fill or empty a table, so that they never run on the host's.
 * @module
 */
import { env } from "../ffi/host.ts";
import * as sys from "../ffi/syscalls.ts";

/**
 * Which network namespace to open sockets in:
 * - a path: a namespace file, `/run/netns/NAME` (what `ip netns add NAME` creates) or
 *   `/proc/PID/ns/net`;
 * - a number: a process id, meaning that process's namespace (`/proc/PID/ns/net`);
 * - `{ fd }`: an open file descriptor of a namespace file, borrowed (nfct never closes it; keep
 *   it open as long as sockets may be opened with it).
 *
 * A path or pid is opened once, when the client (or socket) is opened, and that fd is kept for
 * every socket opened later: the client stays in the same namespace even if the name is
 * removed or the process exits meanwhile.
 */
export type Netns = string | number | { readonly fd: number };

const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const CLONE_NEWNET = 0x40000000;

/** An open handle on a network namespace (see {@link Netns}); owns its fd unless it was given one. */
export class NetnsHandle {
  #fd: number;
  #owned: boolean;
  /** How the namespace was named, for messages: the path, `pid N (/proc/N/ns/net)` or `fd N`. */
  readonly label: string;

  /**
   * Private, and the one `private` constructor kept in nfct besides the client's: a handle is
   * either opened ({@link NetnsHandle.open}: a path, pid or borrowed fd) or created
   * ({@link NetnsHandle.scratch}), and whether it owns (closes) its fd follows from which; a
   * caller-supplied `owned` flag could close an fd nfct never opened.
   */
  private constructor(fd: number, owned: boolean, label: string) {
    this.#fd = fd;
    this.#owned = owned;
    this.label = label;
  }

  /**
   * Opens `netns` (a path or pid is opened now, `O_RDONLY | O_CLOEXEC`; an `{ fd }` is borrowed).
   * @throws {TypeError} for a value that is none of the three shapes.
   * @throws {SyscallError} when the path or `/proc/PID/ns/net` cannot be opened.
   */
  static open(netns: Netns): NetnsHandle {
    if (typeof netns === "string") {
      if (netns === "") {
        throw new TypeError(
          "Invalid netns: empty path (expected /run/netns/NAME, a pid or { fd })",
        );
      }
      return new NetnsHandle(
        sys.open(netns, O_RDONLY | O_CLOEXEC, `Cannot open network namespace ${netns}`),
        true,
        netns,
      );
    }
    if (typeof netns === "number") {
      if (!Number.isSafeInteger(netns) || netns <= 0) {
        throw new TypeError(
          `Invalid netns pid ${netns}: expected a positive integer (or a path, or { fd })`,
        );
      }
      const path = `/proc/${netns}/ns/net`;
      const label = `of pid ${netns} (${path})`;
      return new NetnsHandle(
        sys.open(path, O_RDONLY | O_CLOEXEC, `Cannot open network namespace ${label}`),
        true,
        label,
      );
    }
    const fd = (netns as { fd?: unknown } | null)?.fd;
    if (typeof fd !== "number" || !Number.isInteger(fd) || fd < 0) {
      throw new TypeError(
        `Invalid netns ${
          String(netns)
        }: expected a path, a pid, or { fd } with an open file descriptor`,
      );
    }
    return new NetnsHandle(fd, false, `fd ${fd}`);
  }

  /**
   * Creates a new, empty network namespace that only this handle (and the sockets opened in
   * it) keeps alive: the calling thread `unshare(CLONE_NEWNET)`s, takes an fd of the new
   * namespace and returns to the one it was in. Nothing in it is visible from anywhere else,
   * and the kernel frees it once the handle and its sockets are closed. Used to try out a
   * kernel behaviour without touching the user's table. Needs `CAP_SYS_ADMIN` in the current
   * user namespace (root, or inside `unshare -r`).
   * @throws {SyscallError} when the namespace cannot be created (`EPERM` without the capability).
   */
  static scratch(): NetnsHandle {
    const home = sys.open(
      "/proc/thread-self/ns/net",
      O_RDONLY | O_CLOEXEC,
      "Cannot remember the current network namespace",
    );
    try {
      sys.unshare(CLONE_NEWNET, "Cannot create a scratch network namespace");
      let fd: number;
      try {
        fd = sys.open(
          "/proc/thread-self/ns/net",
          O_RDONLY | O_CLOEXEC,
          "Cannot open the scratch network namespace",
        );
      } finally {
        sys.setns(
          home,
          CLONE_NEWNET,
          "Cannot return from a scratch network namespace: this thread stays in it",
        );
      }
      return new NetnsHandle(fd, true, "(scratch)");
    } finally {
      sys.close(home);
    }
  }

  /** The namespace fd; -1 once closed. Closing it behind nfct's back breaks later reopens. */
  unsafeFd(): number {
    return this.#fd;
  }

  /**
   * Runs `fn` (which must not wait on anything: it runs with this thread in the namespace) with
   * the calling thread inside this namespace, then returns the thread to the namespace it was
   * in. Sockets `fn` creates stay in this namespace.
   */
  run<T>(fn: () => T): T {
    if (this.#fd < 0) {
      throw new TypeError(`Cannot enter network namespace ${this.label}: the handle is closed`);
    }
    const home = sys.open(
      "/proc/thread-self/ns/net",
      O_RDONLY | O_CLOEXEC,
      "Cannot remember the current network namespace",
    );
    try {
      sys.setns(this.#fd, CLONE_NEWNET, `Cannot enter network namespace ${this.label}`);
      try {
        return fn();
      } finally {
        sys.setns(
          home,
          CLONE_NEWNET,
          `Cannot return from network namespace ${this.label}: this thread stays in it`,
        );
      }
    } finally {
      sys.close(home);
    }
  }

  /** Closes the fd if this handle opened it; idempotent. */
  close(): void {
    const fd = this.#fd;
    this.#fd = -1;
    if (fd >= 0 && this.#owned) sys.close(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

// --- Is this a throwaway namespace? (guards for demos, benchmarks and tests) ---

/**
 * The inode of the initial network namespace, `net:[4026531833]`: fixed since Linux 6.17
 * (`PROC_NET_INIT_INO` in include/linux/proc_ns.h, `NET_NS_INIT_INO` in uapi/linux/nsfs.h);
 * earlier kernels number the initial namespace like any other (from `PROC_DYNAMIC_FIRST`,
 * 0xF0000000, up), so no other namespace ever has this number.
 */
export const PROC_NET_INIT_INO = 0xeffffff9;

/** The facts {@link throwawayNetnsRefusal} decides on; {@link readNetnsIds} reads them. */
export interface NetnsIds {
  /** The calling thread's network namespace, as `readlink /proc/thread-self/ns/net` shows it: `net:[INODE]`. */
  readonly self: string;
  /**
   * pid 1's (`/proc/1/ns/net`: the host's, or a container's own), or `undefined` when it cannot be
   * read: `EACCES` for a user inside `unshare -rn` (pid 1 belongs to another user namespace), and
   * also for root in sandboxes where pid 1 holds capabilities the caller lacks.
   */
  readonly pid1?: string;
  /**
   * The namespace the caller came from, when it says so: the `NFCT_HOST_NETNS` environment
   * variable, which scripts/netns.mjs, scripts/test.mjs and bench/run.mjs set (to their own
   * `readlink /proc/self/ns/net`) before they start a command in a new namespace.
   */
  readonly host?: string;
  /** The kernel release (`uname -r`): tells whether the initial namespace has its fixed inode. */
  readonly kernel: string;
}

const NS_LINK = /^net:\[(\d+)\]$/;
const SET_HOST =
  "NFCT_HOST_NETNS=$(readlink /proc/self/ns/net) in the host namespace, before entering the new one";

/** Whether kernel release `release` (e.g. `6.18.4-arch1`) numbers the initial network namespace {@link PROC_NET_INIT_INO}. */
function hasFixedInitInode(release: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m !== null && (Number(m[1]) > 6 || (Number(m[1]) === 6 && Number(m[2]) >= 17));
}

/**
 * Why the namespace `ids.self` must not be used for a demo, benchmark or test, or `undefined`
 * when it is a throwaway one. Refuses:
 * - a `self` that is not a `net:[INODE]` link;
 * - the initial namespace's fixed inode {@link PROC_NET_INIT_INO} (Linux 6.17+);
 * - pid 1's namespace, when it could be read;
 * - the namespace `NFCT_HOST_NETNS` names;
 * - and, when none of the last three can be compared (kernel before 6.17, pid 1's namespace
 *   unreadable, no `NFCT_HOST_NETNS`), everything: there is nothing to tell the host's from.
 *
 * Pure: no system call (see {@link readNetnsIds}).
 */
export function throwawayNetnsRefusal(ids: NetnsIds): string | undefined {
  const m = NS_LINK.exec(ids.self);
  if (!m) {
    return `cannot tell which network namespace this is (/proc/thread-self/ns/net is ${
      JSON.stringify(ids.self)
    })`;
  }
  // Dynamic inode numbers start at 0xF0000000 (PROC_DYNAMIC_FIRST): no other namespace has this one.
  if (Number(m[1]) === PROC_NET_INIT_INO) {
    return `this is the initial network namespace (${ids.self}), the host's`;
  }
  if (ids.pid1 !== undefined && ids.self === ids.pid1) {
    return `this is pid 1's network namespace (${ids.self}), the host's or the container's`;
  }
  if (ids.host && ids.self === ids.host) {
    return `this is the network namespace NFCT_HOST_NETNS names as the host's (${ids.self})`;
  }
  if (ids.pid1 === undefined && !ids.host && !hasFixedInitInode(ids.kernel)) {
    return `cannot tell whether ${ids.self} is the host's network namespace: /proc/1/ns/net is not readable, ` +
      `and before Linux 6.17 (this is ${ids.kernel}) the initial namespace has no fixed inode; set ${SET_HOST}`;
  }
  return undefined;
}

/**
 * Reads the facts {@link throwawayNetnsRefusal} decides on, through libc (`readlink(2)`,
 * `uname(2)`: Deno needs --allow-ffi; without --allow-env `NFCT_HOST_NETNS` reads as unset).
 * @throws {SyscallError} when the calling thread's own link cannot be read (no /proc).
 */
export function readNetnsIds(): NetnsIds {
  const self = sys.readlink(
    "/proc/thread-self/ns/net",
    "Cannot tell which network namespace this thread is in",
  );
  let pid1: string | undefined;
  try {
    pid1 = sys.readlink("/proc/1/ns/net");
  } catch {
    pid1 = undefined;
  }
  return { self, pid1, host: env("NFCT_HOST_NETNS") || undefined, kernel: sys.kernelRelease() };
}

/**
 * Whether the calling thread is in a throwaway network namespace (see
 * {@link assertThrowawayNetns}); `false` also when that cannot be told.
 */
export function isThrowawayNetns(): boolean {
  try {
    return throwawayNetnsRefusal(readNetnsIds()) === undefined;
  } catch {
    return false;
  }
}

/**
 * Throws unless the calling thread is in a throwaway network namespace: not the initial one,
 * not pid 1's, not the one `NFCT_HOST_NETNS` names (see {@link throwawayNetnsRefusal}). For code
 * that creates or deletes entries for a demo, a benchmark or a test: call it first, before
 * opening a client, whatever the table holds. `what` names the job, for the message.
 *
 * @example
 * ```ts
 * import { assertThrowawayNetns, Conntrack } from "@nfct/nfct";
 * assertThrowawayNetns("fill the table with demo entries");
 * using ct = Conntrack.open();
 * ```
 * @throws {Error} saying why and what to do (`node scripts/netns.mjs …`, `unshare -n`).
 */
export function assertThrowawayNetns(what: string): void {
  let why: string | undefined;
  try {
    why = throwawayNetnsRefusal(readNetnsIds());
  } catch (e) {
    why = e instanceof Error ? e.message : String(e);
  }
  if (why !== undefined) {
    throw new Error(
      `Refusing to ${what}: ${why}. Run it in a throwaway network namespace of its own: ` +
        "`node scripts/netns.mjs <command>` from the nfct checkout, `unshare -n -- <command>` as root, " +
        "or `unshare -rn -- <command>` as a user",
    );
  }
}
