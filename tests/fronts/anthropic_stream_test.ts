import assert from "node:assert/strict";
import type {
  Message,
  MessageDeltaUsage,
  RawMessageStreamEvent,
} from "@anthropic-ai/sdk/resources/messages";
import { MessagesStream } from "../../src/fronts/anthropic/stream.ts";
import {
  chunk,
  names,
  parseSse,
  toolDelta,
  usageChunk,
} from "./anthropic_helpers.ts";

const START_USAGE = {
  input_tokens: 0,
  output_tokens: 0,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  cache_creation: null,
  inference_geo: null,
  output_tokens_details: null,
  server_tool_use: null,
  service_tier: null,
  speed: null,
};

function deltaUsage(
  input: number | null,
  output: number,
): MessageDeltaUsage {
  return {
    input_tokens: input,
    output_tokens: output,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    output_tokens_details: null,
    server_tool_use: null,
  };
}

function messageDelta(
  stop_reason: string,
  usage: MessageDeltaUsage,
  stop_sequence: string | null = null,
) {
  return {
    type: "message_delta",
    delta: { stop_reason, stop_sequence, container: null, stop_details: null },
    usage,
  };
}

const textStart = (index: number) => ({
  type: "content_block_start",
  index,
  content_block: { type: "text", text: "", citations: null },
});
const textDelta = (index: number, text: string) => ({
  type: "content_block_delta",
  index,
  delta: { type: "text_delta", text },
});
const toolStart = (index: number, id: string, name: string) => ({
  type: "content_block_start",
  index,
  content_block: {
    type: "tool_use",
    id,
    name,
    input: {},
    caller: { type: "direct" },
  },
});
const jsonDelta = (index: number, partial_json: string) => ({
  type: "content_block_delta",
  index,
  delta: { type: "input_json_delta", partial_json },
});
const stop = (index: number) => ({ type: "content_block_stop", index });

/** Runs a whole stream: start, every chunk, finish; returns the event data. */
function run(
  chunks: ReturnType<typeof chunk>[],
  options: Partial<ConstructorParameters<typeof MessagesStream>[0]> = {},
) {
  const stream = new MessagesStream({
    id: "msg_1",
    model: "m:free",
    ...options,
  });
  let sse = stream.start();
  for (const c of chunks) sse += stream.push(c);
  sse += stream.finish();
  return parseSse(sse).map((e) => e.data);
}

Deno.test("MessagesStream.start() emits message_start with empty content and the given input tokens", () => {
  const stream = new MessagesStream({
    id: "msg_abc",
    model: "qwen/qwen3-coder:free",
    inputTokens: 42,
  });
  const events = parseSse(stream.start());
  assert.equal(events.length, 1);
  const message: Message = events[0]!.data.message;
  assert.deepEqual(events[0]!.data, {
    type: "message_start",
    message: {
      id: "msg_abc",
      type: "message",
      role: "assistant",
      model: "qwen/qwen3-coder:free",
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...START_USAGE, input_tokens: 42 },
      container: null,
      diagnostics: null,
      stop_details: null,
    },
  });
  assert.equal(message.usage.output_tokens, 0);
  assert.equal(stream.start(), "", "start() is sent once");
});

Deno.test("MessagesStream frames every event as `event: <type>\\ndata: <json>\\n\\n`", () => {
  const stream = new MessagesStream({ id: "msg_1", model: "m" });
  const text = stream.start() + stream.push(chunk({ content: "a\n\nb" })) +
    stream.finish();
  for (const frame of text.split("\n\n").slice(0, -1)) {
    const lines = frame.split("\n");
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^event: [a-z_]+$/);
    assert.match(lines[1]!, /^data: \{.*\}$/);
  }
  assert.ok(text.endsWith("\n\n"));
});

Deno.test("MessagesStream translates a text-only stream event by event", () => {
  const events = run([
    chunk({ role: "assistant", content: "" }),
    chunk({ content: "Hel" }),
    chunk({ content: "lo" }),
    chunk({ content: "" }, "stop"),
    usageChunk(12, 3),
  ]);
  assert.deepEqual(events.slice(1), [
    textStart(0),
    textDelta(0, "Hel"),
    textDelta(0, "lo"),
    stop(0),
    messageDelta("end_turn", deltaUsage(12, 3)),
    { type: "message_stop" },
  ]);
  assert.equal(events[0].type, "message_start");
});

