/**
 * The Anthropic Messages front's fixes from the /v1/messages audit:
 * interleaved parallel tool calls keep every call's input when streamed, a
 * `tool_choice` naming a dropped or an unknown tool, and the request id where
 * Anthropic's SDK reads it (`request-id`, `request_id`).
 */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import type { RawMessageStreamEvent } from "@anthropic-ai/sdk/resources/messages";
import { MessagesStream } from "../../src/fronts/anthropic/stream.ts";
import { inFrontShape } from "../../src/http/front_errors.ts";
import { errorResponse } from "../../src/errors.ts";
import { anthropicSdk } from "../_agent_fronts.ts";
import { within } from "../_async.ts";
import { rig } from "../_harness.ts";
import {
  chunk as upstreamChunk,
  completionBody,
  DONE,
  usageChunk,
} from "../fake_openrouter/mod.ts";
import {
  chunk,
  parseSse,
  rejection,
  toolDelta,
  translate,
} from "./anthropic_helpers.ts";

const A = "qwen/qwen3-coder:free";

/** The content block events of SSE text, one line each. */
function blocks(sse: string): string[] {
  return parseSse(sse).map((e) => e.data).filter((d) =>
    d.type.startsWith("content_block")
  ).map((d) =>
    d.type === "content_block_stop"
      ? `stop ${d.index}`
      : d.type === "content_block_delta"
      ? `delta ${d.index} ${
        d.delta.partial_json ?? d.delta.text ?? d.delta.thinking
      }`
      : `start ${d.index} ${d.content_block.type} ${d.content_block.id ?? ""} ${
        d.content_block.name ?? ""
      }`.trimEnd()
  );
}

/** Anthropic's block grammar: indexes from 0 in order, one block open at a time, all closed. */
function assertOneBlockAtATime(events: readonly { type: string }[]): void {
  let open: number | undefined;
  let next = 0;
  for (const event of events as Array<{ type: string; index?: number }>) {
    if (event.type === "content_block_start") {
      assert.equal(open, undefined, "a block starts while another is open");
      assert.equal(event.index, next++, "block indexes are sequential");
      open = event.index;
    } else if (event.type === "content_block_delta") {
      assert.equal(event.index, open, "a delta for the open block");
    } else if (event.type === "content_block_stop") {
      assert.equal(event.index, open, "the open block stops");
      open = undefined;
    }
  }
  assert.equal(open, undefined, "every block is closed");
}

Deno.test("MessagesStream keeps every call's arguments when parallel tool calls interleave their deltas", () => {
  const stream = new MessagesStream({ id: "msg_1", model: "m" });
  let sse = stream.start();
  for (
    const call of [
      toolDelta(0, { id: "c1", name: "read", args: "" }),
      toolDelta(1, { id: "c2", name: "grep", args: "" }),
      toolDelta(0, { args: '{"p":"a"}' }),
      toolDelta(1, { args: '{"q":"b"}' }),
    ]
  ) sse += stream.push(chunk({ tool_calls: [call] }));
  sse += stream.push(chunk({}, "tool_calls")) + stream.finish();
  assertOneBlockAtATime(parseSse(sse).map((e) => e.data));
  assert.deepEqual(blocks(sse), [
    "start 0 tool_use c1 read",
    'delta 0 {"p":"a"}',
    "stop 0",
    "start 1 tool_use c2 grep",
    'delta 1 {"q":"b"}',
    "stop 1",
  ]);
  assert.equal(parseSse(sse).at(-2)?.data.delta.stop_reason, "tool_use");
});

Deno.test("MessagesStream streams the first tool call live and holds the later ones until finish(), in the order they started", () => {
  const stream = new MessagesStream({ id: "msg_1", model: "m" });
  let before = stream.start();
  for (
    const delta of [
      { content: "Hi" },
      { tool_calls: [toolDelta(0, { id: "a", name: "A", args: '{"x":' })] },
      { tool_calls: [toolDelta(1, { id: "b", name: "B", args: '{"y"' })] },
      { tool_calls: [toolDelta(2, { id: "c", name: "C", args: "{}" })] },
      { tool_calls: [toolDelta(1, { args: ":2}" })] },
      { tool_calls: [toolDelta(0, { args: "1}" })] },
    ]
  ) before += stream.push(chunk(delta));
  before += stream.push(chunk({}, "tool_calls"));
  // Until the end, only the text and the first call, still open.
  assert.deepEqual(blocks(before), [
    "start 0 text",
    "delta 0 Hi",
    "stop 0",
    "start 1 tool_use a A",
    'delta 1 {"x":',
    "delta 1 1}",
  ]);
  const after = stream.finish();
  assert.deepEqual(blocks(after), [
    "stop 1",
    "start 2 tool_use b B",
    'delta 2 {"y":2}',
    "stop 2",
    "start 3 tool_use c C",
    "delta 3 {}",
    "stop 3",
  ]);
  assertOneBlockAtATime(parseSse(before + after).map((e) => e.data));
});

