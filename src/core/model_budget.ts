/**
 * A model's per-minute budget, learned from the upstream: when OpenRouter
 * answers a per-model 429 (`limit_rpm/…`, "High demand for … - limited to 8
 * requests per minute") it states the limit in `X-RateLimit-Limit` and resets
 * it at the next minute boundary. Once the limit is known, attempts on the
 * model are counted per minute, and the attempt that would be one too many is
 * not sent: on the free tier a refused attempt still costs one of the day's
 * requests. Plain data and functions, the clock passed in. Pure.
 *
 * @module
 */

/** How long a learned limit is trusted after the 429 that stated it, ms (a "high demand" limit comes and goes). */
export const MINUTE_LIMIT_HOLD_MS = 15 * 60_000;

const MINUTE_MS = 60_000;

/** One model's learned per-minute limit and its use in the current minute. */
export interface MinuteBudget {
  /** Attempts per minute the upstream allows (its `X-RateLimit-Limit`). */
  limit: number;
  /** Epoch ms until which the limit is trusted. */
  trustedUntil: number;
  /** The minute (epoch ms / 60,000, floored) that `used` counts. */
  minute: number;
  /** Attempts made in that minute. */
  used: number;
}

/** The start of the minute after `now`, epoch ms: when a per-minute limit resets. */
export function nextMinute(now: number): number {
  return (Math.floor(now / MINUTE_MS) + 1) * MINUTE_MS;
}

/**
 * The budget after a per-model 429 stating `limit`: trusted for
 * {@link MINUTE_LIMIT_HOLD_MS}, and spent for the current minute (the 429
 * says none is left, whoever used it).
 */
export function learnMinuteLimit(
  limit: number,
  now: number,
  holdMs: number = MINUTE_LIMIT_HOLD_MS,
): MinuteBudget {
  return {
    limit,
    trustedUntil: now + holdMs,
    minute: Math.floor(now / MINUTE_MS),
    used: limit,
  };
}

/**
 * Whether one more attempt fits the model's budget at `now`: always when no
 * limit is known or it is no longer trusted.
 */
export function hasRoom(
  budget: MinuteBudget | undefined,
  now: number,
): boolean {
  if (budget === undefined || budget.trustedUntil <= now) return true;
  return budget.minute !== Math.floor(now / MINUTE_MS) ||
    budget.used < budget.limit;
}

/**
 * Counts one attempt. Returns the new budget (`undefined` when none is known
 * or trusted any more: nothing to count) and whether this attempt was the
 * last one the minute allows (the caller may then cool the model down until
 * {@link nextMinute}).
 */
export function spend(
  budget: MinuteBudget | undefined,
  now: number,
): { budget: MinuteBudget | undefined; last: boolean } {
  if (budget === undefined || budget.trustedUntil <= now) {
    return { budget: undefined, last: false };
  }
  const minute = Math.floor(now / MINUTE_MS);
  const used = budget.minute === minute ? budget.used + 1 : 1;
  return {
    budget: { ...budget, minute, used },
    last: used >= budget.limit,
  };
}
