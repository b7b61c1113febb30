import assert from "node:assert/strict";
import {
  accumulate,
  as,
  assertSequence,
  chunk,
  final,
  run,
  streamFor,
  toolDelta,
  TOOLS,
  types,
  USAGE,
  usageChunk,
} from "./responses_helpers.ts";

Deno.test("ResponsesStream streams text: created, in_progress, item and part events, completed with usage", () => {
  const { stream } = streamFor({ model: "auto", input: "Hi", stream: true });
  const events = run(stream, [
    chunk({ role: "assistant", content: "" }),
    chunk({ content: "Hel" }),
    chunk({ content: "lo" }, "stop"),
    usageChunk(USAGE),
  ]);
  assertSequence(events);
  assert.deepEqual(types(events), [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
  ]);
  const created = as(events[0], "response.created").response;
  assert.equal(created.id, "resp_test");
  assert.equal(created.status, "in_progress");
  assert.equal(created.model, "first/model:free");
  assert.equal(created.created_at, 1700000001);
  assert.deepEqual(created.output, []);
  assert.equal(
    as(events[1], "response.in_progress").response.status,
    "in_progress",
  );
  assert.deepEqual(as(events[2], "response.output_item.added"), {
    type: "response.output_item.added",
    sequence_number: 2,
    output_index: 0,
    item: {
      id: "msg_1",
      type: "message",
      role: "assistant",
      status: "in_progress",
      content: [],
    },
  });
  assert.deepEqual(as(events[3], "response.content_part.added"), {
    type: "response.content_part.added",
    sequence_number: 3,
    item_id: "msg_1",
    output_index: 0,
    content_index: 0,
    part: { type: "output_text", text: "", annotations: [], logprobs: [] },
  });
  assert.deepEqual(as(events[4], "response.output_text.delta"), {
    type: "response.output_text.delta",
    sequence_number: 4,
    item_id: "msg_1",
    output_index: 0,
    content_index: 0,
    delta: "Hel",
    logprobs: [],
  });
  assert.equal(as(events[5], "response.output_text.delta").delta, "lo");
  assert.deepEqual(as(events[6], "response.output_text.done"), {
    type: "response.output_text.done",
    sequence_number: 6,
    item_id: "msg_1",
    output_index: 0,
    content_index: 0,
    text: "Hello",
    logprobs: [],
  });
  const part = as(events[7], "response.content_part.done");
  assert.deepEqual(part.part, {
    type: "output_text",
    text: "Hello",
    annotations: [],
    logprobs: [],
  });
  const item = {
    id: "msg_1",
    type: "message",
    role: "assistant",
    status: "completed",
    content: [{
      type: "output_text",
      text: "Hello",
      annotations: [],
      logprobs: [],
    }],
  };
  assert.deepEqual(as(events[8], "response.output_item.done").item, item);
  const done = final(events);
  assert.equal(done.status, "completed");
  assert.deepEqual(done.output, [item]);
  assert.equal(done.output_text, "Hello");
  assert.deepEqual(done.usage, {
    input_tokens: 10,
    input_tokens_details: { cached_tokens: 2, cache_write_tokens: 0 },
    output_tokens: 6,
    output_tokens_details: { reasoning_tokens: 1 },
    total_tokens: 16,
  });
  assert.deepEqual(accumulate(events), done);
});

Deno.test("ResponsesStream closes the text before a tool call and streams its arguments", () => {
  const { stream } = streamFor({ input: "x", tools: TOOLS, stream: true });
  const events = run(stream, [
    chunk({ content: "Let me look." }),
    chunk(toolDelta(0, { id: "call_a", name: "exec_command", args: "" })),
    chunk(toolDelta(0, { args: '{"cmd":' })),
    chunk(toolDelta(0, { args: '"ls"}' })),
    chunk({}, "tool_calls"),
    usageChunk(USAGE),
  ]);
  assertSequence(events);
  assert.deepEqual(types(events).slice(2), [
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.output_item.added",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.output_item.done",
    "response.completed",
  ]);
  assert.deepEqual(as(events[8], "response.output_item.added"), {
    type: "response.output_item.added",
    sequence_number: 8,
    output_index: 1,
    item: {
      type: "function_call",
      id: "fc_2",
      call_id: "call_a",
      name: "exec_command",
      arguments: "",
      status: "in_progress",
    },
  });
  assert.deepEqual(as(events[9], "response.function_call_arguments.delta"), {
    type: "response.function_call_arguments.delta",
    sequence_number: 9,
    item_id: "fc_2",
    output_index: 1,
    delta: '{"cmd":',
  });
  assert.deepEqual(as(events[11], "response.function_call_arguments.done"), {
    type: "response.function_call_arguments.done",
    sequence_number: 11,
    item_id: "fc_2",
    output_index: 1,
    name: "exec_command",
    arguments: '{"cmd":"ls"}',
  });
  const call = {
    type: "function_call",
    id: "fc_2",
    call_id: "call_a",
    name: "exec_command",
    arguments: '{"cmd":"ls"}',
    status: "completed",
  };
  assert.deepEqual(as(events[12], "response.output_item.done").item, call);
  const done = final(events);
  assert.deepEqual(done.output.map((i) => i.type), [
    "message",
    "function_call",
  ]);
  assert.deepEqual(done.output[1], call);
  assert.deepEqual(accumulate(events), done);
});

