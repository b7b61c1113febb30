/**
 * Reads when a rate limit resets from an upstream failure. Pure.
 *
 * Precedence: `retry-after-ms`, then `Retry-After` (seconds or HTTP date),
 * then `X-RateLimit-Reset` (OpenRouter: epoch milliseconds) from the headers,
 * then the same header mirrored in the body's `error.metadata.headers`, then an
 * availability error's `retry_after` seconds. The result is capped at 24 hours.
 *
 * @module
 */

import { errorObject } from "./error_object.ts";

/** The longest cooldown a reset hint can ask for: 24 hours. */
export const MAX_RESET_HINT_MS = 24 * 60 * 60 * 1000;

function header(
  headers: Headers | Record<string, unknown> | undefined,
  name: string,
): string | undefined {
  if (headers === undefined) return undefined;
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const lower = name.toLowerCase();
  for (const key in headers) {
    const value = headers[key];
    if (key.toLowerCase() === lower && value != null) return String(value);
  }
  return undefined;
}

/** `Retry-After`: delta seconds or an HTTP date → absolute epoch ms. */
export function parseRetryAfter(
  value: string,
  now: number,
): number | undefined {
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return now + Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : date;
}

/**
 * `X-RateLimit-Reset` → absolute epoch ms. OpenRouter sends epoch
 * milliseconds; epoch seconds and small delta-seconds values are accepted too.
 */
export function parseRateLimitReset(
  value: string,
  now: number,
): number | undefined {
  const n = Number(value.trim());
  if (!Number.isFinite(n) || n <= 0) return undefined;
  if (n >= 1e12) return n;
  if (n >= 1e9) return n * 1000;
  return now + n * 1000;
}

function metadataHeaders(body: unknown): Record<string, unknown> | undefined {
  const metadata = errorObject(body)?.metadata as
    | { headers?: unknown }
    | undefined;
  const headers = metadata?.headers;
  return typeof headers === "object" && headers !== null
    ? headers as Record<string, unknown>
    : undefined;
}

function availabilityRetryAfter(body: unknown): number | undefined {
  const availability = errorObject(body)?.availability as
    | { retry_after?: unknown }
    | undefined;
  const seconds = availability?.retry_after;
  return typeof seconds === "number" && seconds > 0 ? seconds : undefined;
}

/**
 * When the limit behind an upstream failure resets, as epoch ms, or
 * `undefined` when the failure carries no usable hint (none, unparseable, or
 * already past). Capped at `now + 24 h`.
 */
export function resetHint(
  headers: Headers | undefined,
  body: unknown,
  now: number,
): number | undefined {
  const mirrored = metadataHeaders(body);
  const candidates: Array<number | undefined> = [];
  const ms = header(headers, "retry-after-ms");
  if (ms !== undefined && Number.isFinite(Number(ms))) {
    candidates.push(now + Number(ms));
  }
  const retryAfter = header(headers, "retry-after");
  if (retryAfter !== undefined) {
    candidates.push(parseRetryAfter(retryAfter, now));
  }
  for (const source of [headers, mirrored]) {
    const reset = header(source, "x-ratelimit-reset");
    if (reset !== undefined) candidates.push(parseRateLimitReset(reset, now));
  }
  const seconds = availabilityRetryAfter(body);
  if (seconds !== undefined) candidates.push(now + seconds * 1000);
  const hint = candidates.find((t) => t !== undefined && t > now);
  return hint === undefined
    ? undefined
    : Math.min(hint, now + MAX_RESET_HINT_MS);
}
