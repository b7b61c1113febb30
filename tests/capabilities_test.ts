/**
 * Capability-aware routing: requests go only to free models that can serve
 * them (tools, structured output, JSON mode, image/audio input, context fit).
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { requestNeeds, supports } from "../src/core/capabilities.ts";
import type { ChatCompletionRequest, FreeModel } from "../src/types.ts";
import { parseServerConfig } from "../src/server/config.ts";
import { serve } from "../src/server/serve.ts";
import { hello, postJson, rig } from "./_harness.ts";
import { catalogRow, startFakeOpenRouter } from "./fake_openrouter/mod.ts";

const TEXT = "text/only:free"; // 300k, no tools
const UNKNOWN = "unknown/params:free"; // 200k, catalog says nothing about parameters
const CAPABLE = "tools/capable:free"; // 100k, tools + structured outputs + reasoning, image input
const SMALL = "small/ctx:free"; // 8192, tools, max 2000 completion tokens
const PLAIN_TOOLS = "plain/tools:free"; // 64k, tools only

function catalog() {
  const unknown = catalogRow({
    id: UNKNOWN,
    context_length: 200_000,
  }) as Record<string, unknown>;
  delete unknown.supported_parameters;
  return [
    catalogRow({
      id: TEXT,
      context_length: 300_000,
      supported_parameters: ["temperature", "max_tokens"],
    }),
    unknown,
    catalogRow({
      id: CAPABLE,
      context_length: 100_000,
      supported_parameters: [
        "tools",
        "tool_choice",
        "structured_outputs",
        "response_format",
        "reasoning",
      ],
      architecture: {
        modality: "text+image->text",
        input_modalities: ["text", "image"],
        output_modalities: ["text"],
        tokenizer: "Other",
        instruct_type: null,
      },
    }),
    catalogRow({
      id: PLAIN_TOOLS,
      context_length: 64_000,
      supported_parameters: ["tools", "tool_choice"],
    }),
    catalogRow({
      id: SMALL,
      context_length: 8192,
      supported_parameters: ["tools", "tool_choice", "max_tokens"],
      top_provider: {
        context_length: 8192,
        max_completion_tokens: 2000,
        is_moderated: false,
      },
    }),
  ];
}

const tools = [{
  type: "function",
  function: { name: "weather", parameters: { type: "object", properties: {} } },
}];
const fail = { status: 503, body: { error: { message: "down", code: 503 } } };

function capRig(options: Parameters<typeof rig>[0] = {}) {
  return rig({ fakeOptions: { models: catalog() }, rpm: 0, ...options });
}

/** The models tried for one request when every one of them fails. */
async function triedFor(body: Record<string, unknown>): Promise<string[]> {
  await using r = capRig();
  for (const id of [TEXT, UNKNOWN, CAPABLE, PLAIN_TOOLS, SMALL]) {
    r.fake.script(id, fail);
  }
  const res = await r.chat(body);
  await res.body?.cancel();
  return r.fake.chatRequests().map((q) => q.model!);
}

Deno.test("createHandler() sends plain requests in pool order", async () => {
  assert.deepEqual(await triedFor(hello()), [
    TEXT,
    UNKNOWN,
    CAPABLE,
    PLAIN_TOOLS,
    SMALL,
  ]);
});

Deno.test("createHandler() sends tool requests to known tool-capable models first, then unknown ones, never to models without tools", async () => {
  assert.deepEqual(await triedFor(hello("auto", { tools })), [
    CAPABLE,
    PLAIN_TOOLS,
    SMALL,
    UNKNOWN,
  ]);
});

Deno.test("createHandler() treats tool_choice alone as needing tools", async () => {
  assert.deepEqual(await triedFor(hello("auto", { tool_choice: "auto" })), [
    CAPABLE,
    PLAIN_TOOLS,
    SMALL,
    UNKNOWN,
  ]);
});

Deno.test("createHandler() sends json_schema requests only to models with structured outputs", async () => {
  const format = {
    type: "json_schema",
    json_schema: { name: "x", schema: { type: "object" } },
  };
  assert.deepEqual(await triedFor(hello("auto", { response_format: format })), [
    CAPABLE,
    UNKNOWN,
  ]);
});

Deno.test("createHandler() sends json_object requests only to models with response_format", async () => {
  assert.deepEqual(
    await triedFor(hello("auto", { response_format: { type: "json_object" } })),
    [CAPABLE, UNKNOWN],
  );
});

