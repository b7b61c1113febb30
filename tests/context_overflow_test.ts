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
import { contextLength400 } from "./fake_openrouter/mod.ts";

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

Deno.test("on /v1/messages a clamped request that overflows the model's context goes on to a larger one", async () => {
  await using r = rig();
  const models = await pool(r);
  const { first } = named(models);
  r.fake.script(first.id, contextLength400(first.context_length));
  const res = await postJson(r, "/v1/messages", {
    model: first.id,
    max_tokens: 128_000,
    messages: [{ role: "user", content: "Hello" }],
  });
  assert.equal(res.status, 200, await res.clone().text());
  const [tried, answered] = sent(r) as [string, string];
  assert.equal(tried, first.id);
  const second = models.find((m) => m.id === answered)!;
  assert.ok(second.context_length > first.context_length, answered);
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
