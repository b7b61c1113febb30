/**
 * Resuming a broken stream on the next free model (issue: "Finish the
 * answer"): after commit, a break continues inside the same client stream
 * with the forwarded text as an assistant prefill; the client sees one answer
 * and one `[DONE]`. Order is checked by events.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import {
  clientFor,
  hello,
  manualClock,
  rig,
  type RigOptions,
} from "./_harness.ts";
import {
  badRequest400,
  chunk,
  DONE,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  startFakeOpenRouter,
  streamErrorEvent,
  streamOk,
  type StreamScript,
} from "./fake_openrouter/mod.ts";

import { MAX_HELD_BYTES } from "../src/core/answers.ts";

const [A, B, C] = FREE_CHAT_IDS_IN_PRIORITY_ORDER as [string, string, string];
const meta = { id: "gen-first", created: 1_700_000_000 };

/** A stream that sends `pieces` of text and then breaks as `end` says (or with `tail` events). */
function broken(
  model: string,
  pieces: string[],
  end: StreamScript["end"],
  tail: string[] = [],
): { stream: StreamScript } {
  return {
    stream: {
      parts: [
        chunk(model, { role: "assistant", content: "" }, null, meta),
        ...pieces.map((p) => chunk(model, p, null, meta)),
        ...tail,
      ],
      end,
    },
  };
}

/** A stream that sends `pieces` and then an error event (a break after commit, at once). */
function failing(model: string, pieces: string[]): { stream: StreamScript } {
  return broken(model, pieces, "hang", [
    streamErrorEvent({ withChoices: true, code: 502 }),
  ]);
}

/** The SSE data payloads of a response, in order. */
async function events(res: Response): Promise<string[]> {
  const text = await res.text();
  return text.split("\n\n").flatMap((event) => {
    const data = event.split("\n").filter((l) => l.startsWith("data: "))
      .map((l) => l.slice(6)).join("\n");
    return data === "" ? [] : [data];
  });
}

function contentOf(data: string[]): string {
  return data.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d))
    .map((c) => c.choices?.[0]?.delta?.content ?? "").join("");
}

function lastMessage(body: unknown): unknown {
  return (body as { messages: unknown[] }).messages.at(-1);
}

const opts = (extra: RigOptions = {}): RigOptions => ({
  strategy: "priority",
  streamIdleTimeout: 0.2,
  ...extra,
});

const breaks: Array<[string, { stream: StreamScript }]> = [
  ["a stall", broken(A, ["Hello ", "wor"], "hang")],
  [
    "an error event",
    broken(A, ["Hello ", "wor"], "hang", [
      streamErrorEvent({ withChoices: true, code: 502 }),
    ]),
  ],
  [
    "a malformed event",
    broken(A, ["Hello ", "wor"], "hang", ["data: {oops\n\n"]),
  ],
  [
    "an end without finish_reason",
    broken(A, ["Hello ", "wor"], "close", [DONE]),
  ],
];

for (const [kind, step] of breaks) {
  Deno.test(`resume: after ${kind}, the next model continues the forwarded text inside the same stream`, async () => {
    await using r = rig(opts());
    r.fake.script(A, step);
    r.fake.script(B, { stream: streamOk(B, ["ld", "!"]) });
    const res = await r.chat(hello("auto", { stream: true }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-freerouter-model"), A);
    const data = await events(res);
    assert.equal(contentOf(data), "Hello world!");
    assert.deepEqual(data.filter((d) => d === "[DONE]"), ["[DONE]"]);
    assert.equal(data.at(-1), "[DONE]");
    assert.ok(!data.some((d) => d.includes('"error"')));
    const [first, second] = r.fake.chatRequests();
    assert.equal(first!.model, A);
    assert.equal(second!.model, B);
    assert.deepEqual(lastMessage(second!.body), {
      role: "assistant",
      content: "Hello wor",
    });
    assert.equal((second!.body as { stream: boolean }).stream, true);
    // One answer: the continuation's chunks carry the first stream's id and
    // created, and its role-only chunk is dropped.
    const chunks = data.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d));
    assert.ok(
      chunks.every((c) => c.id === meta.id && c.created === meta.created),
    );
    assert.equal(chunks.filter((c) => c.choices?.[0]?.delta?.role).length, 1);
    assert.equal(chunks.at(-2)?.model ?? chunks.at(-1)?.model, B);
  });
}

