/**
 * `POST /v1/messages` as Claude Code uses it, and the routes around it:
 * `?beta=true`, both ways of sending the client's key, `count_tokens`,
 * `GET /v1/models` in Anthropic's shape, and a Claude-Code-like body whose
 * `max_tokens` is clamped per model. The official `@anthropic-ai/sdk` or raw
 * requests against createHandler() and the fake OpenRouter.
 */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import {
  anthropicSdk,
  chatMessagesOf,
  handlerFetch,
  parseSse,
  textOf,
} from "./_agent_fronts.ts";
import { type Rig, rig } from "./_harness.ts";
import {
  completionBody,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  ok,
} from "./fake_openrouter/mod.ts";

/** A free id, requested by name so that it goes first. */
const A = "qwen/qwen3-coder:free";
/** A free id with a completion cap of 8192 in the fake's catalog. */
const GEMMA = "google/gemma-4-31b-it:free";
const ACCESS_KEY = "fr-access-key-for-tests";

const hi = {
  model: A,
  max_tokens: 256,
  messages: [{ role: "user" as const, content: "Say hi" }],
};

Deno.test("POST /v1/messages?beta=true (Claude Code's path) is answered like /v1/messages", async () => {
  await using r = rig();
  r.fake.script(A, ok(A, "beta ok"));
  const urls: string[] = [];
  const client = new Anthropic({
    apiKey: "client-key",
    baseURL: "http://freerouter.test",
    maxRetries: 0,
    fetch: (input, init) => {
      urls.push(String(input instanceof Request ? input.url : input));
      return handlerFetch(r.handler)(input, init);
    },
  });
  const message = await client.messages.create(hi, { query: { beta: true } });
  const [block] = message.content;
  assert.equal(block?.type === "text" && block.text, "beta ok");
  assert.deepEqual(urls, ["http://freerouter.test/v1/messages?beta=true"]);
  assert.equal(r.fake.chatRequests().length, 1);
});

Deno.test("with an access key set, x-api-key and Authorization: Bearer both count as the client's key", async () => {
  await using r = rig({ accessKey: ACCESS_KEY });
  for (
    const auth of [{ apiKey: ACCESS_KEY }, {
      apiKey: null,
      authToken: ACCESS_KEY,
    }]
  ) {
    const message = await anthropicSdk(r.handler, auth).messages.create(hi);
    assert.equal(message.model, A, JSON.stringify(auth));
  }
  const err = await anthropicSdk(r.handler, { apiKey: "wrong" }).messages
    .create(hi).then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(err instanceof Anthropic.AuthenticationError, String(err));
  assert.equal(
    (err.error as { error: { type: string } }).error.type,
    "authentication_error",
  );
  assert.equal(r.fake.chatRequests().length, 2);
});

Deno.test("messages.countTokens() answers the router's estimate, larger for a larger prompt, without calling a model", async () => {
  await using r = rig();
  const client = anthropicSdk(r.handler);
  const small = await client.messages.countTokens({
    model: "auto",
    messages: [{ role: "user", content: "Hello" }],
  });
  const large = await client.messages.countTokens({
    model: "auto",
    system: "You are terse.",
    messages: [{ role: "user", content: "Hello ".repeat(400) }],
    tools: [{
      name: "get_weather",
      description: "The weather in a city",
      input_schema: {
        type: "object",
        properties: { city: { type: "string" } },
      },
    }],
  });
  assert.ok(small.input_tokens > 0, JSON.stringify(small));
  assert.ok(
    large.input_tokens > small.input_tokens + 400,
    JSON.stringify(large),
  );
  assert.equal(r.fake.chatRequests().length, 0);
});

Deno.test("models.list() (anthropic-version sent) lists the free pool in Anthropic's shape; OpenAI clients keep theirs", async () => {
  await using r = rig();
  const page = await anthropicSdk(r.handler).models.list();
  const ids = page.data.map((m) => m.id);
  for (const id of FREE_CHAT_IDS_IN_PRIORITY_ORDER) {
    assert.ok(ids.includes(id), `${id} is listed`);
  }
  const qwen = page.data.find((m) => m.id === A);
  assert.equal(qwen?.type, "model");
  assert.equal(qwen?.display_name, "Qwen: Qwen3 Coder 480B A35B (free)");
  assert.equal(qwen?.created_at, new Date(1753230546 * 1000).toISOString());
  assert.equal(page.first_id, ids[0]);
  assert.equal(page.last_id, ids.at(-1));
  assert.equal(page.has_more, false);
  const openai = await (await r.request("/v1/models")).json();
  assert.equal(openai.object, "list");
  assert.equal(openai.data[0].object, "model");
});

