/**
 * A stream commits at its first usable output (issue 24): an opening tool
 * call is held until its arguments parse; a stream that ends without content
 * or tool calls, or whose opening tool call never parses, fails before commit
 * and the next model answers. Which model answered (`X-FreeRouter-Model`)
 * tells a held opening from a committed one: a committed stream cannot fall
 * back.
 */
import assert from "node:assert/strict";
import {
  AnswerOpening,
  argumentsParse,
  JsonDepth,
  MAX_HELD_BYTES,
} from "../src/core/answers.ts";
import type { ChatCompletionChunk } from "../src/types.ts";
import { anthropicSdk, toolCallStream } from "./_agent_fronts.ts";
import { hello, rig } from "./_harness.ts";
import {
  chunk,
  DONE,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  PROCESSING,
  usageChunk,
} from "./fake_openrouter/mod.ts";
import { meta, Pacer, readBody, sseEvents, streamStep } from "./_streams.ts";

const [A, B] = POOL as [string, string];
const m = meta(1);

function toolDelta(index: number, args: string, name?: string) {
  const fn = name === undefined
    ? { arguments: args }
    : { name, arguments: args };
  return {
    tool_calls: [{
      index,
      ...(name === undefined ? {} : { id: `call_${index}`, type: "function" }),
      function: fn,
    }],
  };
}

function parsed(sse: string): ChatCompletionChunk {
  return JSON.parse(sse.slice("data: ".length)) as ChatCompletionChunk;
}

// ---------------------------------------------------------------------------
// The rule, as a pure function

Deno.test("AnswerOpening: holds role chunks, whitespace and tool calls until the finish; commits on text, reasoning, a finish whose calls parse or a length stop", () => {
  const take = (...chunks: string[]) => {
    const opening = new AnswerOpening();
    return chunks.map((c) => opening.take(parsed(c)));
  };
  const role = chunk(A, { role: "assistant", content: "" }, null, m);
  assert.deepEqual(take(role, chunk(A, "Hi", null, m)), ["hold", "commit"]);
  assert.deepEqual(take(role, chunk(A, " \n", null, m)), ["hold", "hold"]);
  assert.deepEqual(
    take(chunk(A, { content: "", reasoning: "Let me think" }, null, m)),
    ["commit"],
  );
  assert.deepEqual(
    take(
      role,
      chunk(A, toolDelta(0, '{"cmd": "l', "exec"), null, m),
      chunk(A, toolDelta(0, 's"}'), null, m),
      chunk(A, toolDelta(1, '{"cmd": "pwd"}', "exec"), null, m),
      chunk(A, { content: "" }, "tool_calls", m),
    ),
    ["hold", "hold", "hold", "hold", "commit"],
  );
  assert.deepEqual(take(chunk(A, { content: "" }, "length", m)), ["commit"]);
  assert.deepEqual(take(role, chunk(A, { content: "" }, "stop", m)), [
    "hold",
    "empty_answer",
  ]);
  assert.deepEqual(
    take(
      chunk(A, toolDelta(0, '{"cmd": "l', "exec"), null, m),
      chunk(A, { content: "" }, "tool_calls", m),
    ),
    ["hold", "invalid_tool_call"],
  );
  // A call without arguments is complete once the stream finishes.
  assert.deepEqual(
    take(
      chunk(A, toolDelta(0, "", "now"), null, m),
      chunk(A, { content: "" }, "tool_calls", m),
    ),
    ["hold", "commit"],
  );
});

Deno.test("AnswerOpening.end(): nothing held is an empty answer; held calls commit only when every one parses", () => {
  assert.equal(new AnswerOpening().end(), "empty_answer");
  const good = new AnswerOpening();
  good.take(parsed(chunk(A, toolDelta(0, '{"a":', "f"), null, m)));
  good.take(parsed(chunk(A, toolDelta(0, "1}"), null, m)));
  assert.equal(good.end(), "commit");
  const bad = new AnswerOpening();
  bad.take(parsed(chunk(A, toolDelta(0, '{"a":1}', "f"), null, m)));
  bad.take(parsed(chunk(A, toolDelta(1, '{"b":', "g"), null, m)));
  assert.equal(bad.end(), "invalid_tool_call");
});

