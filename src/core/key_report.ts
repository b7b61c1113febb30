/**
 * OpenRouter's `GET /api/v1/key`, read: the key's credit cap and usage, its
 * tier, and the account's free-model quota for the UTC day
 * (`free_model_daily_requests {used, limit, remaining}`, the same counter the
 * free-model limits read). Reading it costs no quota. Pure: the caller
 * fetches.
 *
 * @module
 */
import { z } from "zod";

/** The account's free-model requests today, as `/key` reports them. */
export interface FreeDailyRequests {
  /** Requests counted today (may exceed `limit`). */
  used: number;
  /** The day's limit: 50, or 1000 once credits were bought. */
  limit: number;
  /** What is left today (never below 0). */
  remaining: number;
}

/** What freerouter reads from `GET /key`. */
export interface KeyReport {
  /** The key's credit cap in USD, `null` when it has none. */
  limit: number | null;
  /** Credit left under the cap, USD. */
  limitRemaining: number | null;
  /** Credits spent with the key, USD. */
  usage: number | null;
  /** Credits spent today, USD. */
  usageDaily: number | null;
  /** Whether the account never bought credits. */
  isFreeTier: boolean | null;
  /** The free-model quota of the day, when reported. */
  freeDaily: FreeDailyRequests | undefined;
}

const count = z.number().finite().min(0);
const num = z.number().finite().nullable().catch(null);

const keySchema = z.object({
  data: z.object({
    limit: num.optional(),
    limit_remaining: num.optional(),
    usage: num.optional(),
    usage_daily: num.optional(),
    is_free_tier: z.boolean().nullable().catch(null).optional(),
    free_model_daily_requests: z.object({
      used: count,
      limit: count,
      remaining: count.optional(),
    }).optional().catch(undefined),
  }),
});

/**
 * The report in a `GET /key` body, or `undefined` when the body is not one.
 * Fields that are missing or of the wrong type read as `null`; a
 * `free_model_daily_requests` without numeric `used` and `limit` is ignored.
 */
export function parseKeyReport(body: unknown): KeyReport | undefined {
  const parsed = keySchema.safeParse(body);
  if (!parsed.success) return undefined;
  const d = parsed.data.data;
  const daily = d.free_model_daily_requests;
  return {
    limit: d.limit ?? null,
    limitRemaining: d.limit_remaining ?? null,
    usage: d.usage ?? null,
    usageDaily: d.usage_daily ?? null,
    isFreeTier: d.is_free_tier ?? null,
    freeDaily: daily === undefined ? undefined : {
      used: Math.floor(daily.used),
      limit: Math.floor(daily.limit),
      remaining: Math.floor(
        daily.remaining ?? Math.max(0, daily.limit - daily.used),
      ),
    },
  };
}
