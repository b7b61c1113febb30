/**
 * `x-should-retry: false` on the errors a client's own retry cannot help.
 * The official SDKs (OpenAI's, Anthropic's, inside Claude Code too) retry a
 * 429 or a 5xx by themselves, twice by default, and wait out any
 * `Retry-After`, however long: after freerouter's own fallback a retry spent
 * the attempts again (three times the quota for one call), and after the
 * day's cap the call slept until 00:00 UTC.
 */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import {
  clientRetryHelps,
  MAX_CLIENT_RETRY_WAIT_SECONDS,
} from "../src/core/client_retry.ts";
import { hello, HELLO_ON_EVERY_FRONT, postJson } from "./_harness.ts";
import { handlerFetch } from "./_agent_fronts.ts";
import {
  catalogRow,
  chunk,
  dailyCap,
  errorStatus,
  ok,
  streamErrorEvent,
  streamOk,
} from "./fake_openrouter/mod.ts";
import { arch } from "./fake_openrouter/catalog_row.ts";
import { A, B, C, catalog, quotaRig } from "./_quota.ts";

Deno.test("clientRetryHelps(): no retry of a 502 without a short wait, nor of a 429 that waits past a minute; else the client's call", () => {
  const cases: Array<[number, number | undefined, false | undefined]> = [
    [502, undefined, false],
    [502, MAX_CLIENT_RETRY_WAIT_SECONDS + 1, false],
    [502, MAX_CLIENT_RETRY_WAIT_SECONDS, undefined],
    [502, 7, undefined],
    [429, 86_245, false],
    [429, MAX_CLIENT_RETRY_WAIT_SECONDS + 1, false],
    [429, MAX_CLIENT_RETRY_WAIT_SECONDS, undefined],
    [429, undefined, undefined],
    [503, undefined, undefined],
    [500, undefined, undefined],
    [400, undefined, undefined],
  ];
  for (const [status, wait, expected] of cases) {
    assert.equal(clientRetryHelps(status, wait), expected, `${status} ${wait}`);
  }
});

/** Every model of the quota catalog fails with a 503, `times` times over. */
function allFail(r: ReturnType<typeof quotaRig>, times = 3): void {
  for (const model of [A, B, C]) {
    r.fake.script(
      model,
      ...Array.from({ length: times }, () => errorStatus(503)),
    );
  }
}

Deno.test("createHandler(): after a request every model failed, the account sends no attempt for 30 s (a client's retry after it is worth it); a second failed round pauses 120 s and tells every front's client to stop; an answer ends the outage", async () => {
  await using r = quotaRig();
  allFail(r, 2);
  const first = await r.chat(hello());
  assert.equal(first.status, 502);
  assert.equal(first.headers.get("retry-after"), "30");
  assert.equal(first.headers.get("x-should-retry"), null);
  assert.match(
    (await first.json()).error.message,
    /These models are down: freerouter sends them no attempt for 30 s/,
  );
  assert.equal(r.fake.chatRequests().length, 3);
  r.clock.advance(10_000);
  for (const [path, body] of HELLO_ON_EVERY_FRONT) {
    const res = await postJson(r, path, body);
    assert.equal(res.status, 502, path);
    assert.equal(res.headers.get("retry-after"), "20", path);
    assert.equal(res.headers.get("x-should-retry"), null, path);
    await res.body?.cancel();
  }
  assert.equal(r.fake.chatRequests().length, 3, "nothing sent in the pause");
  r.clock.advance(20_000);
  const second = await r.chat(hello());
  assert.equal(second.status, 502);
  assert.equal(second.headers.get("retry-after"), "120");
  assert.equal(second.headers.get("x-should-retry"), "false");
  await second.body?.cancel();
  assert.equal(r.fake.chatRequests().length, 6);
  for (const [path, body] of HELLO_ON_EVERY_FRONT) {
    const res = await postJson(r, path, body);
    assert.equal(res.status, 502, path);
    assert.equal(res.headers.get("x-should-retry"), "false", path);
    // Codex waits out any Retry-After: a long one goes in its own header.
    assert.equal(
      path === "/v1/responses"
        ? res.headers.get("x-ratelimit-reset-requests")
        : res.headers.get("retry-after"),
      path === "/v1/responses" ? "120s" : "120",
      path,
    );
    await res.body?.cancel();
  }
  assert.equal(r.fake.chatRequests().length, 6, "nothing sent in the pause");
  r.clock.advance(120_000);
  const answered = await r.chat(hello());
  assert.equal(answered.status, 200);
  await answered.body?.cancel();
  allFail(r, 1);
  const again = await r.chat(hello());
  assert.equal(again.status, 502);
  assert.equal(again.headers.get("retry-after"), "30", "a new outage");
  await again.body?.cancel();
});

