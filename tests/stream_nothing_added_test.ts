/**
 * A resumed stream is not ended by a continuation that adds nothing: one
 * that finishes at once, after repeating the forwarded text, or after
 * reasoning only may have cut the answer short, so the next model is asked;
 * once a model has found nothing to add, the next one's finish ends the
 * answer as it stands. And a finish that ends no answer never reaches the
 * client before another model's answer. Order is checked by events.
 */
import assert from "node:assert/strict";
import { hello, rig, type RigOptions } from "./_harness.ts";
import { sseEvents } from "./_streams.ts";
import {
  chunk,
  DONE,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  streamErrorEvent,
  streamOk,
  type StreamScript,
  usageChunk,
} from "./fake_openrouter/mod.ts";

const [A, B, C, D] = FREE_CHAT_IDS_IN_PRIORITY_ORDER as [
  string,
  string,
  string,
  string,
];
const meta = { id: "gen-first", created: 1_700_000_000 };

/** A stream that sends `pieces` of text and then an error event (a break after commit). */
function failing(model: string, pieces: string[]): { stream: StreamScript } {
  return {
    stream: {
      parts: [
        chunk(model, { role: "assistant", content: "" }, null, meta),
        ...pieces.map((p) => chunk(model, p, null, meta)),
        streamErrorEvent({ withChoices: true, code: 502 }),
      ],
      end: "hang",
    },
  };
}

/** A stream of `deltas` (text or delta objects), then a `stop` finish, usage and `[DONE]`. */
function finishing(
  model: string,
  deltas: Array<string | Record<string, unknown>>,
): { stream: StreamScript } {
  return {
    stream: {
      parts: [
        chunk(model, { role: "assistant", content: "" }, null, meta),
        ...deltas.map((d) => chunk(model, d, null, meta)),
        chunk(model, { content: "" }, "stop", meta),
        usageChunk(model, meta),
        DONE,
      ],
    },
  };
}

/** A stream whose one chunk after the role carries `content` and the `stop` finish. */
function finishingWith(
  model: string,
  content: string,
): { stream: StreamScript } {
  return {
    stream: {
      parts: [
        chunk(model, { role: "assistant", content: "" }, null, meta),
        chunk(model, { content }, "stop", meta),
        usageChunk(model, meta),
        DONE,
      ],
    },
  };
}

interface Read {
  content: string;
  /** Indexes (in `data`) of chunks carrying a `finish_reason`, with it. */
  finishes: Array<[number, string]>;
  /** Index of the last chunk carrying text. */
  lastText: number;
  usages: number;
  data: string[];
}

function read(data: string[]): Read {
  const out: Read = {
    content: "",
    finishes: [],
    lastText: -1,
    usages: 0,
    data,
  };
  data.forEach((d, i) => {
    if (d === "[DONE]") return;
    const c = JSON.parse(d);
    if (c.usage) out.usages++;
    const choice = c.choices?.[0];
    const text = choice?.delta?.content;
    if (typeof text === "string" && text !== "") {
      out.content += text;
      out.lastText = i;
    }
    if (choice?.finish_reason) out.finishes.push([i, choice.finish_reason]);
  });
  return out;
}

/** The status report's entry of one model. */
async function statusOf(
  r: { request(path: string): Promise<Response> },
  model: string,
): Promise<Record<string, unknown>> {
  const status = await (await r.request("/v1/freerouter/status")).json();
  return status.pool.find((m: { id: string }) => m.id === model);
}

const opts: RigOptions = { strategy: "priority", streamResume: true };

/** Asserts a whole answer: `content`, one finish after all text, one usage chunk, `[DONE]` last. */
function assertOneAnswer(got: Read, content: string): void {
  assert.equal(got.content, content);
  assert.equal(got.finishes.length, 1, JSON.stringify(got.data));
  assert.equal(got.finishes[0]![1], "stop");
  assert.ok(got.finishes[0]![0] > got.lastText, "the finish follows the text");
  assert.equal(got.usages, 1, JSON.stringify(got.data));
  assert.equal(got.data.filter((d) => d === "[DONE]").length, 1);
  assert.equal(got.data.at(-1), "[DONE]");
  assert.ok(!got.data.some((d) => d.includes('"error"')));
}

