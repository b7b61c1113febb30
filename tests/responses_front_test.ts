/**
 * `POST /v1/responses` through the official `openai` SDK, against
 * createHandler() and the fake OpenRouter: the SDK's requests reach the one
 * router as chat completions, and what it reads back is the Responses shape.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import type {
  FunctionTool,
  ResponseInputItem,
  ResponseStreamEvent,
} from "openai/resources/responses/responses";
import { collect, deferred, within } from "./_async.ts";
import {
  chatMessagesOf,
  failEveryModel,
  openaiSdk,
  textOf,
  toolCallAnswer,
  toolCallStream,
} from "./_agent_fronts.ts";
import { rig } from "./_harness.ts";
import { streamStep } from "./_streams.ts";
import {
  badRequest400,
  chunk,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  modelRpm,
  ok,
  providerThrottled,
  streamOk,
  userNotFound401,
} from "./fake_openrouter/mod.ts";

/** A free id, requested by name so that it goes first (the order of \`auto\` is the router's business). */
const A = "qwen/qwen3-coder:free";

const execTool: FunctionTool = {
  type: "function",
  name: "exec_command",
  description: "Runs a shell command",
  parameters: {
    type: "object",
    properties: { cmd: { type: "string" } },
    required: ["cmd"],
  },
  strict: false,
};

/** Every event of a streamed response. */
async function streamed(
  client: OpenAI,
  body: OpenAI.Responses.ResponseCreateParamsNonStreaming,
): Promise<ResponseStreamEvent[]> {
  const stream = await client.responses.create({ ...body, stream: true });
  return await within(collect(stream), "the whole stream");
}

Deno.test("responses.create() answers with output_text, the free model that answered, and usage", async () => {
  await using r = rig();
  r.fake.script(A, ok(A, "Hello from a free model."));
  const { data: response, response: raw } = await openaiSdk(r.handler)
    .responses.create({ model: A, input: "Say hello" }).withResponse();
  assert.equal(response.object, "response");
  assert.match(response.id, /^resp_/);
  assert.equal(response.status, "completed");
  assert.equal(response.model, A);
  assert.equal(response.output_text, "Hello from a free model.");
  const [item] = response.output;
  assert.equal(item?.type, "message");
  assert.equal(response.usage?.input_tokens, 12);
  assert.equal(response.usage?.output_tokens, 20);
  assert.equal(response.usage?.total_tokens, 35);
  assert.equal(raw.headers.get("x-freerouter-model"), A);
  const [sent] = r.fake.chatRequests();
  assert.deepEqual(chatMessagesOf(sent!.body), [
    { role: "user", content: "Say hello" },
  ]);
});

Deno.test("a streamed response sends the text events in order, numbered, with response.completed last", async () => {
  await using r = rig();
  r.fake.script(A, { stream: streamOk(A, ["Hel", "lo ", "you"]) });
  const events = await streamed(openaiSdk(r.handler), {
    model: A,
    instructions: "Be brief.",
    input: [{ role: "user", content: "Say hello" }],
  });
  assert.deepEqual(events.map((e) => e.type), [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
  ]);
  assert.deepEqual(
    events.map((e) => e.sequence_number),
    events.map((_, i) => i),
  );
  const done = events.find((e) => e.type === "response.output_text.done");
  assert.equal(
    done?.type === "response.output_text.done" && done.text,
    "Hello you",
  );
  const last = events.at(-1)!;
  assert.ok(last.type === "response.completed");
  assert.equal(last.response.model, A);
  assert.equal(last.response.usage?.output_tokens, 20);
  const messages = chatMessagesOf(r.fake.chatRequests()[0]!.body);
  assert.deepEqual(messages.map((m) => m.role), ["system", "user"]);
  assert.equal(textOf(messages[0]), "Be brief.");
});

Deno.test("responses.stream().finalResponse() assembles the streamed text", async () => {
  await using r = rig();
  r.fake.script(A, { stream: streamOk(A, ["Hi", " there"]) });
  const response = await within(
    openaiSdk(r.handler).responses.stream({ model: A, input: "hi" })
      .finalResponse(),
    "the final response",
  );
  assert.equal(response.output_text, "Hi there");
  assert.equal(response.status, "completed");
});