Deno.test("AnswerOpening tells calls that share index 0 apart by their ids (some providers number every call 0)", () => {
  const call = (id: string, args: string) => ({
    tool_calls: [{
      index: 0,
      id,
      type: "function",
      function: { name: "f", arguments: args },
    }],
  });
  const both = new AnswerOpening();
  both.take(parsed(chunk(A, call("call_a", '{"city":'), null, m)));
  both.take(
    parsed(
      chunk(
        A,
        { tool_calls: [{ index: 0, function: { arguments: '"A"' } }] },
        null,
        m,
      ),
    ),
  );
  both.take(parsed(chunk(A, call("call_b", '{"city":"B"'), null, m)));
  // The first call's arguments never closed: the second call's do not close it.
  assert.equal(both.end(), "invalid_tool_call");
  const two = new AnswerOpening();
  // Both calls in one chunk that also finishes: each call's arguments parse.
  const chunk2 = parsed(chunk(
    A,
    {
      tool_calls: [
        call("call_a", '{"city":"A"}').tool_calls[0],
        call("call_b", '{"city":"B"}').tool_calls[0],
      ],
    },
    "tool_calls",
    m,
  ));
  assert.equal(two.take(chunk2), "commit");
});

Deno.test("argumentsParse(): JSON objects and empty arguments parse; cut-off JSON does not", () => {
  assert.equal(argumentsParse('{"a": [1, 2]}'), true);
  assert.equal(argumentsParse('{"a": 1}\n'), true);
  assert.equal(argumentsParse(""), true);
  assert.equal(argumentsParse('{"a": [1, 2]'), false);
  assert.equal(argumentsParse('{"a": "}'), false);
});

// ---------------------------------------------------------------------------
// Through the handler

async function streamed(r: ReturnType<typeof rig>) {
  const res = await r.chat(hello("auto", { stream: true }));
  assert.equal(res.status, 200);
  const text = (await readBody(res)).text;
  return { res, text, events: sseEvents(text) };
}

/** Streams `parts` from A and checks they reach the client from A, byte for byte (pacer gates send nothing). */
async function forwardedFromA(
  r: ReturnType<typeof rig>,
  parts: Parameters<typeof streamStep>[0],
) {
  r.fake.script(A, streamStep(parts));
  const { res, text } = await streamed(r);
  assert.equal(res.headers.get("x-freerouter-model"), A);
  assert.equal(text, parts.filter((p) => typeof p === "string").join(""));
}

Deno.test("a stream whose opening tool call's arguments arrive in pieces commits from that model, byte for byte", async () => {
  await using r = rig();
  const parts = [
    chunk(A, { role: "assistant", content: "" }, null, m),
    PROCESSING,
    chunk(A, toolDelta(0, '{"cmd": ', "exec_command"), null, m),
    chunk(A, toolDelta(0, '"ls'), null, m),
    chunk(A, toolDelta(0, ' -la"}'), null, m),
    chunk(A, { content: "" }, "tool_calls", m),
    usageChunk(A, m),
    DONE,
  ];
  await forwardedFromA(r, parts);
});

Deno.test("a stream whose opening tool call ends with arguments that do not parse falls back to the next model", async () => {
  await using r = rig();
  r.fake.script(
    A,
    streamStep([
      chunk(A, { role: "assistant", content: "" }, null, m),
      chunk(A, toolDelta(0, '{"cmd": "ls', "exec_command"), null, m),
      chunk(A, { content: "" }, "tool_calls", m),
      usageChunk(A, m),
      DONE,
    ]),
  );
  const { res, events } = await streamed(r);
  assert.equal(res.headers.get("x-freerouter-model"), B);
  assert.equal(res.headers.get("x-freerouter-attempts"), "2");
  assert.equal(events.at(-1), "[DONE]");
  assert.ok(events.every((e) => !e.includes('"ls')), "nothing of A was sent");
});

/** The error the status report's newest recent request shows. */
async function recentError(r: ReturnType<typeof rig>): Promise<unknown> {
  const status = await (await r.request("/v1/freerouter/status")).json();
  return status.recent[0].error;
}

