/**
 * The `GET /api/v1/key` data of the fake OpenRouter (also served at the
 * legacy `GET /api/v1/auth/key`).
 *
 * OpenRouter reports the key's credit limit and usage there, and the free
 * tier's daily counter in `free_model_daily_requests` (`used`, `limit`,
 * `remaining`); `rate_limit` is deprecated
 * (https://openrouter.ai/docs/api-reference/limits).
 *
 * @module
 */
import { USER_ID } from "./common.ts";

/** The default `GET /key` `data` object, for a never-paid account. */
export function defaultKeyData(): Record<string, unknown> {
  return {
    label: "sk-or-v1-0a1...f00",
    limit: null,
    limit_remaining: null,
    limit_reset: null,
    include_byok_in_limit: false,
    usage: 0,
    usage_daily: 0,
    usage_weekly: 0,
    usage_monthly: 0,
    byok_usage: 0,
    byok_usage_daily: 0,
    byok_usage_weekly: 0,
    byok_usage_monthly: 0,
    is_free_tier: true,
    is_management_key: false,
    is_provisioning_key: false,
    creator_user_id: USER_ID,
    expires_at: null,
    rate_limit: {
      requests: -1,
      interval: "10s",
      note: "This field is deprecated and safe to ignore.",
    },
    free_model_daily_requests: { used: 0, limit: 50, remaining: 50 },
  };
}
