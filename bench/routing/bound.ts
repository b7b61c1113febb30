/**
 * What the simulated pool allows at best: the fewest upstream attempts per
 * answer any strategy could spend for a given mean quality, when each
 * attempt's 429 and transient failure are drawn independently (the
 * `independent` scenario). An oracle that knows every model's chance of
 * failing hour by hour picks, per hour, the mix of models that costs least;
 * capacity, the daily caps and the requests' needs only add to that cost, so
 * they are left out. A linear program solved through its one multiplier.
 *
 * @module
 */
import type { FreeModel } from "../../src/types.ts";
import { qualityScores } from "../../src/core/quality.ts";
import { baseOrder } from "../../src/core/ranking.ts";
import type { SimBehaviour, SimModel } from "./pool.ts";
import { DAY_MS, diurnal } from "./traffic.ts";

/** A model's chance that an attempt fails at UTC hour `hour` (0–24): an upstream 429, else a transient failure. */
export function failChance(b: SimBehaviour, hour: number): number {
  const busy = b.busy429 * diurnal(hour);
  return busy + (1 - busy) * b.failRate;
}

/**
 * An informed oracle's order, for the simulation's `order`: each model ranked
 * by its quality less `lambda` times its true chance of failing at that hour
 * (what freerouter could only learn by spending attempts); ties keep
 * `quality`'s order. `by` says which
 * quality: freerouter's scores (the catalog's indices, its estimates for the
 * rest) or the hidden true quality.
 */
export function informedOrder(
  models: readonly SimModel[],
  lambda: number,
  by: "score" | "truth",
): (pool: readonly FreeModel[], now: number) => FreeModel[] {
  const behaviour = new Map(
    models.map((m) => [m.row.id as string, m.behaviour]),
  );
  let scores: ReturnType<typeof qualityScores> | undefined;
  return (pool, now) => {
    scores ??= qualityScores(pool, "intelligence");
    const hour = (now % DAY_MS) / 3_600_000;
    return baseOrder(pool, "quality").map((m, i) => {
      const b = behaviour.get(m.id)!;
      const quality = by === "score" ? scores!.get(m.id)!.score : b.quality;
      return { m, i, s: quality - lambda * failChance(b, hour) };
    }).sort((x, y) => y.s - x.s || x.i - y.i).map((e) => e.m);
  };
}

/**
 * The least attempts per answer for a mean quality index of at least
 * `target`, given the UTC hours (0–24, fractional) the answers come at.
 * `undefined` when no mix reaches `target`.
 */
export function attemptsBound(
  models: readonly SimModel[],
  hours: readonly number[],
  target: number,
): number | undefined {
  const weight = new Array<number>(24).fill(0);
  for (const h of hours) weight[Math.floor(h) % 24]! += 1 / hours.length;
  // Per hour and model: expected attempts per answer (1 / chance of success) and quality.
  const arms = weight.map((_, h) =>
    models.map(({ behaviour: b }) => ({
      cost: 1 / (1 - failChance(b, h + 0.5)),
      quality: b.quality,
    }))
  );
  // For a price λ on quality, each hour takes the arm with the least cost − λ·quality.
  const pick = (lambda: number) => {
    let cost = 0;
    let quality = 0;
    arms.forEach((hour, h) => {
      const best = hour.reduce((a, b) =>
        b.cost - lambda * b.quality < a.cost - lambda * a.quality ? b : a
      );
      cost += weight[h]! * best.cost;
      quality += weight[h]! * best.quality;
    });
    return { cost, quality };
  };
  let lo = 0;
  let hi = 1;
  while (pick(hi).quality < target) {
    if ((hi *= 2) > 1e6) return undefined;
  }
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (pick(mid).quality >= target) hi = mid;
    else lo = mid;
  }
  // The optimum mixes the two picks around the multiplier.
  const below = pick(lo);
  const above = pick(hi);
  if (above.quality <= below.quality) return above.cost;
  const t = Math.max(
    0,
    (target - below.quality) / (above.quality - below.quality),
  );
  return below.cost + t * (above.cost - below.cost);
}