Deno.test("resume: a model that answers the prefill with 400 is skipped and the next continues", async () => {
  await using r = rig(opts());
  r.fake.script(A, failing(A, ["Hello ", "wor"]));
  r.fake.script(
    B,
    badRequest400("Last message cannot be an assistant message"),
  );
  r.fake.script(C, { stream: streamOk(C, ["ld."]) });
  const data = await events(await r.chat(hello("auto", { stream: true })));
  assert.equal(contentOf(data), "Hello world.");
  assert.equal(data.at(-1), "[DONE]");
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B, C]);
});

Deno.test("resume: a continuation that repeats the forwarded text exactly has the repeat dropped", async () => {
  await using r = rig(opts());
  r.fake.script(A, failing(A, ["The quick brown ", "fox"]));
  r.fake.script(B, {
    stream: streamOk(B, ["The quick ", "brown fox", " jumps."]),
  });
  const data = await events(await r.chat(hello("auto", { stream: true })));
  assert.equal(contentOf(data), "The quick brown fox jumps.");
  assert.equal(data.at(-1), "[DONE]");
});

for (
  const [name, fromA, fromB, fromC, whole] of [
    [
      "resume: a continuation that starts over and then diverges rejects the prefill; the next model continues",
      ["The quick brown ", "fox"],
      ["The quick brown ", "dog sleeps."],
      " jumps.",
      "The quick brown fox jumps.",
    ],
    [
      "resume: a continuation that starts over in other words rejects the prefill; the client never sees the two beginnings glued",
      ["The capital ", "of France is"],
      ["The capital ", "is Paris."],
      " Paris.",
      "The capital of France is Paris.",
    ],
  ] as const
) {
  Deno.test(name, async () => {
    await using r = rig(opts());
    r.fake.script(A, failing(A, [...fromA]));
    r.fake.script(B, { stream: streamOk(B, [...fromB]) });
    r.fake.script(C, { stream: streamOk(C, [fromC]) });
    const data = await events(await r.chat(hello("auto", { stream: true })));
    assert.equal(contentOf(data), whole);
    assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B, C]);
  });
}

Deno.test("resume: a continuation that starts over in other words after white space, or in Chinese, rejects the prefill; the client never sees the two beginnings glued", async () => {
  for (
    const [first, restart, rest] of [
      [["The capital ", "of France is"], [" ", " The capital is Paris."], [
        " Paris.",
      ]],
      [["巴黎是法国", "的首都，也是"], ["巴黎是法国首都。"], ["最大的城市。"]],
    ]
  ) {
    await using r = rig(opts());
    r.fake.script(A, failing(A, first!));
    r.fake.script(B, { stream: streamOk(B, restart!) });
    r.fake.script(C, { stream: streamOk(C, rest!) });
    const data = await events(await r.chat(hello("auto", { stream: true })));
    assert.equal(contentOf(data), first!.join("") + rest!.join(""));
    assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B, C]);
  }
});

Deno.test("resume: a continuation that breaks after its own first delta is resumed again with all the text so far", async () => {
  await using r = rig(opts());
  r.fake.script(A, failing(A, ["One, "]));
  r.fake.script(B, failing(B, ["two, "]));
  r.fake.script(C, { stream: streamOk(C, ["three."]) });
  const data = await events(await r.chat(hello("auto", { stream: true })));
  assert.equal(contentOf(data), "One, two, three.");
  const third = r.fake.chatRequests()[2]!;
  assert.deepEqual(lastMessage(third.body), {
    role: "assistant",
    content: "One, two, ",
  });
});

Deno.test("resume: when no candidate is left, the error event names the original break", async () => {
  await using r = rig(opts({ maxAttempts: 2 }));
  r.fake.script(A, failing(A, ["Hello ", "wor"]));
  r.fake.script(
    B,
    badRequest400("Last message cannot be an assistant message"),
  );
  const data = await events(await r.chat(hello("auto", { stream: true })));
  const last = JSON.parse(data.at(-1)!);
  assert.equal(last.error.code, 502);
  assert.match(
    last.error.message,
    new RegExp(
      `^Stream from ${A} broke off after 3 events: the upstream failed mid-stream`,
    ),
  );
  assert.doesNotMatch(last.error.message, /assistant message/);
  assert.ok(!data.includes("[DONE]"));
  assert.equal(contentOf(data.slice(0, -1)), "Hello wor");
});

