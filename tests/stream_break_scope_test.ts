/**
 * A committed stream that breaks with OpenRouter's error event (the
 * documented mid-stream shape, ../shared/openrouter-api.md §4) says what a
 * 429 before the stream would: a rate-limited model cools down, the daily cap
 * blocks the account. The resumption and the next requests see it.
 */
import assert from "node:assert/strict";
import { hello } from "./_harness.ts";
import { chunk, streamErrorEvent } from "./fake_openrouter/mod.ts";
import { A, B, models, quotaRig, status } from "./_quota.ts";
import { accountIdOf } from "../src/state/account_id.ts";

const brokenStream = (error: string) => ({
  stream: {
    parts: [
      chunk(A, { role: "assistant", content: "" }),
      chunk(A, "Hello, this is the start of an answer"),
      error,
    ],
  },
});

Deno.test("a mid-stream 429 event after content cools the model down: the stream resumes elsewhere and the next requests skip it until the cooldown ends", async () => {
  await using r = quotaRig({ cooldownSeconds: 60 });
  r.fake.script(
    A,
    brokenStream(streamErrorEvent({ withChoices: true, code: 429, model: A })),
  );
  const res = await r.chat(hello("auto", { stream: true }));
  const text = await res.text();
  assert.match(text, /start of an answer/);
  assert.match(text, /\[DONE\]/);
  r.clock.advance(5_000);
  const during = await r.chat(hello());
  assert.equal(during.headers.get("x-freerouter-model"), B);
  await during.body?.cancel();
  r.clock.advance(60_000);
  const after = await r.chat(hello());
  assert.equal(after.headers.get("x-freerouter-model"), A);
  await after.body?.cancel();
  assert.deepEqual(models(r), [A, B, B, A]);
});

Deno.test("a mid-stream daily-cap event blocks the account: the resumption spends no attempt, and the next request gets 429 without one", async () => {
  await using r = quotaRig();
  r.fake.script(
    A,
    brokenStream(streamErrorEvent({ withChoices: false, code: 429 })),
  );
  const res = await r.chat(hello("auto", { stream: true }));
  const text = await res.text();
  assert.match(text, /start of an answer/);
  assert.match(text, /"error"/, "the stream ends with an error event");
  const next = await r.chat(hello());
  assert.equal(next.status, 429);
  assert.equal((await next.json()).error.code, "daily_limit_reached");
  assert.deepEqual(models(r), [A]);
});

Deno.test("a mid-stream daily-cap event blocks the account of a bring-your-own-key client even when the key fingerprints cached meanwhile were cleared (a proxy seeing many keys)", async () => {
  await using r = quotaRig({ apiKey: undefined });
  const key = "sk-or-v1-byok-client-0123456789abcdef";
  r.fake.script(A, {
    stream: {
      parts: [
        chunk(A, { role: "assistant", content: "" }),
        chunk(A, "Hello, this is the start of an answer"),
        // Other keys seen while the stream runs clear the cache.
        async () => {
          for (let i = 0; i < 1001; i++) {
            await accountIdOf(`sk-or-v1-other-${i}`);
          }
        },
        streamErrorEvent({ withChoices: false, code: 429 }),
      ],
    },
  });
  const as = { headers: { authorization: `Bearer ${key}` } };
  const res = await r.chat(hello("auto", { stream: true }), as);
  assert.match(await res.text(), /start of an answer/);
  const next = await r.chat(hello(), as);
  assert.equal(next.status, 429);
  await next.body?.cancel();
  assert.deepEqual(models(r), [A]);
});

Deno.test("a mid-stream 429 event does not count toward the model's circuit breaker (a 429 before the stream does not either)", async () => {
  await using r = quotaRig({ cooldownSeconds: 1 });
  for (let i = 0; i < 3; i++) {
    r.fake.script(
      A,
      brokenStream(
        streamErrorEvent({ withChoices: true, code: 429, model: A }),
      ),
    );
    await (await r.chat(hello("auto", { stream: true }))).text();
    r.clock.advance(2_000); // past the cooldown the 429 set
  }
  const a = (await status(r)).pool.find((m) => m.id === A)!;
  assert.equal(a.consecutive_failures, 0, JSON.stringify(a));
  const after = await r.chat(hello());
  assert.equal(after.headers.get("x-freerouter-model"), A);
  await after.body?.cancel();
});