Deno.test("createHandler() leaves a 502 after 429s, with its short Retry-After, to the client's retry; fewer than 3 models failing is no outage", async () => {
  await using r = quotaRig();
  for (const model of [A, B, C]) {
    r.fake.script(model, errorStatus(429, "rl", { "retry-after": "7" }));
  }
  const res = await r.chat(hello());
  assert.equal(res.status, 502);
  assert.equal(res.headers.get("retry-after"), "7");
  assert.equal(res.headers.get("x-should-retry"), null);
  await res.body?.cancel();
  await using two = quotaRig({ maxAttempts: 2 });
  allFail(two, 2);
  const failed = await two.chat(hello());
  assert.equal(failed.status, 502);
  assert.equal(failed.headers.get("retry-after"), null);
  assert.equal(failed.headers.get("x-should-retry"), "false");
  await failed.body?.cancel();
  const next = await two.chat(hello());
  assert.equal(next.status, 502);
  await next.body?.cancel();
  assert.equal(two.fake.chatRequests().length, 4, "no pause: sent again");
});

Deno.test("createHandler() tells every front's client not to retry the day's cap; a minute's wait is left to it", async () => {
  await using r = quotaRig();
  const reset = r.clock.now() + 3 * 3600_000;
  r.fake.script(A, dailyCap({ resetMs: reset }));
  await (await r.chat(hello())).body?.cancel();
  for (const [path, body] of HELLO_ON_EVERY_FRONT) {
    const res = await postJson(r, path, body);
    assert.equal(res.status, 429, path);
    assert.equal(res.headers.get("x-should-retry"), "false", path);
    await res.body?.cancel();
  }
  r.clock.advance(3 * 3600_000 - 30_000);
  for (const [path, body] of HELLO_ON_EVERY_FRONT) {
    const res = await postJson(r, path, body);
    assert.equal(res.status, 429, path);
    assert.equal(res.headers.get("retry-after"), "30", path);
    assert.equal(res.headers.get("x-should-retry"), null, path);
    await res.body?.cancel();
  }
});

Deno.test("the official SDKs with their default retries spend one round of attempts on a call after an outage's first pause, and none during its second", async () => {
  await using r = quotaRig();
  const fetch = handlerFetch(r.handler);
  allFail(r, 9);
  await (await r.chat(hello())).body?.cancel(); // the outage's first round
  r.clock.advance(30_000);
  const openai = new OpenAI({
    apiKey: "client-key",
    baseURL: "http://freerouter.test/v1",
    fetch,
  });
  await assert.rejects(
    openai.chat.completions.create({
      model: "auto",
      messages: [{ role: "user", content: "Hello" }],
    }),
    (err) => err instanceof OpenAI.InternalServerError && err.status === 502,
  );
  assert.equal(r.fake.chatRequests().length, 6, "one attempt per model");
  const anthropic = new Anthropic({
    apiKey: "client-key",
    baseURL: "http://freerouter.test",
    fetch,
  });
  await assert.rejects(
    anthropic.messages.create({
      model: "auto",
      max_tokens: 100,
      messages: [{ role: "user", content: "Hello" }],
    }),
    (err) => err instanceof Anthropic.InternalServerError && err.status === 502,
  );
  assert.equal(r.fake.chatRequests().length, 6, "none in the pause");
});

