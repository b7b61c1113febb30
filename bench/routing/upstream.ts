/**
 * The simulated OpenRouter: what one attempt on one model returns and how
 * long it takes, given the account's free-tier counters, the model's shared
 * capacity, the hour, and the request's fixed dice. Failures come back in the
 * shape freerouter's real `classifyFailure` reads (bodies as OpenRouter
 * writes them, see shared/openrouter-api.md §2.3).
 *
 * @module
 */
import type { UpstreamFailure } from "../../src/core/failure.ts";
import type { SimBehaviour } from "./pool.ts";
import { draw, normal } from "./rng.ts";
import { DAY_MS, diurnal } from "./traffic.ts";

const MINUTE_MS = 60_000;
/** Share of transient failures that are timeouts (the rest answer 502 quickly). */
const TIMEOUT_SHARE = 0.3;
/** Length of a model's busy-or-not period in the `periods` 429 model, ms. */
const PERIOD_MS = 120_000;
/** Chance of a 429 inside a busy period, and outside one. */
const BUSY_429 = 0.9;
const CALM_429 = 0.02;

/**
 * How upstream "Provider returned error" 429s come: `periods` — a model's
 * shared upstream capacity is exhausted for whole 2-minute periods (a 429 says
 * the next attempt soon will likely fail too); `independent` — each attempt
 * draws its own 429 (a 429 says nothing about the next attempt). Both give a
 * model the same share of 429s over a day.
 */
export type BusyModel = "periods" | "independent";

/**
 * Why a simulated attempt failed: the account's daily cap, the model's
 * shared per-day or per-minute capacity, an upstream "Provider returned
 * error" 429 (the first in a model's busy period, or again in the same
 * period), or a transient failure (5xx or a timeout).
 */
export type FailureCause =
  | "account_day"
  | "model_day"
  | "model_minute"
  | "upstream_429"
  | "upstream_429_again"
  | "transient";

/** What an attempt came to. */
export type Outcome =
  | { ok: true; ms: number }
  | {
    ok: false;
    ms: number;
    failure: UpstreamFailure;
    cause: FailureCause;
    /** For an upstream 429 in the `periods` model: the model's busy period, `model index:period`. */
    period?: string;
  };

/** Per-window counters: attempts by key in the current minute and UTC day. */
export class Windows {
  #minute = new Map<string, { window: number; n: number }>();
  #day = new Map<string, { window: number; n: number }>();

  /** Counts one attempt of `key` at `now`; returns the counts before it. */
  count(key: string, now: number): { minute: number; day: number } {
    const m = bump(this.#minute, key, Math.floor(now / MINUTE_MS));
    const d = bump(this.#day, key, Math.floor(now / DAY_MS));
    return { minute: m, day: d };
  }

  /** Attempts of `key` so far in the current UTC day. */
  today(key: string, now: number): number {
    const d = this.#day.get(key);
    return d && d.window === Math.floor(now / DAY_MS) ? d.n : 0;
  }
}

function bump(
  map: Map<string, { window: number; n: number }>,
  key: string,
  window: number,
): number {
  const entry = map.get(key);
  if (!entry || entry.window !== window) {
    map.set(key, { window, n: 1 });
    return 0;
  }
  return entry.n++;
}

function rateLimited(
  message: string,
  reset: number | undefined,
  metadata: Record<string, unknown>,
  limit?: number,
): UpstreamFailure {
  const headers = new Headers();
  if (reset !== undefined) headers.set("x-ratelimit-reset", String(reset));
  if (limit !== undefined) headers.set("x-ratelimit-limit", String(limit));
  const error = { message, code: 429, metadata };
  return { kind: "http", status: 429, error, body: { error }, headers };
}

/** Inputs of one simulated attempt. */
export interface AttemptInput {
  modelId: string;
  modelIndex: number;
  behaviour: SimBehaviour;
  accountKey: string;
  accountRpd: number;
  requestId: number;
  contextTokens: number;
  now: number;
  seed: number;
  requestTimeoutMs: number;
  busyModel: BusyModel;
}

/**
 * One attempt: the account's daily cap first (OpenRouter counts every
 * free-model request of the account, failed ones included), then the model's
 * shared per-day and per-minute capacity, then an upstream 429 (likelier at
 * peak hours), a transient failure, or an answer after the model's time to
 * first token (longer for long prompts).
 */
export function attempt(
  input: AttemptInput,
  accounts: Windows,
  models: Windows,
): Outcome {
  const { behaviour: b, now } = input;
  const dice = (salt: number) =>
    draw(input.seed, input.requestId, input.modelIndex, salt);
  const midnight = (Math.floor(now / DAY_MS) + 1) * DAY_MS;
  const account = accounts.count(input.accountKey, now);
  if (account.day >= input.accountRpd) {
    return {
      ok: false,
      ms: 200,
      cause: "account_day",
      failure: rateLimited(
        "Rate limit exceeded: free-models-per-day-high-balance. ",
        midnight,
        { limit_source: "openrouter_free_tier_daily" },
        input.accountRpd,
      ),
    };
  }
  const model = models.count(input.modelId, now);
  if (b.rpdCap !== undefined && model.day >= b.rpdCap) {
    return {
      ok: false,
      ms: 200,
      cause: "model_day",
      failure: rateLimited(
        `Rate limit exceeded: limit_rpd/${input.modelId}. Daily limit reached.`,
        midnight,
        { limit_source: "openrouter_shared_capacity" },
      ),
    };
  }
  if (model.minute >= b.rpmCap) {
    return {
      ok: false,
      ms: 200,
      cause: "model_minute",
      failure: rateLimited(
        `Rate limit exceeded: limit_rpm/${input.modelId}. High demand for ${input.modelId} on OpenRouter - limited to ${b.rpmCap} requests per minute. Please retry shortly.`,
        (Math.floor(now / MINUTE_MS) + 1) * MINUTE_MS,
        { limit_source: "openrouter_shared_capacity" },
        b.rpmCap,
      ),
    };
  }
  const hour = (now % DAY_MS) / 3_600_000;
  const busyShare = b.busy429 * diurnal(hour);
  const period = Math.floor(now / PERIOD_MS);
  const busy = input.busyModel === "independent"
    ? dice(1) < busyShare
    : dice(1) <
      (draw(input.seed, input.modelIndex, period) < busyShare
        ? BUSY_429
        : CALM_429);
  if (busy) {
    return {
      ok: false,
      ms: 300 + dice(2) * 700,
      cause: "upstream_429",
      ...(input.busyModel === "periods"
        ? { period: `${input.modelIndex}:${period}` }
        : {}),
      failure: rateLimited("Provider returned error", undefined, {
        provider_name: "SimProvider",
        raw: `${input.modelId} is temporarily rate-limited upstream.`,
      }),
    };
  }
  if (dice(3) < b.failRate) {
    if (dice(4) < TIMEOUT_SHARE) {
      return {
        ok: false,
        ms: input.requestTimeoutMs,
        cause: "transient",
        failure: { kind: "timeout", status: 0 },
      };
    }
    const error = {
      message: "Provider returned error",
      code: 502,
      metadata: undefined,
    };
    return {
      ok: false,
      ms: 1000 + dice(5) * 3000,
      cause: "transient",
      failure: { kind: "http", status: 502, error, body: { error } },
    };
  }
  const spread = Math.exp(0.5 * normal(dice(6), dice(7)));
  const prompt = 1 + input.contextTokens / 100_000;
  return { ok: true, ms: Math.round(b.ttftMs * spread * prompt) };
}
