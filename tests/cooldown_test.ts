import assert from "node:assert/strict";
import {
  type CooldownEntry,
  isCoolingDown,
  mergeCooldown,
  secondsUntilSoonest,
} from "../src/core/cooldown.ts";

const NOW = 1779278400000; // 2026-05-20T12:00:00Z

function entry(until: number, model = "qwen/qwen3-coder:free"): CooldownEntry {
  return { model, until, reason: "429" };
}

Deno.test("isCoolingDown() holds while until is after now", () => {
  assert.equal(isCoolingDown(entry(NOW + 1), NOW), true);
  assert.equal(isCoolingDown(entry(NOW + 60_000), NOW), true);
});

Deno.test("isCoolingDown() ends at until", () => {
  assert.equal(isCoolingDown(entry(NOW), NOW), false);
  assert.equal(isCoolingDown(entry(NOW - 1), NOW), false);
});

Deno.test("isCoolingDown() is false without an entry", () => {
  assert.equal(isCoolingDown(undefined, NOW), false);
});

Deno.test("mergeCooldown() keeps the later end", () => {
  const short = entry(NOW + 10_000);
  const long = { ...entry(NOW + 3_600_000), reason: "429 daily" };
  assert.equal(mergeCooldown(long, short), long);
  assert.equal(mergeCooldown(short, long), long);
});

Deno.test("mergeCooldown() keeps the current entry on a tie", () => {
  const current = entry(NOW + 10_000);
  const next = { ...entry(NOW + 10_000), reason: "timeout" };
  assert.equal(mergeCooldown(current, next), current);
});

Deno.test("mergeCooldown() takes the new entry when there is none", () => {
  const next = entry(NOW + 10_000);
  assert.equal(mergeCooldown(undefined, next), next);
});

Deno.test("secondsUntilSoonest() rounds the soonest active cooldown up to whole seconds", () => {
  assert.equal(
    secondsUntilSoonest(
      [entry(NOW + 30_500), entry(NOW + 10_001), entry(NOW + 90_000)],
      NOW,
    ),
    11,
  );
  assert.equal(secondsUntilSoonest([entry(NOW + 10_000)], NOW), 10);
});

Deno.test("secondsUntilSoonest() is at least 1", () => {
  assert.equal(secondsUntilSoonest([entry(NOW + 1)], NOW), 1);
});

Deno.test("secondsUntilSoonest() ignores expired cooldowns", () => {
  assert.equal(
    secondsUntilSoonest(
      [entry(NOW - 5_000), entry(NOW), entry(NOW + 20_000)],
      NOW,
    ),
    20,
  );
});

Deno.test("secondsUntilSoonest() is undefined when no cooldown is active", () => {
  assert.equal(secondsUntilSoonest([], NOW), undefined);
  assert.equal(
    secondsUntilSoonest([entry(NOW), entry(NOW - 1)], NOW),
    undefined,
  );
});

Deno.test("secondsUntilSoonest() reads any iterable, such as a Map's values", () => {
  const map = new Map([
    ["a/one:free", entry(NOW + 45_000, "a/one:free")],
    ["b/two:free", entry(NOW + 5_200, "b/two:free")],
  ]);
  assert.equal(secondsUntilSoonest(map.values(), NOW), 6);
});