Deno.test("resume: a stream of parallel tool calls that stalls inside the second one falls back before commit (the set is held until its finish)", async () => {
  await using r = rig(opts());
  r.fake.script(
    A,
    broken(A, [], "hang", [
      callChunk(A, 0, '{"a":1}', "call_1"),
      callChunk(A, 1, '{"a"', "call_2"),
    ]),
  );
  r.fake.script(B, { stream: streamOk(B, ["Done."]) });
  // The first tool call's arguments parse; the second call's stream stalls
  // before the set's finish: nothing was sent, the next model answers.
  const res = await r.chat(hello("auto", { stream: true }));
  assert.equal(res.headers.get("x-freerouter-model"), B);
  const data = await events(res);
  assert.equal(data.at(-1), "[DONE]");
  assert.ok(data.every((e) => !e.includes("call_1")), "nothing of A's calls");
  assert.equal(r.fake.chatRequests().length, 2);
});

/**
 * A Bash tool call delta of `model`'s stream; the call's first piece (`id`
 * given) carries its id and name.
 */
function callChunk(model: string, index: number, args: string, id?: string) {
  return chunk(
    model,
    {
      tool_calls: [{
        index,
        ...(id ? { id, type: "function" } : {}),
        function: { ...(id ? { name: "Bash" } : {}), arguments: args },
      }],
    },
    null,
    meta,
  );
}

/** A tool call delta of the first stream's call_1. */
function callPiece(args: string, first = false) {
  return callChunk(A, 0, args, first ? "call_1" : undefined);
}

Deno.test("resume: a tool call that follows text is held until its arguments parse, so a break inside them resumes the text and the partial call never reaches the client", async () => {
  await using r = rig(opts());
  r.fake.script(
    A,
    broken(A, ["Let me run it."], "hang", [
      callPiece('{"command"', true),
      callPiece(': "l'),
    ]),
  );
  r.fake.script(B, { stream: streamOk(B, [" Done."]) });
  const data = await events(await r.chat(hello("auto", { stream: true })));
  assert.equal(contentOf(data), "Let me run it. Done.");
  assert.ok(!data.some((d) => d.includes("tool_calls")), data.join("\n"));
  assert.deepEqual(data.filter((d) => d === "[DONE]"), ["[DONE]"]);
  const [, second] = r.fake.chatRequests();
  assert.equal(second!.model, B);
  assert.deepEqual(lastMessage(second!.body), {
    role: "assistant",
    content: "Let me run it.",
  });
});

Deno.test("resume: parallel tool calls that follow text are held until the finish, so a break inside the second resumes the text and neither call reaches the client", async () => {
  await using r = rig(opts());
  r.fake.script(
    A,
    broken(A, ["Let me run both."], "hang", [
      callPiece('{"command": "ls"}', true),
      callChunk(A, 1, '{"command": "p', "call_2"),
    ]),
  );
  r.fake.script(B, { stream: streamOk(B, [" Done."]) });
  const data = await events(await r.chat(hello("auto", { stream: true })));
  assert.equal(contentOf(data), "Let me run both. Done.");
  assert.ok(!data.some((d) => d.includes("tool_calls")), data.join("\n"));
  assert.deepEqual(data.filter((d) => d === "[DONE]"), ["[DONE]"]);
  assert.equal(r.fake.chatRequests()[1]!.model, B);
});

Deno.test("resume: a continuation that goes on with parallel tool calls holds them until its finish: one that breaks inside the second call is the continuation's failure, and the next model continues", async () => {
  await using r = rig(opts());
  /** A's stream: text, then silence (a break the next model continues). */
  const textThenStall = () =>
    r.fake.script(A, broken(A, ["Let me run both."], "hang"));
  textThenStall();
  r.fake.script(
    B,
    broken(B, [], "hang", [
      callChunk(B, 0, '{"command": "ls"}', "call_1"),
      callChunk(B, 1, '{"command": "p', "call_2"),
    ]),
  );
  r.fake.script(C, { stream: streamOk(C, [" Done."]) });
  const data = await events(await r.chat(hello("auto", { stream: true })));
  assert.ok(!data.some((d) => d.includes("call_1")), data.join("\n"));
  assert.equal(contentOf(data), "Let me run both. Done.");
  assert.deepEqual(data.filter((d) => d === "[DONE]"), ["[DONE]"]);
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B, C]);
  // A continuation whose set is whole reaches the client whole.
  textThenStall();
  r.fake.script(B, {
    stream: {
      parts: [
        chunk(B, { role: "assistant", content: "" }, null, meta),
        callChunk(B, 0, '{"command": "ls"}', "call_1"),
        callChunk(B, 1, '{"command": "pwd"}', "call_2"),
        chunk(B, { content: "" }, "tool_calls", meta),
        DONE,
      ],
    },
  });
  const whole = await events(await r.chat(hello("auto", { stream: true })));
  assert.ok(whole.some((d) => d.includes("call_1")), whole.join("\n"));
  assert.ok(whole.some((d) => d.includes("call_2")), whole.join("\n"));
  assert.deepEqual(whole.filter((d) => d === "[DONE]"), ["[DONE]"]);
});

