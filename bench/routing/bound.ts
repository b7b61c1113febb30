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
import type { SimModel } from "./pool.ts";
import { diurnal } from "./traffic.ts";

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
    models.map(({ behaviour: b }) => {
      const busy = b.busy429 * diurnal(h + 0.5);
      const fail = busy + (1 - busy) * b.failRate;
      return { cost: 1 / (1 - fail), quality: b.quality };
    })
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
