import assert from "node:assert/strict";
import type {
  ErrorObject,
  ErrorType,
} from "@anthropic-ai/sdk/resources/shared";
import {
  anthropicErrorBody,
  type AnthropicErrorType,
  anthropicErrorType,
} from "../../src/fronts/anthropic/errors.ts";

Deno.test("anthropicErrorType() maps each status to Anthropic's error type", () => {
  const cases: Array<[number, string]> = [
    [400, "invalid_request_error"],
    [401, "authentication_error"],
    [402, "billing_error"],
    [403, "permission_error"],
    [404, "not_found_error"],
    [405, "invalid_request_error"],
    [413, "request_too_large"],
    [415, "invalid_request_error"],
    [429, "rate_limit_error"],
    [503, "overloaded_error"],
    [529, "overloaded_error"],
    [500, "api_error"],
    [502, "api_error"],
    [504, "api_error"],
    [422, "api_error"],
  ];
  for (const [status, type] of cases) {
    assert.equal(anthropicErrorType(status), type, String(status));
  }
});

Deno.test("anthropicErrorBody() builds Anthropic's error body", () => {
  assert.deepEqual(anthropicErrorBody(400, "max_tokens: Field required"), {
    type: "error",
    error: {
      type: "invalid_request_error",
      message: "max_tokens: Field required",
    },
  });
  assert.deepEqual(anthropicErrorBody(529, "busy", { requestId: "req_1" }), {
    type: "error",
    error: { type: "overloaded_error", message: "busy" },
    request_id: "req_1",
  });
  // Every type except request_too_large is one of the SDK's ErrorObject types.
  const body = anthropicErrorBody(429, "slow down");
  if (body.error.type !== "request_too_large") {
    const sdk: ErrorObject = {
      type: body.error.type,
      message: body.error.message,
    };
    assert.equal(sdk.type, "rate_limit_error");
  }
});

Deno.test("AnthropicErrorType lists only the SDK's ErrorType values and request_too_large", () => {
  // A compile-time check: a value outside the SDK's types fails `deno check`.
  const types: Array<ErrorType | "request_too_large"> = [
    "invalid_request_error",
    "authentication_error",
    "billing_error",
    "permission_error",
    "not_found_error",
    "request_too_large",
    "rate_limit_error",
    "api_error",
    "overloaded_error",
  ] satisfies AnthropicErrorType[];
  const produced = new Set(
    [400, 401, 402, 403, 404, 413, 429, 500, 529].map(anthropicErrorType),
  );
  assert.deepEqual([...produced].sort(), [...types].sort());
});
