/** The routing simulation's failure causes and its penalised quality order (bench/routing/sim.ts, upstream.ts). */
import assert from "node:assert/strict";
import { simulatedPool } from "../bench/routing/pool.ts";
import { penalisedOrder, simulate } from "../bench/routing/sim.ts";
import { buildFreePool } from "../src/core/free_pool.ts";
import { UNKNOWN_HEALTH } from "../src/core/health.ts";
import { baseOrder, HEALTH_MEMORY_MS } from "../src/core/ranking.ts";
import { makeTraffic } from "../bench/routing/traffic.ts";
import type { BusyModel, FailureCause } from "../bench/routing/upstream.ts";
import type { FreeModel } from "../src/types.ts";

/** One model that is busy all day (its upstream 429 share is above 1 at every hour) and never fails otherwise. */
function causesOfAlwaysBusy(busyModel: BusyModel): Map<FailureCause, number> {
  const [first] = simulatedPool();
  const models = [{
    row: first!.row,
    behaviour: { ...first!.behaviour, failRate: 0, rpmCap: 1000, busy429: 3 },
  }];
  const traffic = makeTraffic({
    seed: 1,
    conversations: 300,
    paidAccounts: 2,
    freeAccounts: 0,
  });
  const records = simulate({
    strategy: "quality",
    models,
    traffic,
    seed: 1,
    busyModel,
  });
  const counts = new Map<FailureCause, number>();
  for (const r of records) {
    for (const c of r.failedBy) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  return counts;
}

Deno.test("simulate() counts the first upstream 429 of a busy period as unforeseen and the later ones in it as already met", () => {
  const counts = causesOfAlwaysBusy("periods");
  const unforeseen = counts.get("upstream_429") ?? 0;
  const again = counts.get("upstream_429_again") ?? 0;
  // 720 two-minute periods in the day: at most one unforeseen 429 each.
  assert.ok(unforeseen > 0 && unforeseen <= 720, `unforeseen ${unforeseen}`);
  assert.ok(again > 0, `again ${again}`);
});

Deno.test("simulate() counts every upstream 429 as unforeseen when each attempt draws its own", () => {
  const counts = causesOfAlwaysBusy("independent");
  assert.ok((counts.get("upstream_429") ?? 0) > 720);
  assert.equal(counts.get("upstream_429_again"), undefined);
});

Deno.test("penalisedOrder() lowers a model by the penalty times its recent failure share, and forgets old health", () => {
  const pool = buildFreePool(simulatedPool().map((m) => m.row));
  const base = baseOrder(pool, "quality").map((m) => m.id);
  // The top two score 61 and 60: a failure share of 0.5 with penalty 10 costs the first 5 points.
  const now = Date.UTC(2026, 11, 7, 12);
  const failing = {
    ...UNKNOWN_HEALTH,
    attempts: 4,
    successRate: 0.5,
    lastAttemptAt: now - 1000,
  };
  const health = new Map([[base[0]!, failing]]);
  const ids = (penalty: number, at = now) =>
    penalisedOrder(pool, health, at, penalty).map((m) => m.id);
  assert.deepEqual(ids(0), base);
  const demoted = ids(10);
  assert.equal(demoted[0], base[1]);
  assert.ok(demoted.indexOf(base[0]!) > 1, demoted.join());
  assert.ok(demoted.indexOf(base[0]!) < base.length - 1);
  // Health older than HEALTH_MEMORY_MS no longer counts.
  assert.deepEqual(ids(10, now + HEALTH_MEMORY_MS), base);
});

Deno.test("simulate() sends requests first to the head of a given order, in place of the strategy's", () => {
  const models = simulatedPool();
  const traffic = makeTraffic({
    seed: 1,
    conversations: 50,
    paidAccounts: 2,
    freeAccounts: 0,
  });
  // A model every need fits, far down quality's own order.
  const gemma = "google/gemma-4-31b-it:free";
  const firstTries = (
    order?: (pool: readonly FreeModel[]) => FreeModel[],
  ) => {
    const firsts = simulate({
      strategy: "quality",
      models,
      traffic,
      seed: 1,
      busyModel: "periods",
      ...(order ? { order } : {}),
    }).filter((r) => r.tried.length > 0).map((r) => r.tried[0]);
    const counts = new Map<string, number>();
    for (const id of firsts) counts.set(id!, (counts.get(id!) ?? 0) + 1);
    return counts;
  };
  assert.equal(
    firstTries().get(gemma),
    undefined,
    "quality's order starts elsewhere",
  );
  const gemmaFirst = (pool: readonly FreeModel[]) => [
    ...pool.filter((m) => m.id === gemma),
    ...pool.filter((m) => m.id !== gemma),
  ];
  // Its cooldowns and learned per-minute limit send some requests elsewhere first.
  const counts = [...firstTries(gemmaFirst)].sort((a, b) => b[1] - a[1]);
  assert.equal(counts[0]![0], gemma, JSON.stringify(counts));
});
