/**
 * A request longer than a model's context as the upstream counts it
 * (freerouter's estimate said it fit): the 400 sends it on to a model with a
 * larger context, past those no larger, without holding it against the
 * model; and the estimate weighs characters outside ASCII as tokenizers do.
 */
import assert from "node:assert/strict";
import {
  CHARS_PER_TOKEN,
  requestNeeds,
  weightedLength,
} from "../src/core/capabilities.ts";
import { hello, postJson, type Rig, rig } from "./_harness.ts";
import {
  contextLength400,
  modelRpm,
  ok,
  providerError502,
} from "./fake_openrouter/mod.ts";
import {
  A as QA,
  B as QB,
  C as QC,
  models as quotaModels,
  quotaRig,
} from "./_quota.ts";

interface Listed {
  id: string;
  context_length?: number;
}

/** The pool's models in `auto`'s order, with their contexts. */
async function pool(r: Rig): Promise<Required<Listed>[]> {
  const list = await (await r.request("/v1/models")).json();
  return (list.data as Listed[]).filter((m): m is Required<Listed> =>
    typeof m.context_length === "number"
  );
}

/**
 * A pool model to name (a named model goes first, then the rest of the pool
 * in order) after which some model no larger comes before a larger one, the
 * rest, and where in it the first larger model stands.
 */
function named(models: Required<Listed>[]) {
  for (const first of models) {
    const rest = models.filter((m) => m !== first);
    const larger = rest.findIndex((m) =>
      m.context_length > first.context_length
    );
    if (larger > 0) return { first, rest, larger };
  }
  throw new Error("no pool model has a larger one after one no larger");
}

/** The models the fake was asked for, in order. */
function sent(r: Rig): string[] {
  return r.fake.chatRequests().map((c) => (c.body as { model: string }).model);
}

Deno.test("a 400 saying the request is longer than the model's context goes on to the next model with a larger context, past those no larger; the model is not held to blame", async () => {
  await using r = rig();
  const { first, rest, larger } = named(await pool(r));
  r.fake.script(first.id, contextLength400(first.context_length));
  const res = await r.chat(hello(first.id));
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get("x-freerouter-attempts"), "2");
  assert.deepEqual(sent(r), [first.id, rest[larger]!.id]);
  assert.equal(res.headers.get("x-freerouter-model"), rest[larger]!.id);

  // Not cooled down, no failure in its health: it is asked first again.
  const status = await (await r.request("/v1/freerouter/status")).json();
  const row = status.pool.find((m: { id: string }) => m.id === first.id);
  assert.equal(row.state, "ready", JSON.stringify(row));
  assert.equal(row.cooldown_until, null, JSON.stringify(row));
  assert.equal(row.last_error, null, JSON.stringify(row));
  assert.equal(row.consecutive_failures, 0, JSON.stringify(row));
  const again = await r.chat(hello(first.id));
  assert.equal(again.headers.get("x-freerouter-model"), first.id);
});

Deno.test("a request too long for every model that took it gets the upstream's 400 back, after one attempt per larger context", async () => {
  await using r = rig();
  const models = await pool(r);
  for (const m of models) {
    r.fake.script(m.id, contextLength400(m.context_length));
  }
  const res = await r.chat(hello(named(models).first.id));
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.match(body.error.message, /maximum context length/);
  const contexts = sent(r).map((id) =>
    models.find((m) => m.id === id)!.context_length
  );
  assert.ok(contexts.length >= 2, JSON.stringify(contexts));
  assert.equal(res.headers.get("x-freerouter-attempts"), `${contexts.length}`);
  for (let i = 1; i < contexts.length; i++) {
    assert.ok(contexts[i]! > contexts[i - 1]!, JSON.stringify(contexts));
  }
});

Deno.test("a prompt the upstream counts longer than every context gets 400 context_length_exceeded, 'prompt is too long: N tokens > M maximum' by its count, on every front", async () => {
  await using r = rig();
  const models = await pool(r);
  const largest = Math.max(...models.map((m) => m.context_length));
  const counted = largest + 5_000;
  for (const m of models) {
    r.fake.script(
      m.id,
      ...Array.from(
        { length: 3 },
        () => contextLength400(m.context_length, counted, 0),
      ),
    );
  }
  const chat = await r.chat(hello());
  assert.equal(chat.status, 400);
  const body = await chat.json();
  assert.equal(body.error.code, "context_length_exceeded");
  assert.match(
    body.error.message,
    new RegExp(`^prompt is too long: ${counted} tokens > ${largest} maximum`),
  );
  assert.equal(sent(r).length, 1, "no larger model to try");
  const responses = await postJson(r, "/v1/responses", {
    model: "auto",
    input: "Hello",
  });
  assert.equal(responses.status, 400);
  assert.equal((await responses.json()).error.code, "context_length_exceeded");
  const messages = await postJson(r, "/v1/messages", {
    model: "auto",
    max_tokens: 64,
    messages: [{ role: "user", content: "Hello" }],
  });
  assert.equal(messages.status, 400);
  assert.match(
    (await messages.json()).error.message,
    /^prompt is too long: \d+ tokens > \d+ maximum/,
  );
});