Deno.test("MessagesStream closes the text block before a tool call and reports tool_use", () => {
  const events = run([
    chunk({ role: "assistant", content: "Let me look." }),
    chunk({
      tool_calls: [toolDelta(0, { id: "call_1", name: "Bash", args: "" })],
    }),
    chunk({ tool_calls: [toolDelta(0, { args: '{"command":' })] }),
    chunk({ tool_calls: [toolDelta(0, { args: '"ls"}' })] }),
    chunk({}, "tool_calls"),
    usageChunk(100, 20),
  ]);
  assert.deepEqual(events.slice(1), [
    textStart(0),
    textDelta(0, "Let me look."),
    stop(0),
    toolStart(1, "call_1", "Bash"),
    jsonDelta(1, '{"command":'),
    jsonDelta(1, '"ls"}'),
    stop(1),
    messageDelta("tool_use", deltaUsage(100, 20)),
    { type: "message_stop" },
  ]);
});

Deno.test("MessagesStream gives two sequential tool calls one block each, properly nested", () => {
  const events = run([
    chunk({ tool_calls: [toolDelta(0, { id: "a", name: "Read", args: "" })] }),
    chunk({ tool_calls: [toolDelta(0, { args: '{"path":"x"}' })] }),
    chunk({ tool_calls: [toolDelta(1, { id: "b", name: "Grep", args: "" })] }),
    chunk({ tool_calls: [toolDelta(1, { args: '{"q":"y"}' })] }),
    chunk({}, "tool_calls"),
  ]);
  assert.deepEqual(events.slice(1, -2), [
    toolStart(0, "a", "Read"),
    jsonDelta(0, '{"path":"x"}'),
    stop(0),
    toolStart(1, "b", "Grep"),
    jsonDelta(1, '{"q":"y"}'),
    stop(1),
  ]);
  assert.equal(events.at(-2).delta.stop_reason, "tool_use");
});

Deno.test("MessagesStream gives calls that share an upstream index but not an id a block each", () => {
  // Some providers number every call 0; a new id is a new call.
  const events = run([
    chunk({ tool_calls: [toolDelta(0, { id: "a", name: "W", args: "" })] }),
    chunk({ tool_calls: [toolDelta(0, { args: '{"city":"A"}' })] }),
    chunk({ tool_calls: [toolDelta(0, { id: "b", name: "W", args: "" })] }),
    chunk({ tool_calls: [toolDelta(0, { args: '{"city":"B"}' })] }),
    chunk({ tool_calls: [toolDelta(0, { id: "c", name: "W", args: "{}" })] }),
    chunk({}, "tool_calls"),
  ]);
  assert.deepEqual(events.slice(1, -2), [
    toolStart(0, "a", "W"),
    jsonDelta(0, '{"city":"A"}'),
    stop(0),
    toolStart(1, "b", "W"),
    jsonDelta(1, '{"city":"B"}'),
    stop(1),
    toolStart(2, "c", "W"),
    jsonDelta(2, "{}"),
    stop(2),
  ]);
});

Deno.test("MessagesStream handles several complete tool calls in one chunk", () => {
  const events = run([
    chunk({
      tool_calls: [
        toolDelta(0, { id: "a", name: "Read", args: '{"path":"x"}' }),
        toolDelta(1, { id: "b", name: "Read", args: '{"path":"y"}' }),
        toolDelta(2, { id: "c", name: "Read", args: "{}" }),
      ],
    }, "tool_calls"),
  ]);
  assert.deepEqual(events.slice(1, -2), [
    toolStart(0, "a", "Read"),
    jsonDelta(0, '{"path":"x"}'),
    stop(0),
    toolStart(1, "b", "Read"),
    jsonDelta(1, '{"path":"y"}'),
    stop(1),
    toolStart(2, "c", "Read"),
    jsonDelta(2, "{}"),
    stop(2),
  ]);
});