Deno.test("models.list() pages as Anthropic's does: limit, after_id and before_id; the SDK's iteration visits the whole list once, in order", async () => {
  await using r = rig();
  const sdk = anthropicSdk(r.handler);
  const whole = (await sdk.models.list()).data.map((m) => m.id);
  assert.ok(whole.length > 7, `${whole.length} entries`);
  assert.ok(whole.includes("auto:coding"), "the aliases are on the one page");

  const first = await sdk.models.list({ limit: 3 });
  assert.deepEqual(first.data.map((m) => m.id), whole.slice(0, 3));
  assert.equal(first.has_more, true);
  assert.equal(first.first_id, whole[0]);
  assert.equal(first.last_id, whole[2]);

  const visited: string[] = [];
  for await (const m of sdk.models.list({ limit: 3 })) visited.push(m.id);
  assert.deepEqual(visited, whole);

  const last = await sdk.models.list({ limit: 3, after_id: whole.at(-3) });
  assert.deepEqual(last.data.map((m) => m.id), whole.slice(-2));
  assert.equal(last.has_more, false);

  const before = await sdk.models.list({ limit: 2, before_id: whole[3] });
  assert.deepEqual(before.data.map((m) => m.id), whole.slice(1, 3));
  assert.equal(before.has_more, true);
  const backwards: string[] = [];
  for await (
    const m of sdk.models.list({ before_id: whole.at(-1), limit: 4 })
  ) {
    backwards.push(m.id);
  }
  assert.deepEqual(backwards.toSorted(), whole.slice(0, -1).toSorted());

  // OpenAI's list has no pages: the query changes nothing there.
  const openai = await (await r.request("/v1/models?limit=2")).json();
  assert.deepEqual(openai.data.map((m: { id: string }) => m.id), whole);
});

Deno.test("models.list() refuses a bad page query with Anthropic's 400, naming what is wrong", async () => {
  await using r = rig();
  const sdk = anthropicSdk(r.handler);
  for (
    const [query, says] of [
      [{ limit: 0 }, "limit must be at least 1"],
      [{ limit: 1001 }, "limit must be at most 1000"],
      [{ after_id: "no/such-model" }, "after_id 'no/such-model' is not in"],
      [{ after_id: "auto", before_id: "auto" }, "cannot be used together"],
    ] as const
  ) {
    const err = await sdk.models.list(query).catch((e) => e);
    assert.ok(err instanceof Anthropic.BadRequestError, String(err));
    const body = err.error as {
      type: string;
      error: { type: string; message: string };
    };
    assert.equal(body.type, "error");
    assert.equal(body.error.type, "invalid_request_error");
    assert.match(body.error.message, new RegExp(says));
  }
  const res = await r.request("/v1/models?limit=abc", {
    headers: { "anthropic-version": "2023-06-01" },
  });
  assert.equal(res.status, 400);
  assert.match(
    (await res.json()).error.message,
    /limit must be a whole number/,
  );
});

