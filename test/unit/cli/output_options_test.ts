/**
 * nfct's own `-o` types through parseArgs (cli/matrix.ts, cli/values.ts): `-o json` also with
 * -S, -C (both tables) and -G expect, where conntrack 1.4.7 refuses -o; `-o csv` with -L only;
 * every other -o those commands get is refused with conntrack's own message and exit code.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { CliError } from "../../../cli/errors.ts";
import { parse } from "./_parse.ts";

const GET_EXPECT = "-G expect -s 10.40.1.1 -d 10.40.0.1 -p tcp --sport 0 --dport 50001 " +
  "--reply-port-src 1 --reply-port-dst 2";
const GET = "-G -s 1.1.1.1 -d 2.2.2.2 -p tcp --sport 1 --dport 2";

function refused(line: string, code: number, message: string): void {
  assert.throws(() => parse(line), (e: unknown) => {
    assert.ok(e instanceof CliError, line);
    assert.equal(e.message, message, line);
    assert.equal(e.code, code, line);
    return true;
  });
}

const ILLEGAL = "Illegal option `--output' with this command";

test("-o json with -S, -C, -S expect, -C expect and -G expect (conntrack takes no -o there)", () => {
  for (const line of ["-S", "-C", "-S expect", "-C expect", GET_EXPECT]) {
    const c = parse(`${line} -o json`);
    assert.ok("output" in c && c.output.has("json"), line);
  }
});

test("every other -o type with those commands: conntrack's refusal, exit 2", () => {
  for (const line of ["-S", "-C", "-S expect", "-C expect", GET_EXPECT]) {
    for (const o of ["xml", "extended", "save", "csv", "id"]) {
      refused(`${line} -o ${o}`, 2, ILLEGAL);
    }
  }
  // the first illegal option in conntrack's bit order is still the one named
  refused("-S -s 1.1.1.1 -o json", 2, "Illegal option `--src' with this command");
});

test("-o csv with -L of every table, and with no other command", () => {
  for (const line of ["-L", "-L expect", "-L dying", "-L unconfirmed", "-L -p udp --dport 53"]) {
    const c = parse(`${line} -o csv`);
    assert.ok("output" in c && c.output.has("csv"), line);
  }
  for (const line of ["-E", "-E expect", GET, "-D -p udp", "-U -m 1", "-F"]) {
    refused(`${line} -o csv`, 2, ILLEGAL);
  }
});

test("csv combines with no other -o type (exit 2, as conntrack's Bad parameter)", () => {
  for (const o of ["csv,id", "xml,csv", "csv,json"]) {
    assert.throws(() => parse(`-L -o ${o}`), (e: unknown) => {
      assert.ok(e instanceof CliError);
      assert.equal(e.code, 2);
      assert.match(e.message, /cannot combine (csv|json) output with any other output type/);
      return true;
    });
  }
});
