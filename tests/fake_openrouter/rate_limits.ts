/**
 * The 429 answers OpenRouter gives, as steps. The letters name the bodies
 * seen in public captures:
 *
 * - A: the account's free daily cap with less than 10 credits bought
 *   (`free-models-per-day`, limit 50; https://github.com/Gitlawb/openclaude/issues/936);
 *   newer captures add `limit_source: "openrouter_free_tier_daily"` and a
 *   `remedy_hint`;
 * - B: the same cap with 10 credits or more (`free-models-per-day-high-balance`,
 *   limit 1000, no `user_id`);
 * - C: the account's free per-minute cap (`free-models-per-min`, limit 16 or 20);
 * - D: one model's shared per-minute capacity (`limit_rpm/<slug>/<uuid>`,
 *   `limit_source: "openrouter_shared_capacity"`);
 * - E: one model's shared daily capacity (`limit_rpd/<slug>`, via a named provider);
 * - F: the upstream provider throttling ("Provider returned error" with a
 *   `raw` message and no `X-RateLimit-*` headers;
 *   https://github.com/Aculeasis/openrouter-proxy/issues/1, newer form
 *   https://github.com/open-webui/computer/issues/293);
 * - G: the documented availability error `capacity_exhausted`, with
 *   `retry_after` and a `Retry-After` header
 *   (https://openrouter.ai/docs/api/reference/errors-and-debugging);
 * - H: Cloudflare's DDoS protection, a bare 54-byte body
 *   (https://github.com/svilupp/PromptingTools.jl/pull/232).
 *
 * Beside them, {@linkcode rateLimited429} is the generic body the limits page
 * documents.
 *
 * A–E carry `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
 * `X-RateLimit-Reset` (epoch ms), mirrored as strings in
 * `error.metadata.headers` (https://openrouter.ai/docs/api-reference/limits).
 *
 * @module
 */
import {
  nextMinuteMs,
  nextUtcMidnightMs,
  providerFor,
  rateLimitHeaders,
  stripFree,
  USER_ID,
} from "./common.ts";
import { errorStep, type ResponseStep } from "./steps.ts";

/** Options for {@linkcode dailyCap}. */
export interface DailyCapOptions {
  /** Epoch ms; default next 00:00 UTC. */
  resetMs?: number;
  /** Body B (≥ 10 credits, `free-models-per-day-high-balance`) instead of A. */
  highBalance?: boolean;
  /** Body A only: add the newer `limit_source` + `remedy_hint` (B always has them). */
  withLimitSource?: boolean;
  /** `X-RateLimit-Limit`; default 50 (A) / 1000 (B). */
  limit?: number;
}

/** Account-wide free daily cap: bodies A (default) and B. */
export function dailyCap(opts: DailyCapOptions = {}): ResponseStep {
  const resetMs = opts.resetMs ?? nextUtcMidnightMs();
  if (opts.highBalance) {
    const headers = rateLimitHeaders(opts.limit ?? 1000, resetMs);
    return errorStep(429, {
      error: {
        message: "Rate limit exceeded: free-models-per-day-high-balance. ",
        code: 429,
        metadata: {
          headers,
          limit_source: "openrouter_free_tier_daily",
          remedy_hint: "Wait for the daily reset",
        },
      },
    }, headers);
  }
  const headers = rateLimitHeaders(opts.limit ?? 50, resetMs);
  const metadata: Record<string, unknown> = { headers, provider_name: null };
  if (opts.withLimitSource) {
    metadata.limit_source = "openrouter_free_tier_daily";
    metadata.remedy_hint =
      "Wait for the daily reset (see X-RateLimit-Reset), or purchase credits...";
  }
  return errorStep(429, {
    error: {
      message:
        "Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 free model requests per day",
      code: 429,
      metadata,
    },
    user_id: USER_ID,
  }, headers);
}

/** Options for {@linkcode minuteCap}. */
export interface MinuteCapOptions {
  /** Epoch ms; default the next minute boundary. */
  resetMs?: number;
  /** Default 16 (also seen: 20). */
  limit?: number;
}

/** Account-wide free per-minute cap (body C). */
export function minuteCap(opts: MinuteCapOptions = {}): ResponseStep {
  const headers = rateLimitHeaders(
    opts.limit ?? 16,
    opts.resetMs ?? nextMinuteMs(),
  );
  return errorStep(429, {
    error: {
      message: "Rate limit exceeded: free-models-per-min. ",
      code: 429,
      metadata: { headers, provider_name: null },
    },
    user_id: USER_ID,
  }, headers);
}

/** Options for {@linkcode modelRpm}. */
export interface ModelRpmOptions {
  /** Epoch ms; default the next minute boundary. */
  resetMs?: number;
  /** Default 8. */
  limit?: number;
  /** The 2026-07 form without `limit_source`/`remedy_hint`. */
  legacy?: boolean;
  /** The error object alone, as the 2026-07 capture shows it (default: wrapped in `{error}`). */
  bare?: boolean;
}

