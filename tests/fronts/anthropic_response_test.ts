import assert from "node:assert/strict";
import type { Message } from "@anthropic-ai/sdk/resources/messages";
import {
  fromChatCompletion,
  parseToolInput,
} from "../../src/fronts/anthropic/response.ts";
import type { ChatCompletion } from "../../src/types.ts";

function completion(
  message: Record<string, unknown>,
  finish: string | null = "stop",
  choiceExtra: Record<string, unknown> = {},
): ChatCompletion {
  return {
    id: "gen-1",
    object: "chat.completion",
    created: 1,
    model: "qwen/qwen3-coder:free",
    choices: [{
      index: 0,
      message: { role: "assistant", content: null, ...message },
      finish_reason: finish,
      ...choiceExtra,
    }],
    usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
  };
}

const USAGE = {
  input_tokens: 11,
  output_tokens: 7,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  cache_creation: null,
  inference_geo: null,
  output_tokens_details: null,
  server_tool_use: null,
  service_tier: null,
  speed: null,
};

Deno.test("fromChatCompletion() translates a text answer into an SDK Message", () => {
  const message: Message = fromChatCompletion(
    completion({ content: "Hello" }),
    { id: "msg_1" },
  );
  assert.deepEqual(message, {
    id: "msg_1",
    type: "message",
    role: "assistant",
    model: "qwen/qwen3-coder:free",
    content: [{ type: "text", text: "Hello", citations: null }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: USAGE,
    container: null,
    diagnostics: null,
    stop_details: null,
  });
});

Deno.test("fromChatCompletion() turns tool calls into tool_use blocks after the text", () => {
  const message = fromChatCompletion(
    completion({
      content: "Let me check.",
      tool_calls: [
        {
          id: "call_1",
          type: "function",
          function: { name: "Bash", arguments: '{"command":"ls -la"}' },
        },
        {
          id: "call_2",
          type: "function",
          function: { name: "Read", arguments: "" },
        },
      ],
    }, "tool_calls"),
    { id: "msg_1" },
  );
  assert.deepEqual(message.content, [
    { type: "text", text: "Let me check.", citations: null },
    {
      type: "tool_use",
      id: "call_1",
      name: "Bash",
      input: { command: "ls -la" },
      caller: { type: "direct" },
    },
    {
      type: "tool_use",
      id: "call_2",
      name: "Read",
      input: {},
      caller: { type: "direct" },
    },
  ]);
  assert.equal(message.stop_reason, "tool_use");
});

Deno.test("fromChatCompletion() leaves the text block out when the content is empty or null", () => {
  for (const content of [null, ""]) {
    const message = fromChatCompletion(completion({ content }), { id: "m" });
    assert.deepEqual(message.content, []);
    assert.equal(message.stop_reason, "end_turn");
  }
  const onlyTool = fromChatCompletion(
    completion({
      content: null,
      tool_calls: [{ id: "c", function: { name: "T", arguments: "{}" } }],
    }, "tool_calls"),
    { id: "m" },
  );
  assert.deepEqual(onlyTool.content.map((b) => b.type), ["tool_use"]);
});

Deno.test("fromChatCompletion() joins array content parts into one text block", () => {
  const message = fromChatCompletion(
    completion({
      content: [{ type: "text", text: "a" }, { type: "text", text: "b" }],
    }),
    { id: "m" },
  );
  assert.deepEqual(message.content, [
    { type: "text", text: "ab", citations: null },
  ]);
});

Deno.test("fromChatCompletion() maps finish reasons to stop reasons", () => {
  const cases: Array<[string | null, string]> = [
    ["stop", "end_turn"],
    ["length", "max_tokens"],
    ["tool_calls", "tool_use"],
    ["content_filter", "refusal"],
    ["error", "end_turn"],
    [null, "end_turn"],
  ];
  for (const [finish, expected] of cases) {
    const message = fromChatCompletion(completion({ content: "x" }, finish), {
      id: "m",
    });
    assert.equal(message.stop_reason, expected, String(finish));
    assert.equal(message.stop_sequence, null);
  }
});

Deno.test("fromChatCompletion() says tool_use when a provider reports stop with tool calls", () => {
  const message = fromChatCompletion(
    completion({
      tool_calls: [{ id: "c", function: { name: "T", arguments: "{}" } }],
    }, "stop"),
    { id: "m" },
  );
  assert.equal(message.stop_reason, "tool_use");
});

Deno.test("fromChatCompletion() reports the stop sequence the upstream names", () => {
  const ctx = { id: "m", stopSequences: ["END", "STOP"] };
  const byStopReason = fromChatCompletion(
    completion({ content: "x" }, "stop", { stop_reason: "STOP" }),
    ctx,
  );
  assert.equal(byStopReason.stop_reason, "stop_sequence");
  assert.equal(byStopReason.stop_sequence, "STOP");
  const byNative = fromChatCompletion(
    completion({ content: "x" }, "stop", { native_finish_reason: "END" }),
    ctx,
  );
  assert.equal(byNative.stop_sequence, "END");
  const single = fromChatCompletion(
    completion({ content: "x" }, "stop", {
      native_finish_reason: "stop_sequence",
    }),
    { id: "m", stopSequences: ["ONLY"] },
  );
  assert.equal(single.stop_reason, "stop_sequence");
  assert.equal(single.stop_sequence, "ONLY");
  const ambiguous = fromChatCompletion(
    completion({ content: "x" }, "stop", {
      native_finish_reason: "stop_sequence",
    }),
    ctx,
  );
  assert.equal(ambiguous.stop_reason, "end_turn");
  const notAsked = fromChatCompletion(
    completion({ content: "x" }, "stop", { native_finish_reason: "END" }),
    { id: "m" },
  );
  assert.equal(notAsked.stop_reason, "end_turn");
});

Deno.test("fromChatCompletion() puts reasoning first as a thinking block only when thinking was asked for", () => {
  const answer = completion({ content: "42", reasoning: "Let me think." });
  assert.deepEqual(
    fromChatCompletion(answer, { id: "m", thinking: true }).content,
    [
      { type: "thinking", thinking: "Let me think.", signature: "" },
      { type: "text", text: "42", citations: null },
    ],
  );
  assert.deepEqual(fromChatCompletion(answer, { id: "m" }).content, [
    { type: "text", text: "42", citations: null },
  ]);
});

Deno.test("fromChatCompletion() reports zero usage when the upstream gives none", () => {
  const answer = completion({ content: "x" });
  delete answer.usage;
  const message = fromChatCompletion(answer, { id: "m" });
  assert.equal(message.usage.input_tokens, 0);
  assert.equal(message.usage.output_tokens, 0);
});

Deno.test("fromChatCompletion() invents tool_use ids the upstream left out", () => {
  const message = fromChatCompletion(
    completion({
      tool_calls: [{ function: { name: "T", arguments: "{}" } }],
    }, "tool_calls"),
    { id: "msg_abc" },
  );
  assert.equal((message.content[0] as { id: string }).id, "toolu_abc_0");
});

Deno.test("fromChatCompletion() with no choices gives empty content and end_turn", () => {
  const message = fromChatCompletion({ ...completion({}), choices: [] }, {
    id: "m",
  });
  assert.deepEqual(message.content, []);
  assert.equal(message.stop_reason, "end_turn");
});

Deno.test("parseToolInput() parses JSON objects and gives {} for anything else", () => {
  assert.deepEqual(parseToolInput('{"a":[1,{"b":null}]}'), {
    a: [1, { b: null }],
  });
  assert.deepEqual(parseToolInput({ a: 1 }), { a: 1 });
  for (
    const bad of [
      "",
      "  ",
      "{not json",
      "[1,2]",
      '"text"',
      "null",
      "3",
      null,
      undefined,
      5,
    ]
  ) {
    assert.deepEqual(parseToolInput(bad), {}, JSON.stringify(bad));
  }
});

Deno.test("fromChatCompletion() gives a refusal as a text block, so the turn sent back next is not empty", () => {
  const message = fromChatCompletion(
    completion({ content: null, refusal: "I can't help with that." }),
    { id: "msg_1" },
  );
  assert.deepEqual(message.content, [
    { type: "text", text: "I can't help with that.", citations: null },
  ]);
  assert.equal(message.stop_reason, "end_turn");
});

Deno.test("fromChatCompletion() counts cached prompt tokens apart, as Anthropic does: cache reads and writes, and the rest as input", () => {
  const chat = completion({ content: "Hi" });
  chat.usage = {
    prompt_tokens: 100,
    completion_tokens: 7,
    total_tokens: 107,
    prompt_tokens_details: { cached_tokens: 60, cache_write_tokens: 15 },
  } as ChatCompletion["usage"];
  const message = fromChatCompletion(chat, { id: "msg_1" });
  assert.deepEqual(message.usage, {
    ...USAGE,
    input_tokens: 25,
    output_tokens: 7,
    cache_read_input_tokens: 60,
    cache_creation_input_tokens: 15,
  });
});
