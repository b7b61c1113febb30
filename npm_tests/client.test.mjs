// FreeRouterClient from the installed npm package, against the fake OpenRouter.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import {
  buildFreePool,
  FreeRouterClient,
  FreeRouterError,
  FreeRouterState,
  UpstreamHTTPError,
} from "freerouter";
import {
  badRequest,
  catalog,
  modelBusy,
  POOL,
  startFakeOpenRouter,
  streamParts,
  upstreamDown,
} from "./_fake_openrouter.mjs";

const KEY = "sk-or-v1-npm-test-key";
const HELLO = [{ role: "user", content: "Hello" }];
const TIMEOUT = { timeout: 20_000 };

/** A fake OpenRouter and a client routed to it, both closed after the test. */
async function setup(t, options = {}) {
  const fake = await startFakeOpenRouter();
  const client = new FreeRouterClient({
    apiKey: KEY,
    baseUrl: fake.baseUrl,
    requestTimeout: 10,
    // The fake's catalog has no benchmark data: its stored order, no
    // conversation affinity and no same-model retry, as the tests expect.
    strategy: "priority",
    affinity: false,
    sameModelWait: 0,
    ...options,
  });
  t.after(async () => {
    await client.close();
    await fake.close();
  });
  return { fake, client };
}

/** The error a promise rejects with; fails when it resolves. */
async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail("expected a rejection");
}

const tried = (attempts) => attempts.map((a) => [a.model, a.outcome]);

test("buildFreePool() keeps free chat models, in priority order", () => {
  assert.deepEqual(buildFreePool(catalog()).map((m) => m.id), POOL);
});

test(
  "models() lists the free pool in priority order, fetched once",
  TIMEOUT,
  async (t) => {
    const { fake, client } = await setup(t);
    const models = await client.models();
    assert.deepEqual(models.map((m) => m.id), POOL);
    const [qwen, gemma] = models;
    assert.equal(qwen.owned_by, "qwen");
    assert.equal(qwen.context_length, 262_144);
    assert.equal(qwen.max_completion_tokens, 16_384);
    assert.deepEqual(gemma.input_modalities, ["text", "image"]);
    assert.deepEqual(await client.models(), models);
    assert.equal(fake.modelsRequests().length, 1);
    assert.equal(
      fake.modelsRequests()[0].headers.authorization,
      `Bearer ${KEY}`,
    );
  },
);

test(
  "chat() falls back when the first model answers 429",
  TIMEOUT,
  async (t) => {
    const { fake, client } = await setup(t);
    fake.script(POOL[0], modelBusy(POOL[0]));
    const completion = await client.chat(HELLO, { temperature: 0 });
    assert.equal(completion.freerouter.model, POOL[1]);
    assert.deepEqual(tried(completion.freerouter.attempts), [
      [POOL[0], "429"],
      [POOL[1], "ok"],
    ]);
    assert.equal(completion.model, POOL[1]);
    assert.equal(
      completion.choices[0].message.content,
      `Hello from ${POOL[1]}`,
    );
    const sent = fake.chatRequests();
    assert.deepEqual(sent.map((r) => r.model), [POOL[0], POOL[1]]);
    assert.equal(sent[1].headers.authorization, `Bearer ${KEY}`);
    assert.deepEqual(sent[1].body.messages, HELLO);
    assert.equal(sent[1].body.temperature, 0);
    assert.equal(sent[1].body.stream, undefined);
  },
);

test("chat() asks a requested free model first", TIMEOUT, async (t) => {
  const { fake, client } = await setup(t);
  const completion = await client.chat(HELLO, { model: POOL[2] });
  assert.equal(completion.freerouter.model, POOL[2]);
  assert.deepEqual(fake.chatRequests().map((r) => r.model), [POOL[2]]);
});

test(
  "stream() yields the parsed chunks in order, after falling back",
  TIMEOUT,
  async (t) => {
    const { fake, client } = await setup(t);
    fake.script(POOL[0], upstreamDown(503));
    const chunks = [];
    for await (const chunk of client.stream(HELLO)) chunks.push(chunk);
    assert.deepEqual(
      chunks.map((c) => c.choices[0]?.delta.content ?? null),
      ["", "Hel", "lo", null, null],
    );
    assert.deepEqual(
      chunks.map((c) => c.choices[0]?.finish_reason ?? null),
      [null, null, null, "stop", null],
    );
    assert.ok(chunks.every((c) => c.model === POOL[1]));
    assert.equal(chunks[4].usage.total_tokens, 5);
    const sent = fake.chatRequests();
    assert.deepEqual(sent.map((r) => r.model), [POOL[0], POOL[1]]);
    assert.equal(sent[1].body.stream, true);
  },
);

test(
  "stream(): breaking out of the loop aborts the upstream request",
  TIMEOUT,
  async (t) => {
    const { fake, client } = await setup(t);
    let release;
    const gate = new Promise((resolve) => (release = resolve));
    t.after(() => release());
    fake.script(POOL[0], { stream: streamParts(POOL[0], ["Hel", () => gate]) });
    const seen = [];
    for await (const chunk of client.stream(HELLO)) {
      seen.push(chunk.choices[0]?.delta.content);
      if (seen.includes("Hel")) break;
    }
    assert.deepEqual(seen, ["", "Hel"]);
    await fake.chatRequests()[0].aborted;
  },
);

