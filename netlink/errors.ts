/** {@link NetlinkError}: the kernel refused a request. @module */
import { errnoCode, errnoHint, errnoText } from "../ffi/errno.ts";

/** The kernel answered a request with an error. */
export class NetlinkError extends Error {
  /** Always `"NetlinkError"`. */
  override name = "NetlinkError";
  /** The numeric errno the kernel returned. */
  readonly errno: number;
  /** The errno's name, e.g. `"ENOENT"`. */
  readonly code: string;
  /** What was being done, e.g. `"Cannot delete flow"`. */
  readonly operation: string;
  /** The kernel's extended-ACK text, when it sent one. */
  readonly kernelMessage?: string;
  /** Byte offset in the request of the attribute the kernel objected to, when it said. */
  readonly offset?: number;

  /**
   * `operation` says what was being done (`"Cannot delete flow"`), `errno` is the kernel's
   * (positive), `ext` its extended-ACK details; the message joins them with a hint when there
   * is one: `Cannot delete flow: ENOENT (no such entry)`.
   */
  constructor(
    operation: string,
    errno: number,
    ext: { message?: string; offset?: number } = {},
    options?: ErrorOptions,
  ) {
    const code = errnoCode(errno);
    const hint = errnoHint(errno);
    let msg = `${operation}: ${code} (${errnoText(errno)})`;
    if (ext.message) msg += `: kernel says "${ext.message}"`;
    if (ext.offset !== undefined) msg += ` (at request byte ${ext.offset})`;
    if (hint) msg += `; ${hint}`;
    super(msg, options);
    this.errno = errno;
    this.code = code;
    this.operation = operation;
    if (ext.message !== undefined) this.kernelMessage = ext.message;
    if (ext.offset !== undefined) this.offset = ext.offset;
  }
}
