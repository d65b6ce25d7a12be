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
 * @module
 */
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
      if (netns === "") throw new TypeError("Invalid netns: empty path (expected /run/netns/NAME, a pid or { fd })");
      return new NetnsHandle(sys.open(netns, O_RDONLY | O_CLOEXEC, `Cannot open network namespace ${netns}`), true, netns);
    }
    if (typeof netns === "number") {
      if (!Number.isSafeInteger(netns) || netns <= 0) {
        throw new TypeError(`Invalid netns pid ${netns}: expected a positive integer (or a path, or { fd })`);
      }
      const path = `/proc/${netns}/ns/net`;
      const label = `of pid ${netns} (${path})`;
      return new NetnsHandle(sys.open(path, O_RDONLY | O_CLOEXEC, `Cannot open network namespace ${label}`), true, label);
    }
    const fd = (netns as { fd?: unknown } | null)?.fd;
    if (typeof fd !== "number" || !Number.isInteger(fd) || fd < 0) {
      throw new TypeError(`Invalid netns ${String(netns)}: expected a path, a pid, or { fd } with an open file descriptor`);
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
    const home = sys.open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC, "Cannot remember the current network namespace");
    try {
      sys.unshare(CLONE_NEWNET, "Cannot create a scratch network namespace");
      let fd: number;
      try {
        fd = sys.open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC, "Cannot open the scratch network namespace");
      } finally {
        sys.setns(home, CLONE_NEWNET, "Cannot return from a scratch network namespace: this thread stays in it");
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
    if (this.#fd < 0) throw new TypeError(`Cannot enter network namespace ${this.label}: the handle is closed`);
    const home = sys.open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC, "Cannot remember the current network namespace");
    try {
      sys.setns(this.#fd, CLONE_NEWNET, `Cannot enter network namespace ${this.label}`);
      try {
        return fn();
      } finally {
        sys.setns(home, CLONE_NEWNET, `Cannot return from network namespace ${this.label}: this thread stays in it`);
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