Deno.test("MessagesStream passes arguments split across many deltas through unchanged", () => {
  const args = JSON.stringify({ command: "echo 'hi there'", timeout: 5 });
  const pieces = args.match(/.{1,3}/g)!;
  const events = run([
    chunk({ tool_calls: [toolDelta(0, { id: "t", name: "Bash" })] }),
    ...pieces.map((p) => chunk({ tool_calls: [toolDelta(0, { args: p })] })),
    chunk({}, "tool_calls"),
  ]);
  const deltas = events.filter((e) => e.type === "content_block_delta");
  assert.equal(deltas.length, pieces.length);
  assert.ok(deltas.every((d) => d.index === 0));
  assert.deepEqual(
    JSON.parse(deltas.map((d) => d.delta.partial_json).join("")),
    { command: "echo 'hi there'", timeout: 5 },
  );
  assert.deepEqual(events.slice(-3, -2), [stop(0)]);
});

Deno.test("MessagesStream drops deltas for a tool call whose block text already closed", () => {
  const events = run([
    chunk({ tool_calls: [toolDelta(0, { id: "a", name: "A", args: "{" })] }),
    chunk({ content: "x" }),
    chunk({ tool_calls: [toolDelta(0, { args: "}" })] }),
    chunk({}, "tool_calls"),
  ]);
  assert.deepEqual(events.slice(1, -2), [
    toolStart(0, "a", "A"),
    jsonDelta(0, "{"),
    stop(0),
    textStart(1),
    textDelta(1, "x"),
    stop(1),
  ]);
});

Deno.test("MessagesStream keeps a tool call's later deltas when another call started in between", () => {
  const events = run([
    chunk({ tool_calls: [toolDelta(0, { id: "a", name: "A", args: "{" })] }),
    chunk({ tool_calls: [toolDelta(1, { id: "b", name: "B", args: "{}" })] }),
    chunk({ tool_calls: [toolDelta(0, { args: "}" })] }),
    chunk({}, "tool_calls"),
  ]);
  assert.deepEqual(events.slice(1, -2), [
    toolStart(0, "a", "A"),
    jsonDelta(0, "{"),
    jsonDelta(0, "}"),
    stop(0),
    toolStart(1, "b", "B"),
    jsonDelta(1, "{}"),
    stop(1),
  ]);
});

Deno.test("MessagesStream holds a tool call until its name arrives, then starts it with the arguments so far", () => {
  const events = run([
    chunk({ tool_calls: [toolDelta(0, { id: "a", args: '{"x"' })] }),
    chunk({ tool_calls: [toolDelta(0, { name: "Edit", args: ":1}" })] }),
    chunk({}, "tool_calls"),
  ]);
  assert.deepEqual(events.slice(1, -2), [
    toolStart(0, "a", "Edit"),
    jsonDelta(0, '{"x":1}'),
    stop(0),
  ]);
  const nameless = run([
    chunk({ content: "hi" }),
    chunk({ tool_calls: [toolDelta(0, { id: "a", args: "{}" })] }),
  ]);
  assert.deepEqual(nameless.slice(1, -2), [
    textStart(0),
    textDelta(0, "hi"),
    stop(0),
  ]);
  assert.equal(nameless.at(-2).delta.stop_reason, "end_turn");
});

Deno.test("MessagesStream invents a tool_use id when the upstream gives none", () => {
  const events = run([
    chunk({
      tool_calls: [{ index: 0, function: { name: "A", arguments: "{}" } }],
    }),
  ], { id: "msg_xyz" });
  assert.equal(events[1].content_block.id, "toolu_xyz_0");
});

Deno.test("MessagesStream opens a new text block for text after a tool call", () => {
  const events = run([
    chunk({ content: "a" }),
    chunk({ tool_calls: [toolDelta(0, { id: "t", name: "T", args: "{}" })] }),
    chunk({ content: "b" }),
  ]);
  assert.deepEqual(events.slice(1, -2), [
    textStart(0),
    textDelta(0, "a"),
    stop(0),
    toolStart(1, "t", "T"),
    jsonDelta(1, "{}"),
    stop(1),
    textStart(2),
    textDelta(2, "b"),
    stop(2),
  ]);
});

