/**
 * Checks lines of `nfct -o json` against schema/nfct-output.schema.json: with Ajv (draft
 * 2020-12, strict), that each line is the kind of line it should be and no other, and that its
 * keys come in the order the schema lists them (JSON Schema cannot say that).
 * @module
 */
import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import { ROOT } from "./run.ts";

/** A JSON Schema object, as read from the file. */
export type SchemaNode = Record<string, unknown>;

/** The schema file, parsed. */
export const SCHEMA: SchemaNode = JSON.parse(
  readFileSync(`${ROOT}schema/nfct-output.schema.json`, "utf8"),
);

const DEFS = SCHEMA.$defs as Record<string, SchemaNode>;

/** The kinds of line (the definitions the schema's `oneOf` lists). */
export type LineKind =
  | "flow"
  | "flowEvent"
  | "expectation"
  | "expectEvent"
  | "cpuStats"
  | "expectCpuStats"
  | "count"
  | "top";

const ajv = new Ajv2020({ strict: true, allErrors: true });
ajv.addSchema(SCHEMA);
const ID = SCHEMA.$id as string;
const whole = ajv.getSchema(ID)!;
const byKind = new Map<string, ReturnType<typeof ajv.getSchema>>();

function validatorOf(kind: LineKind) {
  let v = byKind.get(kind);
  if (!v) byKind.set(kind, v = ajv.getSchema(`${ID}#/$defs/${kind}`)!);
  return v!;
}

/** A `$ref` inside the schema (`#/$defs/NAME`), resolved. */
function resolve(ref: string): SchemaNode {
  const m = /^#\/\$defs\/(\w+)$/.exec(ref);
  if (!m || !DEFS[m[1]]) throw new Error(`unexpected $ref ${ref}`);
  return DEFS[m[1]];
}

/**
 * The properties a schema node lists, in order, with their schemas: its own `properties`, then
 * those of what its `$ref` names (a line's `v`, then the fields it shares).
 */
export function propertiesOf(node: SchemaNode): [string, SchemaNode][] {
  const own = Object.entries((node.properties ?? {}) as Record<string, SchemaNode>);
  return typeof node.$ref === "string" ? [...own, ...propertiesOf(resolve(node.$ref))] : own;
}

/**
 * Where the keys of `value` (and of every object inside it) leave the order `node` lists:
 * one message per object whose keys are out of order.
 */
export function keyOrderProblems(value: unknown, node: SchemaNode, at = "$"): string[] {
  if (typeof node.$ref === "string" && !node.properties) {
    return keyOrderProblems(value, resolve(node.$ref), at);
  }
  if (Array.isArray(value)) {
    const items = node.items as SchemaNode | undefined;
    return items ? value.flatMap((x, i) => keyOrderProblems(x, items, `${at}[${i}]`)) : [];
  }
  if (value === null || typeof value !== "object") return [];
  const props = propertiesOf(node);
  const problems: string[] = [];
  if (props.length) {
    const order = props.map(([k]) => k);
    const keys = Object.keys(value);
    const idx = keys.map((k) => order.indexOf(k));
    if (idx.some((n, i) => i > 0 && n <= idx[i - 1])) {
      problems.push(`${at}: keys ${keys.join(",")} are not in the order ${order.join(",")}`);
    }
  }
  const extra = node.additionalProperties;
  for (const [k, v] of Object.entries(value)) {
    const sub = props.find(([p]) => p === k)?.[1] ??
      (extra && typeof extra === "object" ? extra as SchemaNode : undefined);
    if (sub) problems.push(...keyOrderProblems(v, sub, `${at}.${k}`));
  }
  return problems;
}

/**
 * What is wrong with `line` as a line of kind `kind`: not JSON, not valid against that
 * definition (Ajv's errors), valid against another kind too, or keys out of order. Empty
 * when it is right.
 */
export function lineProblems(line: string, kind: LineKind): string[] {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    return [`not JSON: ${(e as Error).message}: ${line}`];
  }
  const v = validatorOf(kind);
  if (!v(value)) {
    return [`not a ${kind} line: ${ajv.errorsText(v.errors)}: ${line}`];
  }
  if (!whole(value)) {
    return [`matches more than the ${kind} line: ${ajv.errorsText(whole.errors)}: ${line}`];
  }
  return keyOrderProblems(value, DEFS[kind]).map((p) => `${p}: ${line}`);
}

/** The problems of every non-empty line of `text` as lines of kind `kind`. */
export function textProblems(text: string, kind: LineKind): string[] {
  return text.split("\n").filter((l) => l !== "").flatMap((l) => lineProblems(l, kind));
}
