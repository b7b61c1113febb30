/**
 * `POST /v1/messages` through the official `@anthropic-ai/sdk`, against
 * createHandler() and the fake OpenRouter: the SDK's requests reach the one
 * router as chat completions, and what it reads back is Anthropic's shape.
 */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import type { RawMessageStreamEvent } from "@anthropic-ai/sdk/resources/messages";
import { deferred, within } from "./_async.ts";
import {
  anthropicSdk,
  chatMessagesOf,
  failEveryModel,
  parseSse,
  textOf,
  toolCallAnswer,
  toolCallStream,
} from "./_agent_fronts.ts";
import { rig } from "./_harness.ts";
import { streamStep } from "./_streams.ts";
import {
  chunk,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  modelRpm,
  ok,
  streamOk,
} from "./fake_openrouter/mod.ts";

/** A free id, requested by name so that it goes first (the order of \`auto\` is the router's business). */
const A = "qwen/qwen3-coder:free";

const hi = {
  model: A,
  max_tokens: 256,
  messages: [{ role: "user" as const, content: "Say hi" }],
};

const weatherTool = {
  name: "get_weather",
  description: "The weather in a city",
  input_schema: {
    type: "object" as const,
    properties: { city: { type: "string" } },
    required: ["city"],
  },
};

Deno.test("messages.create() answers with the free model that answered, its text, end_turn and usage", async () => {
  await using r = rig();
  r.fake.script(A, ok(A, "Hi from a free model."));
  const { data: message, response } = await anthropicSdk(r.handler).messages
    .create(hi)
    .withResponse();
  assert.equal(message.type, "message");
  assert.equal(message.role, "assistant");
  assert.match(message.id, /^msg_/);
  assert.equal(message.model, A);
  assert.deepEqual(message.content.map((b) => b.type), ["text"]);
  const [block] = message.content;
  assert.equal(block?.type === "text" && block.text, "Hi from a free model.");
  assert.equal(message.stop_reason, "end_turn");
  assert.equal(message.usage.input_tokens, 12);
  assert.equal(message.usage.output_tokens, 20);
  assert.equal(response.headers.get("x-freerouter-model"), A);
  const [sent] = r.fake.chatRequests();
  assert.equal(sent?.model, A);
  const body = sent!.body as Record<string, unknown>;
  assert.notEqual(body.stream, true);
  assert.deepEqual(chatMessagesOf(body), [{ role: "user", content: "Say hi" }]);
});

Deno.test("messages.stream().finalMessage() assembles the streamed text, in Anthropic's event order", async () => {
  await using r = rig();
  r.fake.script(A, { stream: streamOk(A, ["Hel", "lo ", "there"]) });
  const stream = anthropicSdk(r.handler).messages.stream(hi);
  const events: RawMessageStreamEvent[] = [];
  stream.on("streamEvent", (event) => events.push(event));
  const message = await within(stream.finalMessage(), "the final message");
  const [block] = message.content;
  assert.equal(block?.type === "text" && block.text, "Hello there");
  assert.equal(message.model, A);
  assert.equal(message.stop_reason, "end_turn");
  assert.equal(message.usage.output_tokens, 20);
  const types = events.map((e) => e.type);
  assert.equal(types[0], "message_start");
  assert.equal(types.at(-1), "message_stop");
  assert.equal(types.at(-2), "message_delta");
  const core = types.filter((t: string) => t !== "ping");
  assert.deepEqual(core, [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_delta",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
  ]);
  assert.equal(
    (r.fake.chatRequests()[0]!.body as { stream: boolean }).stream,
    true,
  );
});

