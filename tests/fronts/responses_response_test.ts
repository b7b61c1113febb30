import assert from "node:assert/strict";
import OpenAI from "openai";
import type {
  Response,
  ResponseOutputItem,
} from "openai/resources/responses/responses";
import type { ChatCompletion } from "../../src/types.ts";
import { responsesFailureCode } from "../../src/fronts/responses/errors.ts";
import { toChatRequest } from "../../src/fronts/responses/request.ts";
import { fromChatCompletion } from "../../src/fronts/responses/response.ts";
import { counterIds, parsed } from "./responses_helpers.ts";

function completion(
  message: Record<string, unknown>,
  finishReason: string | null = "stop",
  usage?: Record<string, unknown>,
): ChatCompletion {
  return {
    id: "gen-1",
    object: "chat.completion",
    created: 1700000000,
    model: "served/model:free",
    choices: [{
      index: 0,
      message: { role: "assistant", content: null, ...message },
      finish_reason: finishReason,
    }],
    ...(usage ? { usage } : {}),
  };
}

function respond(
  body: Record<string, unknown>,
  chat: ChatCompletion,
): Response {
  const request = parsed(body);
  const { tools } = toChatRequest(request);
  // Assigning to the SDK's type makes a drift a compile error.
  const response: Response = fromChatCompletion(chat, {
    id: "resp_1",
    request,
    tools,
    newId: counterIds(),
  });
  return response;
}

Deno.test("fromChatCompletion() answers text with a message item, usage and the request's echo", () => {
  const response = respond(
    {
      model: "auto",
      input: "Hi",
      instructions: "Be brief.",
      temperature: 0.2,
      max_output_tokens: 100,
      metadata: { k: "v" },
      tools: [{ type: "web_search" }],
      user: "u",
    },
    completion({ content: "Hello!" }, "stop", {
      prompt_tokens: 12,
      completion_tokens: 5,
      total_tokens: 17,
      prompt_tokens_details: { cached_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 2 },
    }),
  );
  assert.deepEqual(response, {
    id: "resp_1",
    object: "response",
    created_at: 1700000000,
    status: "completed",
    background: false,
    error: null,
    incomplete_details: null,
    instructions: "Be brief.",
    max_output_tokens: 100,
    model: "served/model:free",
    output: [{
      id: "msg_1",
      type: "message",
      role: "assistant",
      status: "completed",
      content: [{
        type: "output_text",
        text: "Hello!",
        annotations: [],
        logprobs: [],
      }],
    }],
    output_text: "Hello!",
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: null,
    temperature: 0.2,
    text: { format: { type: "text" } },
    tool_choice: "auto",
    tools: [{ type: "web_search" }],
    top_p: null,
    truncation: "disabled",
    metadata: { k: "v" },
    usage: {
      input_tokens: 12,
      input_tokens_details: { cached_tokens: 4, cache_write_tokens: 0 },
      output_tokens: 5,
      output_tokens_details: { reasoning_tokens: 2 },
      total_tokens: 17,
    },
    user: "u",
  });
});

Deno.test("fromChatCompletion() turns tool calls into function_call and custom_tool_call items", () => {
  const response = respond(
    {
      input: "x",
      tools: [
        { type: "function", name: "exec_command", parameters: {} },
        { type: "custom", name: "apply_patch" },
        {
          type: "namespace",
          name: "crm",
          description: "",
          tools: [{ type: "function", name: "lookup" }],
        },
      ],
    },
    completion({
      content: "Running.",
      tool_calls: [
        {
          id: "call_a",
          type: "function",
          function: { name: "exec_command", arguments: '{"cmd":"ls"}' },
        },
        {
          id: "call_b",
          type: "function",
          function: {
            name: "apply_patch",
            arguments: JSON.stringify({ input: "*** Begin Patch" }),
          },
        },
        {
          id: "call_c",
          type: "function",
          function: { name: "crm__lookup", arguments: "{}" },
        },
        // Not the {input} JSON: the raw arguments are the input.
        {
          id: "",
          type: "function",
          function: { name: "apply_patch", arguments: "raw patch" },
        },
      ],
    }, "tool_calls"),
  );
  const expected: ResponseOutputItem[] = [
    {
      id: "msg_1",
      type: "message",
      role: "assistant",
      status: "completed",
      content: [{
        type: "output_text",
        text: "Running.",
        annotations: [],
        logprobs: [],
      }],
    },
    {
      type: "function_call",
      id: "fc_2",
      call_id: "call_a",
      name: "exec_command",
      arguments: '{"cmd":"ls"}',
      status: "completed",
    },
    {
      type: "custom_tool_call",
      id: "ctc_3",
      call_id: "call_b",
      name: "apply_patch",
      input: "*** Begin Patch",
    },
    {
      type: "function_call",
      id: "fc_4",
      call_id: "call_c",
      name: "lookup",
      namespace: "crm",
      arguments: "{}",
      status: "completed",
    },
    {
      type: "custom_tool_call",
      id: "ctc_6",
      call_id: "call_5",
      name: "apply_patch",
      input: "raw patch",
    },
  ];
  assert.deepEqual(response.output, expected);
  assert.equal(response.status, "completed");
  assert.equal("usage" in response, false);
});