/** A body shaped like Claude Code 2.1.328's (headless, `--model auto`), trimmed. */
function claudeCodeBody(model: string, maxTokens: number) {
  const schema = (props: Record<string, unknown>, required: string[]) => ({
    $schema: "https://json-schema.org/draft/2020-12/schema",
    type: "object",
    properties: props,
    required,
    additionalProperties: false,
  });
  return {
    model,
    max_tokens: maxTokens,
    stream: true,
    system: [
      {
        type: "text",
        text:
          "x-anthropic-billing-header: cc_version=2.1.328.b7f; cc_entrypoint=sdk-cli;",
      },
      {
        type: "text",
        text: "You are Claude Code, an interactive CLI.",
        cache_control: { type: "ephemeral" },
      },
      {
        type: "text",
        text: "Be concise.",
        cache_control: { type: "ephemeral" },
      },
    ],
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: "<system-reminder>context</system-reminder>" },
          {
            type: "text",
            text: "Say hi",
            cache_control: { type: "ephemeral" },
          },
        ],
      },
      {
        role: "system",
        content: [{ type: "text", text: "Environment: linux" }],
      },
    ],
    tools: [
      {
        name: "Bash",
        description: "Runs a shell command",
        input_schema: schema({ command: { type: "string" } }, ["command"]),
      },
      {
        name: "Read",
        description: "Reads a file",
        input_schema: schema({ file_path: { type: "string" } }, ["file_path"]),
      },
      {
        name: "DeferredToolPlaceholder",
        description: "Loaded on demand",
        input_schema: schema({}, []),
        defer_loading: true,
      },
    ],
    thinking: { type: "adaptive", display: "omitted" },
    context_management: {
      edits: [{ type: "clear_thinking_20251015", keep: "all" }],
    },
    output_config: { effort: "high" },
    metadata: {
      user_id: JSON.stringify({
        device_id: "d3v1c3",
        account_uuid: "",
        session_id: "5e55-10n",
      }),
    },
  };
}

/** POSTs a body the way Claude Code does: `?beta=true`, its headers, `Accept: application/json` even for a stream. */
function postLikeClaudeCode(r: Rig, body: unknown): Promise<Response> {
  return r.request("/v1/messages?beta=true", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json",
      "anthropic-version": "2023-06-01",
      "anthropic-beta":
        "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,advanced-tool-use-2025-11-20,effort-2025-11-24",
      "x-api-key": "anything",
      "x-app": "cli",
      "x-claude-code-session-id": "5e55-10n",
    },
    body: JSON.stringify(body),
  });
}

/** The most a model may be asked to write, from the fake's catalog: its completion cap, else its context. */
function limitOf(r: Rig, model: string): number {
  const row = r.fake.models.find((m) => (m as { id?: string }).id === model) as
    | {
      context_length: number;
      top_provider?: { max_completion_tokens?: number | null };
    }
    | undefined;
  assert.ok(row, `${model} is in the catalog`);
  return row.top_provider?.max_completion_tokens ?? row.context_length;
}

Deno.test("a Claude-Code-like body (system blocks, a system message, adaptive thinking, deferred tools, its extra fields) streams one answer", async () => {
  await using r = rig();
  const model = "claude-opus-5-5";
  const res = await postLikeClaudeCode(r, claudeCodeBody(model, 32_000));
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  const answered = res.headers.get("x-freerouter-model")!;
  const events = parseSse(await res.text());
  assert.ok(events.every((e) => e.event !== undefined), "every event is named");
  const names = events.map((e) => e.event).filter((n) => n !== "ping");
  assert.deepEqual(names, [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
  ]);
  const text = events.flatMap((e) => {
    const d = e.data as { delta?: { type?: string; text?: string } };
    return d.delta?.type === "text_delta" ? [d.delta.text] : [];
  }).join("");
  assert.equal(text, "Hello world");
  const delta = events.find((e) => e.event === "message_delta")!.data as {
    delta: { stop_reason: string };
  };
  assert.equal(delta.delta.stop_reason, "end_turn");

  const sent = r.fake.chatRequests().at(-1);
  assert.equal(sent?.model, answered);
  const body = sent!.body as Record<string, unknown>;
  const messages = chatMessagesOf(body);
  assert.deepEqual(messages.map((m) => m.role), ["system", "user", "system"]);
  assert.match(textOf(messages[0]), /You are Claude Code[\s\S]*Be concise\./);
  assert.match(textOf(messages[1]), /Say hi/);
  assert.equal(textOf(messages[2]), "Environment: linux");
  const tools = body.tools as Array<{ function: { name: string } }>;
  assert.deepEqual(tools.map((t) => t.function.name), [
    "Bash",
    "Read",
    "DeferredToolPlaceholder",
  ]);
  assert.equal(body.user, claudeCodeBody(model, 1).metadata.user_id);
  for (
    const dropped of [
      "thinking",
      "context_management",
      "output_config",
      "metadata",
      "system",
    ]
  ) {
    assert.ok(!(dropped in body), `${dropped} is not sent upstream`);
  }
  assert.ok(!JSON.stringify(body).includes("cache_control"));
  assert.ok(!JSON.stringify(body).includes("defer_loading"));
  const maxTokens = body.max_tokens as number;
  assert.ok(
    maxTokens > 0 && maxTokens <= Math.min(32_000, limitOf(r, answered)),
    `max_tokens ${maxTokens}`,
  );
});