for (
  const [how, step] of [
    ["finishes at once", finishing(B, [])],
    [
      "repeats the forwarded text and finishes",
      finishing(B, ["The quick ", "brown"]),
    ],
    [
      "only reasons and finishes",
      finishing(B, [{ content: "", reasoning: "Nothing to add" }]),
    ],
    ["sends only whitespace and finishes", finishing(B, ["\n", " "])],
    [
      "finishes with whitespace in the finishing chunk",
      finishingWith(B, "\n"),
    ],
  ] as const
) {
  Deno.test(`resume: a continuation that ${how} adds nothing; the next model finishes the answer, and the model that added nothing keeps its health`, async () => {
    await using r = rig(opts);
    r.fake.script(A, failing(A, ["The quick ", "brown"]));
    r.fake.script(B, step);
    r.fake.script(C, { stream: streamOk(C, [" fox", " jumps."]) });
    const res = await r.chat(hello("auto", { stream: true }));
    assert.equal(res.status, 200);
    assertOneAnswer(
      read(sseEvents(await res.text())),
      "The quick brown fox jumps.",
    );
    assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B, C]);
    // C was asked to continue the same text B was.
    const last = (r.fake.chatRequests()[2]!.body as { messages: unknown[] })
      .messages.at(-1);
    assert.deepEqual(last, {
      role: "assistant",
      content: "The quick brown",
    });
    const b = await statusOf(r, B);
    assert.equal(b.last_error, null);
    assert.equal(b.consecutive_failures, 0);
  });
}

/** What B and C send after A broke: each finds nothing to add, so they agree. */
const REASONING = [{ content: "", reasoning: "It is done" }];
for (
  const [name, fromB, fromC] of [
    [
      "resume: when two models in a row find nothing to add, the answer stands as it was forwarded, with one finish and one [DONE]",
      [],
      [],
    ],
    [
      "resume: a continuation that reasons after a first one found nothing to add ends the answer when it finishes (two models agree)",
      [],
      REASONING,
    ],
    [
      "resume: a committed continuation that reasons and adds nothing counts as a model that found nothing to add: the next one's finish ends the answer",
      REASONING,
      [],
    ],
  ] as const
) {
  Deno.test(name, async () => {
    await using r = rig(opts);
    r.fake.script(A, failing(A, ["The answer ", "is 42."]));
    r.fake.script(B, finishing(B, [...fromB]));
    r.fake.script(C, finishing(C, [...fromC]));
    r.fake.script(D, { stream: streamOk(D, [" Never asked."]) });
    const res = await r.chat(hello("auto", { stream: true }));
    assertOneAnswer(read(sseEvents(await res.text())), "The answer is 42.");
    // No third continuation.
    assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B, C]);
  });
}

Deno.test("a stream that reasons and finishes without an answer sends neither its finish nor its usage: the client reads one finish and one usage chunk, after the next model's answer", async () => {
  await using r = rig(opts);
  r.fake.script(A, finishing(A, [{ content: "", reasoning: "Hmm" }]));
  r.fake.script(B, { stream: streamOk(B, ["Hello ", "there."]) });
  const res = await r.chat(hello("auto", { stream: true }));
  const got = read(sseEvents(await res.text()));
  assertOneAnswer(got, "Hello there.");
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B]);
});

Deno.test("with resumption off, a stream that reasons and finishes without an answer ends with the error event and no finish before it, counting the events the client got", async () => {
  await using r = rig({ ...opts, streamResume: false });
  r.fake.script(A, finishing(A, [{ content: "", reasoning: "Hmm" }]));
  const res = await r.chat(hello("auto", { stream: true }));
  const got = read(sseEvents(await res.text()));
  assert.deepEqual(got.finishes, []);
  assert.equal(got.usages, 0);
  const error = JSON.parse(got.data.at(-1)!).error;
  assert.equal(error.code, "empty_answer");
  // The role chunk and the reasoning: the withheld finish is not counted.
  assert.equal(got.data.length - 1, 2);
  assert.match(error.message, /broke off after 2 events/);
});

