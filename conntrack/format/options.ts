/**
 * {@link FormatOptions}: which conntrack(8) `-o` output options a flow line mirrors, and the
 * lines conntrack wraps XML flows in.
 * @module
 */
import type { LabelMap } from "./labels.ts";

/** Which conntrack(8) output `-o` options to mirror. */
export interface FormatOptions {
  /** `-o extended`: lead with the layer-3 protocol (`ipv4     2 `). */
  extended?: boolean;
  /** `-o id`: append `id=`. */
  id?: boolean;
  /** `-o ktimestamp`: append `[start=…] [stop=…]` (local time, like `ctime(3)`). XML: `<timestamp>`. */
  ktimestamp?: boolean;
  /**
   * `-o labels`: the label names to print. Without a map (or with an empty one, as when
   * `connlabel.conf` names nothing) conntrack prints no labels at all.
   */
  labels?: LabelMap;
  /** `-o save`: the replayable `-A …` form (`conntrack -R` reads it back). Excludes the others. */
  save?: boolean;
  /** `-o xml`: one `<flow>` element (wrap the lines in {@link XML_HEADER} and {@link XML_FOOTER}). */
  xml?: boolean;
  /**
   * `-o timestamp`: conntrack only honours it for events (`-E`): a `[seconds.micros]\t` prefix,
   * or with `xml` a `<when>` element. Ignored without `event`, as `conntrack -L` ignores it.
   */
  timestamp?: boolean;
  /** Format as an event of this kind (`conntrack -E`): `[NEW]`-style prefix, `-U`/`-D` in save form. */
  event?: "new" | "update" | "destroy";
  /** "Now" in milliseconds since the epoch, for `delta-time=` and event stamps (default `Date.now()`). */
  now?: number;
}

/** The first lines conntrack prints before XML flows (only when there is at least one flow). */
export const XML_HEADER = '<?xml version="1.0" encoding="utf-8"?>\n<conntrack>';
/** The line conntrack prints after XML flows. */
export const XML_FOOTER = "</conntrack>";
