/**
 * `-o csv` (cli/csv.ts): RFC 4180 quoting, a header of the JSON fields each column holds, in
 * a fixed order, every tuple field; rows that read back (test/_helpers/csv.ts) as the cells of
 * the same entries' `-o json` lines, absent fields empty.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import type { Expectation, Flow } from "../../../mod.ts";
import { TUPLE_FIELDS } from "../../../conntrack/tuple.ts";
import {
  csvCell,
  csvHeader,
  EXPECT_CSV_COLUMNS,
  expectCsv,
  FLOW_CSV_COLUMNS,
  flowCsv,
} from "../../../cli/csv.ts";
import { expectLine, flowLine } from "../../../cli/json.ts";
import { csvRecords, expectedCell, parseCsv } from "../../_helpers/csv.ts";
import { LIST } from "../../_helpers/golden_flows.ts";
import { propertiesOf, SCHEMA, type SchemaNode } from "../../_helpers/output_schema.ts";
import { ROOT } from "../../_helpers/run.ts";

test("csvCell quotes a cell with a comma, a double quote, CR or LF, doubling its quotes", () => {
  const rows: [string, string][] = [
    ["plain", "plain"],
    ["", ""],
    ["a,b", '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ["two\nlines", '"two\nlines"'],
    ["cr\r", '"cr\r"'],
    ["ASSURED CONFIRMED", "ASSURED CONFIRMED"],
  ];
  for (const [cell, quoted] of rows) {
    assert.equal(csvCell(cell), quoted);
    assert.deepEqual(parseCsv(`${quoted},x\n`), [[cell, "x"]]);
  }
});

test("the columns: every tuple field of both directions, each a field of the JSON line", () => {
  for (const dir of ["orig", "reply"]) {
    assert.deepEqual(
      FLOW_CSV_COLUMNS.filter((c) => c.startsWith(`${dir}.`)),
      TUPLE_FIELDS.map((f) => `${dir}.${f}`),
    );
  }
  for (const dir of ["tuple", "mask"]) {
    assert.deepEqual(
      EXPECT_CSV_COLUMNS.filter((c) => c.startsWith(`${dir}.`)),
      TUPLE_FIELDS.map((f) => `${dir}.${f}`),
    );
  }
  const defs = SCHEMA.$defs as Record<string, SchemaNode>;
  const isField = (def: string, path: string) => {
    let node: SchemaNode | undefined = defs[def];
    for (const k of path.split(".")) {
      if (typeof node?.$ref === "string" && !node.properties) node = defs[node.$ref.split("/")[2]];
      node = node && propertiesOf(node).find(([p]) => p === k)?.[1];
    }
    return node !== undefined;
  };
  for (const c of FLOW_CSV_COLUMNS) assert.ok(isField("flow", c), c);
  for (const c of EXPECT_CSV_COLUMNS) assert.ok(isField("expectation", c), c);
  assert.equal(new Set(FLOW_CSV_COLUMNS).size, FLOW_CSV_COLUMNS.length);
  assert.equal(new Set(EXPECT_CSV_COLUMNS).size, EXPECT_CSV_COLUMNS.length);
  assert.equal(csvHeader(FLOW_CSV_COLUMNS), FLOW_CSV_COLUMNS.join(","));
});

test("flow rows read back as the cells of the same flows' -o json lines", () => {
  const odd: Flow = {
    ...LIST[0],
    secctx: 'odd,"ctx"\nline',
    labels: [1, 127],
    helper: "ftp",
    master: { proto: "tcp", src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 21 },
  };
  const flows = [...LIST, odd];
  const text = [csvHeader(FLOW_CSV_COLUMNS), ...flows.map(flowCsv)].join("\n") + "\n";
  const { header, rows } = csvRecords(text);
  assert.deepEqual(header, FLOW_CSV_COLUMNS);
  assert.equal(rows.length, flows.length);
  flows.forEach((f, i) => {
    const j = JSON.parse(flowLine(f));
    for (const c of header) assert.equal(rows[i][c], expectedCell(j, c), `${i} ${c}`);
  });
  assert.equal(rows.at(-1)!.secctx, 'odd,"ctx"\nline');
  assert.equal(rows.at(-1)!.labels, "1 127");
});

test("expectation rows read back as the cells of the same expectations' -o json lines", () => {
  const e: Expectation = {
    family: "ipv4",
    proto: "tcp",
    master: { proto: "tcp", src: "10.40.0.1", dst: "10.40.1.1", sport: 40001, dport: 21 },
    tuple: { src: "10.40.1.1", dst: "10.40.0.1", sport: 0, dport: 50001 },
    mask: { src: "255.255.255.255", dst: "255.255.255.255", sport: 0, dport: 65535 },
    timeout: 300,
    id: 7,
    helper: "ftp",
    flags: ["PERMANENT", "INACTIVE"],
    class: 0,
    nat: { dir: "original", tuple: { src: "10.9.9.9", dst: "10.40.0.1", sport: 2000 } },
  };
  const { header, rows } = csvRecords(
    [csvHeader(EXPECT_CSV_COLUMNS), expectCsv(e), expectCsv({ ...e, nat: undefined })].join("\n"),
  );
  assert.deepEqual(header, EXPECT_CSV_COLUMNS);
  const j = JSON.parse(expectLine(e));
  for (const c of header) assert.equal(rows[0][c], expectedCell(j, c), c);
  assert.equal(rows[0].flags, "PERMANENT INACTIVE");
  assert.equal(rows[1]["nat.dir"], "");
});

test("docs/output.md lists the columns of both CSV headers, in order", () => {
  const doc = readFileSync(`${ROOT}docs/output.md`, "utf8");
  const block = (title: string) => {
    const m = new RegExp(`${title}:\\n\\n\`\`\`\\n([^\`]*)\`\`\``).exec(doc);
    assert.ok(m, title);
    return m[1].replaceAll("\n", "").split(",").filter((c) => c !== "");
  };
  assert.deepEqual(block("Flows \\(`-L -o csv`\\)"), FLOW_CSV_COLUMNS);
  assert.deepEqual(block("Expectations \\(`-L expect -o csv`\\)"), EXPECT_CSV_COLUMNS);
});