Deno.test("a function-call round trip: chat tool_calls become function_call items, and function_call_output goes upstream as a tool message", async () => {
  await using r = rig();
  const client = openaiSdk(r.handler);
  r.fake.script(
    A,
    toolCallAnswer(A, [{
      id: "call_x1",
      name: "exec_command",
      arguments: '{"cmd":"ls"}',
    }]),
    ok(A, "There is one file."),
  );
  const input: ResponseInputItem[] = [{ role: "user", content: "List files" }];
  const first = await client.responses.create({
    model: A,
    input,
    tools: [execTool],
  });
  const call = first.output.find((o) => o.type === "function_call");
  assert.ok(call?.type === "function_call", JSON.stringify(first.output));
  assert.deepEqual([call.call_id, call.name, call.arguments], [
    "call_x1",
    "exec_command",
    '{"cmd":"ls"}',
  ]);
  const tools = (r.fake.chatRequests()[0]!.body as { tools: unknown }).tools;
  assert.deepEqual(tools, [{
    type: "function",
    function: {
      name: "exec_command",
      description: "Runs a shell command",
      parameters: execTool.parameters,
      strict: false,
    },
  }]);

  const second = await client.responses.create({
    model: A,
    tools: [execTool],
    input: [...input, call, {
      type: "function_call_output",
      call_id: "call_x1",
      output: "README.md",
    }],
  });
  assert.equal(second.output_text, "There is one file.");
  const messages = chatMessagesOf(r.fake.chatRequests()[1]!.body);
  assert.deepEqual(messages.map((m) => m.role), ["user", "assistant", "tool"]);
  assert.deepEqual(messages[1]?.tool_calls, [{
    id: "call_x1",
    type: "function",
    function: { name: "exec_command", arguments: '{"cmd":"ls"}' },
  }]);
  assert.equal(messages[2]?.tool_call_id, "call_x1");
  assert.equal(textOf(messages[2]), "README.md");
});

Deno.test("streamed function-call arguments arrive as delta events, then done with the whole arguments", async () => {
  await using r = rig();
  const args = '{"cmd":"echo streamed-args-ok"}';
  r.fake.script(A, {
    stream: toolCallStream(A, [{
      id: "call_s1",
      name: "exec_command",
      arguments: args,
    }], { pieces: 3 }),
  });
  const events = await streamed(openaiSdk(r.handler), {
    model: A,
    input: "run it",
    tools: [execTool],
  });
  const types = events.map((e) => e.type);
  const added = events.find((e) => e.type === "response.output_item.added");
  assert.ok(added?.type === "response.output_item.added");
  assert.equal(added.item.type, "function_call");
  const deltas = events.flatMap((e) =>
    e.type === "response.function_call_arguments.delta" ? [e.delta] : []
  );
  assert.ok(deltas.length >= 2, `several deltas: ${JSON.stringify(deltas)}`);
  assert.equal(deltas.join(""), args);
  const done = events.find((e) =>
    e.type === "response.function_call_arguments.done"
  );
  assert.equal(
    done?.type === "response.function_call_arguments.done" && done.arguments,
    args,
  );
  const itemDone = types.indexOf("response.output_item.done");
  assert.ok(itemDone > types.indexOf("response.function_call_arguments.done"));
  const last = events.at(-1)!;
  assert.ok(last.type === "response.completed", types.join(","));
  const [item] = last.response.output;
  assert.ok(item?.type === "function_call");
  assert.deepEqual([item.call_id, item.name, item.arguments], [
    "call_s1",
    "exec_command",
    args,
  ]);
});

Deno.test("previous_response_id answers 400 in OpenAI's error shape naming the parameter, and reaches no model", async () => {
  await using r = rig();
  const err = await openaiSdk(r.handler).responses.create({
    model: A,
    input: "continue",
    previous_response_id: "resp_123",
  }).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof OpenAI.BadRequestError, String(err));
  assert.equal(err.status, 400);
  assert.equal(err.param, "previous_response_id");
  assert.match(err.message, /previous_response_id/);
  assert.equal(r.fake.chatRequests().length, 0);
});

Deno.test("an upstream refusal (400) reaches a Responses client in OpenAI's full error envelope, the upstream's message and fields kept", async () => {
  await using r = rig();
  r.fake.script(A, badRequest400("upstream says no"));
  const res = await r.request("/v1/responses", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: A, input: "hi" }),
  });
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), {
    error: {
      message: "upstream says no",
      type: "invalid_request_error",
      param: null,
      code: 400,
    },
  });
  r.fake.script(A, userNotFound401());
  const denied = await openaiSdk(r.handler).responses.create({
    model: A,
    input: "hi",
  }).then(() => undefined, (e: unknown) => e);
  assert.ok(denied instanceof OpenAI.AuthenticationError, String(denied));
  assert.equal(denied.type, "authentication_error");
  assert.equal(denied.message, "401 User not found.");
});