/** A stream from A of two parallel tool calls (`{}`, then the second's argument pieces), after `text` if given. */
function parallelCalls(second: string[], text?: string) {
  return streamStep([
    chunk(A, { role: "assistant", content: "" }, null, m),
    ...(text === undefined ? [] : [chunk(A, text, null, m)]),
    chunk(A, toolDelta(0, "{}", "read"), null, m),
    ...second.map((args, i) =>
      chunk(A, toolDelta(1, args, i === 0 ? "read" : undefined), null, m)
    ),
    chunk(A, { content: "" }, "tool_calls", m),
    DONE,
  ]);
}

Deno.test("a stream of parallel tool calls whose later call never parses falls back before commit: nothing of it was sent, the next model answers", async () => {
  await using r = rig();
  r.fake.script(A, parallelCalls(['{"path": ']));
  const { res, events } = await streamed(r);
  assert.equal(res.headers.get("x-freerouter-model"), B);
  assert.equal(res.headers.get("x-freerouter-attempts"), "2");
  assert.equal(events.at(-1), "[DONE]");
  assert.ok(events.every((e) => !e.includes('"read"')), "nothing of A's calls");
  assert.equal(await recentError(r), null);
});

Deno.test("a stream of text and then parallel tool calls whose later call never parses, with resumption off, ends with an invalid_tool_call error event, not [DONE], and sends neither call", async () => {
  await using r = rig({ streamResume: false });
  r.fake.script(A, parallelCalls(['{"path": '], "Reading both."));
  const { res, events } = await streamed(r);
  assert.equal(res.headers.get("x-freerouter-model"), A);
  assert.ok(!events.includes("[DONE]"), "not ended as a whole answer");
  assert.equal(JSON.parse(events.at(-1)!).error.code, "invalid_tool_call");
  assert.ok(events.every((e) => !e.includes('"read"')), "no call was sent");
  assert.equal(await recentError(r), "stream_broken");
});

Deno.test("a stream of parallel tool calls that all parse ends with [DONE]", async () => {
  await using r = rig();
  r.fake.script(A, parallelCalls(['{"path": ', '"a.txt"}']));
  const { res, events } = await streamed(r);
  assert.equal(res.headers.get("x-freerouter-model"), A);
  assert.equal(events.at(-1), "[DONE]");
  assert.equal(await recentError(r), null);
});

Deno.test("a stream with n = 2 whose choices each call a tool (their calls share index 0) ends with [DONE]", async () => {
  await using r = rig();
  const event = (choices: unknown[]) =>
    `data: ${
      JSON.stringify({
        id: "gen-n2",
        object: "chat.completion.chunk",
        created: 1,
        model: A,
        choices,
      })
    }\n\n`;
  const call = (choice: number, args: string, id?: string) => ({
    index: choice,
    delta: {
      tool_calls: [{
        index: 0,
        ...(id ? { id, type: "function" } : {}),
        function: id ? { name: "read", arguments: args } : { arguments: args },
      }],
    },
    finish_reason: null,
  });
  r.fake.script(
    A,
    streamStep([
      event([
        { index: 0, delta: { content: "Sure." }, finish_reason: null },
        { index: 1, delta: { content: "Ok." }, finish_reason: null },
      ]),
      event([call(0, "", "call_a"), call(1, "", "call_b")]),
      event([call(0, '{"p":1}')]),
      event([call(1, '{"p":2}')]),
      event([0, 1].map((index) => ({
        index,
        delta: {},
        finish_reason: "tool_calls",
      }))),
      DONE,
    ]),
  );
  const res = await r.chat(hello(A, { stream: true, n: 2 }));
  const events = sseEvents((await readBody(res)).text);
  assert.equal(events.at(-1), "[DONE]");
});

Deno.test("a stream whose opening tool call holds more than MAX_HELD_BYTES of arguments commits anyway (a later stall is not a fallback)", async () => {
  await using r = rig({ streamIdleTimeout: 0.2, streamResume: false });
  const piece = "x".repeat(64 * 1024);
  r.fake.script(
    A,
    streamStep([
      chunk(A, { role: "assistant", content: "" }, null, m),
      chunk(A, toolDelta(0, '{"content": "', "write"), null, m),
      ...Array.from(
        { length: Math.ceil(MAX_HELD_BYTES / piece.length) + 1 },
        () => chunk(A, toolDelta(0, piece), null, m),
      ),
    ], "hang"),
  );
  const { res, events } = await streamed(r);
  assert.equal(res.headers.get("x-freerouter-model"), A);
  assert.equal(JSON.parse(events.at(-1)!).error.code, "stream_stalled");
  assert.equal(r.fake.chatRequests().length, 1);
});

