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
import { dailyCap, errorStatus } from "./fake_openrouter/mod.ts";
import { A, B, C, quotaRig } from "./_quota.ts";

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

Deno.test("createHandler() tells every front's client not to retry a 502 after its own fallback, and leaves a 502 after 429s with a short Retry-After to it", async () => {
  await using r = quotaRig();
  allFail(r);
  for (const [path, body] of HELLO_ON_EVERY_FRONT) {
    const res = await postJson(r, path, body);
    assert.equal(res.status, 502, path);
    assert.equal(res.headers.get("x-should-retry"), "false", path);
    await res.body?.cancel();
  }
  await using later = quotaRig();
  for (const model of [A, B, C]) {
    later.fake.script(model, errorStatus(429, "rl", { "retry-after": "7" }));
  }
  const res = await later.chat(hello());
  assert.equal(res.status, 502);
  assert.equal(res.headers.get("retry-after"), "7");
  assert.equal(res.headers.get("x-should-retry"), null);
  await res.body?.cancel();
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

Deno.test("the official SDKs with their default retries spend one fallback's attempts on a call every model fails, not three", async () => {
  await using r = quotaRig();
  const fetch = handlerFetch(r.handler);
  allFail(r, 9);
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
  assert.equal(r.fake.chatRequests().length, 3, "one attempt per model");
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
  assert.equal(r.fake.chatRequests().length, 6, "one attempt per model");
});