Deno.test("MessagesStream maps finish reasons to stop reasons", () => {
  const cases: Array<[string | null, string]> = [
    ["stop", "end_turn"],
    ["length", "max_tokens"],
    ["tool_calls", "tool_use"],
    ["content_filter", "refusal"],
    ["error", "end_turn"],
    [null, "end_turn"],
  ];
  for (const [finish, expected] of cases) {
    const events = run([chunk({ content: "x" }, finish)]);
    assert.equal(events.at(-2).delta.stop_reason, expected, String(finish));
  }
});

Deno.test("MessagesStream reports tool_use when a provider says stop after a tool call", () => {
  const events = run([
    chunk({ tool_calls: [toolDelta(0, { id: "t", name: "T", args: "{}" })] }),
    chunk({}, "stop"),
  ]);
  assert.equal(events.at(-2).delta.stop_reason, "tool_use");
});

Deno.test("MessagesStream reports the stop sequence the upstream names", () => {
  const events = run([
    chunk({ content: "x" }, "stop", { native_finish_reason: "END" }),
  ], { stopSequences: ["END", "STOP"] });
  assert.deepEqual(events.at(-2).delta, {
    stop_reason: "stop_sequence",
    stop_sequence: "END",
    container: null,
    stop_details: null,
  });
  const unnamed = run([chunk({ content: "x" }, "stop")], {
    stopSequences: ["END"],
  });
  assert.equal(unnamed.at(-2).delta.stop_reason, "end_turn");
});

Deno.test("MessagesStream keeps the last finish reason seen, even before the usage chunk", () => {
  const events = run([
    chunk({ content: "x" }, "length"),
    usageChunk(5, 7),
  ]);
  assert.deepEqual(events.at(-2), messageDelta("max_tokens", deltaUsage(5, 7)));
});

Deno.test("MessagesStream sends input_tokens null and output 0 without an upstream usage chunk", () => {
  const events = run([chunk({ content: "x" }, "stop")], { inputTokens: 9 });
  assert.equal(events[0].message.usage.input_tokens, 9);
  assert.deepEqual(events.at(-2).usage, deltaUsage(null, 0));
});

Deno.test("MessagesStream with empty content emits start, message_delta and message_stop only", () => {
  const events = run([
    chunk({ role: "assistant", content: "" }),
    chunk({ content: null }, "stop"),
    usageChunk(3, 0),
  ]);
  assert.deepEqual(events.map((e) => e.type), [
    "message_start",
    "message_delta",
    "message_stop",
  ]);
  assert.equal(events[1].delta.stop_reason, "end_turn");
});

Deno.test("MessagesStream streams reasoning as a thinking block only when thinking was asked for", () => {
  const chunks = [
    chunk({ reasoning: "Think" }),
    chunk({ reasoning: "ing." }),
    chunk({ content: "Done" }, "stop"),
  ];
  const withThinking = run(chunks, { thinking: true });
  assert.deepEqual(withThinking.slice(1, -2), [
    {
      type: "content_block_start",
      index: 0,
      content_block: { type: "thinking", thinking: "", signature: "" },
    },
    {
      type: "content_block_delta",
      index: 0,
      delta: { type: "thinking_delta", thinking: "Think" },
    },
    {
      type: "content_block_delta",
      index: 0,
      delta: { type: "thinking_delta", thinking: "ing." },
    },
    stop(0),
    textStart(1),
    textDelta(1, "Done"),
    stop(1),
  ]);
  const without = run(chunks);
  assert.deepEqual(without.slice(1, -2), [
    textStart(0),
    textDelta(0, "Done"),
    stop(0),
  ]);
});

Deno.test("MessagesStream.fail() mid-text emits one error event and nothing after", () => {
  const stream = new MessagesStream({ id: "msg_1", model: "m" });
  const head = stream.start() + stream.push(chunk({ content: "partial" }));
  assert.deepEqual(names(head), [
    "message_start",
    "content_block_start",
    "content_block_delta",
  ]);
  const failure = parseSse(stream.fail("upstream broke", 502));
  assert.deepEqual(failure, [{
    event: "error",
    data: {
      type: "error",
      error: { type: "api_error", message: "upstream broke" },
    },
  }]);
  assert.equal(stream.push(chunk({ content: "more" })), "");
  assert.equal(stream.finish(), "");
  assert.equal(stream.fail("again"), "");
  assert.equal(stream.keepAlive(), "");
  assert.equal(stream.start(), "");
});