Deno.test("a stream whose opening tool call stalls before its arguments parse times out and falls back", async () => {
  await using r = rig({ streamIdleTimeout: 0.2 });
  r.fake.script(
    A,
    streamStep([
      chunk(A, { role: "assistant", content: "" }, null, m),
      chunk(A, toolDelta(0, '{"cmd": "l', "exec_command"), null, m),
    ], "hang"),
  );
  const { res, events } = await streamed(r);
  assert.equal(res.headers.get("x-freerouter-model"), B);
  assert.equal(events.at(-1), "[DONE]");
  await r.fake.chatRequests()[0]!.aborted;
});

for (
  const [what, parts] of [
    ["a finish_reason and no content", [
      chunk(A, { role: "assistant", content: "" }, null, m),
      chunk(A, { content: "" }, "stop", m),
      usageChunk(A, m),
      DONE,
    ]],
    ["only whitespace, then [DONE] without a finish_reason", [
      chunk(A, { role: "assistant", content: "" }, null, m),
      chunk(A, "\n\n", null, m),
      DONE,
    ]],
    ["a role chunk, then the upstream closing", [
      chunk(A, { role: "assistant", content: "" }, null, m),
    ]],
  ] as const
) {
  Deno.test(`a stream with ${what} is not an answer: the next model answers`, async () => {
    await using r = rig();
    r.fake.script(A, streamStep([...parts]));
    const { res, events } = await streamed(r);
    assert.equal(res.headers.get("x-freerouter-model"), B);
    assert.equal(events.at(-1), "[DONE]");
  });
}

Deno.test("a stream cut by the length limit before any text is an answer (as without streaming)", async () => {
  await using r = rig();
  const parts = [
    chunk(A, { role: "assistant", content: "" }, null, m),
    chunk(A, { content: "" }, "length", m),
    DONE,
  ];
  await forwardedFromA(r, parts);
});

Deno.test("an event that arrives in pieces while the opening is held is forwarded whole", async () => {
  await using r = rig();
  // The pause only paces the upstream, so that the halves arrive in
  // separate reads; nothing waits on it.
  using pacer = new Pacer();
  const hi = chunk(A, "Hi", null, m);
  const parts = [
    chunk(A, { role: "assistant", content: "" }, null, m),
    hi.slice(0, 25),
    hi.slice(25),
    chunk(A, { content: "" }, "stop", m),
    DONE,
  ];
  r.fake.script(
    A,
    streamStep([parts[0]!, parts[1]!, pacer.gate(20), ...parts.slice(2)]),
  );
  const { res, text } = await streamed(r);
  assert.equal(res.headers.get("x-freerouter-model"), A);
  assert.equal(text, parts.join(""));
});

Deno.test("Claude Code's front: a streamed tool_use whose arguments never parse falls back, and the next model's tool call arrives whole", async () => {
  await using r = rig();
  r.fake.script(A, {
    stream: toolCallStream(A, [{
      id: "call_a",
      name: "Bash",
      arguments: '{"command": "ls',
    }]),
  });
  r.fake.script(B, {
    stream: toolCallStream(B, [{
      id: "call_b",
      name: "Bash",
      arguments: '{"command": "pwd"}',
    }], { pieces: 3 }),
  });
  const message = await anthropicSdk(r.handler).messages.stream({
    model: "auto",
    max_tokens: 400,
    messages: [{ role: "user", content: "where am I?" }],
    tools: [{
      name: "Bash",
      input_schema: {
        type: "object",
        properties: { command: { type: "string" } },
      },
    }],
  }).finalMessage();
  assert.equal(message.model, B);
  assert.equal(message.stop_reason, "tool_use");
  const use = message.content.find((b) => b.type === "tool_use");
  assert.deepEqual(use && "input" in use ? use.input : undefined, {
    command: "pwd",
  });
});

// ---------------------------------------------------------------------------
// Reasoning commits (it is not held back); reasoning alone is no answer

