/**
 * One main option of a conntrack(8) command line applied to the command being parsed
 * (conntrack.c `do_parse()`'s big switch). Protocol options go to their extension instead.
 * @module
 */
import type { StatusFlag } from "../mod.ts";
import type { Args } from "./command.ts";
import { otherError, paramError } from "./errors.ts";
import type { OptName } from "./matrix.ts";
import {
  type EventMaskType,
  type OutputName,
  parseAddressArg,
  parseEventMask,
  parseFamily,
  parseMark,
  parseNat,
  parseOutput,
  parseStatus,
  value,
} from "./values.ts";

/** {@link Args} while being filled in, and the label names not yet turned into bits. */
export interface ArgsBuilder
  extends Omit<Args, "given" | "status" | "output" | "eventMask" | "labels" | "labelModify"> {
  /** {@link Args.given}, growing. */
  given: Set<OptName>;
  /** {@link Args.status}, growing. */
  status: { set: Set<StatusFlag>; unset: Set<StatusFlag> };
  /** {@link Args.output}, growing. */
  output: Set<OutputName>;
  /** {@link Args.eventMask}, growing. */
  eventMask?: Set<EventMaskType>;
  /** `-l` lists, as given. */
  labelNames: string[];
  /** `--label-add`/`--label-del` lists, as given. */
  labelModifyNames: string[];
  /** Warning lines for standard error. */
  warnings: string[];
}

/** An empty {@link ArgsBuilder}. */
export function newArgs(): ArgsBuilder {
  return {
    given: new Set(),
    l4: {},
    status: { set: new Set(), unset: new Set() },
    output: new Set(),
    labelNames: [],
    labelModifyNames: [],
    labelDelAll: false,
    warnings: [],
  };
}

type AddressOpt =
  | "src"
  | "dst"
  | "reply-src"
  | "reply-dst"
  | "tuple-src"
  | "tuple-dst"
  | "mask-src"
  | "mask-dst";
type AddressField =
  | "src"
  | "dst"
  | "replySrc"
  | "replyDst"
  | "tupleSrc"
  | "tupleDst"
  | "maskSrc"
  | "maskDst";

/** Address options: the field they set, and for those that take a CIDR, the mask it implies. */
const ADDRESS_OPTS: Readonly<
  Record<AddressOpt, readonly [AddressField, ("mask-src" | "mask-dst")?]>
> = {
  "src": ["src", "mask-src"],
  "dst": ["dst", "mask-dst"],
  "reply-src": ["replySrc"],
  "reply-dst": ["replyDst"],
  "tuple-src": ["tupleSrc", "mask-src"],
  "tuple-dst": ["tupleDst", "mask-dst"],
  "mask-src": ["maskSrc"],
  "mask-dst": ["maskDst"],
};

/**
 * Applies main option `key` with its argument (`arg` undefined: none given, for the options
 * whose argument is optional; `shown` is the word as typed) to `p`. `-p` is handled by the
 * caller. Throws a `CliError` for a bad value.
 */
export function applyOption(
  p: ArgsBuilder,
  key: Exclude<OptName, "protonum">,
  arg: string | undefined,
  shown: string,
): void {
  const need = (): string => {
    if (arg === undefined) throw paramError(`option \`${shown}' requires an argument`);
    return arg;
  };
  switch (key) {
    case "src":
    case "dst":
    case "reply-src":
    case "reply-dst":
    case "tuple-src":
    case "tuple-dst":
    case "mask-src":
    case "mask-dst": {
      const [field, cidrMask] = ADDRESS_OPTS[key];
      const a = parseAddressArg(need(), key, cidrMask !== undefined, p.family);
      p.family = a.family;
      p[field] = a;
      p.given.add(key);
      if (cidrMask && a.bits !== undefined) {
        // A CIDR implies its mask; like conntrack, whichever of it and --mask-* comes last wins.
        p.given.add(cidrMask);
        delete p[ADDRESS_OPTS[cidrMask][0]];
      }
      return;
    }
    case "timeout":
      p.given.add(key);
      p.timeout = value(need(), 0xffffffff, "-t");
      return;
    case "status":
      p.given.add(key);
      parseStatus(need(), p.status.set, p.status.unset, (w) => p.warnings.push(w));
      return;
    case "event-mask":
      p.given.add(key);
      p.eventMask ??= new Set();
      parseEventMask(need(), p.eventMask);
      return;
    case "output":
      p.given.add(key);
      parseOutput(need(), p.output);
      return;
    case "zero":
      p.given.add(key);
      return;
    case "src-nat":
    case "dst-nat":
    case "any-nat": {
      p.given.add(key);
      const { nat, family } = parseNat(arg, key, p.family);
      if (family) p.family = family;
      if (key === "src-nat") p.srcNat = nat;
      else if (key === "dst-nat") p.dstNat = nat;
      else p.anyNat = nat;
      return;
    }
    case "zone":
    case "orig-zone":
    case "reply-zone": {
      const v = value(need(), 0xffff, key === "zone" ? "-w" : `--${key}`);
      p.given.add(key);
      if (key === "zone") p.zone = v;
      else if (key === "orig-zone") p.origZone = v;
      else p.replyZone = v;
      return;
    }
    case "id":
    case "secmark": {
      const v = value(need(), 0xffffffff, key === "id" ? "-i" : "-c");
      p.given.add(key);
      if (key === "id") p.id = v;
      else p.secmark = v;
      return;
    }
    case "mark":
      p.given.add(key);
      p.mark = parseMark(need());
      return;
    case "label":
    case "label-add":
    case "label-del":
      p.given.add(key);
      if (p.given.has("label-add") && p.given.has("label-del")) {
        throw otherError("cannot use --label-add and --label-del at the same time");
      }
      if (key === "label") p.labelNames.push(need());
      else if (arg === undefined) p.labelDelAll = true;
      else p.labelModifyNames.push(arg);
      return;
    case "nat-range":
      p.warnings.push("WARNING: ignoring -a, deprecated option.\n");
      return;
    case "family": {
      p.given.add(key);
      const f = parseFamily(need());
      if (p.family && p.family !== f) throw paramError("mismatched address family");
      p.family = f;
      return;
    }
    case "buffer-size":
      p.given.add(key);
      p.bufferSize = value(need(), Number.MAX_SAFE_INTEGER, "-b");
      return;
  }
}
