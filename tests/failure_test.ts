/**
 * classifyFailure() on everything but rate limits, and effectiveStatus(),
 * errorInfo() and describeFailure(). failure_429_test.ts covers the 429s.
 */
import assert from "node:assert/strict";
import {
  classifyFailure,
  describeFailure,
  effectiveStatus,
  errorInfo,
  type UpstreamFailure,
} from "../src/core/failure.ts";
import {
  DAILY_CAP_429,
  errorBody,
  http,
  LASTING,
  NO_AUTH_401,
  NVIDIA_503_IN_200,
  POLICY,
  PROVIDER_401,
  PROVIDER_429,
  TRANSIENT,
  USER_NOT_FOUND_401,
} from "./_failures.ts";
import { contextLength400 } from "./fake_openrouter/mod.ts";

/** Asserts that every `[status, body]` upstream failure is classified as `expected`. */
function assertClassified(
  cases: ReadonlyArray<[number, unknown]>,
  expected: unknown,
): void {
  for (const [status, body] of cases) {
    assert.deepEqual(
      classifyFailure(http(status, body), POLICY),
      expected,
      `${status} ${JSON.stringify(body)}`,
    );
  }
}

Deno.test("classifyFailure() falls back on 403, 408, 409 and 5xx as a transient fault", () => {
  const cases: Array<[number, unknown]> = [
    [403, { error: { message: "Forbidden", code: 403 } }],
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
  assertClassified(cases, TRANSIENT);
});

Deno.test("classifyFailure() benches a model until the next catalog refresh on a 402 that names a provider", () => {
  assert.deepEqual(
    classifyFailure(
      http(402, {
        error: {
          message: "Provider returned error",
          code: 402,
          metadata: { provider_name: "Chutes", raw: "Payment required" },
        },
      }),
      POLICY,
    ),
    LASTING,
  );
});

Deno.test("classifyFailure() returns OpenRouter's own 402 (the account's credits), a guardrail 403 (the key's policy) and a 403 'Key limit exceeded' to the client: every model would answer the same", () => {
  const cases: Array<[number, unknown]> = [
    [402, {
      error: {
        message:
          "Insufficient credits. This account never purchased credits. Make sure your key is on the correct account or org, and if so, purchase more at https://openrouter.ai/settings/credits",
        code: 402,
      },
    }],
    [402, {
      error: {
        message:
          "This request requires more credits, or fewer max_tokens. You requested up to 64000 tokens, but can only afford 2666.",
        code: 402,
        metadata: { provider_name: null },
      },
    }],
    [403, {
      error: {
        message: "Request blocked: prompt injection patterns detected",
        code: 403,
        metadata: { patterns: ["ignore previous instructions"] },
      },
    }],
    [403, {
      error: {
        message: "Request blocked: prompt injection patterns detected",
        code: 403,
      },
    }],
    [403, {
      error: { message: "Key limit exceeded (total limit)", code: 403 },
    }],
    [403, {
      error: { message: "Key limit exceeded (monthly limit)", code: 403 },
    }],
  ];
  assertClassified(cases, { action: "return" });
});

Deno.test("classifyFailure() moves on without marking the model after a moderation 403 or a 404 about output modalities or the request's constraints", () => {
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
    [404, {
      error: {
        message:
          "No endpoints found that support the requested output modalities: image, text",
        code: 404,
      },
    }],
    [404, {
      error: {
        message: "No endpoints match the request's constraints",
        code: 404,
        availability: { code: "constraint_filtered", retryable: false },
      },
    }],
  ];
  assertClassified(cases, { action: "next" });
});

