/** The routing benchmark's lower bound on attempts per answer and its informed oracles (bench/routing/bound.ts). */
import assert from "node:assert/strict";
import {
  attemptsBound,
  failChance,
  informedOrder,
} from "../bench/routing/bound.ts";
import { type SimModel, simulatedPool } from "../bench/routing/pool.ts";
import { buildFreePool } from "../src/core/free_pool.ts";
import { baseOrder } from "../src/core/ranking.ts";
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

Deno.test("failChance() adds the transient failures to the upstream 429s the hour brings", () => {
  const b = {
    quality: 50,
    ttftMs: 1000,
    failRate: 0.1,
    rpmCap: 10,
    busy429: 0.5,
  };
  const busy = 0.5 * diurnal(16);
  assert.ok(Math.abs(failChance(b, 16) - (busy + (1 - busy) * 0.1)) < 1e-12);
  assert.ok(failChance(b, 4) < failChance(b, 16), "fewer 429s at night");
  assert.equal(failChance({ ...b, busy429: 0 }, 16), 0.1);
});

Deno.test("informedOrder() ranks by quality less λ times the hour's failure chance, by freerouter's scores or by the true quality", () => {
  const models = simulatedPool();
  const pool = buildFreePool(models.map((m) => m.row));
  const noon = Date.UTC(2026, 11, 7, 12);
  const ids = (lambda: number, by: "score" | "truth") =>
    informedOrder(models, lambda, by)(pool, noon).map((m) => m.id);
  // λ 0: the scores' order (quality's own) or the hidden truth's.
  assert.deepEqual(
    ids(0, "score"),
    baseOrder(pool, "quality").map((m) => m.id),
  );
  const truth = new Map(
    models.map((m) => [m.row.id as string, m.behaviour.quality]),
  );
  const byTruth = ids(0, "truth").map((id) => truth.get(id)!);
  assert.deepEqual(byTruth, [...byTruth].sort((a, b) => b - a));
  // The unscored Chimera (true 52) is below gpt-oss-20b (49) by score, above it by truth.
  const chimera = "tngtech/deepseek-r1t2-chimera:free";
  const oss = "openai/gpt-oss-20b:free";
  const before = (order: string[]) =>
    order.indexOf(chimera) < order.indexOf(oss);
  assert.equal(before(ids(0, "score")), false);
  assert.equal(before(ids(0, "truth")), true);
  // A large λ puts a least failing model first, whatever its quality.
  const chance = new Map(
    models.map((m) => [m.row.id as string, failChance(m.behaviour, 12)]),
  );
  const least = Math.min(...chance.values());
  assert.equal(chance.get(ids(100_000, "score")[0]!), least);
  assert.notEqual(chance.get(ids(0, "score")[0]!), least);
});
