/**
 * Standard output and error as conntrack writes them: stdout buffered (flushed before anything
 * goes to stderr and before exit), stderr unbuffered, a progress line on stderr erased before
 * the next message, and a lost reader ending the process as conntrack's SIGPIPE does.
 * @module
 */
import { host } from "../mod.ts";
import { OTHER_PROBLEM, STRERROR } from "./errors.ts";
import { PREFIX } from "./version.ts";

/** The terminal sequence that erases the current line (a progress line). */
export const ERASE = "\r\x1b[K";

/** Bytes of standard output gathered before they are written. */
const OUT_BUFFER = 64 * 1024;
const utf8 = new TextEncoder();

/** stdout and stderr of one run. */
export class Output {
  // Lines are encoded one by one into a byte buffer: concatenating them into one string and
  // encoding that (a rope of ropes) cost more than the encoding itself on a long listing.
  #buf = new Uint8Array(OUT_BUFFER);
  #len = 0;
  #progressShown = false;

  /** Appends a line to standard output (written at {@link flush}, or when 64 KiB are waiting). */
  line(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit, plus the newline.
    const most = s.length * 3 + 1;
    if (this.#len + most > OUT_BUFFER) {
      this.flush();
      if (most > OUT_BUFFER) {
        this.#write(1, utf8.encode(s + "\n"));
        return;
      }
    }
    this.#len += utf8.encodeInto(s, this.#buf.subarray(this.#len)).written;
    this.#buf[this.#len++] = 10;
  }

  /** Appends whole lines of UTF-8 text (newlines included) to standard output. */
  text(bytes: Uint8Array): void {
    if (this.#len + bytes.length > OUT_BUFFER) {
      this.flush();
      if (bytes.length > OUT_BUFFER / 2) {
        this.#write(1, bytes);
        return;
      }
    }
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
  }

  /** Writes what {@link line} buffered. */
  flush(): void {
    if (this.#len === 0) return;
    const bytes = this.#buf.subarray(0, this.#len);
    this.#len = 0;
    this.#write(1, bytes);
  }

  /** Writes `text` to standard error at once, after erasing a progress line. */
  err(text: string): void {
    if (this.#progressShown) [text, this.#progressShown] = [ERASE + text, false];
    this.#write(2, text);
  }

  /** conntrack's summary line (`nfct v0.1.0 (conntrack-tools compatible): 3 flow entries ...`). */
  summary(msg: string): void {
    this.err(PREFIX + msg + "\n");
  }

  /** Draws `text` as the progress line (replacing the previous one). */
  progress(text: string): void {
    this.#write(2, ERASE + text);
    this.#progressShown = true;
  }

  /** Erases the progress line, if one is shown. */
  endProgress(): void {
    if (this.#progressShown) this.err("");
  }

  /**
   * Writes to stdout or stderr, or ends the process: silently with 0 when the reader left
   * (EPIPE, as conntrack on SIGPIPE), else (ENOSPC, EIO, …) with 1 after a one-line message
   * when stderr still takes it. conntrack ignores write errors: `conntrack -L > /dev/full`
   * prints its summary and exits 0 with every line lost; nfct stops at the first lost line.
   */
  #write(fd: 1 | 2, text: string | Uint8Array): void {
    try {
      if (typeof text === "string") host.writeText(fd, text);
      else host.writeAll(fd, text);
    } catch (e) {
      const code = (e as { code?: string }).code ?? "EIO";
      if (code === "EPIPE") host.exit(0);
      const what = STRERROR[code] ? `${code} (${STRERROR[code]})` : code;
      if (fd === 1) {
        try {
          host.writeText(2, `${this.#progressShown ? ERASE : ""}${PREFIX}write error: ${what}\n`);
        } catch { /* stderr is gone too: the exit code tells */ }
      }
      host.exit(OTHER_PROBLEM);
    }
  }
}