Deno.test("ResponsesStream finishes a function call without arguments with the arguments {}", () => {
  const { stream } = streamFor({ input: "x", tools: TOOLS });
  const events = run(stream, [
    chunk(toolDelta(0, { id: "call_a", name: "exec_command", args: "" })),
    chunk({}, "tool_calls"),
  ]);
  assertSequence(events);
  const done = events.filter((e) =>
    e.type === "response.function_call_arguments.done"
  ).map((e) => as(e, "response.function_call_arguments.done").arguments);
  assert.deepEqual(done, ["{}"]);
  const item = final(events).output[0]!;
  assert.equal(item.type === "function_call" && item.arguments, "{}");
});

Deno.test("ResponsesStream gives two tool calls their own items, ids and output indexes", () => {
  const { stream } = streamFor({ input: "x", tools: TOOLS });
  const events = run(stream, [
    chunk(
      toolDelta(0, { id: "call_a", name: "exec_command", args: '{"cmd":"a"}' }),
    ),
    chunk(
      toolDelta(1, { id: "call_b", name: "exec_command", args: '{"cmd":' }),
    ),
    chunk(toolDelta(0, { args: "" })),
    chunk(toolDelta(1, { args: '"b"}' }), "tool_calls"),
  ]);
  assertSequence(events);
  const added = events.filter((e) => e.type === "response.output_item.added");
  const deltas = events.filter((e) =>
    e.type === "response.function_call_arguments.delta"
  );
  const doneArgs = events.filter((e) =>
    e.type === "response.function_call_arguments.done"
  );
  assert.deepEqual(
    added.map((e) => {
      const { item, output_index } = as(e, "response.output_item.added");
      return [
        output_index,
        item.id,
        item.type === "function_call" && item.call_id,
      ];
    }),
    [[0, "fc_1", "call_a"], [1, "fc_2", "call_b"]],
  );
  assert.deepEqual(
    deltas.map((e) => {
      const d = as(e, "response.function_call_arguments.delta");
      return [d.item_id, d.output_index, d.delta];
    }),
    [["fc_1", 0, '{"cmd":"a"}'], ["fc_2", 1, '{"cmd":'], ["fc_2", 1, '"b"}']],
  );
  assert.deepEqual(
    doneArgs.map((e) => {
      const d = as(e, "response.function_call_arguments.done");
      return [d.item_id, d.arguments];
    }),
    [["fc_1", '{"cmd":"a"}'], ["fc_2", '{"cmd":"b"}']],
  );
  const done = final(events);
  assert.deepEqual(
    done.output.map((i) =>
      i.type === "function_call" && [i.call_id, i.arguments]
    ),
    [["call_a", '{"cmd":"a"}'], ["call_b", '{"cmd":"b"}']],
  );
  assert.deepEqual(accumulate(events), done);
});

Deno.test("ResponsesStream forwards every piece of arguments split across many deltas", () => {
  const { stream } = streamFor({ input: "x", tools: TOOLS });
  const args = JSON.stringify({ cmd: "grep -rn 'needle' src/ | head -20" });
  const pieces = args.match(/.{1,3}/g) ?? [];
  assert.ok(pieces.length > 10);
  const events = run(stream, [
    chunk(toolDelta(0, { id: "call_a", name: "exec_command" })),
    ...pieces.map((piece) => chunk(toolDelta(0, { args: piece }))),
    chunk({}, "tool_calls"),
  ]);
  assertSequence(events);
  const deltas = events
    .filter((e) => e.type === "response.function_call_arguments.delta")
    .map((e) => as(e, "response.function_call_arguments.delta").delta);
  assert.deepEqual(deltas, pieces);
  const doneArgs = events.find((e) =>
    e.type === "response.function_call_arguments.done"
  );
  assert.equal(
    as(doneArgs, "response.function_call_arguments.done").arguments,
    args,
  );
});