Deno.test("MessagesStream.fail() reports overloads as overloaded_error", () => {
  for (const code of [429, 503, 529, "529", "provider_overloaded"]) {
    const stream = new MessagesStream({ id: "msg_1", model: "m" });
    stream.start();
    const [event] = parseSse(stream.fail("busy", code));
    assert.equal(event!.data.error.type, "overloaded_error", String(code));
  }
  for (const code of [undefined, null, 500, "stream_interrupted"]) {
    const stream = new MessagesStream({ id: "msg_1", model: "m" });
    const [event] = parseSse(stream.fail("x", code));
    assert.equal(event!.data.error.type, "api_error", String(code));
  }
});

Deno.test("MessagesStream returns nothing after finish()", () => {
  const stream = new MessagesStream({ id: "msg_1", model: "m" });
  stream.start();
  assert.notEqual(stream.finish(), "");
  assert.equal(stream.finish(), "");
  assert.equal(stream.push(chunk({ content: "late" })), "");
  assert.equal(stream.fail("late"), "");
});

Deno.test("MessagesStream.push() before start() sends message_start first", () => {
  const stream = new MessagesStream({ id: "msg_1", model: "m" });
  assert.deepEqual(names(stream.push(chunk({ content: "x" }))), [
    "message_start",
    "content_block_start",
    "content_block_delta",
  ]);
  assert.equal(stream.start(), "");
});

Deno.test("MessagesStream.keepAlive() is a ping event once the message has started", () => {
  const stream = new MessagesStream({ id: "msg_1", model: "m" });
  assert.equal(stream.keepAlive(), "", "no ping before message_start");
  stream.start();
  assert.equal(stream.keepAlive(), 'event: ping\ndata: {"type":"ping"}\n\n');
  assert.deepEqual(parseSse(stream.keepAlive()), [{
    event: "ping",
    data: { type: "ping" },
  }]);
});

Deno.test("MessagesStream reports only the first model even when chunks come from another", () => {
  const stream = new MessagesStream({ id: "msg_1", model: "first:free" });
  const sse = stream.start() +
    stream.push({ ...chunk({ content: "a" }), model: "second:free" }) +
    stream.finish();
  assert.equal(parseSse(sse)[0]!.data.message.model, "first:free");
  assert.ok(!sse.includes("second:free"));
});

Deno.test("MessagesStream events conform to the SDK's RawMessageStreamEvent", () => {
  const events: RawMessageStreamEvent[] = run([
    chunk({ reasoning: "r", content: "t" }),
    chunk({ tool_calls: [toolDelta(0, { id: "a", name: "A", args: "{}" })] }),
    chunk({}, "tool_calls"),
    usageChunk(1, 2),
  ], { thinking: true });
  const kinds = new Set(events.map((e) => e.type));
  assert.deepEqual([...kinds].sort(), [
    "content_block_delta",
    "content_block_start",
    "content_block_stop",
    "message_delta",
    "message_start",
    "message_stop",
  ]);
});

Deno.test("MessagesStream streams a refusal as text, so the turn sent back next is not empty", () => {
  const events = run([
    chunk({ role: "assistant", content: "" }),
    chunk({ refusal: "I can't help" }),
    chunk({ refusal: " with that." }, "stop"),
    usageChunk(12, 3),
  ]);
  assert.deepEqual(events.slice(1), [
    textStart(0),
    textDelta(0, "I can't help"),
    textDelta(0, " with that."),
    stop(0),
    messageDelta("end_turn", deltaUsage(12, 3)),
    { type: "message_stop" },
  ]);
});

Deno.test("MessagesStream counts cached prompt tokens apart, as Anthropic does: cache reads and writes, and the rest as input", () => {
  const cached = usageChunk(100, 3);
  cached.usage!.prompt_tokens_details = {
    cached_tokens: 60,
    cache_write_tokens: 15,
  };
  const events = run([chunk({ content: "Hi" }, "stop"), cached]);
  assert.deepEqual(
    events.at(-2),
    messageDelta("end_turn", {
      ...deltaUsage(25, 3),
      cache_read_input_tokens: 60,
      cache_creation_input_tokens: 15,
    }),
  );
});
