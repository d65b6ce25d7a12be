/**
 * The expect table (conntrack.c's `EXP_*` commands): `-L -G -D -I -F -C -S expect`; `-E
 * expect` is in `events.ts`.
 * @module
 */
import {
  EXPECT_XML_FOOTER,
  EXPECT_XML_HEADER,
  type Expectation,
  type ExpectCpuStats,
  type Family,
  type Proto,
  type Tuple,
} from "../../mod.ts";
import type { Args } from "../command.ts";
import type { CliContext } from "../context.ts";
import { err2str, failed, otherError } from "../errors.ts";
import { expectStatsLine } from "../json.ts";
import { csvHeaderOf, expectPrinter } from "../print.ts";
import { protoOf } from "../selection.ts";
import { cidrMask, tupleL4 } from "../tuples.ts";
import type { Address } from "../values.ts";
import { printCount, printPerCpu } from "./stats.ts";

/** -G/-D expect: the expectation's own tuple, given by -s/-d/-p and the original ports. */
function expectKey(args: Args): { family: Family; proto: Proto; tuple: Tuple } {
  return {
    family: args.family ?? "ipv4",
    proto: protoOf(args),
    tuple: { src: args.src!.addr, dst: args.dst!.addr, ...tupleL4(args, "orig") },
  };
}

/** -L expect: "N expectations have been shown." */
export function listExpect(ctx: CliContext, args: Args): number {
  const out = ctx.out;
  const print = expectPrinter(args);
  const xml = args.output.has("xml");
  const header = csvHeaderOf(args, true);
  if (header) out.line(header);
  let n = 0;
  try {
    // conntrack asks for AF_INET unless -f says otherwise: IPv6 expectations need -f ipv6.
    for (const e of ctx.ct().dumpExpect({ family: args.family ?? "ipv4" })) {
      if (xml && n === 0) out.line(EXPECT_XML_HEADER);
      out.line(print(e));
      n++;
    }
  } catch (e) {
    out.flush();
    throw failed(e, "list", true);
  }
  if (xml && n > 0) out.line(EXPECT_XML_FOOTER);
  out.flush();
  out.summary(`${n} expectations have been shown.`);
  return 0;
}

/** -G expect: the expectation, printed (conntrack prints no summary). */
export function getExpect(ctx: CliContext, args: Args): number {
  let e: Expectation | undefined;
  try {
    e = ctx.ct().getExpect(expectKey(args));
  } catch (err) {
    throw failed(err, "get", true);
  }
  if (!e) throw otherError(`Operation failed: ${err2str("ENOENT", "get", true)}`);
  ctx.out.line(expectPrinter(args)(e)); // -G expect takes only -o json
  ctx.out.flush();
  return 0;
}

/** -D expect: "1 expectations have been deleted." unless `quiet` (-R). */
export function deleteExpect(ctx: CliContext, args: Args, quiet = false): number {
  try {
    ctx.ct().deleteExpect(expectKey(args));
  } catch (e) {
    throw failed(e, "delete", true);
  }
  // conntrack 1.4.7 counts nothing here: after a successful delete it says "0 expectations have
  // been shown." and exits 1. nfct reports what happened.
  if (!quiet) ctx.out.summary("1 expectations have been deleted.");
  return 0;
}

/**
 * -I expect: the master's tuple from -s/-d and the ports, the expectation's from --tuple-*,
 * its mask from --mask-* (or the CIDR of --tuple-src/-s; all ones by default).
 */
export function createExpect(ctx: CliContext, args: Args): number {
  const family = args.family ?? "ipv4";
  const proto = protoOf(args);
  const mask = (a: Address | undefined, via: (Address | undefined)[]): string => {
    if (a) return a.addr;
    const bits = via.find((x) => x?.bits !== undefined)?.bits;
    return cidrMask(family, bits ?? (family === "ipv4" ? 32 : 128));
  };
  try {
    ctx.ct().createExpect({
      family,
      proto,
      master: { proto, src: args.src!.addr, dst: args.dst!.addr, ...tupleL4(args, "orig") },
      // conntrack 1.4.7 puts a byte of --tuple-port-* in the expected tuple's protocol; nfct
      // uses -p for both tuples, as intended.
      tuple: { src: args.tupleSrc!.addr, dst: args.tupleDst!.addr, ...tupleL4(args, "tuple") },
      mask: {
        src: mask(args.maskSrc, [args.tupleSrc, args.src]),
        dst: mask(args.maskDst, [args.tupleDst, args.dst]),
        ...tupleL4(args, "mask"),
      },
      timeout: args.timeout,
    });
  } catch (e) {
    throw failed(e, "create", true);
  }
  return 0; // conntrack prints no summary for -I expect
}

/** -F expect: "expectation table has been emptied." unless `quiet` (-R). */
export function flushExpect(ctx: CliContext, quiet = false): number {
  try {
    ctx.ct().flushExpect();
  } catch (e) {
    throw failed(e, "flush", true);
  }
  if (!quiet) ctx.out.summary("expectation table has been emptied.");
  return 0;
}

/** -C expect: the number of IPv4 expectations (what conntrack counts), or its JSON line. */
export function countExpect(ctx: CliContext, args: Pick<Args, "output">): number {
  return printCount(ctx, args, () => {
    let n = 0;
    for (const _ of ctx.ct().dumpExpect({ family: "ipv4" })) n++;
    return n;
  }, true);
}

/** The line conntrack prints for one CPU with `-S expect`. */
function expectStatsText(s: ExpectCpuStats): string {
  return `cpu=${String(s.cpu).padEnd(4)}\texpect_new=${s.new} expect_create=${s.create} ` +
    `expect_delete=${s.delete} `;
}

/** -S expect: one line per CPU (or JSON lines). */
export function statsExpect(ctx: CliContext, args: Pick<Args, "output">): number {
  return printPerCpu(ctx, args, () => ctx.ct().expectStats(), {
    text: expectStatsText,
    json: expectStatsLine,
  }, true);
}