Deno.test("a tool-use round trip: chat tool_calls reach the SDK as tool_use, and its tool_result goes upstream as a tool message", async () => {
  await using r = rig();
  const client = anthropicSdk(r.handler);
  r.fake.script(
    A,
    toolCallAnswer(A, [{
      id: "call_w1",
      name: "get_weather",
      arguments: '{"city":"Paris"}',
    }]),
    ok(A, "It is sunny in Paris."),
  );
  const ask = { role: "user" as const, content: "Weather in Paris?" };
  const first = await client.messages.create({
    ...hi,
    messages: [ask],
    tools: [weatherTool],
  });
  assert.equal(first.stop_reason, "tool_use");
  const use = first.content.find((b) => b.type === "tool_use");
  assert.ok(use?.type === "tool_use");
  assert.deepEqual([use.id, use.name, use.input], [
    "call_w1",
    "get_weather",
    { city: "Paris" },
  ]);
  const tools = (r.fake.chatRequests()[0]!.body as { tools: unknown }).tools;
  assert.deepEqual(tools, [{
    type: "function",
    function: {
      name: "get_weather",
      description: "The weather in a city",
      parameters: weatherTool.input_schema,
    },
  }]);

  const second = await client.messages.create({
    ...hi,
    tools: [weatherTool],
    messages: [ask, { role: "assistant", content: first.content }, {
      role: "user",
      content: [{
        type: "tool_result",
        tool_use_id: "call_w1",
        content: "sunny, 21C",
      }],
    }],
  });
  const [text] = second.content;
  assert.equal(text?.type === "text" && text.text, "It is sunny in Paris.");
  const messages = chatMessagesOf(r.fake.chatRequests()[1]!.body);
  assert.equal(messages.length, 3);
  const [, assistant, tool] = messages;
  assert.equal(assistant?.role, "assistant");
  assert.deepEqual(assistant?.tool_calls, [{
    id: "call_w1",
    type: "function",
    function: { name: "get_weather", arguments: '{"city":"Paris"}' },
  }]);
  assert.equal(tool?.role, "tool");
  assert.equal(tool?.tool_call_id, "call_w1");
  assert.match(textOf(tool), /sunny, 21C/);
});

Deno.test("a streamed tool use arrives as a tool_use block built from input_json_delta pieces", async () => {
  await using r = rig();
  const args = '{"city":"Lyon","unit":"celsius"}';
  r.fake.script(A, {
    stream: toolCallStream(A, [{
      id: "call_s1",
      name: "get_weather",
      arguments: args,
    }], {
      text: "Checking.",
      pieces: 3,
    }),
  });
  const stream = anthropicSdk(r.handler).messages.stream({
    ...hi,
    tools: [weatherTool],
  });
  const events: RawMessageStreamEvent[] = [];
  stream.on("streamEvent", (event) => events.push(event));
  const message = await within(stream.finalMessage(), "the final message");
  assert.equal(message.stop_reason, "tool_use");
  assert.deepEqual(message.content.map((b) => b.type), ["text", "tool_use"]);
  const use = message.content[1];
  assert.ok(use?.type === "tool_use");
  assert.deepEqual([use.id, use.name, use.input], [
    "call_s1",
    "get_weather",
    { city: "Lyon", unit: "celsius" },
  ]);
  const start = events.find((e) =>
    e.type === "content_block_start" && e.content_block.type === "tool_use"
  );
  assert.ok(start?.type === "content_block_start");
  const opened = start.content_block;
  assert.ok(opened.type === "tool_use");
  assert.deepEqual([opened.id, opened.name, opened.input], [
    "call_s1",
    "get_weather",
    {},
  ]);
  const pieces = events.flatMap((e) =>
    e.type === "content_block_delta" && e.delta.type === "input_json_delta"
      ? [e.delta.partial_json]
      : []
  );
  assert.ok(pieces.length >= 2, `several pieces: ${JSON.stringify(pieces)}`);
  assert.equal(pieces.join(""), args);
  const stops = events.filter((e) => e.type === "content_block_stop");
  assert.equal(stops.length, 2, "both blocks are closed");
});

Deno.test("a request without max_tokens gets 400 invalid_request_error in Anthropic's shape and reaches no model", async () => {
  await using r = rig();
  const { max_tokens: _, ...noMax } = hi;
  const err = await anthropicSdk(r.handler).messages.create(
    noMax as unknown as Anthropic.MessageCreateParamsNonStreaming,
  ).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof Anthropic.BadRequestError, String(err));
  assert.equal(err.status, 400);
  assert.deepEqual(err.error, {
    type: "error",
    error: {
      type: "invalid_request_error",
      message: "max_tokens: Field required",
    },
    request_id: err.requestID,
  });
  assert.match(err.requestID ?? "", /./, "the SDK read request-id");
  assert.equal(r.fake.chatRequests().length, 0);
});

