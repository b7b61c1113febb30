import assert from "node:assert/strict";
import OpenAI from "openai";
import {
  accumulate,
  as,
  assertSequence,
  chunk,
  final,
  parseSse,
  run,
  streamFor,
  toolDelta,
  TOOLS,
  types,
  USAGE,
  usageChunk,
} from "./responses_helpers.ts";

Deno.test("ResponsesStream.fail() mid-text sends response.failed with the partial output, then nothing", () => {
  const { stream } = streamFor({ input: "x" });
  let sse = stream.start();
  sse += stream.push(chunk({ content: "Half an ans" }));
  sse += stream.fail("upstream broke", "stream_interrupted");
  const events = parseSse(sse);
  assertSequence(events);
  assert.deepEqual(types(events), [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.failed",
  ]);
  const failed = final(events);
  assert.equal(failed.status, "failed");
  assert.deepEqual(failed.error, {
    code: "server_error",
    message: "upstream broke",
  });
  assert.deepEqual(failed.output, [{
    id: "msg_1",
    type: "message",
    role: "assistant",
    status: "incomplete",
    content: [{
      type: "output_text",
      text: "Half an ans",
      annotations: [],
      logprobs: [],
    }],
  }]);
  assert.equal(stream.push(chunk({ content: "more" })), "");
  assert.equal(stream.finish(), "");
  assert.equal(stream.fail("again"), "");
  assert.equal(stream.start(), "");
});

Deno.test("ResponsesStream.fail() marks open tool calls incomplete and maps a rate limit code", () => {
  const { stream } = streamFor({ input: "x", tools: TOOLS });
  let sse = stream.start();
  sse += stream.push(
    chunk(toolDelta(0, { id: "call_a", name: "exec_command", args: '{"cm' })),
  );
  sse += stream.fail("Rate limit exceeded", 429);
  const failed = final(parseSse(sse));
  assert.deepEqual(failed.error, {
    code: "rate_limit_exceeded",
    message: "Rate limit exceeded",
  });
  assert.deepEqual(failed.output, [{
    type: "function_call",
    id: "fc_1",
    call_id: "call_a",
    name: "exec_command",
    arguments: '{"cm',
    status: "incomplete",
  }]);
});

Deno.test("ResponsesStream.fail() before any chunk still opens the response first", () => {
  const { stream } = streamFor({ input: "x" });
  const events = parseSse(stream.fail("boom"));
  assertSequence(events);
  assert.deepEqual(types(events), [
    "response.created",
    "response.in_progress",
    "response.failed",
  ]);
  assert.deepEqual(final(events).output, []);
});

Deno.test("ResponsesStream with empty content completes with no output item", () => {
  const { stream } = streamFor({ input: "x" });
  const events = run(stream, [
    chunk({ role: "assistant", content: "" }),
    chunk({ content: null, reasoning: null, reasoning_details: [] }, "stop"),
    usageChunk({ prompt_tokens: 1, completion_tokens: 0, total_tokens: 1 }),
  ]);
  assertSequence(events);
  assert.deepEqual(types(events), [
    "response.created",
    "response.in_progress",
    "response.completed",
  ]);
  assert.deepEqual(final(events).output, []);
  assert.equal(final(events).output_text, "");
});