Deno.test("a first chunk that reasons and finishes at once is no answer: nothing of it is sent, and the next model answers", async () => {
  await using r = rig(opts);
  r.fake.script(A, {
    stream: {
      parts: [
        chunk(A, { role: "assistant", content: "" }, null, meta),
        chunk(A, { content: "", reasoning: "Hmm" }, "stop", meta),
        usageChunk(A, meta),
        DONE,
      ],
    },
  });
  r.fake.script(B, { stream: streamOk(B, ["Hello ", "there."]) });
  const res = await r.chat(hello("auto", { stream: true }));
  assert.equal(res.headers.get("x-freerouter-model"), B);
  const got = read(sseEvents(await res.text()));
  assertOneAnswer(got, "Hello there.");
  assert.ok(!got.data.some((d) => d.includes("Hmm")));
});

Deno.test("resume: a continuation that stops at the length limit before adding anything ends the answer there (finish length, no other model asked)", async () => {
  await using r = rig(opts);
  r.fake.script(A, failing(A, ["The quick ", "brown"]));
  r.fake.script(B, {
    stream: {
      parts: [
        chunk(B, { role: "assistant", content: "" }, null, meta),
        chunk(B, { content: "" }, "length", meta),
        usageChunk(B, meta),
        DONE,
      ],
    },
  });
  r.fake.script(C, { stream: streamOk(C, [" Never asked."]) });
  const got = read(sseEvents(
    await (await r.chat(
      hello("auto", { stream: true }),
    )).text(),
  ));
  assert.equal(got.content, "The quick brown");
  assert.deepEqual(got.finishes.map(([, f]) => f), ["length"]);
  assert.equal(got.data.at(-1), "[DONE]");
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B]);
});

Deno.test("a stream that asks for two choices is judged at its end: choice 0 reasoning and finishing first does not break it when choice 1 answers", async () => {
  await using r = rig(opts);
  const two = (
    index: number,
    delta: Record<string, unknown>,
    finish = null as string | null,
  ) =>
    `data: ${
      JSON.stringify({
        id: meta.id,
        object: "chat.completion.chunk",
        created: meta.created,
        model: A,
        choices: [{ index, delta, finish_reason: finish }],
      })
    }\n\n`;
  r.fake.script(A, {
    stream: {
      parts: [
        two(0, { role: "assistant", content: "" }),
        two(0, { content: "", reasoning: "Hmm" }),
        two(0, { content: "" }, "stop"),
        two(1, { role: "assistant", content: "Hi" }),
        two(1, { content: "" }, "stop"),
        DONE,
      ],
    },
  });
  const res = await r.chat(hello("auto", { stream: true, n: 2 }));
  const data = sseEvents(await res.text());
  assert.equal(data.at(-1), "[DONE]");
  assert.ok(!data.some((d) => d.includes('"error"')), data.join("\n"));
  assert.equal(r.fake.chatRequests().length, 1);
});

Deno.test("Messages front: a continuation that adds nothing does not end the message; one message_delta with end_turn after the whole text", async () => {
  await using r = rig(opts);
  r.fake.script(A, failing(A, ["The quick ", "brown"]));
  r.fake.script(B, finishing(B, []));
  r.fake.script(C, { stream: streamOk(C, [" fox."]) });
  const res = await r.request("/v1/messages", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "auto",
      max_tokens: 64,
      stream: true,
      messages: [{ role: "user", content: "Hello" }],
    }),
  });
  const blocks = (await res.text()).split("\n\n").filter((b) => b !== "");
  const named = blocks.map((b) => ({
    event: /^event: (.*)$/m.exec(b)?.[1],
    data: /^data: (.*)$/m.exec(b)?.[1],
  }));
  const text = named.filter((e) => e.event === "content_block_delta")
    .map((e) => JSON.parse(e.data!).delta.text ?? "").join("");
  assert.equal(text, "The quick brown fox.");
  const deltas = named.filter((e) => e.event === "message_delta");
  assert.equal(deltas.length, 1);
  assert.equal(JSON.parse(deltas[0]!.data!).delta.stop_reason, "end_turn");
  const lastText = named.findLastIndex((e) =>
    e.event === "content_block_delta"
  );
  assert.ok(named.indexOf(deltas[0]!) > lastText);
  assert.equal(named.at(-1)!.event, "message_stop");
});
