import assert from "node:assert/strict";
import { validateChatRequest } from "../src/core/request_schema.ts";

Deno.test("validateChatRequest() returns the body itself, unknown fields and their order kept", () => {
  const body = {
    model: "qwen/qwen3-coder:free",
    temperature: 0.2,
    messages: [
      { role: "system", content: "Be brief." },
      {
        role: "assistant",
        content: null,
        tool_calls: [{
          id: "call_1",
          type: "function",
          function: { name: "f", arguments: "{}" },
        }],
      },
      { role: "tool", tool_call_id: "call_1", content: "42" },
    ],
    stream: true,
    provider: { sort: "latency" },
    models: ["openai/gpt-oss-20b:free"],
  };
  const before = structuredClone(body);
  const result = validateChatRequest(body);
  assert.equal(result.ok, true);
  assert.ok(result.ok);
  assert.equal(result.request, body);
  assert.deepEqual(body, before);
  assert.deepEqual(Object.keys(result.request), [
    "model",
    "temperature",
    "messages",
    "stream",
    "provider",
    "models",
  ]);
});

Deno.test("validateChatRequest() accepts a request without model or stream", () => {
  const body = { messages: [{ role: "user", content: "Hello" }] };
  const result = validateChatRequest(body);
  assert.ok(result.ok);
  assert.equal(result.request, body);
});

Deno.test("validateChatRequest() rejects a body that is not a JSON object", () => {
  for (
    const body of [null, undefined, [], [{ role: "user" }], "hi", 42, true]
  ) {
    assert.deepEqual(
      validateChatRequest(body),
      {
        ok: false,
        error: {
          message: "The request body must be a JSON object",
          param: null,
        },
      },
      JSON.stringify(body),
    );
  }
});

Deno.test("validateChatRequest() rejects missing or non-array messages, naming messages", () => {
  assert.deepEqual(validateChatRequest({ model: "auto" }), {
    ok: false,
    error: {
      message:
        "Invalid request body: `messages`: Invalid input: expected array, received undefined",
      param: "messages",
    },
  });
  assert.deepEqual(validateChatRequest({ messages: "Hello" }), {
    ok: false,
    error: {
      message:
        "Invalid request body: `messages`: Invalid input: expected array, received string",
      param: "messages",
    },
  });
});

Deno.test("validateChatRequest() rejects an empty messages array", () => {
  assert.deepEqual(validateChatRequest({ model: "auto", messages: [] }), {
    ok: false,
    error: {
      message: "`messages` must hold at least one message",
      param: "messages",
    },
  });
});

Deno.test("validateChatRequest() names the path of a message without a string role", () => {
  assert.deepEqual(validateChatRequest({ messages: [{ content: "Hi" }] }), {
    ok: false,
    error: {
      message:
        "Invalid request body: `messages.0.role`: Invalid input: expected string, received undefined",
      param: "messages.0.role",
    },
  });
  const second = validateChatRequest({
    messages: [{ role: "user", content: "Hi" }, { role: 1, content: "x" }],
  });
  assert.deepEqual(second, {
    ok: false,
    error: {
      message:
        "Invalid request body: `messages.1.role`: Invalid input: expected string, received number",
      param: "messages.1.role",
    },
  });
});

Deno.test("validateChatRequest() rejects a message that is not an object", () => {
  for (const [message, received] of [[null, "null"], ["Hi", "string"]]) {
    assert.deepEqual(
      validateChatRequest({ messages: [message] }),
      {
        ok: false,
        error: {
          message:
            `Invalid request body: \`messages.0\`: Invalid input: expected object, received ${received}`,
          param: "messages.0",
        },
      },
    );
  }
});

Deno.test("validateChatRequest() rejects a non-string model and a non-boolean stream", () => {
  const messages = [{ role: "user", content: "Hi" }];
  assert.deepEqual(validateChatRequest({ model: 42, messages }), {
    ok: false,
    error: {
      message:
        "Invalid request body: `model`: Invalid input: expected string, received number",
      param: "model",
    },
  });
  assert.deepEqual(validateChatRequest({ messages, stream: "yes" }), {
    ok: false,
    error: {
      message:
        "Invalid request body: `stream`: Invalid input: expected boolean, received string",
      param: "stream",
    },
  });
});