/** Per-model shared-capacity per-minute cap (body D, wrapped in `{error}` unless `bare`). */
export function modelRpm(
  model: string,
  opts: ModelRpmOptions = {},
): ResponseStep {
  const limit = opts.limit ?? 8;
  const headers = rateLimitHeaders(limit, opts.resetMs ?? nextMinuteMs());
  const metadata: Record<string, unknown> = { headers, provider_name: null };
  if (!opts.legacy) {
    metadata.limit_source = "openrouter_shared_capacity";
    // The capture is truncated after "use your own l…".
    metadata.remedy_hint =
      "Retry shortly, or add your own provider key to use your own limits";
  }
  const error = {
    message: `Rate limit exceeded: limit_rpm/${
      stripFree(model)
    }/a9bbd882-011f-4606-8f60-85f3cb642586. High demand for ${model} on OpenRouter - limited to ${limit} requests per minute. Please retry shortly.`,
    code: 429,
    metadata,
  };
  return errorStep(429, opts.bare ? error : { error }, headers);
}

/** Options for {@linkcode modelRpd}. */
export interface ModelRpdOptions {
  /** Epoch ms; default next 00:00 UTC. */
  resetMs?: number;
  /** Default 1000. */
  limit?: number;
  /** Default `"GMICloud"`. */
  provider?: string;
}

/** Per-model shared-capacity daily cap (body E). */
export function modelRpd(
  model: string,
  opts: ModelRpdOptions = {},
): ResponseStep {
  const provider = opts.provider ?? "GMICloud";
  const headers = rateLimitHeaders(
    opts.limit ?? 1000,
    opts.resetMs ?? nextUtcMidnightMs(),
  );
  return errorStep(429, {
    error: {
      message: `Rate limit exceeded: limit_rpd/${
        stripFree(model)
      }. Daily limit reached for ${model} via ${provider}.`,
      code: 429,
      metadata: {
        headers,
        provider_name: provider,
        limit_source: "openrouter_shared_capacity",
      },
    },
  }, headers);
}

/** Options for {@linkcode providerThrottled}. */
export interface ProviderThrottledOptions {
  /** Default: {@linkcode providerFor}(model). */
  provider?: string;
  /** Default: the captured "temporarily rate-limited upstream" text. */
  raw?: string;
  /** The 2025-07 form without `limit_source`/`remedy_hint`/`is_byok`. */
  legacy?: boolean;
  /** Adds `Retry-After` (seconds), as when every provider gave a retry hint. */
  retryAfterS?: number;
}

/**
 * Upstream provider throttling (body F). Not a platform cap, so no
 * `X-RateLimit-*` headers (the real body has no `metadata.headers`).
 */
export function providerThrottled(
  model: string,
  opts: ProviderThrottledOptions = {},
): ResponseStep {
  const metadata: Record<string, unknown> = {
    raw: opts.raw ??
      `${model} is temporarily rate-limited upstream. Please retry shortly, or add your own key to accumulate your rate limits: https://openrouter.ai/settings/integrations`,
    provider_name: opts.provider ?? providerFor(model),
  };
  if (!opts.legacy) {
    metadata.limit_source = "upstream_provider_shared_pool";
    metadata.remedy_hint =
      "Retry shortly, add your own provider key, or route to another provider";
    metadata.is_byok = false;
  }
  return errorStep(
    429,
    {
      error: { message: "Provider returned error", code: 429, metadata },
      user_id: USER_ID,
    },
    opts.retryAfterS === undefined
      ? undefined
      : { "Retry-After": String(opts.retryAfterS) },
  );
}

/** All providers at capacity (G, documented availability error; carries `Retry-After`). */
export function capacityExhausted429(
  model: string,
  retryAfterS = 40,
): ResponseStep {
  return errorStep(429, {
    error: {
      message:
        `All providers for ${model} are at capacity. Retry after ${retryAfterS} seconds.`,
      code: 429,
      error_type: "rate_limit_exceeded",
      http_status: 429,
      availability: {
        code: "capacity_exhausted",
        retryable: true,
        retry_after: retryAfterS,
        requested_models: [model],
        docs_url: "https://openrouter.ai/docs/errors#capacity_exhausted",
      },
      metadata: {
        previous_errors: [{
          provider: providerFor(model),
          code: "capacity_exhausted",
          status: 429,
        }],
      },
    },
  }, { "Retry-After": String(retryAfterS) });
}

/** The exact 54-byte Cloudflare 429 body (H); no metadata, no rate-limit headers. */
export const CLOUDFLARE_429_BODY =
  '{"error":{"message":"Rate limit exceeded","code":429}}';

/** Cloudflare/DDoS 429 (H). */
export function cloudflare429(): ResponseStep {
  return errorStep(429, CLOUDFLARE_429_BODY);
}

/**
 * The documented generic platform 429 body
 * (https://openrouter.ai/docs/api-reference/limits): no slug, no headers.
 */
export function rateLimited429(): ResponseStep {
  return errorStep(429, {
    error: {
      code: 429,
      message: "Rate limit exceeded",
      metadata: { error_type: "rate_limit_exceeded" },
    },
  });
}