Deno.test("resume: a tool call that follows text reaches the client whole, byte for byte, once its arguments parse", async () => {
  await using r = rig(opts());
  const parts = [
    chunk(A, { role: "assistant", content: "" }, null, meta),
    chunk(A, "Let me run it.", null, meta),
    callPiece('{"command"', true),
    callPiece(': "ls"}'),
    chunk(A, { content: "" }, "tool_calls", meta),
    DONE,
  ];
  r.fake.script(A, { stream: { parts } });
  const res = await r.chat(hello("auto", { stream: true }));
  assert.equal(await res.text(), parts.join(""));
  assert.equal(r.fake.chatRequests().length, 1);
});

Deno.test("resume: a tool call that follows text goes on unheld past MAX_HELD_BYTES of arguments (then a break is not resumed)", async () => {
  await using r = rig(opts());
  const piece = "x".repeat(64 * 1024);
  const pieces = Array.from(
    { length: Math.ceil(MAX_HELD_BYTES / piece.length) + 1 },
    () => callPiece(piece),
  );
  r.fake.script(
    A,
    broken(A, ["Writing it."], "hang", [
      callPiece('{"content": "', true),
      ...pieces,
    ]),
  );
  const data = await events(await r.chat(hello("auto", { stream: true })));
  assert.ok(data.some((d) => d.includes("tool_calls")), "the call went on");
  assert.equal(JSON.parse(data.at(-1)!).error.code, "stream_stalled");
  assert.equal(r.fake.chatRequests().length, 1, "no continuation");
});

Deno.test("resume: n > 1 is not resumed", async () => {
  await using r = rig(opts());
  r.fake.script(A, failing(A, ["Hello"]));
  const data = await events(
    await r.chat(hello("auto", { stream: true, n: 2 })),
  );
  assert.equal(JSON.parse(data.at(-1)!).error.code, 502);
  assert.equal(r.fake.chatRequests().length, 1);
});

Deno.test("resume: a stream that sent its finish_reason and closed without [DONE] ends cleanly with [DONE]", async () => {
  await using r = rig(opts());
  r.fake.script(A, {
    stream: {
      parts: [
        chunk(A, { role: "assistant", content: "" }, null, meta),
        chunk(A, "Done.", null, meta),
        chunk(A, { content: "" }, "stop", meta),
      ],
      end: "close",
    },
  });
  const data = await events(await r.chat(hello("auto", { stream: true })));
  assert.equal(contentOf(data), "Done.");
  assert.equal(data.at(-1), "[DONE]");
  assert.equal(r.fake.chatRequests().length, 1);
});

Deno.test("resume: streamResume off keeps the error event and sends no continuation", async () => {
  await using r = rig(opts({ streamResume: false }));
  r.fake.script(A, failing(A, ["Hello ", "wor"]));
  const data = await events(await r.chat(hello("auto", { stream: true })));
  assert.equal(JSON.parse(data.at(-1)!).error.code, 502);
  assert.ok(!data.includes("[DONE]"));
  assert.equal(r.fake.chatRequests().length, 1);
});

