/**
 * What the fake's responses share: generation ids, provider names, the reset
 * instants of OpenRouter's rate limits and the `X-RateLimit-*` headers that
 * carry them.
 *
 * OpenRouter's platform 429s carry `X-RateLimit-Limit`, `X-RateLimit-Remaining`
 * and `X-RateLimit-Reset`, the reset in epoch milliseconds (the daily caps
 * reset at 00:00 UTC): https://openrouter.ai/docs/api-reference/limits.
 *
 * @module
 */

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** The `user_id` OpenRouter adds to many error bodies (a made-up one). */
export const USER_ID = "user_2dHFtVWx2n56w6HkM0000000000";

/** The `content-type` of every JSON answer. */
export const JSON_HEADERS = { "content-type": "application/json" } as const;

/** Whether a value is a plain object (not null, not an array). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Seconds since the epoch, as in `created`. */
export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

/** `gen-<unix>-<20 alphanumerics>`, like OpenRouter's generation ids. */
export function generationId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  let s = "";
  for (const b of bytes) s += ALNUM.charAt(b % ALNUM.length);
  return `gen-${unixNow()}-${s}`;
}

/** Epoch ms of the next 00:00 UTC (the daily caps' `X-RateLimit-Reset`). */
export function nextUtcMidnightMs(now: number = Date.now()): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

/** Epoch ms of the next whole minute (the per-minute caps' `X-RateLimit-Reset`). */
export function nextMinuteMs(now: number = Date.now()): number {
  return (Math.floor(now / 60_000) + 1) * 60_000;
}

/** A model id without its `:free` suffix (the paid twin's slug). */
export function stripFree(model: string): string {
  return model.endsWith(":free") ? model.slice(0, -":free".length) : model;
}

/** A plausible provider display name for a model id. */
export function providerFor(model: string): string {
  if (model.startsWith("google/")) return "Google AI Studio";
  if (model.startsWith("nvidia/")) return "Nvidia";
  if (model.startsWith("openai/")) return "OpenInference";
  if (model.startsWith("cognitivecomputations/")) return "Venice";
  if (model.startsWith("openrouter/")) return "Stealth";
  return "Chutes";
}

/** The three `X-RateLimit-*` headers of a platform 429 (nothing remaining). */
export function rateLimitHeaders(
  limit: number,
  resetMs: number,
): Record<string, string> {
  return {
    "X-RateLimit-Limit": String(limit),
    "X-RateLimit-Remaining": "0",
    "X-RateLimit-Reset": String(resetMs),
  };
}