Deno.test("MessagesStream holds a nameless tool call while text goes on, and starts it once its name arrives", () => {
  const stream = new MessagesStream({ id: "msg_1", model: "m" });
  let sse = stream.start();
  for (
    const delta of [
      { content: "a" },
      { tool_calls: [toolDelta(0, { id: "t", args: '{"k"' })] },
      { content: "b" },
      { tool_calls: [toolDelta(0, { name: "N", args: ":1" })] },
      { tool_calls: [toolDelta(0, { args: "}" })] },
    ]
  ) sse += stream.push(chunk(delta));
  sse += stream.finish();
  assert.deepEqual(blocks(sse), [
    "start 0 text",
    "delta 0 a",
    "delta 0 b",
    "stop 0",
    "start 1 tool_use t N",
    'delta 1 {"k":1',
    "delta 1 }",
    "stop 1",
  ]);
});

Deno.test("messages.stream().finalMessage() equals messages.create() for parallel tool calls whose argument deltas interleave", async () => {
  await using r = rig();
  const body = completionBody(A, null);
  const choice = (body.choices as Array<Record<string, unknown>>)[0]!;
  choice.finish_reason = "tool_calls";
  (choice.message as Record<string, unknown>).tool_calls = [
    {
      id: "c1",
      type: "function",
      function: { name: "read", arguments: '{"p":"a"}' },
    },
    {
      id: "c2",
      type: "function",
      function: { name: "grep", arguments: '{"q":"b"}' },
    },
  ];
  r.fake.script(A, {
    status: 200,
    headers: { "content-type": "application/json" },
    body,
  });
  const call = (index: number, fn: Record<string, unknown>, id?: string) => ({
    tool_calls: [{
      index,
      ...(id ? { id, type: "function" } : {}),
      function: fn,
    }],
  });
  r.fake.script(A, {
    stream: {
      parts: [
        upstreamChunk(A, { role: "assistant", content: "" }),
        upstreamChunk(A, call(0, { name: "read", arguments: "" }, "c1")),
        upstreamChunk(A, call(1, { name: "grep", arguments: "" }, "c2")),
        upstreamChunk(A, call(0, { arguments: '{"p":"a"}' })),
        upstreamChunk(A, call(1, { arguments: '{"q":"b"}' })),
        upstreamChunk(A, { content: "" }, "tool_calls"),
        usageChunk(A),
        DONE,
      ],
    },
  });
  const schema = { type: "object" as const, properties: {} };
  const params = {
    model: A,
    max_tokens: 256,
    messages: [{ role: "user" as const, content: "go" }],
    tools: [
      { name: "read", input_schema: schema },
      { name: "grep", input_schema: schema },
    ],
  };
  const client = anthropicSdk(r.handler);
  const created = await client.messages.create(params);
  const stream = client.messages.stream(params);
  const events: RawMessageStreamEvent[] = [];
  stream.on("streamEvent", (event) => events.push(event));
  const streamed = await within(stream.finalMessage(), "the final message");
  assert.deepEqual(
    streamed.content.map((b) => b.type === "tool_use" && [b.id, b.input]),
    [["c1", { p: "a" }], ["c2", { q: "b" }]],
  );
  assert.deepEqual(streamed.content, created.content);
  assert.equal(streamed.stop_reason, created.stop_reason);
  assertOneBlockAtATime(events);
});

Deno.test("toChatRequest() sends tool_choice auto when it names a server tool it drops", () => {
  const result = translate({
    messages: [{ role: "user", content: "x" }],
    tools: [
      { type: "web_search_20250305", name: "web_search" },
      { name: "read", input_schema: { type: "object" } },
    ],
    tool_choice: {
      type: "tool",
      name: "web_search",
      disable_parallel_tool_use: true,
    },
  });
  assert.deepEqual(result.droppedTools, ["web_search"]);
  assert.deepEqual(result.request.tools, [{
    type: "function",
    function: { name: "read", parameters: { type: "object" } },
  }]);
  assert.equal(result.request.tool_choice, "auto");
  assert.equal(result.request.parallel_tool_calls, false);
});

