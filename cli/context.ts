/**
 * What one run of the command holds: its output, the client (opened on first use) and the
 * label names (read on first use). Created by `main()`; nothing here lives at module level.
 * @module
 */
import { Conntrack, type LabelMap, NetlinkError, SyscallError } from "../mod.ts";
import { err2str, otherError } from "./errors.ts";
import { readEtcProtocols } from "./etc_protocols.ts";
import type { Args } from "./command.ts";
import { loadLabelMap, loadsLabelMap } from "./labels.ts";
import { Output } from "./output.ts";
import type { ParseContext } from "./parse.ts";

/** One run's output, client and lookups. */
export class CliContext implements ParseContext {
  /** Standard output and error. */
  readonly out: Output = new Output();
  #client: Conntrack | undefined;
  #labels: LabelMap | undefined;
  /** `-b`: the receive buffer of the client, in bytes, when it is opened. */
  bufferSize: number | undefined;

  /**
   * The client, opened on first use: exit 1 "Can't open handler" when the netlink socket cannot
   * be opened (Conntrack.open opens it at once).
   */
  ct(): Conntrack {
    if (this.#client) return this.#client;
    try {
      this.#client = Conntrack.open(this.bufferSize ? { receiveBufferSize: this.bufferSize } : {});
    } catch (e) {
      const detail = e instanceof SyscallError || e instanceof NetlinkError
        ? `: ${err2str(e.code)}`
        : `: ${String(e)}`;
      throw otherError(`Can't open handler${detail}`);
    }
    return this.#client;
  }

  /** The label names, read once (a warning on stderr when the file cannot be read). */
  labelMap(): LabelMap {
    return this.#labels ??= loadLabelMap((line) => this.out.err(line));
  }

  /** The label names entries print with, when conntrack would load them for `args`. */
  shownLabels(args: Pick<Args, "given" | "output">): LabelMap | undefined {
    return loadsLabelMap(args.given, args.output) ? this.labelMap() : undefined;
  }

  /** `getprotobyname(3)`. */
  protoNumber(name: string): number | undefined {
    return readEtcProtocols().get(name);
  }

  /** Closes the client, if one was opened. */
  close(): void {
    this.#client?.close();
    this.#client = undefined;
  }
}