function reasoningOnly(model: string): string[] {
  return [
    chunk(model, { role: "assistant", content: "" }, null, m),
    chunk(model, { content: "", reasoning: "Thinking it over" }, null, m),
    chunk(model, { content: "" }, "stop", m),
    usageChunk(model, m),
    DONE,
  ];
}

Deno.test("a stream that reasons and then finishes without an answer is resumed afresh on the next model, in the same stream", async () => {
  await using r = rig({ streamResume: true });
  r.fake.script(A, streamStep(reasoningOnly(A)));
  const res = await r.chat(hello("auto", { stream: true }));
  assert.equal(res.headers.get("x-freerouter-model"), A);
  const { text } = await readBody(res);
  const events = sseEvents(text);
  assert.ok(text.includes("Thinking it over"), "the reasoning was forwarded");
  assert.ok(text.includes(`: resumed on ${B}`));
  assert.ok(
    events.indexOf("[DONE]") === events.length - 1,
    "one [DONE], at the end",
  );
  const [first, second] = r.fake.chatRequests();
  assert.equal(second!.model, B);
  // Nothing but reasoning was forwarded: no empty prefill is sent.
  assert.deepEqual(
    (second!.body as { messages: unknown[] }).messages,
    (first!.body as { messages: unknown[] }).messages,
  );
});

Deno.test("with resumption off, a stream that reasons and then finishes without an answer ends with an empty_answer error event and no [DONE]", async () => {
  await using r = rig({ streamResume: false });
  r.fake.script(A, streamStep(reasoningOnly(A)));
  const res = await r.chat(hello("auto", { stream: true }));
  assert.equal(res.headers.get("x-freerouter-model"), A);
  const events = sseEvents((await readBody(res)).text);
  assert.ok(!events.includes("[DONE]"));
  assert.equal(JSON.parse(events.at(-1)!).error.code, "empty_answer");
  assert.equal(r.fake.chatRequests().length, 1);
});

Deno.test("a fresh continuation (after a reasoning-only break) opens like any answer: a tool call that never parses fails it, and the model after it answers", async () => {
  await using r = rig({ streamResume: true });
  const [, , C] = POOL as [string, string, string];
  r.fake.script(A, streamStep(reasoningOnly(A)));
  r.fake.script(
    B,
    streamStep([
      chunk(B, { role: "assistant", content: "" }, null, m),
      chunk(B, toolDelta(0, '{"cmd": "l', "exec_command"), null, m),
      chunk(B, { content: "" }, "tool_calls", m),
      DONE,
    ]),
  );
  const res = await r.chat(hello("auto", { stream: true }));
  const { text } = await readBody(res);
  assert.ok(!text.includes("exec_command"), "B's broken call was not sent");
  assert.ok(text.includes(`: resumed on ${C}`));
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B, C]);
  assert.equal(sseEvents(text).at(-1), "[DONE]");
  // The continuation is part of the first stream: its id throughout.
  const ids = new Set(
    sseEvents(text).filter((e) => e !== "[DONE]").map((e) => JSON.parse(e).id),
  );
  assert.equal(ids.size, 1);
});

Deno.test("a stream that reasons, writes only whitespace and finishes is resumed without a whitespace prefill", async () => {
  await using r = rig({ streamResume: true });
  r.fake.script(
    A,
    streamStep([
      chunk(A, { role: "assistant", content: "" }, null, m),
      chunk(A, { content: "", reasoning: "Thinking it over" }, null, m),
      chunk(A, "\n\n", null, m),
      chunk(A, { content: "" }, "stop", m),
      DONE,
    ]),
  );
  await readBody(await r.chat(hello("auto", { stream: true })));
  const [first, second] = r.fake.chatRequests();
  assert.deepEqual(
    (second!.body as { messages: unknown[] }).messages,
    (first!.body as { messages: unknown[] }).messages,
  );
});