Deno.test("ResponsesStream reports the usage chunk, and leaves usage out without one", () => {
  const withUsage = streamFor({ input: "x" }).stream;
  const events = run(withUsage, [
    chunk({ content: "a" }, "stop"),
    usageChunk(USAGE),
  ]);
  assert.equal(final(events).usage?.total_tokens, 16);
  assert.equal(final(events).usage?.input_tokens, 10);
  const noTotal = streamFor({ input: "x" }).stream;
  const summed = run(noTotal, [
    chunk({ content: "a" }, "stop"),
    usageChunk({ prompt_tokens: 3, completion_tokens: 4 }),
  ]);
  assert.equal(final(summed).usage?.total_tokens, 7);
  const without = run(streamFor({ input: "x" }).stream, [
    chunk({ content: "a" }, "stop"),
  ]);
  assert.equal("usage" in final(without), false);
});

Deno.test("ResponsesStream ends with response.incomplete on length and content_filter, completed otherwise", () => {
  for (
    const [reason, type, detail] of [
      ["length", "response.incomplete", { reason: "max_output_tokens" }],
      ["content_filter", "response.incomplete", { reason: "content_filter" }],
      ["stop", "response.completed", null],
      ["tool_calls", "response.completed", null],
      [null, "response.completed", null],
    ] as const
  ) {
    const events = run(streamFor({ input: "x" }).stream, [
      chunk({ content: "partial" }, reason),
    ]);
    assertSequence(events);
    assert.equal(events.at(-1)?.type, type, String(reason));
    const response = final(events);
    assert.equal(
      response.status,
      type === "response.completed" ? "completed" : "incomplete",
    );
    assert.deepEqual(response.incomplete_details, detail);
    // The text item is still closed properly before the end.
    assert.equal(events.at(-2)?.type, "response.output_item.done");
    assert.deepEqual(accumulate(events), response);
  }
});

Deno.test("ResponsesStream marks what a length limit cut incomplete: the open text, or the call whose arguments do not parse; a whole call before it stays completed", () => {
  const status = (events: ReturnType<typeof run>) =>
    final(events).output.map((i) =>
      `${i.type}:${"status" in i ? i.status : ""}`
    );
  // Text cut by the limit.
  const text = run(streamFor({ input: "x" }).stream, [
    chunk({ content: "Once upon a" }, "length"),
  ]);
  assertSequence(text);
  assert.deepEqual(status(text), ["message:incomplete"]);
  const done = as(text.at(-2), "response.output_item.done").item;
  assert.equal("status" in done && done.status, "incomplete");
  assert.deepEqual(accumulate(text), final(text));
  // Text, a whole call, then a call the limit cut.
  const { stream } = streamFor({ input: "x", tools: TOOLS, stream: true });
  const calls = run(stream, [
    chunk({ content: "Checking." }),
    chunk(
      toolDelta(0, {
        id: "call_a",
        name: "exec_command",
        args: '{"cmd":"ls"}',
      }),
    ),
    chunk(
      toolDelta(1, { id: "call_b", name: "exec_command", args: '{"cmd":"ca' }),
    ),
    chunk({}, "length"),
  ]);
  assertSequence(calls);
  assert.equal(calls.at(-1)?.type, "response.incomplete");
  assert.deepEqual(status(calls), [
    "message:completed",
    "function_call:completed",
    "function_call:incomplete",
  ]);
  assert.deepEqual(accumulate(calls), final(calls));
  // The same calls finished by the model are all completed.
  const whole = run(
    streamFor({ input: "x", tools: TOOLS, stream: true }).stream,
    [
      chunk(
        toolDelta(0, {
          id: "call_b",
          name: "exec_command",
          args: '{"cmd":"ca',
        }),
      ),
      chunk({}, "tool_calls"),
    ],
  );
  assert.deepEqual(status(whole), ["function_call:completed"]);
});
