/** Family names ↔ AF_* numbers (conntrack/family.ts). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { AF_INET, AF_INET6 } from "../../../conntrack/constants.ts";
import { familyName, familyNumber } from "../../../conntrack/family.ts";

test("familyNumber and familyName map ipv4 to AF_INET (2) and ipv6 to AF_INET6 (10)", () => {
  assert.equal(familyNumber("ipv4"), AF_INET);
  assert.equal(familyNumber("ipv6"), AF_INET6);
  assert.equal(familyName(AF_INET), "ipv4");
  assert.equal(familyName(AF_INET6), "ipv6");
});

test("familyName of another number is undefined; familyNumber of another name a TypeError", () => {
  for (const n of [0, 1, 7, 255]) assert.equal(familyName(n), undefined);
  assert.throws(() => familyNumber("inet" as never), TypeError);
});
