import assert from "node:assert/strict";
import { median, medianDifference, medianRatio } from "../bench/stats.ts";

Deno.test("medianRatio is the median of the per-round ratios, not the ratio of the medians", () => {
  const a = [1, 30, 3];
  const b = [2, 4, 60];
  // Per-round ratios 0.5, 7.5 and 0.05; the medians give 3 / 4.
  assert.equal(medianRatio(a, b), 0.5);
  assert.equal(median(a) / median(b), 0.75);
});

Deno.test("medianRatio skips pairs without a usable value", () => {
  assert.equal(medianRatio([1, 2, NaN, 4], [2, 0, 1, 8]), 0.5);
  assert.equal(
    medianRatio([1, 2, 9], [2, 4]),
    0.5,
    "extra rounds of one series are ignored",
  );
  assert.ok(Number.isNaN(medianRatio([], [])));
  assert.ok(Number.isNaN(medianRatio([1], [0])));
});

Deno.test("medianDifference is the median of the per-round differences", () => {
  // Per-round differences 10, 1 and 1 (the fourth value has no pair); the
  // medians give 5 - 2.
  assert.equal(medianDifference([10, 1, 5], [0, 0, 4, 7]), 1);
  assert.equal(median([10, 1, 5]) - median([0, 0, 4, 7]), 3);
  assert.ok(Number.isNaN(medianDifference([Infinity], [1])));
});