Deno.test("parseMessagesRequest() rejects a tool_choice naming a tool that tools does not define", () => {
  const messages = [{ role: "user", content: "x" }];
  const tools = [{ name: "read", input_schema: { type: "object" } }];
  for (const body of [{ tools }, {}]) {
    assert.deepEqual(
      rejection({
        model: "auto",
        max_tokens: 1,
        messages,
        ...body,
        tool_choice: { type: "tool", name: "nope" },
      }),
      {
        message: 'tool_choice.name: no tool named "nope" in tools',
        param: "tool_choice.name",
      },
    );
  }
});

Deno.test("POST /v1/messages with a tool_choice naming an unknown tool is a 400 invalid_request_error; one naming a dropped server tool goes upstream as auto", async () => {
  await using r = rig();
  const client = anthropicSdk(r.handler);
  const params = {
    model: A,
    max_tokens: 64,
    messages: [{ role: "user" as const, content: "x" }],
    tools: [
      { type: "web_search_20250305" as const, name: "web_search" as const },
      { name: "read", input_schema: { type: "object" as const } },
    ],
  };
  const err = await client.messages.create({
    ...params,
    tool_choice: { type: "tool", name: "nope" },
  }).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof Anthropic.BadRequestError, String(err));
  assert.equal(
    (err.error as { error?: { type?: string } }).error?.type,
    "invalid_request_error",
  );
  assert.equal(r.fake.chatRequests().length, 0);
  await client.messages.create({
    ...params,
    tool_choice: { type: "tool", name: "web_search" },
  });
  const [sent] = r.fake.chatRequests();
  const body = sent?.body as Record<string, unknown> | undefined;
  assert.equal(body?.tool_choice, "auto");
  assert.deepEqual(body?.tools, [{
    type: "function",
    function: { name: "read", parameters: { type: "object" } },
  }]);
});

Deno.test("messages.create(), messages.stream() and countTokens() read the request id from request-id, equal to x-request-id", async () => {
  await using r = rig();
  const client = anthropicSdk(r.handler);
  const params = {
    model: A,
    max_tokens: 64,
    messages: [{ role: "user" as const, content: "Say hi" }],
  };
  // An id freerouter makes, and one the client sends.
  const created = await client.messages.create(params).withResponse();
  assert.match(created.request_id ?? "", /./);
  assert.equal(
    created.request_id,
    created.response.headers.get("x-request-id"),
  );
  const message = await client.messages.create(params, {
    headers: { "x-request-id": "req-create" },
  });
  assert.equal(message._request_id, "req-create");
  const stream = client.messages.stream(params, {
    headers: { "x-request-id": "req-stream" },
  });
  await within(stream.finalMessage(), "the final message");
  assert.equal(stream.request_id, "req-stream");
  const { response: streamed } = await stream.withResponse();
  assert.equal(streamed.headers.get("x-request-id"), "req-stream");
  const counted = await client.messages.countTokens(params, {
    headers: { "x-request-id": "req-count" },
  });
  assert.equal(counted._request_id, "req-count");
});

Deno.test("an error POST /v1/messages answers itself carries the request id in request-id", async () => {
  await using r = rig();
  const err = await anthropicSdk(r.handler).messages.create(
    {
      model: A,
      messages: [{ role: "user", content: "x" }],
    } as unknown as Anthropic.MessageCreateParamsNonStreaming,
    { headers: { "x-request-id": "req-bad" } },
  ).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof Anthropic.BadRequestError, String(err));
  assert.equal(err.requestID, "req-bad");
  assert.equal(err.headers?.get("x-request-id"), "req-bad");
});

Deno.test("inFrontShape() puts the request id in Anthropic's error body and request-id header, and leaves OpenAI's shape alone", async () => {
  const error = () =>
    errorResponse({ status: 429, message: "slow down", code: "rate_limited" });
  const res = await inFrontShape(error(), "anthropic", "req-1");
  assert.equal(res.headers.get("request-id"), "req-1");
  assert.deepEqual(await res.json(), {
    type: "error",
    error: { type: "rate_limit_error", message: "slow down" },
    request_id: "req-1",
  });
  const openai = await inFrontShape(error(), "openai", "req-1");
  assert.equal(openai.headers.get("request-id"), null);
  assert.equal(
    ((await openai.json()) as { error: { message: string } }).error.message,
    "slow down",
  );
});
