/**
 * How kernel errors read (cli/errors.ts): conntrack.c's err2str() texts per command, strerror()
 * otherwise, and which errors become "Operation failed" (exit 1).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { NetlinkError } from "../../../mod.ts";
import { CliError, err2str, failed, otherError } from "../../../cli/errors.ts";

test("err2str: conntrack's own texts for some (command, errno) pairs, strerror for the rest", () => {
  const rows: [string, Parameters<typeof err2str>[1], boolean, string][] = [
    ["EEXIST", "create", false, "Such conntrack exists, try -U to update"],
    ["EEXIST", "add", false, "Such conntrack exists, try -U to update"],
    ["ENOENT", "delete", false, "such conntrack doesn't exist"],
    ["ENOENT", "get", false, "such conntrack doesn't exist"],
    ["ENOENT", "list", false, "No such file or directory"],
    ["ENOMEM", "get", false, "not enough memory"],
    ["EAFNOSUPPORT", "get", false, "protocol not supported"],
    ["ETIME", "create", false, "conntrack has expired"],
    ["EPERM", "list", false, "sorry, you must be root or get CAP_NET_ADMIN capability to do this"],
    ["EINVAL", undefined, false, "invalid parameters"],
    ["ENOENT", "create", true, "master conntrack not found"],
    ["EEXIST", "create", true, "File exists"],
    ["EPERM", "flush", true, "sorry, you must be root or get CAP_NET_ADMIN capability to do this"],
    ["EBUSY", "flush", false, "Device or resource busy"],
    ["E999", "list", false, "E999"],
  ];
  for (const [code, cmd, expect, text] of rows) {
    assert.equal(err2str(code, cmd, expect), text, `${code} ${cmd} ${expect}`);
  }
});

test("failed: kernel errors and library refusals become exit 1 'Operation failed: ...'", () => {
  const e = failed(new NetlinkError("Cannot delete flow", 2), "delete");
  assert.ok(e instanceof CliError);
  assert.deepEqual([e.code, e.message], [1, "Operation failed: such conntrack doesn't exist"]);
  const t = failed(new TypeError("Invalid flow.mark: must be a 32-bit number"), "update");
  assert.equal(t.message, "Operation failed: Invalid flow.mark: must be a 32-bit number");
  const own = otherError("as it was");
  assert.equal(failed(own), own, "a CliError passes through");
  assert.throws(
    () => failed(new Error("a bug")),
    { message: "a bug" },
    "anything else is rethrown",
  );
});