Deno.test("createHandler() sends image input only to models that take images", async () => {
  const messages = [{
    role: "user",
    content: [{ type: "text", text: "what is this?" }, {
      type: "image_url",
      image_url: { url: "data:image/png;base64,AAAA" },
    }],
  }];
  assert.deepEqual(await triedFor({ model: "auto", messages }), [CAPABLE]);
});

Deno.test("createHandler() prefers reasoning-capable models when reasoning is asked for", async () => {
  const tried = await triedFor(
    hello("auto", { tools, reasoning: { effort: "high" } }),
  );
  assert.deepEqual(tried, [CAPABLE, PLAIN_TOOLS, SMALL, UNKNOWN]);
  const plain = await triedFor(hello("auto", { include_reasoning: true }));
  assert.equal(plain[0], CAPABLE);
});

Deno.test("requestNeeds(): reasoning is a preference unless it is excluded, disabled or of effort none", () => {
  const prefers = (reasoning: unknown) =>
    requestNeeds({
      model: "auto",
      messages: [{ role: "user", content: "hi" }],
      reasoning,
    } as ChatCompletionRequest).prefersReasoning;
  assert.equal(prefers({ effort: "high" }), true);
  assert.equal(prefers({ max_tokens: 2048 }), true);
  assert.equal(prefers({ effort: "none" }), false);
  assert.equal(prefers({ exclude: true }), false);
  assert.equal(prefers({ enabled: false }), false);
  assert.equal(prefers(undefined), false);
});

Deno.test("createHandler() skips an explicitly requested model that is known to lack a need", async () => {
  assert.deepEqual(await triedFor(hello(TEXT, { tools })), [
    CAPABLE,
    PLAIN_TOOLS,
    SMALL,
    UNKNOWN,
  ]);
  assert.deepEqual(
    (await triedFor(hello(SMALL, { tools })))[0],
    SMALL,
    "a capable requested model still goes first",
  );
});

Deno.test("createHandler() answers 400 naming the capability when no free model has it, without an upstream call", async () => {
  await using r = capRig();
  const res = await r.chat({
    model: "auto",
    messages: [{
      role: "user",
      content: [{
        type: "input_audio",
        input_audio: { data: "AAAA", format: "wav" },
      }],
    }],
  });
  assert.equal(res.status, 400);
  const body = await res.json() as {
    error: { message: string; code: string; type: string };
  };
  assert.equal(body.error.code, "no_capable_model");
  assert.equal(body.error.type, "invalid_request_error");
  assert.match(body.error.message, /audio input/);
  assert.equal(r.fake.chatRequests().length, 0);
});

/** A user message whose estimated size is exactly `tokens` (characters / 4, the role counted too). */
function promptOf(tokens: number, extraChars = 0) {
  return [{
    role: "user",
    content: "x".repeat(tokens * 4 - "user".length + extraChars),
  }];
}

Deno.test("createHandler() routes to a model when prompt plus max_tokens fits its context exactly", async () => {
  const tried = await triedFor({
    model: SMALL,
    messages: promptOf(8192 - 1000),
    max_tokens: 1000,
  });
  assert.equal(tried[0], SMALL);
});

Deno.test("createHandler() skips a model whose context is one token too small", async () => {
  const tried = await triedFor({
    model: SMALL,
    messages: promptOf(8192 - 1000, 1),
    max_tokens: 1000,
  });
  assert.ok(!tried.includes(SMALL), tried.join());
  assert.equal(
    tried[0],
    TEXT,
    "the pool order without the model that does not fit",
  );
});

Deno.test("createHandler() skips a model whose provider caps completion tokens below max_tokens", async () => {
  assert.equal(
    (await triedFor(hello(SMALL, { max_tokens: 2000, tools })))[0],
    SMALL,
  );
  assert.notEqual(
    (await triedFor(hello(SMALL, { max_completion_tokens: 2001, tools })))[0],
    SMALL,
  );
});