Deno.test("ResponsesStream streams reasoning as a summary only when the client asked for summaries", () => {
  const chunks = [
    chunk({ reasoning: "Think" }),
    chunk({ reasoning: "ing." }),
    chunk({ content: "Answer" }, "stop"),
  ];
  const asked = run(
    streamFor({ input: "x", reasoning: { summary: "auto" } }).stream,
    chunks,
  );
  assertSequence(asked);
  assert.deepEqual(types(asked).slice(2), [
    "response.output_item.added",
    "response.reasoning_summary_part.added",
    "response.reasoning_summary_text.delta",
    "response.reasoning_summary_text.delta",
    "response.reasoning_summary_text.done",
    "response.reasoning_summary_part.done",
    "response.output_item.done",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
  ]);
  assert.deepEqual(as(asked[2], "response.output_item.added").item, {
    id: "rs_1",
    type: "reasoning",
    summary: [],
  });
  assert.deepEqual(as(asked[4], "response.reasoning_summary_text.delta"), {
    type: "response.reasoning_summary_text.delta",
    sequence_number: 4,
    item_id: "rs_1",
    output_index: 0,
    summary_index: 0,
    delta: "Think",
  });
  assert.equal(
    as(asked[6], "response.reasoning_summary_text.done").text,
    "Thinking.",
  );
  assert.deepEqual(as(asked[7], "response.reasoning_summary_part.done"), {
    type: "response.reasoning_summary_part.done",
    sequence_number: 7,
    item_id: "rs_1",
    output_index: 0,
    summary_index: 0,
    part: { type: "summary_text", text: "Thinking." },
  });
  const response = final(asked);
  assert.deepEqual(response.output[0], {
    id: "rs_1",
    type: "reasoning",
    summary: [{ type: "summary_text", text: "Thinking." }],
  });
  assert.equal(response.output[1]?.id, "msg_2");
  assert.deepEqual(accumulate(asked), response);

  for (
    const body of [
      { input: "x" },
      { input: "x", reasoning: { effort: "high" } },
      { input: "x", include: ["reasoning.encrypted_content"] },
    ]
  ) {
    const quiet = run(streamFor(body).stream, chunks);
    assert.ok(!types(quiet).some((t) => t.includes("reasoning")));
    assert.deepEqual(final(quiet).output.map((i) => i.type), ["message"]);
  }
});

Deno.test("ResponsesStream returns a custom tool's input from its {input} arguments", () => {
  const { stream } = streamFor({ input: "x", tools: TOOLS });
  const patch = '*** Begin Patch\n*** Add File: a.txt\n+"hi"\n*** End Patch';
  const args = JSON.stringify({ input: patch });
  const events = run(stream, [
    chunk(
      toolDelta(0, {
        id: "call_p",
        name: "apply_patch",
        args: args.slice(0, 9),
      }),
    ),
    chunk(toolDelta(0, { args: args.slice(9) }), "tool_calls"),
  ]);
  assertSequence(events);
  assert.deepEqual(types(events).slice(2), [
    "response.output_item.added",
    "response.custom_tool_call_input.delta",
    "response.custom_tool_call_input.done",
    "response.output_item.done",
    "response.completed",
  ]);
  assert.deepEqual(as(events[2], "response.output_item.added").item, {
    type: "custom_tool_call",
    id: "ctc_1",
    call_id: "call_p",
    name: "apply_patch",
    input: "",
  });
  assert.deepEqual(as(events[3], "response.custom_tool_call_input.delta"), {
    type: "response.custom_tool_call_input.delta",
    sequence_number: 3,
    item_id: "ctc_1",
    output_index: 0,
    delta: patch,
  });
  assert.equal(
    as(events[4], "response.custom_tool_call_input.done").input,
    patch,
  );
  const item = {
    type: "custom_tool_call",
    id: "ctc_1",
    call_id: "call_p",
    name: "apply_patch",
    input: patch,
  };
  assert.deepEqual(as(events[5], "response.output_item.done").item, item);
  assert.deepEqual(final(events).output, [item]);
  assert.deepEqual(accumulate(events), final(events));
});

Deno.test("ResponsesStream maps a namespaced call back to its name and namespace", () => {
  const { stream } = streamFor({ input: "x", tools: TOOLS });
  const events = run(stream, [
    chunk(
      toolDelta(0, { id: "call_n", name: "crm__lookup", args: "{}" }),
      "tool_calls",
    ),
  ]);
  const item = as(events.at(-2), "response.output_item.done").item;
  assert.deepEqual(item, {
    type: "function_call",
    id: "fc_1",
    call_id: "call_n",
    name: "lookup",
    namespace: "crm",
    arguments: "{}",
    status: "completed",
  });
  const doneArgs = events.find((e) =>
    e.type === "response.function_call_arguments.done"
  );
  assert.equal(
    as(doneArgs, "response.function_call_arguments.done").name,
    "lookup",
  );
});

