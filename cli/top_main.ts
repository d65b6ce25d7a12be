#!/usr/bin/env -S deno run -A
/**
 * Runs `nfct top` on its own until the dispatcher has it (`nfct top ...`):
 *
 *   deno run -A cli/top_main.ts [options]
 *   bun cli/top_main.ts [options]
 * @module
 */
import { host } from "../mod.ts";
import { top } from "./top.ts";

host.exit(await top(host.args()));