Deno.test("createHandler() answers 400 context_length_exceeded naming the sizes when no free model is large enough, on every front", async () => {
  await using r = capRig();
  const res = await r.chat({ model: "auto", messages: promptOf(300_001) });
  assert.equal(res.status, 400);
  const body = await res.json() as {
    error: { message: string; code: string; type: string };
  };
  assert.equal(body.error.code, "context_length_exceeded");
  assert.equal(body.error.type, "invalid_request_error");
  assert.match(
    body.error.message,
    /^prompt is too long: 300001 tokens > \d+ maximum \(.*maximum context length/,
  );
  const messages = await postJson(r, "/v1/messages", {
    model: "auto",
    max_tokens: 64,
    messages: promptOf(300_001),
  });
  assert.equal(messages.status, 400);
  const anthropic = await messages.json() as {
    type: string;
    error: { type: string; message: string };
  };
  assert.equal(anthropic.error.type, "invalid_request_error");
  assert.match(
    anthropic.error.message,
    /^prompt is too long: \d+ tokens > \d+ maximum/,
  );
  const responses = await postJson(r, "/v1/responses", {
    model: "auto",
    input: promptOf(300_001)[0]!.content,
  });
  assert.equal(responses.status, 400);
  assert.equal(
    ((await responses.json()) as { error: { code: string } }).error.code,
    "context_length_exceeded",
  );
  assert.equal(r.fake.chatRequests().length, 0);
});

Deno.test("createHandler() shows each model's capabilities at /v1/models", async () => {
  await using r = capRig();
  const body = await (await r.request("/v1/models")).json() as {
    data: Array<Record<string, unknown>>;
  };
  const capable = body.data.find((m) => m.id === CAPABLE)!;
  assert.deepEqual(capable.input_modalities, ["text", "image"]);
  assert.deepEqual(capable.supported_parameters, [
    "tools",
    "tool_choice",
    "structured_outputs",
    "response_format",
    "reasoning",
  ]);
  assert.equal(capable.context_length, 100_000);
  const small = body.data.find((m) => m.id === SMALL)!;
  assert.equal(small.max_completion_tokens, 2000);
  assert.equal(
    body.data.find((m) => m.id === UNKNOWN)!.supported_parameters,
    null,
  );
});

Deno.test("the openai SDK's tool-calling request is routed only to tool-capable models", async () => {
  await using fake = startFakeOpenRouter({ models: catalog() });
  fake.script(CAPABLE, fail);
  const config = parseServerConfig({
    OPENROUTER_API_KEY: "sk-or-v1-test",
    OPENROUTER_BASE_URL: fake.baseUrl,
    PORT: "0",
    FREEROUTER_KV_PATH: ":memory:",
  });
  await using server = await serve(config, { info() {}, warn() {} });
  const client = new OpenAI({
    baseURL: `${server.url}/v1`,
    apiKey: "unused",
    maxRetries: 0,
  });
  const { response } = await client.chat.completions.create({
    model: "auto",
    messages: [{ role: "user", content: "weather in Paris?" }],
    tools: [{
      type: "function",
      function: {
        name: "weather",
        parameters: { type: "object", properties: {} },
      },
    }],
  }).withResponse();
  assert.equal(response.headers.get("x-freerouter-model"), PLAIN_TOOLS);
  assert.deepEqual(fake.chatRequests().map((q) => q.model), [
    CAPABLE,
    PLAIN_TOOLS,
  ]);
  assert.ok(
    fake.chatRequests().every((q) =>
      Array.isArray((q.body as { tools?: unknown }).tools)
    ),
  );
});

Deno.test("requestNeeds(): a forced tool_choice (required, or a named function) needs tool_choice besides tools; auto and none do not", () => {
  const tools = [{
    type: "function",
    function: { name: "f", parameters: { type: "object" } },
  }];
  const needs = (tool_choice: unknown) =>
    requestNeeds({
      model: "auto",
      messages: [{ role: "user", content: "hi" }],
      tools,
      tool_choice,
    } as ChatCompletionRequest).required;
  assert.deepEqual(needs("required"), ["tools", "tool_choice"]);
  assert.deepEqual(
    needs({ type: "function", function: { name: "f" } }),
    ["tools", "tool_choice"],
  );
  assert.deepEqual(needs("auto"), ["tools"]);
  assert.deepEqual(needs(undefined), ["tools"]);
});

Deno.test("supports(): tool_choice is yes when the catalog lists it and unknown otherwise, never no", () => {
  const row = (supported_parameters: string[] | null): FreeModel => ({
    id: "x/y:free",
    name: "y",
    created: 0,
    owned_by: "x",
    context_length: 8192,
    max_completion_tokens: null,
    input_modalities: ["text"],
    supported_parameters,
    expiration_date: null,
  });
  assert.equal(supports(row(["tools", "tool_choice"]), "tool_choice"), "yes");
  assert.equal(supports(row(["tools"]), "tool_choice"), "unknown");
  assert.equal(supports(row(null), "tool_choice"), "unknown");
});
