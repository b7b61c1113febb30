/**
 * The Anthropic Messages front's fixes from the /v1/messages audit:
 * interleaved parallel tool calls keep every call's input when streamed (a
 * held call starts once the live one's arguments are complete, and holding
 * is capped), a
 * `tool_choice` naming a dropped or an unknown tool, and the request id where
 * Anthropic's SDK reads it (`request-id`, `request_id`).
 */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import type { RawMessageStreamEvent } from "@anthropic-ai/sdk/resources/messages";
import { MessagesStream } from "../../src/fronts/anthropic/stream.ts";
import { MAX_HELD_BYTES } from "../../src/core/answers.ts";
import { inFrontShape } from "../../src/http/front_errors.ts";
import { errorResponse } from "../../src/errors.ts";
import { anthropicSdk } from "../_agent_fronts.ts";
import { deferred, within } from "../_async.ts";
import { rig } from "../_harness.ts";
import {
  chunk as upstreamChunk,
  completionBody,
  DONE,
  usageChunk,
} from "../fake_openrouter/mod.ts";
import { readRest, readUntil, streamStep } from "../_streams.ts";
import {
  chunk,
  names,
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

/** {@link blocks}, a long one by its start and length. */
function shortBlocks(sse: string): string[] {
  return blocks(sse).map((b) =>
    b.length > 100 ? `${b.slice(0, 14)}… ${b.length}` : b
  );
}

/**
 * Runs a Messages stream over steps of tool call deltas: checks the blocks
 * each sends (as `show` renders them) and Anthropic's block grammar over the
 * whole; returns what its finish sent.
 */
function playSteps(
  steps: Array<[Record<string, unknown>, string[]]>,
  show: (sse: string) => string[] = blocks,
): string {
  const stream = new MessagesStream({ id: "msg_1", model: "m" });
  let sse = stream.start();
  for (const [delta, expected] of steps) {
    const out = stream.push(chunk({ tool_calls: [delta] }));
    assert.deepEqual(show(out), expected, JSON.stringify(delta).slice(0, 80));
    sse += out;
  }
  const end = stream.finish();
  assertOneBlockAtATime(parseSse(sse + end).map((e) => e.data));
  return end;
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

Deno.test("MessagesStream streams the first tool call live, holds the later ones, and starts them in order once the live one's arguments are complete", () => {
  const stream = new MessagesStream({ id: "msg_1", model: "m" });
  let before = stream.start();
  for (
    const delta of [
      { content: "Hi" },
      { tool_calls: [toolDelta(0, { id: "a", name: "A", args: '{"x":' })] },
      { tool_calls: [toolDelta(1, { id: "b", name: "B", args: '{"y"' })] },
      { tool_calls: [toolDelta(2, { id: "c", name: "C", args: "{}" })] },
      { tool_calls: [toolDelta(1, { args: ":2}" })] },
    ]
  ) before += stream.push(chunk(delta));
  // While the first call's arguments are incomplete, the others are held.
  assert.deepEqual(blocks(before), [
    "start 0 text",
    "delta 0 Hi",
    "stop 0",
    "start 1 tool_use a A",
    'delta 1 {"x":',
  ]);
  const completed = stream.push(
    chunk({ tool_calls: [toolDelta(0, { args: "1}" })] }),
  );
  assert.deepEqual(blocks(completed), [
    "delta 1 1}",
    "stop 1",
    "start 2 tool_use b B",
    'delta 2 {"y":2}',
    "stop 2",
    "start 3 tool_use c C",
    "delta 3 {}",
    "stop 3",
  ]);
  const after = stream.push(chunk({}, "tool_calls")) + stream.finish();
  assert.deepEqual(blocks(after), []);
  assertOneBlockAtATime(
    parseSse(before + completed + after).map((e) => e.data),
  );
});

Deno.test("MessagesStream sends the calls still held at finish() whole, in the order they started, when the live one's arguments never complete", () => {
  const stream = new MessagesStream({ id: "msg_1", model: "m" });
  let before = stream.start();
  for (
    const delta of [
      { tool_calls: [toolDelta(0, { id: "a", name: "A", args: '{"x":' })] },
      { tool_calls: [toolDelta(1, { id: "b", name: "B", args: '{"y"' })] },
      { tool_calls: [toolDelta(2, { id: "c", name: "C", args: "{}" })] },
      { tool_calls: [toolDelta(1, { args: ":2}" })] },
      { tool_calls: [toolDelta(0, { args: "1" })] },
    ]
  ) before += stream.push(chunk(delta));
  before += stream.push(chunk({}, "tool_calls"));
  assert.deepEqual(blocks(before), [
    "start 0 tool_use a A",
    'delta 0 {"x":',
    "delta 0 1",
  ]);
  const after = stream.finish();
  assert.deepEqual(blocks(after), [
    "stop 0",
    "start 1 tool_use b B",
    'delta 1 {"y":2}',
    "stop 1",
    "start 2 tool_use c C",
    "delta 2 {}",
    "stop 2",
  ]);
  assertOneBlockAtATime(parseSse(before + after).map((e) => e.data));
});

Deno.test("MessagesStream streams a held call's later deltas live once it starts, and drops a delta for a call whose arguments completed", () => {
  const steps: Array<[Record<string, unknown>, string[]]> = [
    [toolDelta(0, { id: "a", name: "A", args: '{"x":' }), [
      "start 0 tool_use a A",
      'delta 0 {"x":',
    ]],
    [toolDelta(1, { id: "b", name: "B", args: '{"y":' }), []],
    [toolDelta(0, { args: "1}" }), [
      "delta 0 1}",
      "stop 0",
      "start 1 tool_use b B",
      'delta 1 {"y":',
    ]],
    [toolDelta(0, { args: " " }), []],
    [toolDelta(1, { args: "2" }), ["delta 1 2"]],
    [toolDelta(1, { args: "}" }), ["delta 1 }", "stop 1"]],
    [toolDelta(2, { id: "c", name: "C", args: "{}" }), [
      "start 2 tool_use c C",
      "delta 2 {}",
      "stop 2",
    ]],
  ];
  playSteps(steps);
});

Deno.test("MessagesStream drops a held call without a name once the held arguments pass MAX_HELD_BYTES: a name that comes later does not bring it back", () => {
  const steps: Array<[Record<string, unknown>, string[]]> = [
    [toolDelta(0, { id: "a", name: "A", args: '{"x":' }), [
      "start 0 tool_use a A",
      'delta 0 {"x":',
    ]],
    [toolDelta(1, { id: "b", args: "[" }), []],
    [toolDelta(1, { args: "1,".repeat(MAX_HELD_BYTES / 2) }), []],
    [toolDelta(1, { name: "B", args: "1]" }), []],
    [toolDelta(0, { args: "1}" }), ["delta 0 1}", "stop 0"]],
  ];
  assert.deepEqual(blocks(playSteps(steps)), [], "nothing at the finish");
});

Deno.test("MessagesStream keeps a held call without a name when starting the named held calls brings the held arguments back under MAX_HELD_BYTES", () => {
  const big = `{"y":"${"b".repeat(MAX_HELD_BYTES - 10)}`;
  const steps: Array<[Record<string, unknown>, string[]]> = [
    [toolDelta(0, { id: "a", name: "A", args: '{"x":' }), [
      "start 0 tool_use a A",
      'delta 0 {"x":',
    ]],
    [toolDelta(1, { id: "b", name: "B", args: big }), []],
    // Past the cap with C's piece: B starts (A closes), and C, nameless, stays.
    [toolDelta(2, { id: "c", args: '{"z":1' }), [
      "stop 0",
      "start 1 tool_use b B",
      `delta 1 {"y":"… ${"delta 1 ".length + big.length}`,
    ]],
    [toolDelta(2, { name: "C", args: "}" }), []],
    [toolDelta(1, { args: '"}' }), [
      'delta 1 "}',
      "stop 1",
      "start 2 tool_use c C",
      'delta 2 {"z":1}',
      "stop 2",
    ]],
  ];
  playSteps(steps, shortBlocks);
});

Deno.test("MessagesStream holds no more than MAX_HELD_BYTES: past it the live call closes and the held ones start", () => {
  const big = "a".repeat(MAX_HELD_BYTES);
  const steps: Array<[Record<string, unknown>, string[]]> = [
    [toolDelta(0, { id: "a", name: "A", args: '{"x":"' }), [
      "start 0 tool_use a A",
      'delta 0 {"x":"',
    ]],
    [toolDelta(1, { id: "b", name: "B", args: '{"y":"' }), []],
    [toolDelta(2, { id: "c", name: "C", args: "{}" }), []],
    // Held: 6 + 2 + 1 MiB.
    [toolDelta(1, { args: big }), [
      "stop 0",
      "start 1 tool_use b B",
      `delta 1 {"y":"… ${'delta 1 {"y":"'.length + big.length}`,
    ]],
    // C is held again behind B, and B streams live.
    [toolDelta(1, { args: '"}' }), [
      'delta 1 "}',
      "stop 1",
      "start 2 tool_use c C",
      "delta 2 {}",
      "stop 2",
    ]],
    // A's block was closed: its later deltas are dropped.
    [toolDelta(0, { args: '1"}' }), []],
  ];
  playSteps(steps, shortBlocks);
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

Deno.test("POST /v1/messages streams a second tool call live once the first one's arguments are complete, before the upstream's finish (the first call passed MAX_HELD_BYTES: the upstream's calls go on unheld)", async () => {
  await using r = rig({ streamIdleTimeout: 3600 });
  const big = "a".repeat(MAX_HELD_BYTES);
  const secondStarted = deferred();
  const secondDone = deferred();
  const call = (index: number, fn: Record<string, unknown>, id?: string) => ({
    tool_calls: [{
      index,
      ...(id ? { id, type: "function" } : {}),
      function: fn,
    }],
  });
  r.fake.script(
    A,
    streamStep([
      upstreamChunk(A, { role: "assistant", content: "" }),
      upstreamChunk(
        A,
        call(0, { name: "read", arguments: `{"p":"${big}` }, "c1"),
      ),
      upstreamChunk(A, call(0, { arguments: '"}' })),
      upstreamChunk(A, call(1, { name: "grep", arguments: '{"q":' }, "c2")),
      () => secondStarted.promise,
      upstreamChunk(A, call(1, { arguments: '"b"}' })),
      () => secondDone.promise,
      upstreamChunk(A, { content: "" }, "tool_calls"),
      usageChunk(A),
      DONE,
    ]),
  );
  const schema = { type: "object", properties: {} };
  const res = await r.request("/v1/messages", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "anthropic-version": "2023-06-01",
    },
    body: JSON.stringify({
      model: A,
      max_tokens: 256,
      stream: true,
      messages: [{ role: "user", content: "go" }],
      tools: [
        { name: "read", input_schema: schema },
        { name: "grep", input_schema: schema },
      ],
    }),
  });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  /** The whole events of `text`. */
  const whole = (text: string) => text.slice(0, text.lastIndexOf("\n\n") + 2);
  try {
    // The upstream is held before the second call's last delta.
    let text = await within(
      readUntil(reader, '"partial_json":"{\\"q\\":"}}\n\n'),
      "the second call's block, before the upstream's finish",
    );
    assert.deepEqual(shortBlocks(whole(text)), [
      "start 0 tool_use c1 read",
      `delta 0 {"p":"… ${'delta 0 {"p":"'.length + big.length}`,
      'delta 0 "}',
      "stop 0",
      "start 1 tool_use c2 grep",
      'delta 1 {"q":',
    ]);
    secondStarted.resolve();
    // Its next delta goes out live, and its block closes, still before the finish.
    text = await within(
      readUntil(reader, '{"type":"content_block_stop","index":1}\n\n', text),
      "the second call's block closing, before the upstream's finish",
    );
    assert.deepEqual(blocks(whole(text)).slice(6), [
      'delta 1 "b"}',
      "stop 1",
    ]);
    assert.equal(names(whole(text)).includes("message_delta"), false);
    secondDone.resolve();
    text += (await within(readRest(reader), "the end of the stream")).text;
    const events = parseSse(text);
    assert.equal(
      events.find((e) => e.event === "message_delta")?.data.delta.stop_reason,
      "tool_use",
    );
    assert.equal(blocks(text).length, 8);
    assertOneBlockAtATime(events.map((e) => e.data));
  } finally {
    secondStarted.resolve();
    secondDone.resolve();
    await reader.cancel();
  }
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

Deno.test("POST /v1/messages whose blocks all translate to nothing is a 400 invalid_request_error without an attempt (it went upstream as messages: [])", async () => {
  await using r = rig();
  for (const path of ["/v1/messages", "/v1/messages/count_tokens"]) {
    const res = await r.request(path, {
      method: "POST",
      headers: { "anthropic-version": "2023-06-01" },
      body: JSON.stringify({
        model: "auto",
        max_tokens: 64,
        system: "Be brief.",
        messages: [{
          role: "user",
          content: [{ type: "some_future_block", data: "x" }],
        }],
      }),
    });
    assert.equal(res.status, 400, path);
    const body = await res.json();
    assert.equal(body.error.type, "invalid_request_error");
    assert.match(body.error.message, /leaves no message to send/);
  }
  assert.equal(r.fake.chatRequests().length, 0);
});

Deno.test("POST /v1/messages with an image inside a content document goes to a model that takes images, the image as an image_url part", async () => {
  await using r = rig();
  await anthropicSdk(r.handler).messages.create({
    model: "auto",
    max_tokens: 64,
    messages: [{
      role: "user",
      content: [{
        type: "document",
        source: {
          type: "content",
          content: [{ type: "text", text: "the chart" }, {
            type: "image",
            source: { type: "url", url: "https://x/c.png" },
          }],
        },
      }],
    }],
  });
  const [sent] = r.fake.chatRequests();
  const body = sent?.body as {
    model: string;
    messages: { content: unknown }[];
  };
  const model = (await (await r.request("/v1/models")).json()).data.find((
    m: { id: string },
  ) => m.id === body.model);
  assert.ok(model?.input_modalities.includes("image"), body.model);
  assert.deepEqual(body.messages.at(-1)?.content, [
    { type: "text", text: "the chart" },
    { type: "image_url", image_url: { url: "https://x/c.png" } },
  ]);
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