Deno.test("a hosted tool (web_search) is dropped, named in X-FreeRouter-Dropped-Tools, and not sent upstream", async () => {
  await using r = rig();
  r.fake.script(A, ok(A, "No search needed."));
  const { data, response } = await openaiSdk(r.handler).responses.create({
    model: A,
    input: "hello",
    tools: [{ type: "web_search" }, execTool],
  }).withResponse();
  assert.equal(data.output_text, "No search needed.");
  assert.match(
    response.headers.get("x-freerouter-dropped-tools") ?? "",
    /web_search/,
  );
  const tools = (r.fake.chatRequests()[0]!.body as {
    tools: Array<{ type: string; function?: { name: string } }>;
  }).tools;
  assert.deepEqual(tools.map((t) => [t.type, t.function?.name]), [
    ["function", "exec_command"],
  ]);
});

Deno.test("a rate-limited first model falls back before commit inside one request", async () => {
  await using r = rig();
  r.fake.script(A, modelRpm(A));
  const { data, response } = await openaiSdk(r.handler).responses.create({
    model: A,
    input: "hi",
  }).withResponse();
  const second = response.headers.get("x-freerouter-model");
  assert.ok(second && second !== A, `another model answered: ${second}`);
  assert.equal(data.model, second);
  assert.equal(data.output_text, "Hello world");
  assert.equal(response.headers.get("x-freerouter-attempts"), "2");
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, second]);
});

Deno.test("a throttled first model falls back before commit inside one streamed request", async () => {
  await using r = rig();
  r.fake.script(A, providerThrottled(A));
  const { data: stream, response } = await openaiSdk(r.handler).responses
    .create({ model: A, input: "hi", stream: true }).withResponse();
  const second = response.headers.get("x-freerouter-model");
  assert.ok(second && second !== A, `another model answered: ${second}`);
  assert.equal(response.headers.get("x-freerouter-attempts"), "2");
  const events = await within(collect(stream), "the whole stream");
  const last = events.at(-1)!;
  assert.ok(last.type === "response.completed");
  assert.equal(last.response.model, second);
  const done = events.find((e) => e.type === "response.output_text.done");
  assert.equal(
    done?.type === "response.output_text.done" && done.text,
    "Hello world",
  );
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, second]);
});

Deno.test("a model name that is not a free id (gpt-*) routes as auto, to a model of the free pool", async () => {
  await using r = rig();
  const { data, response } = await openaiSdk(r.handler).responses.create({
    model: "gpt-5.5",
    input: "hi",
  }).withResponse();
  const answered = response.headers.get("x-freerouter-model")!;
  assert.ok(FREE_CHAT_IDS_IN_PRIORITY_ORDER.includes(answered), answered);
  assert.equal(data.model, answered);
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [answered]);
});

Deno.test("a stream that breaks after commit ends with response.failed and no response.completed", async () => {
  await using r = rig({ streamIdleTimeout: 3600 });
  const firstDelta = deferred();
  r.fake.script(
    A,
    streamStep([
      chunk(A, { role: "assistant", content: "" }),
      chunk(A, "Partial"),
      () => firstDelta.promise,
    ], "reset"),
  );
  failEveryModel(r.fake);
  const stream = await openaiSdk(r.handler).responses.create({
    model: A,
    input: "hi",
    stream: true,
  });
  const events: ResponseStreamEvent[] = [];
  await within(
    (async () => {
      for await (const event of stream) {
        events.push(event);
        if (event.type === "response.output_text.delta") firstDelta.resolve();
      }
    })(),
    "the end of the stream",
  );
  const types = events.map((e) => e.type);
  assert.ok(types.includes("response.output_text.delta"), types.join(","));
  assert.ok(!types.includes("response.completed"), types.join(","));
  const last = events.at(-1)!;
  assert.ok(last.type === "response.failed", types.join(","));
  assert.equal(last.response.status, "failed");
  assert.ok(last.response.error?.message, JSON.stringify(last.response.error));
  assert.deepEqual(
    events.map((e) => e.sequence_number),
    events.map((_, i) => i),
  );
  // Whatever resumption tries after the break fails too (failEveryModel).
  assert.equal(r.fake.chatRequests()[0]?.model, A);
});

Deno.test("a max_output_tokens above the model's completion cap is lowered to it, not refused (as on /v1/messages)", async () => {
  await using r = rig();
  const models = await (await r.request("/v1/models")).json();
  const cap = (models.data as { id: string; max_completion_tokens?: number }[])
    .find((m) => m.id === A)?.max_completion_tokens;
  assert.ok(cap !== undefined && cap < 500_000, `${A}'s cap: ${cap}`);
  const response = await openaiSdk(r.handler).responses.create({
    model: A,
    input: "Say hello",
    max_output_tokens: 500_000,
  });
  assert.equal(response.status, "completed");
  const [sent] = r.fake.chatRequests();
  assert.equal((sent!.body as { max_tokens: number }).max_tokens, cap);
});