Deno.test("fromChatCompletion() gives a function call without arguments the arguments {}", () => {
  const response = respond(
    { input: "x", tools: [{ type: "function", name: "now", parameters: {} }] },
    completion({
      tool_calls: [{
        id: "call_a",
        type: "function",
        function: { name: "now", arguments: "" },
      }],
    }, "tool_calls"),
  );
  const call = response.output[0]!;
  assert.equal(call.type === "function_call" && call.arguments, "{}");
});

Deno.test("fromChatCompletion() reports length and content_filter as incomplete", () => {
  const length = respond(
    { input: "x" },
    completion({ content: "Trunc" }, "length"),
  );
  assert.equal(length.status, "incomplete");
  assert.deepEqual(length.incomplete_details, { reason: "max_output_tokens" });
  assert.equal(length.output_text, "Trunc");
  const filtered = respond(
    { input: "x" },
    completion({ content: "" }, "content_filter"),
  );
  assert.equal(filtered.status, "incomplete");
  assert.deepEqual(filtered.incomplete_details, { reason: "content_filter" });
  assert.deepEqual(filtered.output, []);
});

Deno.test("fromChatCompletion() adds a reasoning item only when summaries were asked for", () => {
  const chat = completion({ content: "42", reasoning: "Let me think." });
  const asked = respond({ input: "x", reasoning: { summary: "auto" } }, chat);
  assert.deepEqual(asked.output[0], {
    id: "rs_1",
    type: "reasoning",
    summary: [{ type: "summary_text", text: "Let me think." }],
  });
  assert.equal(asked.output[1]?.type, "message");
  assert.deepEqual(asked.reasoning, { summary: "auto" });
  for (
    const body of [
      { input: "x" },
      { input: "x", reasoning: { effort: "low" } },
      { input: "x", include: ["reasoning.encrypted_content"] },
    ]
  ) {
    const quiet = respond(body, chat);
    assert.deepEqual(quiet.output.map((item) => item.type), ["message"]);
  }
});

Deno.test("fromChatCompletion() gives an empty output for empty content and keeps refusals as text", () => {
  assert.deepEqual(
    respond({ input: "x" }, completion({ content: "" })).output,
    [],
  );
  assert.deepEqual(respond({ input: "x" }, completion({})).output, []);
  const refused = respond({ input: "x" }, completion({ refusal: "I can't." }));
  assert.equal(refused.output_text, "I can't.");
});

Deno.test("fromChatCompletion() output reads back through the OpenAI SDK's responses.create", async () => {
  const request = parsed({ model: "auto", input: "Hi" });
  const body = fromChatCompletion(completion({ content: "Hello from SDK" }), {
    id: "resp_sdk",
    request,
    tools: toChatRequest(request).tools,
  });
  const client = new OpenAI({
    apiKey: "test",
    baseURL: "http://freerouter.invalid/v1",
    maxRetries: 0,
    fetch: () =>
      Promise.resolve(
        new globalThis.Response(JSON.stringify(body), {
          headers: { "content-type": "application/json" },
        }),
      ),
  });
  const response = await client.responses.create({
    model: "auto",
    input: "Hi",
  });
  assert.equal(response.output_text, "Hello from SDK");
  assert.equal(response.id, "resp_sdk");
});

Deno.test("responsesFailureCode() maps rate limits to rate_limit_exceeded, the rest to server_error", () => {
  for (const code of [429, "429", "rate_limited", "daily_limit_reached"]) {
    assert.equal(
      responsesFailureCode(code),
      "rate_limit_exceeded",
      String(code),
    );
  }
  for (const code of [500, "stream_interrupted", null, undefined, "weird"]) {
    assert.equal(responsesFailureCode(code), "server_error", String(code));
  }
});

Deno.test("fromChatCompletion() marks what a length limit cut incomplete: the text when no call follows, or a call whose arguments do not parse", () => {
  const status = (r: Response) =>
    r.output.map((i) => `${i.type}:${"status" in i ? i.status : ""}`);
  const call = (id: string, args: string) => ({
    id,
    type: "function",
    function: { name: "exec_command", arguments: args },
  });
  const tools = [{ type: "function", name: "exec_command", parameters: {} }];
  const text = respond(
    { input: "x" },
    completion({ content: "Once upon a" }, "length"),
  );
  assert.equal(text.status, "incomplete");
  assert.deepEqual(status(text), ["message:incomplete"]);
  const cut = respond(
    { input: "x", tools },
    completion({
      content: "Checking.",
      tool_calls: [
        call("call_a", '{"cmd":"ls"}'),
        call("call_b", '{"cmd":"ca'),
      ],
    }, "length"),
  );
  assert.equal(cut.status, "incomplete");
  assert.deepEqual(status(cut), [
    "message:completed",
    "function_call:completed",
    "function_call:incomplete",
  ]);
  const done = respond(
    { input: "x", tools },
    completion({
      content: "Checking.",
      tool_calls: [call("call_a", '{"cmd":"ls"}')],
    }, "tool_calls"),
  );
  assert.deepEqual(status(done), [
    "message:completed",
    "function_call:completed",
  ]);
});
