import assert from "node:assert/strict";
import {
  MAX_RESET_HINT_MS,
  parseRateLimitReset,
  parseRetryAfter,
  resetHint,
} from "../src/core/reset_hint.ts";
import {
  capacityExhausted429,
  CLOUDFLARE_429_BODY,
  dailyCap,
  minuteCap,
  modelRpm,
  providerThrottled,
} from "./fake_openrouter/mod.ts";

const NOW = 1779278400000; // 2026-05-20T12:00:00Z
const MIDNIGHT = 1779321600000; // 2026-05-21T00:00:00Z, 12 h after NOW
const HOUR = 3_600_000;

/** The account's daily cap (429 A) with that `X-RateLimit-Reset`. */
function dailyCapBody(reset: string): unknown {
  return dailyCap({ resetMs: Number(reset) }).body;
}

/** The capacity_exhausted availability error (429 G) with that `retry_after`. */
function capacityBody(retryAfter: unknown) {
  const body = capacityExhausted429("anthropic/claude-sonnet-4.5").body as {
    error: { availability: Record<string, unknown> };
  };
  body.error.availability.retry_after = retryAfter;
  return body;
}

Deno.test("MAX_RESET_HINT_MS is 24 hours", () => {
  assert.equal(MAX_RESET_HINT_MS, 86_400_000);
});

Deno.test("parseRetryAfter() reads delta seconds relative to now", () => {
  assert.equal(parseRetryAfter("30", NOW), NOW + 30_000);
  assert.equal(parseRetryAfter(" 30 ", NOW), NOW + 30_000);
  assert.equal(parseRetryAfter("1.5", NOW), NOW + 1_500);
  assert.equal(parseRetryAfter("0", NOW), NOW);
});

Deno.test("parseRetryAfter() reads an HTTP date", () => {
  assert.equal(
    parseRetryAfter("Wed, 20 May 2026 12:02:00 GMT", NOW),
    NOW + 120_000,
  );
});

Deno.test("parseRetryAfter() returns undefined for an unparseable value", () => {
  assert.equal(parseRetryAfter("soon", NOW), undefined);
  assert.equal(parseRetryAfter("", NOW), undefined);
});

Deno.test("parseRateLimitReset() reads epoch milliseconds, as OpenRouter sends them", () => {
  assert.equal(parseRateLimitReset("1779321600000", NOW), MIDNIGHT);
  assert.equal(parseRateLimitReset(" 1774047180000 ", NOW), 1774047180000);
});

Deno.test("parseRateLimitReset() reads epoch seconds", () => {
  assert.equal(parseRateLimitReset("1779321600", NOW), MIDNIGHT);
});

Deno.test("parseRateLimitReset() reads small values as delta seconds", () => {
  assert.equal(parseRateLimitReset("60", NOW), NOW + 60_000);
});

Deno.test("parseRateLimitReset() returns undefined for zero, negative and non-numeric values", () => {
  for (const value of ["0", "-5", "abc", "", "Infinity"]) {
    assert.equal(parseRateLimitReset(value, NOW), undefined, value);
  }
});

Deno.test("resetHint() reads X-RateLimit-Reset mirrored in a free-models-per-day 429 body", () => {
  const headers = new Headers({ "content-type": "application/json" });
  assert.equal(
    resetHint(headers, dailyCapBody("1779321600000"), NOW),
    MIDNIGHT,
  );
  assert.equal(
    resetHint(undefined, dailyCapBody("1779321600000"), NOW),
    MIDNIGHT,
  );
});

Deno.test("resetHint() reads the per-minute and per-model 429 bodies", () => {
  const perMinute = minuteCap({ resetMs: 1774047180000 }).body;
  assert.equal(
    resetHint(new Headers(), perMinute, 1774047180000 - 45_000),
    1774047180000,
  );
  const perModel = modelRpm("qwen/qwen3-coder:free", {
    resetMs: 1783519380000,
  }).body;
  assert.equal(
    resetHint(new Headers(), perModel, 1783519380000 - 20_000),
    1783519380000,
  );
});

Deno.test("resetHint() reads mirrored headers in any key case, numbers too", () => {
  for (
    const key of ["x-ratelimit-reset", "X-RATELIMIT-RESET", "X-Ratelimit-Reset"]
  ) {
    const body = {
      error: { code: 429, metadata: { headers: { [key]: "1779321600000" } } },
    };
    assert.equal(resetHint(undefined, body, NOW), MIDNIGHT, key);
  }
  const numeric = {
    error: { metadata: { headers: { "X-RateLimit-Reset": MIDNIGHT } } },
  };
  assert.equal(resetHint(undefined, numeric, NOW), MIDNIGHT);
});

Deno.test("resetHint() reads X-RateLimit-Reset from the response headers", () => {
  const headers = new Headers({
    "X-RateLimit-Limit": "20",
    "X-RateLimit-Remaining": "0",
    "X-RateLimit-Reset": "1779321600000",
  });
  assert.equal(resetHint(headers, undefined, NOW), MIDNIGHT);
  assert.equal(
    resetHint(new Headers({ "x-ratelimit-reset": "1779321600" }), null, NOW),
    MIDNIGHT,
  );
});

