import assert from "node:assert/strict";
import {
  classifyFailure,
  describeFailure,
  effectiveStatus,
  errorInfo,
  type FailurePolicy,
  type UpstreamFailure,
} from "../src/core/failure.ts";

const NOW = 1779278400000; // 2026-05-20T12:00:00Z
const MIDNIGHT = 1779321600000; // 2026-05-21T00:00:00Z
const POLICY: FailurePolicy = { now: NOW, defaultCooldownMs: 60_000 };

/** A non-2xx response as src/upstream/completion_attempt.ts reports it. */
function http(
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

/** A 2xx whose body (or first SSE event) carries an `error` object. */
function errorBody(body: unknown): UpstreamFailure {
  return {
    kind: "error_body",
    status: 200,
    error: errorInfo(body),
    body,
    headers: new Headers({ "content-type": "text/event-stream" }),
  };
}

// Bodies from /work/shared/openrouter-api.md §2.3 and §3.2.
const DAILY_CAP_429 = {
  error: {
    message:
      "Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 free model requests per day",
    code: 429,
    metadata: {
      headers: {
        "X-RateLimit-Limit": "50",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "1779321600000",
      },
      provider_name: null,
    },
  },
  user_id: "user_redacted",
};
const HIGH_BALANCE_429 = {
  error: {
    message: "Rate limit exceeded: free-models-per-day-high-balance. ",
    code: 429,
    metadata: {
      headers: {
        "X-RateLimit-Limit": "1000",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "1786233600000",
      },
      limit_source: "openrouter_free_tier_daily",
      remedy_hint: "Wait for the daily reset",
    },
  },
};
const PER_MIN_429 = {
  error: {
    message: "Rate limit exceeded: free-models-per-min. ",
    code: 429,
    metadata: {
      headers: {
        "X-RateLimit-Limit": "16",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "1774047180000",
      },
      provider_name: null,
    },
  },
  user_id: "user_redacted",
};
const PROVIDER_429 = {
  error: {
    message: "Provider returned error",
    code: 429,
    metadata: {
      raw:
        "google/gemini-2.0-flash-exp:free is temporarily rate-limited upstream. Please retry shortly, or add your own key to accumulate your rate limits: https://openrouter.ai/settings/integrations",
      provider_name: "Google AI Studio",
    },
  },
  user_id: "user_redacted",
};
const PER_MODEL_429 = {
  error: {
    message:
      "Rate limit exceeded: limit_rpm/qwen/qwen3-coder-480b-a35b-07-25/a9bbd882-011f-4606-8f60-85f3cb642586. High demand for qwen/qwen3-coder:free on OpenRouter - limited to 8 requests per minute. Please retry shortly.",
    code: 429,
    metadata: {
      headers: {
        "X-RateLimit-Limit": "8",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "1783519380000",
      },
      provider_name: null,
      limit_source: "openrouter_shared_capacity",
    },
  },
};
const PER_MODEL_DAY_429 = {
  error: {
    message:
      "Rate limit exceeded: limit_rpd/minimax/minimax-m3. Daily limit reached for minimax/minimax-m3:free via GMICloud. Credits don't affect this cap.",
    code: 429,
    metadata: {
      headers: {
        "X-RateLimit-Limit": "1000",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "1779321600000",
      },
      limit_source: "openrouter_shared_capacity",
    },
  },
};
const CLOUDFLARE_429 = { error: { message: "Rate limit exceeded", code: 429 } };
const GENERIC_429 = {
  error: {
    code: 429,
    message: "Rate limit exceeded",
    metadata: { error_type: "rate_limit_exceeded" },
  },
};
const CAPACITY_429 = {
  error: {
    message:
      "All providers for anthropic/claude-sonnet-4.5 are at capacity. Retry after 40 seconds.",
    error_type: "rate_limit_exceeded",
    http_status: 429,
    availability: {
      code: "capacity_exhausted",
      retryable: true,
      retry_after: 40,
      requested_models: ["anthropic/claude-sonnet-4.5"],
      affected_providers: ["anthropic", "amazon-bedrock", "google-vertex"],
      fallback_models: ["anthropic/claude-haiku-4.5"],
      docs_url: "https://openrouter.ai/docs/errors#capacity_exhausted",
    },
    metadata: {
      previous_errors: [{
        provider: "anthropic",
        code: "capacity_exhausted",
        status: 429,
      }],
    },
  },
};
const USER_NOT_FOUND_401 = {
  error: { message: "User not found.", code: 401 },
};
const NO_AUTH_401 = {
  error: { message: "No auth credentials found", code: 401 },
};
const PROVIDER_401 = {
  error: {
    message: "Provider returned error",
    code: 401,
    metadata: {
      raw:
        '{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}',
      provider_name: "Anthropic",
    },
  },
  user_id: "user_redacted",
};
const NVIDIA_503_IN_200 = {
  id: "gen-1",
  error: {
    message: "Upstream error from Nvidia: Service temporarily overloaded",
    code: 503,
    metadata: { error_type: "provider_overloaded" },
  },
};

const TRANSIENT = { action: "next", effect: { kind: "transient" } };
const LASTING = { action: "next", effect: { kind: "lasting" } };

function cooldown(until: number) {
  return { action: "next", effect: { kind: "cooldown", until } };
}

Deno.test("classifyFailure() falls back on 403, 408, 409 and 5xx as a transient fault", () => {
  const cases: Array<[number, unknown]> = [
    [403, {
      error: {
        message:
          'google/gemma-4-31b-it:free requires moderation on Google AI Studio. Your input was flagged for "violence".',
        code: 403,
        metadata: {
          reasons: ["violence"],
          flagged_input: "how do I...",
          provider_name: "Google AI Studio",
          model_slug: "google/gemma-4-31b-it",
        },
      },
    }],
    [403, {
      error: {
        message: "Request blocked: prompt injection patterns detected",
        code: 403,
      },
    }],
    [408, { error: { message: "Request timed out", code: 408 } }],
    [409, { error: { message: "Conflict", code: 409 } }],
    [500, { error: { message: "Internal Server Error", code: 500 } }],
    [502, {
      error: {
        message: "Provider returned error",
        code: 502,
        metadata: {
          raw: '{\n  "error": {"code": 500, "status": "INTERNAL"}\n}\n',
          provider_name: "Google AI Studio",
          is_byok: true,
          provider_error_code: "500",
        },
      },
    }],
    [503, {
      error: {
        message:
          "No available model provider that meets your routing requirements",
        code: 503,
      },
    }],
    [504, undefined],
  ];
  for (const [status, body] of cases) {
    assert.deepEqual(
      classifyFailure(http(status, body), POLICY),
      TRANSIENT,
      `${status} ${JSON.stringify(body)}`,
    );
  }
});

Deno.test("classifyFailure() benches a model until the next catalog refresh on a 402", () => {
  assert.deepEqual(
    classifyFailure(
      http(402, {
        error: {
          message:
            "Insufficient credits. This account never purchased credits. Make sure your key is on the correct account or org, and if so, purchase more at https://openrouter.ai/settings/credits",
          code: 402,
        },
      }),
      POLICY,
    ),
    LASTING,
  );
});

Deno.test("classifyFailure() benches a model until the next catalog refresh when its free variant is gone", () => {
  const bodies = [
    { error: { message: "No endpoints found for z-ai/glm-flash.", code: 404 } },
    {
      error: {
        message:
          "minimax/minimax-m3:free is unavailable for free. The paid version is available now - use this slug instead: minimax/minimax-m3",
        code: 404,
      },
    },
    {
      error: {
        message: "The free variant has ended.",
        code: 404,
        availability: {
          code: "free_variant_ended",
          retryable: false,
          requested_models: ["minimax/minimax-m3:free"],
          fallback_models: ["minimax/minimax-m3"],
        },
      },
    },
    {
      error: {
        message:
          "No endpoints found matching your data policy. Check your settings: https://openrouter.ai/settings/privacy",
        code: 404,
      },
    },
    {
      error: {
        message:
          "No endpoints available matching your guardrail restrictions and data policy.",
        code: 404,
      },
    },
  ];
  for (const body of bodies) {
    assert.deepEqual(
      classifyFailure(http(404, body), POLICY),
      LASTING,
      body.error.message,
    );
  }
});

Deno.test('classifyFailure() records a capability gap on a 404 "No endpoints found that support …"', () => {
  const cases: Array<[string, string]> = [
    ["No endpoints found that support tool use", "tools"],
    [
      "No endpoints found that support the provided 'tool_choice' value",
      "tools",
    ],
    ["No endpoints found that support image input", "image_input"],
    ["No endpoints found that support input video", "video_input"],
  ];
  for (const [message, capability] of cases) {
    assert.deepEqual(
      classifyFailure(http(404, { error: { message, code: 404 } }), POLICY),
      { action: "next", effect: { kind: "capability", capability } },
      message,
    );
  }
});

Deno.test({
  name:
    "classifyFailure() does not record an image-input gap when the request asked for image output",
  // OpenRouter's real 404 "No endpoints found that support the requested
  // output modalities: image, text" (openrouter-api.md §3.2) is about output,
  // not image input: the generic 404 path (transient), no capability gap.
  fn: () => {
    const body = {
      error: {
        message:
          "No endpoints found that support the requested output modalities: image, text",
        code: 404,
      },
    };
    assert.deepEqual(classifyFailure(http(404, body), POLICY), TRANSIENT);
  },
});

Deno.test("classifyFailure() falls back on another 404 as a transient fault", () => {
  assert.deepEqual(
    classifyFailure(
      http(404, { error: { message: "Not Found", code: 404 } }),
      POLICY,
    ),
    TRANSIENT,
  );
});

Deno.test("classifyFailure() returns 400, 413 and 422 to the client unchanged", () => {
  const cases: Array<[number, unknown]> = [
    [400, {
      error: { message: "acme/fake-1.0 is not a valid model ID", code: 400 },
    }],
    [400, {
      error: {
        message: "'models' array must have 3 items or fewer.",
        code: 400,
      },
    }],
    [413, {
      error: {
        message: "Payload too large",
        code: 413,
        metadata: { error_type: "payload_too_large" },
      },
    }],
    [422, {
      error: {
        message: "Unprocessable",
        code: 422,
        metadata: { error_type: "unprocessable" },
      },
    }],
  ];
  for (const [status, body] of cases) {
    assert.deepEqual(
      classifyFailure(http(status, body), POLICY),
      { action: "return" },
      `${status} ${JSON.stringify(body)}`,
    );
  }
});

Deno.test('classifyFailure() returns a 401 about the key ("User not found.") to the client', () => {
  for (
    const body of [
      USER_NOT_FOUND_401,
      NO_AUTH_401,
      {
        error: {
          message: "User not found.",
          code: 401,
          metadata: { provider_name: null },
        },
      },
    ]
  ) {
    assert.deepEqual(
      classifyFailure(http(401, body), POLICY),
      { action: "return" },
      JSON.stringify(body),
    );
  }
});

Deno.test('classifyFailure() falls back on a 401 "Provider returned error" naming a provider', () => {
  assert.deepEqual(classifyFailure(http(401, PROVIDER_401), POLICY), TRANSIENT);
});

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
    cooldown(1783519380000),
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

Deno.test("classifyFailure() falls back on network errors, timeouts, invalid bodies and empty streams as transient faults", () => {
  const failures: UpstreamFailure[] = [
    { kind: "network", status: 0 },
    { kind: "timeout", status: 0 },
    { kind: "timeout", status: 200, headers: new Headers() },
    {
      kind: "invalid_body",
      status: 200,
      body: { id: "gen-1", choices: [] },
      headers: new Headers(),
    },
    { kind: "invalid_body", status: 200, headers: new Headers() },
    { kind: "empty_stream", status: 200, headers: new Headers() },
  ];
  for (const failure of failures) {
    assert.deepEqual(
      classifyFailure(failure, POLICY),
      TRANSIENT,
      `${failure.kind} ${failure.status}`,
    );
  }
});

Deno.test("classifyFailure() cools down on a 200 whose body carries error code 429", () => {
  // The documented mid-stream error event: no reset hint.
  const midStream = {
    id: "gen-abc123",
    object: "chat.completion.chunk",
    created: 1234567890,
    model: "openai/gpt-4o",
    provider: "OpenAI",
    error: {
      code: 429,
      message: "Rate limit exceeded",
      metadata: { error_type: "rate_limit_exceeded" },
    },
    choices: [{ index: 0, delta: { content: "" }, finish_reason: "error" }],
  };
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
  const inStream = {
    error: {
      message: "Rate limit exceeded: free-models-per-day",
      code: 429,
      metadata: {
        headers: {
          "X-RateLimit-Limit": "50",
          "X-RateLimit-Remaining": "0",
          "X-RateLimit-Reset": "1779321600000",
        },
        provider_name: "Google AI Studio",
      },
    },
    user_id: "user_redacted",
  };
  assert.deepEqual(classifyFailure(errorBody(inStream), POLICY), {
    action: "account",
    scope: "day",
    until: MIDNIGHT,
    limit: 50,
  });
});

Deno.test("classifyFailure() falls back on a 200 whose body carries another error as a transient fault", () => {
  assert.deepEqual(
    classifyFailure(errorBody(NVIDIA_503_IN_200), POLICY),
    TRANSIENT,
  );
  assert.deepEqual(
    classifyFailure(
      errorBody({ error: { code: "server_error", message: "Internal error" } }),
      POLICY,
    ),
    TRANSIENT,
  );
});

Deno.test("effectiveStatus() is the HTTP status of a non-2xx response", () => {
  assert.equal(effectiveStatus(http(429, DAILY_CAP_429)), 429);
  assert.equal(effectiveStatus(http(502, undefined)), 502);
  assert.equal(effectiveStatus({ kind: "network", status: 0 }), 0);
});

Deno.test("effectiveStatus() is a numeric error code inside a 2xx", () => {
  assert.equal(effectiveStatus(errorBody(NVIDIA_503_IN_200)), 503);
  assert.equal(
    effectiveStatus(errorBody({ error: { code: "429", message: "x" } })),
    429,
  );
});

Deno.test("effectiveStatus() is 502 for a 2xx without a usable error code", () => {
  const bodies = [
    { error: { code: "server_error", message: "Internal error" } },
    { error: { message: "no code" } },
    { error: { code: 200, message: "ok?" } },
    { error: { code: 600, message: "out of range" } },
    { error: { code: 429.5, message: "fractional" } },
  ];
  for (const body of bodies) {
    assert.equal(effectiveStatus(errorBody(body)), 502, JSON.stringify(body));
  }
  assert.equal(effectiveStatus({ kind: "invalid_body", status: 200 }), 502);
});

Deno.test("errorInfo() reads message, code and metadata from an OpenRouter error body", () => {
  assert.deepEqual(errorInfo(PROVIDER_429), {
    message: "Provider returned error",
    code: 429,
    metadata: {
      raw:
        "google/gemini-2.0-flash-exp:free is temporarily rate-limited upstream. Please retry shortly, or add your own key to accumulate your rate limits: https://openrouter.ai/settings/integrations",
      provider_name: "Google AI Studio",
    },
  });
});

Deno.test("errorInfo() accepts a string code", () => {
  assert.deepEqual(
    errorInfo({ error: { code: "server_error", message: "Internal error" } }),
    { message: "Internal error", code: "server_error", metadata: undefined },
  );
});

Deno.test("errorInfo() fills absent or ill-typed fields", () => {
  const empty = { message: "", code: undefined, metadata: undefined };
  assert.deepEqual(errorInfo({ error: {} }), empty);
  assert.deepEqual(
    errorInfo({ error: { message: 5, code: true, metadata: null } }),
    empty,
  );
  assert.deepEqual(
    errorInfo({ error: { message: "m", code: null, metadata: "x" } }),
    { message: "m", code: undefined, metadata: undefined },
  );
});

Deno.test("errorInfo() returns undefined when there is no error object", () => {
  const completion = {
    id: "gen-1",
    object: "chat.completion",
    choices: [{
      index: 0,
      message: { role: "assistant", content: "hi" },
      finish_reason: "stop",
    }],
  };
  const cases: Array<[string, unknown]> = [
    ["undefined", undefined],
    ["null", null],
    ["a string", "Rate limit exceeded"],
    ["a number", 429],
    ["an empty object", {}],
    ["error null", { error: null }],
    ["error a string", { error: "boom" }],
    ["a chat completion", completion],
  ];
  for (const [label, body] of cases) {
    assert.equal(errorInfo(body), undefined, label);
  }
});

Deno.test("describeFailure() names each failure kind", () => {
  assert.equal(describeFailure(http(429, DAILY_CAP_429)), "429");
  assert.equal(
    describeFailure({ kind: "network", status: 0 }),
    "network error",
  );
  assert.equal(describeFailure({ kind: "timeout", status: 0 }), "timeout");
  assert.equal(
    describeFailure({ kind: "invalid_body", status: 200 }),
    "200 with an invalid body",
  );
  assert.equal(
    describeFailure(errorBody(NVIDIA_503_IN_200)),
    "200 with error 503",
  );
  assert.equal(
    describeFailure(
      errorBody({ error: { code: "server_error", message: "x" } }),
    ),
    "200 with error server_error",
  );
  assert.equal(
    describeFailure({ kind: "error_body", status: 200 }),
    "200 with error ?",
  );
  assert.equal(
    describeFailure({ kind: "empty_stream", status: 200 }),
    "stream ended before any data",
  );
});