Deno.test("ResponsesStream starts a new call when a used index comes with a new id", () => {
  const { stream } = streamFor({ input: "x", tools: TOOLS });
  const events = run(stream, [
    chunk(
      toolDelta(0, { id: "call_1", name: "exec_command", args: '{"cmd":"a"}' }),
    ),
    chunk(
      toolDelta(0, { id: "call_2", name: "exec_command", args: '{"cmd":"b"}' }),
    ),
  ]);
  assertSequence(events);
  const output = final(events).output;
  assert.deepEqual(
    output.map((i) =>
      i.type === "function_call" && [i.id, i.call_id, i.arguments]
    ),
    [["fc_1", "call_1", '{"cmd":"a"}'], ["fc_2", "call_2", '{"cmd":"b"}']],
  );
  // The first call is done before the second is added.
  assert.deepEqual(types(events).slice(2, 7), [
    "response.output_item.added",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.output_item.done",
    "response.output_item.added",
  ]);
  assert.deepEqual(accumulate(events), final(events));
});

Deno.test("ResponsesStream adds a call once its name arrives and makes up a missing call id", () => {
  const { stream } = streamFor({ input: "x", tools: TOOLS });
  let sse = stream.start();
  const beforeName = stream.push(chunk(toolDelta(0, { args: '{"cmd"' })));
  assert.equal(beforeName, "");
  sse += beforeName;
  sse += stream.push(
    chunk(toolDelta(0, { name: "exec_command", args: ':"ls"}' })),
  );
  sse += stream.finish();
  const events = parseSse(sse);
  assertSequence(events);
  const added = as(events[2], "response.output_item.added").item;
  assert.equal(added.type === "function_call" && added.call_id, "call_2");
  // Arguments seen before the name go in one delta.
  assert.equal(
    as(events[3], "response.function_call_arguments.delta").delta,
    '{"cmd":"ls"}',
  );
  assert.equal(
    as(events[4], "response.function_call_arguments.done").arguments,
    '{"cmd":"ls"}',
  );
});

Deno.test("ResponsesStream opens the response on a chunk pushed before start(), and reports the first model", () => {
  const { stream } = streamFor({ input: "x" });
  let sse = stream.push(chunk({ content: "a" }, null, "other/model:free"));
  sse += stream.push(chunk({ content: "b" }, "stop", "third/model:free"));
  sse += stream.finish();
  assert.equal(stream.start(), "");
  assert.equal(stream.push(chunk({ content: "c" })), "");
  assert.equal(stream.finish(), "");
  const events = parseSse(sse);
  assertSequence(events);
  assert.deepEqual(types(events).slice(0, 2), [
    "response.created",
    "response.in_progress",
  ]);
  assert.equal(final(events).model, "first/model:free");
  assert.equal(final(events).output_text, "ab");
});

Deno.test("ResponsesStream output reads back through the OpenAI SDK's streaming client", async () => {
  const { stream } = streamFor({
    model: "auto",
    input: "x",
    tools: TOOLS,
    stream: true,
  });
  const sse = stream.start() +
    stream.push(chunk({ content: "Checking." })) +
    stream.push(
      chunk(
        toolDelta(0, {
          id: "call_a",
          name: "exec_command",
          args: '{"cmd":"ls"}',
        }),
      ),
    ) +
    stream.push(
      chunk(
        toolDelta(1, {
          id: "call_p",
          name: "apply_patch",
          args: '{"input":"P"}',
        }),
        "tool_calls",
      ),
    ) +
    stream.push(usageChunk(USAGE)) +
    stream.finish();
  const client = new OpenAI({
    apiKey: "test",
    baseURL: "http://freerouter.invalid/v1",
    maxRetries: 0,
    fetch: () =>
      Promise.resolve(
        new globalThis.Response(sse, {
          headers: { "content-type": "text/event-stream" },
        }),
      ),
  });
  const seen: string[] = [];
  const responseStream = client.responses.stream({ model: "auto", input: "x" });
  for await (const event of responseStream) seen.push(event.type);
  assert.equal(seen.at(-1), "response.completed");
  const response = await responseStream.finalResponse();
  assert.equal(response.output_text, "Checking.");
  assert.deepEqual(response.output.map((i) => i.type), [
    "message",
    "function_call",
    "custom_tool_call",
  ]);
  assert.equal(response.usage?.output_tokens, 6);
});
