/**
 * Fixtures of the failure-classification suites (failure_test.ts,
 * failure_429_test.ts): failures as src/upstream/ reports them, and
 * OpenRouter's bodies from the fake's builders.
 *
 * @module
 */
import type { FailurePolicy, UpstreamFailure } from "../src/core/failure.ts";
import { errorInfo } from "../src/core/failure.ts";
import {
  capacityExhausted429,
  CLOUDFLARE_429_BODY,
  dailyCap,
  minuteCap,
  modelRpd,
  modelRpm,
  noAuth401,
  overloadedIn200,
  provider401,
  providerThrottled,
  rateLimited429,
  userNotFound401,
} from "./fake_openrouter/mod.ts";

/** The instant the policies classify at. */
export const NOW = 1779278400000; // 2026-05-20T12:00:00Z
/** The next 00:00 UTC after {@linkcode NOW}. */
export const MIDNIGHT = 1779321600000; // 2026-05-21T00:00:00Z
/** The default policy: classify at {@linkcode NOW}, cool down for 60 s. */
export const POLICY: FailurePolicy = { now: NOW, defaultCooldownMs: 60_000 };

/** A non-2xx response as src/upstream/completion_attempt.ts reports it. */
export function http(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): UpstreamFailure {
  return {
    kind: "http",
    status,
    error: errorInfo(body),
    body,
    headers: new Headers({ "content-type": "application/json", ...headers }),
    text: JSON.stringify(body),
    contentType: "application/json",
  };
}

/** The JSON of one framed `data:` event. */
export function eventJson(event: string): unknown {
  return JSON.parse(event.slice("data: ".length));
}

/** A 2xx whose body (or first SSE event) carries an `error` object. */
export function errorBody(body: unknown): UpstreamFailure {
  return {
    kind: "error_body",
    status: 200,
    error: errorInfo(body),
    body,
    headers: new Headers({ "content-type": "text/event-stream" }),
  };
}

// OpenRouter's bodies, from the fake's builders (tests/fake_openrouter/).
export const DAILY_CAP_429 = dailyCap({ resetMs: MIDNIGHT }).body;
export const HIGH_BALANCE_429 =
  dailyCap({ highBalance: true, resetMs: 1786233600000 })
    .body;
export const PER_MIN_429 = minuteCap({ resetMs: 1774047180000 }).body;
export const PROVIDER_429 =
  providerThrottled("google/gemini-2.0-flash-exp:free", {
    legacy: true,
    provider: "Google AI Studio",
  }).body;
export const PER_MODEL_429 = modelRpm("qwen/qwen3-coder:free", {
  resetMs: 1783519380000,
}).body;
export const PER_MODEL_DAY_429 = modelRpd("minimax/minimax-m3:free", {
  resetMs: MIDNIGHT,
}).body;
export const CLOUDFLARE_429: unknown = JSON.parse(CLOUDFLARE_429_BODY);
export const GENERIC_429 = rateLimited429().body;
/** The capacity_exhausted availability error as the docs print it: no `error.code`. */
export const CAPACITY_429 = capacityExhausted429("anthropic/claude-sonnet-4.5")
  .body as { error: Record<string, unknown> };
delete CAPACITY_429.error.code;
export const USER_NOT_FOUND_401 = userNotFound401().body;
export const NO_AUTH_401 = noAuth401().body;
export const PROVIDER_401 =
  provider401("anthropic/claude-sonnet-4.5", "Anthropic")
    .body;
export const NVIDIA_503_IN_200 = overloadedIn200().body;

/** The decisions classifyFailure() returns. */
export const TRANSIENT = { action: "next", effect: { kind: "transient" } };
export const LASTING = { action: "next", effect: { kind: "lasting" } };

/** The decision to cool the model down until `until`. */
export function cooldown(until: number) {
  return { action: "next", effect: { kind: "cooldown", until } };
}
