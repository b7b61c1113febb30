/**
 * Cooldowns as data: a model cools down until an instant, for a reason. The
 * policy is pure; persistence lives in the state store.
 *
 * @module
 */

/**
 * One model's cooldown.
 *
 * @example A cooldown after a 429
 * ```ts
 * import type { CooldownEntry } from "@freerouter/freerouter";
 * const entry: CooldownEntry = {
 *   model: "qwen/qwen3-coder:free",
 *   until: Date.now() + 60_000,
 *   reason: "429",
 * };
 * ```
 */
export interface CooldownEntry {
  /** The model id. */
  model: string;
  /** Epoch ms when the model may be tried again. */
  until: number;
  /** Why, e.g. `429`. */
  reason: string;
  /**
   * `rate_limit` (a 429), `breaker` (repeated transient failures) or
   * `lasting` (gone for free use: ends at the next catalog refresh).
   * @default {"rate_limit"}
   */
  kind?: "rate_limit" | "breaker" | "lasting";
}

/** Whether `entry` still holds at `now`. */
export function isCoolingDown(
  entry: CooldownEntry | undefined,
  now: number,
): boolean {
  return entry !== undefined && entry.until > now;
}

/**
 * Merges a new cooldown into an existing one: the later end wins, so a short
 * hint never shortens a longer cooldown another instance wrote.
 */
export function mergeCooldown(
  current: CooldownEntry | undefined,
  next: CooldownEntry,
): CooldownEntry {
  return current !== undefined && current.until >= next.until ? current : next;
}

/**
 * Seconds until the soonest of `entries` ends, rounded up, at least 1; for a
 * `Retry-After` header. `undefined` when none is active.
 */
export function secondsUntilSoonest(
  entries: Iterable<CooldownEntry>,
  now: number,
): number | undefined {
  let soonest = Infinity;
  for (const entry of entries) {
    if (entry.until > now && entry.until < soonest) soonest = entry.until;
  }
  return soonest === Infinity
    ? undefined
    : Math.max(1, Math.ceil((soonest - now) / 1000));
}