Deno.test("classifyFailure() benches a model the catalog still lists but OpenRouter no longer serves (400 not a valid model ID, availability codes)", () => {
  const cases: Array<[number, unknown]> = [
    [400, {
      error: { message: "acme/fake-1.0 is not a valid model ID", code: 400 },
    }],
    ...([
      [400, "model_not_found"],
      [400, "wrong_endpoint"],
      [404, "no_endpoints"],
      [404, "model_deprecated"],
      [404, "model_unavailable_upstream"],
      [404, "privacy_restricted"],
      [403, "region_restricted"],
    ] as const).map(([status, code]): [number, unknown] => [status, {
      error: {
        message: `acme/fake-1.0: ${code}`,
        code: status,
        availability: { code, retryable: false },
      },
    }]),
  ];
  assertClassified(cases, LASTING);
});

Deno.test("classifyFailure() cools a model down until the retry hint of a 503 temporarily_unavailable, and counts one without a hint as transient", () => {
  const body = {
    error: {
      message: "acme/fake-1.0:free is temporarily unavailable.",
      code: 503,
      availability: {
        code: "temporarily_unavailable",
        retryable: true,
        retry_after: 120,
      },
    },
  };
  assert.deepEqual(classifyFailure(http(503, body), POLICY), {
    action: "next",
    effect: { kind: "cooldown", until: POLICY.now + 120_000 },
  });
  // The error object alone, without headers, says the same.
  assert.deepEqual(classifyFailure(http(503, body.error), POLICY), {
    action: "next",
    effect: { kind: "cooldown", until: POLICY.now + 120_000 },
  });
  const { retry_after: _, ...noHint } = body.error.availability;
  assert.deepEqual(
    classifyFailure(
      http(503, { error: { ...body.error, availability: noHint } }),
      POLICY,
    ),
    TRANSIENT,
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
      "tool_choice",
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
  // output modalities: image, text" is about output, not image input: no
  // capability gap, and nothing said of the model's health.
  fn: () => {
    const body = {
      error: {
        message:
          "No endpoints found that support the requested output modalities: image, text",
        code: 404,
      },
    };
    assert.deepEqual(classifyFailure(http(404, body), POLICY), {
      action: "next",
    });
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
  assertClassified(cases, { action: "return" });
});

Deno.test("classifyFailure() falls back to a larger context on a 400 or 413 saying the request is longer than the model's context, in OpenRouter's or a provider's words", () => {
  const provider = (raw: string) => ({
    error: {
      message: "Provider returned error",
      code: 400,
      metadata: { raw, provider_name: "Chutes" },
    },
  });
  const cases: Array<[number, unknown]> = [
    [400, contextLength400(131072).body],
    [400, contextLength400(131072, 139000, 1024, true).body],
    [400, {
      error: {
        message: "Input too long",
        code: 400,
        metadata: { error_type: "token_limit_exceeded" },
      },
    }],
    [
      400,
      provider(
        '{"object":"error","message":"This model\'s maximum context length is 32768 tokens. However, you requested 40000 tokens.","code":400}',
      ),
    ],
    [
      400,
      provider(
        '{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}',
      ),
    ],
    [
      400,
      provider(
        '{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}',
      ),
    ],
    [413, {
      error: {
        message: "Request exceeds the model's context window",
        code: 413,
      },
    }],
  ];
  assertClassified(cases, { action: "next", effect: { kind: "too_long" } });
  // Other 400s are the request's own fault: they still go back unchanged.
  for (const message of ["Bad request", "tools.0: too many tools"]) {
    assert.deepEqual(
      classifyFailure(http(400, { error: { message, code: 400 } }), POLICY),
      { action: "return" },
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
    ["a message without a code", { message: "hello" }],
    ["a message and a code beside choices", {
      message: "hello",
      code: 1,
      choices: [],
    }],
  ];
  for (const [label, body] of cases) {
    assert.equal(errorInfo(body), undefined, label);
  }
});

Deno.test("errorInfo() reads a body that is the error object alone, as a per-model 429 has been captured", () => {
  const metadata = { headers: { "X-RateLimit-Limit": "8" } };
  assert.deepEqual(
    errorInfo({
      message: "Rate limit exceeded: limit_rpm/x",
      code: 429,
      metadata,
    }),
    { message: "Rate limit exceeded: limit_rpm/x", code: 429, metadata },
  );
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
