/**
 * conntrack's `getopt_long()` tables: every short and long option, what it stands for (a
 * command or a main option) and whether it takes an argument. Protocol options (after `-p`)
 * live with their protocol in `proto/`.
 * @module
 */
import type { CommandName, OptName } from "./matrix.ts";

/**
 * Whether an option takes an argument: `none`, `required` (attached or the next word), or
 * `optional` (attached, or the next word when it does not start with `-` or `!`).
 */
export type ArgKind = "none" | "required" | "optional";

/** One option of the table: a command (`-L [table]`) or a main option (`-s ADDR`). */
export type OptSpec =
  | { readonly command: CommandName; readonly arg: ArgKind }
  | { readonly option: OptName; readonly arg: ArgKind };

const cmd = (command: CommandName, arg: ArgKind = "optional"): OptSpec => ({ command, arg });
const opt = (option: OptName, arg: ArgKind = "required"): OptSpec => ({ option, arg });

/** The long options (conntrack.c `original_opts`), matched exactly or by a unique prefix. */
export const LONG: Readonly<Record<string, OptSpec>> = {
  dump: cmd("list"),
  create: cmd("create"),
  add: cmd("add"),
  delete: cmd("delete"),
  update: cmd("update"),
  get: cmd("get"),
  flush: cmd("flush"),
  event: cmd("event"),
  counter: cmd("count"),
  stats: cmd("stats"),
  version: cmd("version", "none"),
  help: cmd("help", "none"),
  "orig-src": opt("src"),
  src: opt("src"),
  "orig-dst": opt("dst"),
  dst: opt("dst"),
  "reply-src": opt("reply-src"),
  "reply-dst": opt("reply-dst"),
  protonum: opt("protonum"),
  timeout: opt("timeout"),
  status: opt("status"),
  zero: opt("zero", "none"),
  "event-mask": opt("event-mask"),
  "tuple-src": opt("tuple-src"),
  "tuple-dst": opt("tuple-dst"),
  "mask-src": opt("mask-src"),
  "mask-dst": opt("mask-dst"),
  "nat-range": opt("nat-range"),
  mark: opt("mark"),
  secmark: opt("secmark"),
  id: opt("id", "optional"),
  family: opt("family"),
  "src-nat": opt("src-nat", "optional"),
  "dst-nat": opt("dst-nat", "optional"),
  output: opt("output"),
  "buffer-size": opt("buffer-size"),
  "any-nat": opt("any-nat", "optional"),
  zone: opt("zone"),
  label: opt("label"),
  "label-add": opt("label-add"),
  "label-del": opt("label-del", "optional"),
  "orig-zone": opt("orig-zone"),
  "reply-zone": opt("reply-zone"),
};

/** The short options (conntrack.c's `getopt_long()` option string). */
export const SHORT: Readonly<Record<string, OptSpec>> = {
  L: cmd("list"),
  I: cmd("create"),
  U: cmd("update"),
  D: cmd("delete"),
  G: cmd("get"),
  E: cmd("event"),
  F: cmd("flush"),
  A: cmd("add"),
  h: cmd("help", "none"),
  V: cmd("version", "none"),
  C: cmd("count"),
  S: cmd("stats"),
  s: opt("src"),
  d: opt("dst"),
  r: opt("reply-src"),
  q: opt("reply-dst"),
  p: opt("protonum"),
  t: opt("timeout"),
  u: opt("status"),
  e: opt("event-mask"),
  a: opt("nat-range"),
  z: opt("zero", "none"),
  m: opt("mark"),
  i: opt("id"),
  f: opt("family"),
  o: opt("output"),
  n: opt("src-nat", "optional"),
  g: opt("dst-nat", "optional"),
  c: opt("secmark"),
  b: opt("buffer-size"),
  j: opt("any-nat", "optional"),
  w: opt("zone"),
  l: opt("label"),
};
