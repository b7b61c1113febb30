/**
 * An upstream refusal the client gets back: OpenRouter's JSON error passes
 * through unchanged on chat completions (with X-FreeRouter-Attempts); a body
 * that is not OpenRouter's shape (empty, HTML, a bare string) comes in the
 * OpenAI envelope on chat and Responses, and Anthropic's on Messages.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { hello, rig } from "./_harness.ts";
import { FREE_CHAT_IDS_IN_PRIORITY_ORDER } from "./fake_openrouter/mod.ts";

const [A] = FREE_CHAT_IDS_IN_PRIORITY_ORDER as [string];

/** OpenRouter's JSON refusal, with a field of its own. */
const REFUSAL = {
  error: {
    message: "Provider rejected the input",
    code: 400,
    metadata: { x: 1 },
  },
};

const ODD_BODIES: Array<
  [string, { body?: unknown; headers?: Record<string, string> }, RegExp]
> = [
  ["empty", {
    body: undefined,
    headers: { "content-type": "application/json" },
  }, /OpenRouter answered 400: \(empty body\)/],
  ["HTML", {
    body: "<html><body><h1>400 Bad Request</h1></body></html>",
    headers: { "content-type": "text/html" },
  }, /OpenRouter answered 400: <html>/],
  [
    "a bare string error",
    { body: { error: "bad thing" } },
    /OpenRouter answered 400: bad thing/,
  ],
];

Deno.test("createHandler() answers an upstream refusal whose body is not OpenRouter's JSON error in the OpenAI envelope (chat, Responses) or Anthropic's (Messages)", async () => {
  await using r = rig();
  for (const [what, step, message] of ODD_BODIES) {
    for (
      const [path, body] of [
        ["/v1/chat/completions", hello()],
        ["/v1/responses", { model: "auto", input: "Hello" }],
        ["/v1/messages", {
          model: "auto",
          max_tokens: 16,
          messages: [{ role: "user", content: "Hello" }],
        }],
      ] as const
    ) {
      r.fake.script(A, { status: 400, ...step });
      const res = await r.request(path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      const where = `${what} on ${path}: ${text}`;
      assert.equal(res.status, 400, where);
      assert.match(res.headers.get("content-type") ?? "", /application\/json/);
      assert.equal(res.headers.get("x-freerouter-attempts"), "1", where);
      const json = JSON.parse(text);
      if (path === "/v1/messages") {
        assert.equal(json.type, "error", where);
        assert.equal(json.error.type, "invalid_request_error", where);
        assert.match(json.error.message, message, where);
      } else {
        assert.equal(json.error.type, "invalid_request_error", where);
        assert.equal(json.error.param, null, where);
        assert.match(json.error.message, message, where);
      }
    }
  }
});

Deno.test("createHandler() passes OpenRouter's JSON refusal through unchanged on chat completions, with X-FreeRouter-Attempts; the OpenAI SDK reads its message", async () => {
  await using r = rig();
  r.fake.script(A, { status: 400, body: REFUSAL });
  const res = await r.chat(hello());
  assert.equal(res.status, 400);
  assert.equal(res.headers.get("x-freerouter-attempts"), "1");
  assert.deepEqual(await res.json(), REFUSAL);
  for (const [, step] of ODD_BODIES) {
    r.fake.script(A, { status: 400, ...step });
    const client = new OpenAI({
      apiKey: "unused",
      baseURL: "http://freerouter.test/v1",
      fetch: (input, init) => r.handler(new Request(input, init)),
      maxRetries: 0,
    });
    await assert.rejects(
      client.chat.completions.create({
        model: "auto",
        messages: [{ role: "user", content: "Hello" }],
      }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.BadRequestError, String(err));
        assert.match(err.message, /OpenRouter answered 400/);
        return true;
      },
    );
  }
});

Deno.test("createHandler() answers a client that speaks Anthropic's API (anthropic-version) in Anthropic's shape on unknown paths and the shared routes too: 404, 401, 405", async () => {
  await using r = rig({ accessKey: "fr-access-key-0123" });
  const anthropic = { "anthropic-version": "2023-06-01" };
  const cases: Array<[string, RequestInit, number, string]> = [
    [
      "/v1/messages/batches",
      {
        method: "POST",
        headers: { ...anthropic, "x-api-key": "fr-access-key-0123" },
        body: "{}",
      },
      404,
      "not_found_error",
    ],
    ["/v1/models", { headers: anthropic }, 401, "authentication_error"],
    [
      "/v1/models",
      {
        method: "POST",
        headers: { ...anthropic, "x-api-key": "fr-access-key-0123" },
      },
      405,
      "invalid_request_error",
    ],
  ];
  for (const [path, init, status, type] of cases) {
    const res = await r.request(path, init);
    const body = await res.json();
    assert.equal(res.status, status, `${path}: ${JSON.stringify(body)}`);
    assert.equal(body.type, "error", path);
    assert.equal(body.error.type, type, path);
  }
  // Without anthropic-version: OpenAI's shape.
  const openai = await r.request("/v1/messages/batches", { method: "POST" });
  assert.equal((await openai.json()).error.type, "not_found_error");
});

Deno.test("createHandler() keeps OpenRouter's refusal unchanged on chat completions even for a client that sends anthropic-version", async () => {
  await using r = rig();
  r.fake.script(A, { status: 400, body: REFUSAL });
  const res = await r.chat(hello(), {
    headers: {
      "content-type": "application/json",
      "anthropic-version": "2023-06-01",
    },
  });
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), REFUSAL);
});