Deno.test("resume: the continuation is listed in the request's attempts, marked as such, counted in /metrics and logged at debug level", async () => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = {
    debug: (message: string, fields?: Record<string, unknown>) =>
      lines.push({ message, ...fields }),
    info: () => {},
    warn: () => {},
  };
  await using r = rig(opts({ logger }));
  r.fake.script(A, failing(A, ["Hello ", "wor"]));
  r.fake.script(B, { stream: streamOk(B, ["ld"]) });
  await events(await r.chat(hello("auto", { stream: true })));
  const status = await (await r.request("/v1/freerouter/status")).json();
  const attempts = status.recent[0].attempts;
  assert.deepEqual(
    attempts.map((a: { model: string; continuation?: boolean }) => [
      a.model,
      a.continuation === true,
    ]),
    [[A, false], [B, true]],
  );
  const metrics = await (await r.request("/metrics")).text();
  assert.match(
    metrics,
    /freerouter_stream_resumes_total\{outcome="resumed"\} 1/,
  );
  for (const model of [A, B]) {
    const series =
      `freerouter_upstream_attempts_total{model="${model}",class="2xx"} 1`;
    assert.ok(metrics.includes(series), `${series} in\n${metrics}`);
  }
  assert.deepEqual(
    lines.map((l) => [l.message, l.n, l.model, l.continuation ?? false]),
    [["attempt", 1, A, false], ["attempt", 2, B, true]],
  );
});

Deno.test("resume: the official openai SDK's stream iterator yields the whole answer", async () => {
  await using r = rig(opts());
  r.fake.script(A, failing(A, ["Hello ", "wor"]));
  r.fake.script(B, { stream: streamOk(B, ["ld", "!"]) });
  const client = new OpenAI({
    apiKey: "unused",
    baseURL: "http://freerouter.test/v1",
    fetch: (input: string | URL | Request, init?: RequestInit) =>
      r.handler(new Request(input, init)),
    maxRetries: 0,
  });
  const stream = await client.chat.completions.create({
    model: "auto",
    messages: [{ role: "user", content: "Hello" }],
    stream: true,
  });
  let text = "";
  for await (const part of stream) {
    text += part.choices[0]?.delta?.content ?? "";
  }
  assert.equal(text, "Hello world!");
});

Deno.test("resume: after a connection reset mid-stream, the next model continues (the reset comes after the client read the text)", async () => {
  await using r = rig(opts());
  const read = Promise.withResolvers<void>();
  r.fake.script(A, {
    stream: {
      parts: [
        chunk(A, { role: "assistant", content: "" }, null, meta),
        chunk(A, "Hello ", null, meta),
        chunk(A, "wor", null, meta),
        () => read.promise, // the connection resets once the client has the text
      ],
      end: "reset",
    },
  });
  r.fake.script(B, { stream: streamOk(B, ["ld", "!"]) });
  const res = await r.chat(hello("auto", { stream: true }));
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes('"wor"')) text += (await reader.read()).value ?? "";
  read.resolve();
  for (let part = await reader.read(); !part.done; part = await reader.read()) {
    text += part.value;
  }
  const data = text.split("\n\n").flatMap((e) =>
    e.startsWith("data: ") ? [e.slice(6)] : []
  );
  assert.equal(contentOf(data), "Hello world!");
  assert.equal(data.at(-1), "[DONE]");
  assert.ok(text.includes(`: resumed on ${B}`));
  assert.deepEqual(lastMessage(r.fake.chatRequests()[1]!.body), {
    role: "assistant",
    content: "Hello wor",
  });
});

Deno.test("resume: the library's stream() yields the whole answer after a break", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(A, failing(A, ["Hello ", "wor"]));
  fake.script(B, { stream: streamOk(B, ["ld", "!"]) });
  await using client = clientFor(fake, manualClock());
  let text = "";
  for await (const part of client.stream([{ role: "user", content: "Hi" }])) {
    text += part.choices[0]?.delta?.content ?? "";
  }
  assert.equal(text, "Hello world!");
  assert.deepEqual(fake.chatRequests().map((q) => q.model), [A, B]);
});

for (const resume of [true, false]) {
  Deno.test(`a stream that breaks after its commit counts as a failure of its model in the health that ranks it (streamResume ${resume})`, async () => {
    await using r = rig(opts({ streamResume: resume }));
    r.fake.script(A, failing(A, ["Hello ", "wor"]));
    r.fake.script(B, { stream: streamOk(B, ["ld", "!"]) });
    await events(await r.chat(hello("auto", { stream: true })));
    const status = await (await r.request("/v1/freerouter/status")).json();
    const a = status.pool.find((m: { id: string }) => m.id === A);
    assert.equal(a.consecutive_failures, 1);
    assert.match(a.last_error, /stream broke after \d+ events/);
    assert.ok(a.success_rate < 1, `success rate ${a.success_rate}`);
  });
}