/**
 * A model behind a tokenizer that counts a token per 3 characters (the
 * estimate counts 4): it refuses, in OpenRouter's words, a request whose
 * prompt plus `max_tokens` exceeds its context, and answers any other.
 */
function counting(model: string, context: number) {
  return {
    respond(body: unknown) {
      const b = body as { messages: unknown; max_tokens?: number };
      const prompt = Math.ceil(JSON.stringify(b.messages).length / 3);
      return prompt + (b.max_tokens ?? 0) > context
        ? contextLength400(context, prompt, b.max_tokens ?? 0)
        : ok(model, "fits");
    },
  };
}

Deno.test("on /v1/messages a lowered max_tokens that overflowed is lowered again for the next model, by the prompt the upstream counted, so that it fits", async () => {
  const A = "nvidia/nemotron-nano-9b-v2:free"; // 128,000, no completion cap
  const B = "nousresearch/hermes-3-llama-3.1-405b:free"; // 131,072, no cap
  await using r = rig({ aliases: { mine: [A, B] } });
  const models = await pool(r);
  const context = (id: string) =>
    models.find((m) => m.id === id)!.context_length;
  for (const id of [A, B]) {
    r.fake.script(id, ...Array(3).fill(counting(id, context(id))));
  }
  const res = await postJson(r, "/v1/messages", {
    model: "mine",
    max_tokens: 128_000,
    // 120,000 characters: estimated at 30,000 tokens, counted at 40,000.
    messages: [{ role: "user", content: "word ".repeat(24_000) }],
  });
  assert.equal(res.status, 200, await res.clone().text());
  const bodies = r.fake.chatRequests().map((c) =>
    c.body as { model: string; max_tokens: number }
  );
  assert.deepEqual(bodies.map((b) => b.model), [A, B]);
  // The first was lowered to its context less the estimate: it overflowed.
  assert.ok(
    bodies[0]!.max_tokens > context(A) - 40_000,
    `${bodies[0]!.max_tokens}`,
  );
  assert.ok(
    bodies[1]!.max_tokens <= context(B) - 40_000,
    `${bodies[1]!.max_tokens}`,
  );
  assert.equal((await res.json()).type, "message");
});

Deno.test("weightedLength() counts ASCII as is, two-byte characters twice and CJK (and each half of an emoji) four times", () => {
  assert.equal(weightedLength("hello world"), 11);
  assert.equal(weightedLength("привет"), 12);
  assert.equal(weightedLength("你好世界"), 16);
  assert.equal(weightedLength("a😀"), 9);
  assert.equal(weightedLength(""), 0);
});

Deno.test("requestNeeds() estimates a CJK prompt at about a token a character, an ASCII one at a token per four characters", () => {
  const tokens = (content: string) =>
    requestNeeds({ messages: [{ role: "user", content }] }).contextTokens -
    requestNeeds({ messages: [{ role: "user", content: "" }] }).contextTokens;
  assert.equal(tokens("x".repeat(40_000)), 40_000 / CHARS_PER_TOKEN);
  assert.equal(tokens("字".repeat(40_000)), 40_000);
});

Deno.test("a request too long for a model while the larger ones have spent their minute gets the account's wait, not the upstream's 400", async () => {
  await using r = quotaRig();
  const reset = (Math.floor(r.clock.now() / 60_000) + 1) * 60_000;
  r.fake.script(QA, modelRpm(QA, { limit: 1, resetMs: reset }));
  r.fake.script(QB, modelRpm(QB, { limit: 1, resetMs: reset }));
  await (await r.chat(hello())).body?.cancel(); // learns both limits of 1
  r.clock.advance(60_000);
  for (let i = 0; i < 2; i++) await (await r.chat(hello())).body?.cancel();
  // A and B (the larger) have spent this minute; C is too small.
  r.fake.script(QC, contextLength400(100_000));
  const res = await r.chat(hello(QC));
  await res.body?.cancel();
  assert.notEqual(res.status, 400);
  assert.equal(quotaModels(r).at(-1), QC);
});

Deno.test("a named model that was too long does not make its fallback the conversation's model", async () => {
  const turn = (model: string) => ({
    model,
    messages: [{ role: "user", content: "Plan a trip" }, {
      role: "assistant",
      content: "Where to?",
    }, { role: "user", content: "Rome" }],
  });
  await using r = rig({ affinity: true });
  const models = await pool(r);
  const top = models[0]!;
  const first = models.toSorted((a, b) =>
    a.context_length - b.context_length
  )[0]!;
  r.fake.script(first.id, contextLength400(first.context_length));
  // The top model fails once: the named turn ends on another one.
  r.fake.script(top.id, providerError502(top.id));
  const namedTurn = await r.chat(turn(first.id));
  const fallback = namedTurn.headers.get("x-freerouter-model");
  await namedTurn.body?.cancel();
  assert.notEqual(fallback, top.id);
  assert.notEqual(fallback, first.id);
  const next = await r.chat(turn("auto"));
  assert.equal(next.headers.get("x-freerouter-model"), top.id);
  await next.body?.cancel();
});