for (const stream of [false, true]) {
  Deno.test(`a rate-limited first model falls back before commit inside one request (stream: ${stream})`, async () => {
    await using r = rig();
    r.fake.script(A, modelRpm(A));
    const client = anthropicSdk(r.handler);
    const { data: message, response } = stream
      ? await (async () => {
        const s = client.messages.stream(hi);
        const message = await within(s.finalMessage(), "the final message");
        const response = (await s.withResponse()).response;
        return { data: message, response };
      })()
      : await client.messages.create(hi).withResponse();
    const second = response.headers.get("x-freerouter-model");
    assert.ok(second && second !== A, `another model answered: ${second}`);
    const [block] = message.content;
    assert.equal(block?.type === "text" && block.text, "Hello world");
    assert.equal(message.model, second);
    assert.equal(response.headers.get("x-freerouter-attempts"), "2");
    assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, second]);
  });
}

Deno.test("a model name that is not a free id (claude-*) routes as auto, to a model of the free pool", async () => {
  await using r = rig();
  const { data: message, response } = await anthropicSdk(r.handler).messages
    .create({ ...hi, model: "claude-sonnet-4-5" }).withResponse();
  const answered = response.headers.get("x-freerouter-model")!;
  assert.ok(FREE_CHAT_IDS_IN_PRIORITY_ORDER.includes(answered), answered);
  assert.equal(message.model, answered);
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [answered]);
});

Deno.test("a stream that breaks after commit ends with event: error and no message_stop", async () => {
  await using r = rig({ streamIdleTimeout: 3600 });
  const firstRead = deferred();
  r.fake.script(
    A,
    streamStep([
      chunk(A, { role: "assistant", content: "" }),
      chunk(A, "Partial"),
      () => firstRead.promise,
    ], "reset"),
  );
  failEveryModel(r.fake);
  const res = await r.request("/v1/messages", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "anthropic-version": "2023-06-01",
    },
    body: JSON.stringify({ ...hi, stream: true }),
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-freerouter-model"), A);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("Partial")) {
    const { done, value } = await within(reader.read(), "the partial text");
    if (done) break;
    text += value;
  }
  firstRead.resolve();
  for (;;) {
    const { done, value } = await within(
      reader.read(),
      "the end of the stream",
    );
    if (done) break;
    text += value;
  }
  const events = parseSse(text);
  assert.ok(events.every((e) => e.event !== undefined), "every event is named");
  const names = events.map((e) => e.event);
  assert.equal(names.at(-1), "error");
  assert.ok(!names.includes("message_stop"), names.join(","));
  assert.ok(!names.includes("message_delta"), names.join(","));
  const last = events.at(-1)!.data as { type: string; error: { type: string } };
  assert.equal(last.type, "error");
  assert.ok(["api_error", "overloaded_error"].includes(last.error.type));
  // Whatever resumption tries after the break fails too (failEveryModel).
  assert.equal(r.fake.chatRequests()[0]?.model, A);
});

Deno.test("the SDK's stream rejects with the error event when the stream breaks after commit", async () => {
  await using r = rig({ streamIdleTimeout: 3600 });
  const firstText = deferred();
  r.fake.script(
    A,
    streamStep([chunk(A, "Partial"), () => firstText.promise], "reset"),
  );
  failEveryModel(r.fake);
  const stream = anthropicSdk(r.handler).messages.stream(hi);
  stream.on("text", () => firstText.resolve());
  const err = await within(
    stream.finalMessage().then(() => undefined, (e: unknown) => e),
    "the stream to fail",
  );
  assert.ok(err instanceof Anthropic.APIError, String(err));
  assert.equal((err.error as { type?: string }).type, "error");
});