for (const [model, asked] of [[A, 128_000], [GEMMA, 32_000]] as const) {
  Deno.test(`max_tokens ${asked} is clamped to the completion cap of the model that gets it (${model})`, async () => {
    await using r = rig();
    const res = await postLikeClaudeCode(r, claudeCodeBody(model, asked));
    assert.equal(res.status, 200);
    const events = parseSse(await res.text());
    assert.equal(events.at(-1)?.event, "message_stop");
    assert.equal(res.headers.get("x-freerouter-model"), model);
    const cap = limitOf(r, model);
    assert.ok(cap < asked, `the test needs a cap below ${asked}: ${cap}`);
    const [sent] = r.fake.chatRequests();
    const maxTokens = (sent!.body as { max_tokens: number }).max_tokens;
    assert.ok(
      maxTokens > 0 && maxTokens <= cap,
      `max_tokens ${maxTokens} ≤ ${cap}`,
    );
  });
}

Deno.test("a thinking budget above the clamped max_tokens is lowered below it, so that the model that gets it has room to answer", async () => {
  await using r = rig();
  const body = {
    ...claudeCodeBody(GEMMA, 32_000),
    thinking: { type: "enabled", budget_tokens: 31_999 },
  };
  const res = await postLikeClaudeCode(r, body);
  assert.equal(res.status, 200);
  await res.body?.cancel();
  const [sent] = r.fake.chatRequests();
  const upstream = sent!.body as {
    max_tokens: number;
    reasoning: { max_tokens: number };
  };
  assert.ok(upstream.max_tokens <= limitOf(r, GEMMA), `${upstream.max_tokens}`);
  assert.equal(
    upstream.reasoning.max_tokens,
    Math.floor(upstream.max_tokens / 2),
  );
});

/** GEMMA's answer: "Writing." and a Write call that the length limit cut. */
function cutWrite(r: Rig) {
  const body = completionBody(GEMMA, "Writing.");
  const choice = (body.choices as Array<Record<string, unknown>>)[0]!;
  choice.finish_reason = "length";
  (choice.message as Record<string, unknown>).tool_calls = [{
    id: "call_w",
    type: "function",
    function: {
      name: "Write",
      arguments: '{"file_path":"a.txt","content":"lo',
    },
  }];
  r.fake.script(GEMMA, { status: 200, body });
}

const writeTool = {
  name: "Write",
  description: "Writes a file",
  input_schema: { type: "object" as const, properties: {} },
};

Deno.test("a tool call that the client's own max_tokens cut is the answer: stop_reason max_tokens in one attempt, since any model would meet that limit", async () => {
  await using r = rig();
  cutWrite(r);
  const message = await anthropicSdk(r.handler).messages.create({
    ...hi,
    model: GEMMA,
    tools: [writeTool],
  });
  assert.equal(message.stop_reason, "max_tokens");
  assert.deepEqual(message.content.map((b) => b.type), ["text", "tool_use"]);
  assert.deepEqual(r.fake.chatRequests().map((c) => c.model), [GEMMA]);
});

Deno.test("a tool call that a max_tokens lowered to the model's cap cut falls back: a model with more room answers", async () => {
  await using r = rig();
  cutWrite(r);
  const message = await anthropicSdk(r.handler).messages.create({
    ...hi,
    model: GEMMA,
    max_tokens: 32_000,
    tools: [writeTool],
  }, { timeout: 60_000 }); // a budget this large needs a timeout of its own
  assert.ok(limitOf(r, GEMMA) < 32_000, "GEMMA's cap is below the budget");
  const models = r.fake.chatRequests().map((c) => c.model);
  assert.equal(models[0], GEMMA);
  assert.ok(models.length >= 2, models.join());
  assert.notEqual(message.stop_reason, "max_tokens");
});