Deno.test("resetHint() reads Retry-After seconds and HTTP dates from the response headers", () => {
  assert.equal(
    resetHint(new Headers({ "Retry-After": "40" }), undefined, NOW),
    NOW + 40_000,
  );
  assert.equal(
    resetHint(
      new Headers({ "Retry-After": "Wed, 20 May 2026 12:02:00 GMT" }),
      undefined,
      NOW,
    ),
    NOW + 120_000,
  );
});

Deno.test("resetHint() reads retry-after-ms", () => {
  assert.equal(
    resetHint(new Headers({ "retry-after-ms": "2500" }), undefined, NOW),
    NOW + 2_500,
  );
});

Deno.test("resetHint() reads availability.retry_after from a capacity_exhausted body", () => {
  assert.equal(resetHint(new Headers(), capacityBody(40), NOW), NOW + 40_000);
});

Deno.test("resetHint() prefers retry-after-ms, then Retry-After, then X-RateLimit-Reset, then the mirrored header, then retry_after", () => {
  // The values are chosen so that neither "earliest" nor "latest" reproduces
  // the documented precedence.
  const mirroredAndAvailability = {
    error: {
      ...capacityBody(40).error,
      metadata: {
        headers: { "X-RateLimit-Reset": String(NOW + 1 * HOUR) },
      },
    },
  };
  const all = {
    "retry-after-ms": "90000",
    "Retry-After": "30",
    "X-RateLimit-Reset": String(NOW + 3 * HOUR),
  };
  assert.equal(
    resetHint(new Headers(all), mirroredAndAvailability, NOW),
    NOW + 90_000,
  );
  const { "retry-after-ms": _ms, ...noMs } = all;
  assert.equal(
    resetHint(new Headers(noMs), mirroredAndAvailability, NOW),
    NOW + 30_000,
  );
  const { "Retry-After": _ra, ...resetOnly } = noMs;
  assert.equal(
    resetHint(new Headers(resetOnly), mirroredAndAvailability, NOW),
    NOW + 3 * HOUR,
  );
  assert.equal(
    resetHint(new Headers(), mirroredAndAvailability, NOW),
    NOW + 1 * HOUR,
  );
  assert.equal(resetHint(new Headers(), capacityBody(40), NOW), NOW + 40_000);
});

Deno.test("resetHint() skips a hint that is already past and uses the next source", () => {
  const headers = new Headers({ "X-RateLimit-Reset": String(NOW - 60_000) });
  assert.equal(resetHint(headers, capacityBody(40), NOW), NOW + 40_000);
});

Deno.test("resetHint() returns undefined when every hint is in the past", () => {
  const headers = new Headers({
    "retry-after-ms": "-1000",
    "Retry-After": "Wed, 20 May 2026 11:59:00 GMT",
    "X-RateLimit-Reset": String(NOW - 60_000),
  });
  assert.equal(
    resetHint(headers, dailyCapBody(String(NOW - 60_000)), NOW),
    undefined,
  );
  assert.equal(
    resetHint(new Headers({ "Retry-After": "0" }), undefined, NOW),
    undefined,
  );
  assert.equal(
    resetHint(
      new Headers({ "X-RateLimit-Reset": String(NOW) }),
      undefined,
      NOW,
    ),
    undefined,
  );
});

Deno.test("resetHint() ignores unparseable values and falls through to the next source", () => {
  const headers = new Headers({
    "retry-after-ms": "soon",
    "Retry-After": "later",
    "X-RateLimit-Reset": "tomorrow",
  });
  assert.equal(
    resetHint(headers, dailyCapBody("1779321600000"), NOW),
    MIDNIGHT,
  );
});

Deno.test("resetHint() returns undefined when the failure carries no hint", () => {
  const cloudflare: unknown = JSON.parse(CLOUDFLARE_429_BODY);
  const provider = providerThrottled("google/gemini-2.0-flash-exp:free", {
    legacy: true,
    provider: "Google AI Studio",
  }).body;
  const cases: Array<[string, unknown]> = [
    ["no body", undefined],
    ["null body", null],
    ["text body", "Too Many Requests"],
    ["Cloudflare 429", cloudflare],
    ["provider 429", provider],
    ["metadata.headers null", { error: { metadata: { headers: null } } }],
    ["retry_after a string", capacityBody("40")],
    ["retry_after 0", capacityBody(0)],
    ["retry_after negative", capacityBody(-5)],
  ];
  for (const [label, body] of cases) {
    assert.equal(resetHint(new Headers(), body, NOW), undefined, label);
    assert.equal(resetHint(undefined, body, NOW), undefined, label);
  }
});

Deno.test("resetHint() caps a hint at 24 hours", () => {
  assert.equal(
    resetHint(new Headers({ "Retry-After": "172800" }), undefined, NOW),
    NOW + 86_400_000,
  );
  assert.equal(
    resetHint(undefined, dailyCapBody("1790467200000"), NOW),
    NOW + 86_400_000,
  );
  assert.equal(
    resetHint(new Headers({ "Retry-After": "86400" }), undefined, NOW),
    NOW + 86_400_000,
  );
});
