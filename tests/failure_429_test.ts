/**
 * classifyFailure() on OpenRouter's rate limits: the account's daily and
 * per-minute caps, per-model caps, and 429s without a usable hint.
 */
import assert from "node:assert/strict";
import { classifyFailure } from "../src/core/failure.ts";
import { streamErrorEvent } from "./fake_openrouter/mod.ts";
import {
  CAPACITY_429,
  CLOUDFLARE_429,
  cooldown,
  DAILY_CAP_429,
  errorBody,
  eventJson,
  GENERIC_429,
  HIGH_BALANCE_429,
  http,
  MIDNIGHT,
  NOW,
  PER_MIN_429,
  PER_MODEL_429,
  PER_MODEL_DAY_429,
  POLICY,
  PROVIDER_429,
} from "./_failures.ts";

Deno.test("classifyFailure() blocks the account until X-RateLimit-Reset on a free-models-per-day 429", () => {
  assert.deepEqual(classifyFailure(http(429, DAILY_CAP_429), POLICY), {
    action: "account",
    scope: "day",
    until: MIDNIGHT,
    limit: 50,
  });
  assert.deepEqual(
    classifyFailure(http(429, HIGH_BALANCE_429), {
      now: 1786233600000 - 5 * 3_600_000,
      defaultCooldownMs: 60_000,
    }),
    { action: "account", scope: "day", until: 1786233600000, limit: 1000 },
  );
});

Deno.test("classifyFailure() recognises the daily cap by limit_source alone", () => {
  const body = {
    error: {
      message: "Rate limit exceeded",
      code: 429,
      metadata: {
        headers: { "X-RateLimit-Reset": "1779321600000" },
        limit_source: "openrouter_free_tier_daily",
      },
    },
  };
  assert.deepEqual(classifyFailure(http(429, body), POLICY), {
    action: "account",
    scope: "day",
    until: MIDNIGHT,
    limit: undefined,
  });
});

Deno.test("classifyFailure() blocks the account until the next UTC midnight on a daily cap without a reset hint", () => {
  const body = {
    error: { message: "Rate limit exceeded: free-models-per-day", code: 429 },
  };
  assert.deepEqual(classifyFailure(http(429, body), POLICY), {
    action: "account",
    scope: "day",
    until: MIDNIGHT,
    limit: undefined,
  });
});

Deno.test("classifyFailure() blocks the account until X-RateLimit-Reset on a free-models-per-min 429", () => {
  assert.deepEqual(
    classifyFailure(http(429, PER_MIN_429), {
      now: 1774047180000 - 45_000,
      defaultCooldownMs: 60_000,
    }),
    { action: "account", scope: "minute", until: 1774047180000, limit: 16 },
  );
});

Deno.test("classifyFailure() takes the limit from the response headers before the mirrored ones", () => {
  assert.deepEqual(
    classifyFailure(
      http(429, PER_MIN_429, { "X-RateLimit-Limit": "20" }),
      { now: 1774047180000 - 45_000, defaultCooldownMs: 60_000 },
    ),
    { action: "account", scope: "minute", until: 1774047180000, limit: 20 },
  );
});

Deno.test("classifyFailure() blocks the account until the next minute on a per-minute cap without a reset hint", () => {
  const body = {
    error: { message: "Rate limit exceeded: free-models-per-min. ", code: 429 },
  };
  assert.deepEqual(
    classifyFailure(http(429, body), {
      now: NOW + 25_000,
      defaultCooldownMs: 5_000,
    }),
    {
      action: "account",
      scope: "minute",
      until: NOW + 60_000,
      limit: undefined,
    },
  );
});

Deno.test({
  name:
    "classifyFailure() reads the mirrored X-RateLimit-Limit in any key case",
  // Mirrored headers are matched in any key case, as resetHint() does.
  fn: () => {
    const body = {
      error: {
        message: "Rate limit exceeded: free-models-per-day",
        code: 429,
        metadata: {
          headers: {
            "x-ratelimit-limit": "50",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": "1779321600000",
          },
        },
      },
    };
    assert.deepEqual(classifyFailure(http(429, body), POLICY), {
      action: "account",
      scope: "day",
      until: MIDNIGHT,
      limit: 50,
    });
  },
});

Deno.test("classifyFailure() cools a per-model 429 down until its reset hint", () => {
  assert.deepEqual(
    classifyFailure(http(429, PER_MODEL_429), {
      now: 1783519380000 - 20_000,
      defaultCooldownMs: 60_000,
    }),
    {
      action: "next",
      effect: { kind: "cooldown", until: 1783519380000, perMinute: 8 },
    },
    "a limit_rpm 429 also states the model's per-minute limit",
  );
  assert.deepEqual(
    classifyFailure(http(429, PER_MODEL_DAY_429), POLICY),
    cooldown(MIDNIGHT),
  );
  assert.deepEqual(
    classifyFailure(http(429, CAPACITY_429, { "Retry-After": "15" }), POLICY),
    cooldown(NOW + 15_000),
  );
  assert.deepEqual(
    classifyFailure(http(429, CAPACITY_429), POLICY),
    cooldown(NOW + 40_000),
  );
  assert.deepEqual(
    classifyFailure(
      http(429, CLOUDFLARE_429, { "X-RateLimit-Reset": "1779321600000" }),
      POLICY,
    ),
    cooldown(MIDNIGHT),
  );
});

Deno.test("classifyFailure() cools a 429 without a reset hint down for defaultCooldownMs", () => {
  for (const body of [CLOUDFLARE_429, GENERIC_429, PROVIDER_429, undefined]) {
    assert.deepEqual(
      classifyFailure(http(429, body), POLICY),
      cooldown(NOW + 60_000),
      JSON.stringify(body),
    );
  }
  assert.deepEqual(
    classifyFailure(http(429, CLOUDFLARE_429), {
      now: NOW,
      defaultCooldownMs: 5_000,
    }),
    cooldown(NOW + 5_000),
  );
});

Deno.test("classifyFailure() cools a 429 down for defaultCooldownMs when its hint is already past", () => {
  const stale = http(429, CLOUDFLARE_429, {
    "X-RateLimit-Reset": String(NOW - 1_000),
  });
  assert.deepEqual(classifyFailure(stale, POLICY), cooldown(NOW + 60_000));
});

Deno.test("classifyFailure() cools down on a 200 whose body carries error code 429", () => {
  // The documented mid-stream error event: no reset hint.
  const midStream = eventJson(
    streamErrorEvent({ withChoices: true, code: 429 }),
  );
  assert.deepEqual(
    classifyFailure(errorBody(midStream), POLICY),
    cooldown(NOW + 60_000),
  );
  assert.deepEqual(
    classifyFailure(errorBody(PER_MODEL_DAY_429), POLICY),
    cooldown(MIDNIGHT),
  );
});

Deno.test("classifyFailure() blocks the account on a 200 whose body carries the daily cap", () => {
  // The daily cap as a stream's only data event (aider #3550).
  const inStream = eventJson(
    streamErrorEvent({ withChoices: false, code: 429, resetMs: MIDNIGHT }),
  );
  assert.deepEqual(classifyFailure(errorBody(inStream), POLICY), {
    action: "account",
    scope: "day",
    until: MIDNIGHT,
    limit: 50,
  });
});