Deno.test("a held tool call whose deltas keep coming is forwarded whole with the keep-alive comments between them", async () => {
  await using r = rig({ streamIdleTimeout: 2, streamResume: false });
  // The pauses pace the upstream (data 600 ms apart, well under the idle
  // timeout, so that a loaded machine does not stretch a gap past it);
  // nothing waits on them. Comments alone would not keep it alive
  // (keepalive_timeouts_test.ts).
  using pacer = new Pacer();
  const parts = [
    chunk(A, { role: "assistant", content: "" }, null, m),
    chunk(A, toolDelta(0, '{"cmd": ', "exec_command"), null, m),
    pacer.gate(300),
    PROCESSING,
    pacer.gate(300),
    chunk(A, toolDelta(0, '"ls'), null, m),
    pacer.gate(300),
    PROCESSING,
    pacer.gate(300),
    chunk(A, toolDelta(0, ' -la"}'), null, m),
    chunk(A, { content: "" }, "tool_calls", m),
    DONE,
  ];
  await forwardedFromA(r, parts);
});

Deno.test("a stream that ends before its held tool call finishes fails before commit (no finish_reason): the next model answers", async () => {
  await using r = rig();
  r.fake.script(
    A,
    streamStep([
      chunk(A, { role: "assistant", content: "" }, null, m),
      chunk(A, toolDelta(0, "", "now"), null, m),
    ]),
  );
  const { res, events } = await streamed(r);
  assert.equal(res.headers.get("x-freerouter-model"), B);
  assert.equal(events.at(-1), "[DONE]");
});

Deno.test("JsonDepth: balanced once the first value closes, outside strings; braces in strings and escapes do not count", () => {
  const depth = new JsonDepth();
  for (const piece of ['{"a": "}', '\\\\"', ', "b": [1, {"c": "\\"]"}', "]"]) {
    depth.feed(piece);
    assert.equal(depth.balanced, false, piece);
  }
  depth.feed("}");
  assert.equal(depth.balanced, true);
  const empty = new JsonDepth();
  empty.feed("  ");
  assert.equal(empty.balanced, false);
});

Deno.test("AnswerOpening: a tool call the client's own length limit cut commits (the next model would meet it too); one a model's cap cut does not parse", () => {
  const opening = new AnswerOpening(true);
  assert.equal(
    opening.take(
      parsed(chunk(A, toolDelta(0, '{"cmd": "l', "exec_command"), null, m)),
    ),
    "hold",
  );
  assert.equal(
    opening.take(parsed(chunk(A, { content: "" }, "length", m))),
    "commit",
  );
  for (
    const [lengthFinal, finish] of [[true, "tool_calls"], [
      false,
      "length",
    ]] as const
  ) {
    const other = new AnswerOpening(lengthFinal);
    other.take(
      parsed(chunk(A, toolDelta(0, '{"cmd": "l', "exec_command"), null, m)),
    );
    assert.equal(
      other.take(parsed(chunk(A, { content: "" }, finish, m))),
      "invalid_tool_call",
    );
  }
});

/** A's stream of `before`, then a tool call the length limit cut. */
function cutCallStream(before: readonly string[]) {
  return [
    chunk(A, { role: "assistant", content: "" }, null, m),
    ...before,
    chunk(A, toolDelta(0, '{"cmd": "ls', "exec_command"), null, m),
    chunk(A, { content: "" }, "length", m),
    usageChunk(A, m),
    DONE,
  ];
}

for (
  const [what, before] of [
    ["an opening tool call", []],
    ["a tool call after text (held until the finish)", [
      chunk(A, "Checking.", null, m),
    ]],
    ["a tool call after a refusal (forwarded unheld)", [
      chunk(A, { refusal: "Only this:" }, null, m),
    ]],
  ] as const
) {
  Deno.test(`a stream with ${what} that the client's max_tokens cut is the answer: one attempt, forwarded byte for byte, no resumption`, async () => {
    await using r = rig();
    const parts = cutCallStream(before);
    r.fake.script(A, streamStep(parts));
    const res = await r.chat(hello("auto", { stream: true, max_tokens: 8 }));
    assert.equal(res.headers.get("x-freerouter-model"), A);
    assert.equal((await readBody(res)).text, parts.join(""));
    assert.equal(r.fake.chatRequests().length, 1);
  });
}

Deno.test("a stream whose opening tool call a limit the client did not set cut falls back before commit: another model may have room", async () => {
  await using r = rig();
  r.fake.script(A, streamStep(cutCallStream([])));
  const { res, events } = await streamed(r);
  assert.equal(res.headers.get("x-freerouter-model"), B);
  assert.ok(events.every((e) => !e.includes('"ls')), "nothing of A was sent");
});
