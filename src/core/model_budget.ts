/**
 * A model's per-minute budget, learned from the upstream: when OpenRouter
 * answers a per-model 429 (`limit_rpm/…`, "High demand for … - limited to 8
 * requests per minute") it states the limit in `X-RateLimit-Limit` and when
 * the minute resets in `X-RateLimit-Reset`. Once the limit is known, attempts
 * on the model are counted per minute — the upstream's minutes, which end at
 * its reset, whatever our clock's — and the attempt that would be one too many
 * is not sent: on the free tier a refused attempt still costs one of the day's
 * requests. Plain data and functions, the clock passed in. Pure.
 *
 * @module
 */
import { MINUTE_MS } from "./account_limit.ts";

/** How long a learned limit is trusted after the 429 that stated it, ms (a "high demand" limit comes and goes). */
export const MINUTE_LIMIT_HOLD_MS = 15 * 60_000;

/** One model's learned per-minute limit and its use in the current minute. */
export interface MinuteBudget {
  /** Attempts per minute the upstream allows (its `X-RateLimit-Limit`). */
  limit: number;
  /** Epoch ms until which the limit is trusted. */
  trustedUntil: number;
  /** Where the upstream's minutes start, ms past our clock's minute (its reset, modulo a minute). */
  offset: number;
  /** The minute that `used` counts (see {@link minuteOf}). */
  minute: number;
  /** Attempts made in that minute. */
  used: number;
}

/** The index of the upstream minute `now` falls in, for minutes starting `offset` ms past ours. */
export function minuteOf(now: number, offset: number): number {
  return Math.floor((now - offset) / MINUTE_MS);
}

/** When the budget's minute that `now` falls in ends, epoch ms: the next reset. */
export function minuteEnd(budget: MinuteBudget, now: number): number {
  return (minuteOf(now, budget.offset) + 1) * MINUTE_MS + budget.offset;
}

/**
 * The budget after a per-model 429 stating `limit` and resetting at `resetAt`
 * (epoch ms): trusted for {@link MINUTE_LIMIT_HOLD_MS}, and spent until the
 * reset (the 429 says none is left, whoever used it).
 */
export function learnMinuteLimit(
  limit: number,
  now: number,
  resetAt: number,
  holdMs: number = MINUTE_LIMIT_HOLD_MS,
): MinuteBudget {
  const offset = ((resetAt % MINUTE_MS) + MINUTE_MS) % MINUTE_MS;
  // The minute that ends at the reset (or now's, for a reset further away).
  const minute = Math.min(
    minuteOf(now, offset),
    minuteOf(resetAt, offset) - 1,
  );
  return { limit, trustedUntil: now + holdMs, offset, minute, used: limit };
}

/** The budget, while its limit is trusted at `now`; else `undefined` (no limit known). */
export function trusted(
  budget: MinuteBudget | undefined,
  now: number,
): MinuteBudget | undefined {
  return budget !== undefined && budget.trustedUntil > now ? budget : undefined;
}

/** Attempts counted in the upstream minute `now` falls in. */
export function usedThisMinute(budget: MinuteBudget, now: number): number {
  return budget.minute === minuteOf(now, budget.offset) ? budget.used : 0;
}

/**
 * Whether one more attempt fits the model's budget at `now`: always when no
 * limit is known or it is no longer trusted.
 */
export function hasRoom(
  budget: MinuteBudget | undefined,
  now: number,
): boolean {
  const known = trusted(budget, now);
  return known === undefined || known.minute < minuteOf(now, known.offset) ||
    known.used < known.limit;
}

/**
 * Counts one attempt. Returns the new budget (`undefined` when none is known
 * or trusted any more: nothing to count) and whether this attempt was the
 * last one the minute allows (the caller may then cool the model down until
 * {@link minuteEnd}).
 */
export function spend(
  budget: MinuteBudget | undefined,
  now: number,
): { budget: MinuteBudget | undefined; last: boolean } {
  const known = trusted(budget, now);
  if (known === undefined) return { budget: undefined, last: false };
  const used = usedThisMinute(known, now) + 1;
  return {
    budget: { ...known, minute: minuteOf(now, known.offset), used },
    last: used >= known.limit,
  };
}
