/** The routing benchmark's lower bound on attempts per answer (bench/routing/bound.ts). */
import assert from "node:assert/strict";
import { attemptsBound } from "../bench/routing/bound.ts";
import type { SimModel } from "../bench/routing/pool.ts";
import { diurnal } from "../bench/routing/traffic.ts";

const model = (quality: number, failRate: number): SimModel => ({
  row: {},
  behaviour: { quality, ttftMs: 1000, failRate, rpmCap: 10, busy429: 0 },
});

Deno.test("attemptsBound() mixes the cheapest models that reach the target quality", () => {
  // A reliable weak model (1 attempt per answer) and a strong one failing half the time (2).
  const models = [model(10, 0), model(50, 0.5), model(30, 0.6)];
  const hours = [3, 9, 15, 21];
  assert.equal(attemptsBound(models, hours, 10), 1);
  assert.equal(attemptsBound(models, hours, 50), 2);
  // 30 is reached cheaper by half of each (1.5) than by the 30 model alone (2.5).
  assert.ok(Math.abs(attemptsBound(models, hours, 30)! - 1.5) < 1e-9);
  assert.equal(attemptsBound(models, hours, 51), undefined);
});

Deno.test("attemptsBound() prices a model's upstream 429s by the hour", () => {
  const busy: SimModel = {
    row: {},
    behaviour: {
      quality: 50,
      ttftMs: 1000,
      failRate: 0,
      rpmCap: 10,
      busy429: 0.5,
    },
  };
  const night = attemptsBound([busy], [4], 50)!;
  const peak = attemptsBound([busy], [16], 50)!;
  assert.ok(night < peak, `${night} < ${peak}: fewer 429s at night`);
  const expected = 1 / (1 - 0.5 * diurnal(16.5));
  assert.ok(Math.abs(peak - expected) < 1e-9, "the hour's share of 429s");
});