Deno.test("createHandler(): an outage of the image models holds the image requests that would go to them, not a text request for other models", async () => {
  const vision = ["vis/one:free", "vis/two:free", "vis/three:free"];
  const text = ["txt/one:free", "txt/two:free"];
  await using r = quotaRig({
    fakeOptions: {
      models: [
        ...text.map((id) => catalogRow({ id, context_length: 300_000 })),
        ...vision.map((id) =>
          catalogRow({
            id,
            context_length: 100_000,
            architecture: arch("Other", ["text", "image"]),
          })
        ),
      ],
    },
  });
  for (const id of vision) r.fake.script(id, errorStatus(503));
  const image = hello("auto", {
    messages: [{
      role: "user",
      content: [{
        type: "image_url",
        image_url: { url: "https://example.test/cat.png" },
      }],
    }],
  });
  const failed = await r.chat(image);
  assert.equal(failed.status, 502);
  assert.equal(failed.headers.get("retry-after"), "30");
  await failed.body?.cancel();
  assert.equal(r.fake.chatRequests().length, 3);
  const held = await r.chat(image);
  assert.equal(held.status, 502);
  await held.body?.cancel();
  assert.equal(r.fake.chatRequests().length, 3, "the image request is held");
  const answered = await r.chat(hello());
  assert.equal(answered.status, 200);
  assert.equal(answered.headers.get("x-freerouter-model"), text[0]);
  await answered.body?.cancel();
});

Deno.test("createHandler(): in an outage of the first models, the next request tries the others first and is answered; a failure that is no outage (answers that were no answers) pauses nothing", async () => {
  const D = "delta/four:free";
  await using r = quotaRig({
    maxAttempts: 3,
    fakeOptions: {
      models: [...catalog(), catalogRow({ id: D, context_length: 50_000 })],
    },
  });
  allFail(r, 1);
  const failed = await r.chat(hello());
  assert.equal(failed.status, 502);
  assert.equal(failed.headers.get("retry-after"), "30");
  await failed.body?.cancel();
  const answered = await r.chat(hello());
  assert.equal(answered.status, 200);
  assert.equal(answered.headers.get("x-freerouter-model"), D);
  await answered.body?.cancel();

  await using empty = quotaRig();
  for (const model of [A, B, C]) empty.fake.script(model, ok(model, ""));
  const noAnswers = await empty.chat(hello());
  assert.equal(noAnswers.status, 502);
  assert.equal(noAnswers.headers.get("retry-after"), null);
  await noAnswers.body?.cancel();
  const next = await empty.chat(hello());
  assert.equal(next.status, 200, "not held");
  await next.body?.cancel();
  assert.equal(empty.fake.chatRequests().length, 4);
});

/** The quota catalog plus D and E, two more models with tools. */
function fiveModels() {
  return [
    ...catalog(),
    catalogRow({ id: D, context_length: 50_000 }),
    catalogRow({ id: E, context_length: 40_000 }),
  ];
}
const D = "delta/four:free";
const E = "epsilon/five:free";

Deno.test("createHandler(): in an outage's pause a request sends nothing to the outage's models, also after the others failed, and is told when to come back", async () => {
  await using r = quotaRig({
    maxAttempts: 3,
    fakeOptions: { models: fiveModels() },
  });
  allFail(r, 1);
  await (await r.chat(hello())).body?.cancel(); // A, B, C: the outage
  r.fake.script(D, errorStatus(503));
  r.fake.script(E, errorStatus(503));
  r.clock.advance(5_000);
  const res = await r.chat(hello());
  assert.equal(res.status, 502);
  assert.equal(res.headers.get("retry-after"), "25");
  await res.body?.cancel();
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model).slice(3), [D, E]);
});

Deno.test("createHandler(): a stream that breaks in an outage is finished by a model outside it, not sent to the outage's models", async () => {
  await using r = quotaRig({
    maxAttempts: 3,
    fakeOptions: { models: fiveModels() },
  });
  allFail(r, 1);
  await (await r.chat(hello())).body?.cancel(); // A, B, C: the outage
  r.fake.script(D, {
    stream: {
      parts: [
        chunk(D, { role: "assistant", content: "Hello " }),
        streamErrorEvent({ withChoices: true, code: 502 }),
      ],
      end: "hang",
    },
  });
  r.fake.script(E, { stream: streamOk(E, ["world."]) });
  const res = await r.chat(hello("auto", { stream: true }));
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /world\./);
  assert.match(text, /data: \[DONE\]/);
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model).slice(3), [D, E]);
});