test(
  "chat() throws UpstreamHTTPError with the upstream's status and body on a 400",
  TIMEOUT,
  async (t) => {
    const { fake, client } = await setup(t);
    fake.script(POOL[0], badRequest());
    const err = await rejection(client.chat(HELLO));
    assert.ok(err instanceof UpstreamHTTPError);
    assert.ok(err instanceof Error);
    assert.equal(err.name, "UpstreamHTTPError");
    assert.equal(err.status, 400);
    assert.equal(err.body, JSON.stringify(badRequest().body));
    assert.match(err.contentType, /application\/json/);
    assert.match(err.message, /temperature: must be at most 2/);
    assert.deepEqual(tried(err.attempts), [[POOL[0], "400"]]);
    assert.equal(fake.chatRequests().length, 1, "a 400 is not retried");
  },
);

test(
  "chat() throws FreeRouterError listing every attempt when all candidates fail",
  TIMEOUT,
  async (t) => {
    const { fake, client } = await setup(t);
    const statuses = [503, 502, 500, 503];
    POOL.forEach((model, i) => fake.script(model, upstreamDown(statuses[i])));
    const err = await rejection(client.chat(HELLO));
    assert.ok(err instanceof FreeRouterError);
    assert.ok(err instanceof Error);
    assert.equal(err.name, "FreeRouterError");
    assert.equal(err.code, "all_candidates_failed");
    assert.equal(err.status, 502);
    assert.deepEqual(
      tried(err.attempts),
      POOL.map((model, i) => [model, String(statuses[i])]),
    );
    assert.ok(err.attempts.every((a) => typeof a.ms === "number" && a.ms >= 0));
    assert.match(err.message, /All 4 attempts failed/);
  },
);

test("maxAttempts bounds the attempts of one request", TIMEOUT, async (t) => {
  const { fake, client } = await setup(t, { maxAttempts: 2 });
  POOL.forEach((model) => fake.script(model, upstreamDown(503)));
  const err = await rejection(client.chat(HELLO));
  assert.ok(err instanceof FreeRouterError);
  assert.deepEqual(err.attempts.map((a) => a.model), POOL.slice(0, 2));
  assert.equal(fake.chatRequests().length, 2);
});

test(
  "chat() without any key throws FreeRouterError missing_api_key and sends nothing",
  TIMEOUT,
  async (t) => {
    const fake = await startFakeOpenRouter();
    const empty = await mkdtemp(join(tmpdir(), "freerouter-nokey-"));
    const cwd = process.cwd();
    const saved = process.env.OPENROUTER_API_KEY;
    delete process.env.OPENROUTER_API_KEY;
    process.chdir(empty); // no .env here
    t.after(async () => {
      process.chdir(cwd);
      if (saved !== undefined) process.env.OPENROUTER_API_KEY = saved;
      await fake.close();
      await rm(empty, { recursive: true });
    });
    const client = new FreeRouterClient({ baseUrl: fake.baseUrl });
    const err = await rejection(client.chat(HELLO));
    await client.close();
    assert.ok(err instanceof FreeRouterError);
    assert.equal(err.code, "missing_api_key");
    assert.equal(err.status, 401);
    assert.equal(fake.chatRequests().length, 0);
  },
);

test(
  "FreeRouterState shared by two clients: one catalog fetch, shared cooldowns",
  TIMEOUT,
  async (t) => {
    const fake = await startFakeOpenRouter();
    const state = new FreeRouterState();
    assert.equal(state.persistent, false);
    const shared = {
      apiKey: KEY,
      baseUrl: fake.baseUrl,
      state,
      strategy: "priority",
    };
    const a = new FreeRouterClient(shared);
    const b = new FreeRouterClient(shared);
    const alone = new FreeRouterClient({
      apiKey: KEY,
      baseUrl: fake.baseUrl,
      strategy: "priority",
    });
    t.after(async () => {
      await Promise.all([a.close(), b.close(), alone.close()]);
      await state.close();
      await fake.close();
    });

    fake.script(POOL[0], modelBusy(POOL[0]));
    const first = await a.chat(HELLO);
    assert.deepEqual(first.freerouter.attempts.map((x) => x.model), [
      POOL[0],
      POOL[1],
    ]);
    // b shares a's cooldown: the model that just said 429 is not asked again.
    const second = await b.chat(HELLO);
    assert.deepEqual(second.freerouter.attempts.map((x) => x.model), [POOL[1]]);
    assert.equal(fake.modelsRequests().length, 1, "b reused a's catalog");

    // A client with its own state knows of no cooldown and fetches its own catalog.
    const third = await alone.chat(HELLO);
    assert.equal(third.freerouter.model, POOL[0]);
    assert.equal(fake.modelsRequests().length, 2);
  },
);
