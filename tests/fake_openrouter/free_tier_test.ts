/**
 * The fake's free-tier counter: every free-model request counts, failed ones
 * included, and the requests past a limit get OpenRouter's platform 429s
 * until the UTC minute or day ends; `/key` reports the day's count.
 */
import assert from "node:assert/strict";
import { classifyFailure } from "../../src/core/failure.ts";
import { httpFailure } from "../../src/upstream/request.ts";
import { providerError502, startFakeOpenRouter } from "./mod.ts";
import {
  chat,
  CODER,
  errorOf,
  json,
  KEY,
  LLAMA,
  messages,
  rec,
} from "./_test_client.ts";

/** A clock the test moves. */
function clock(start: number) {
  let t = start;
  return { now: () => t, set: (ms: number) => (t = ms) };
}

async function statusOf(res: Response): Promise<number> {
  await res.body?.cancel();
  return res.status;
}

/** The fake's `/key` daily counter. */
async function daily(baseUrl: string): Promise<unknown> {
  const res = await fetch(`${baseUrl}/key`, {
    headers: { authorization: `Bearer ${KEY}` },
  });
  return rec((await json(res)).data).free_model_daily_requests;
}

Deno.test("startFakeOpenRouter({freeTier}) refuses the account's requests past its per-minute limit with body C until the next UTC minute, whichever model, failures counted", async () => {
  const minute = Date.UTC(2026, 11, 7, 10, 0);
  const t = clock(minute + 5_000);
  await using fake = startFakeOpenRouter({
    freeTier: { perMinute: 3, now: t.now },
  });
  fake.script(CODER, providerError502(CODER));
  const statuses = [
    await statusOf(await chat(fake, { model: CODER, messages: messages() })),
    await statusOf(await chat(fake, { model: LLAMA, messages: messages() })),
    await statusOf(await chat(fake, { model: CODER, messages: messages() })),
  ];
  assert.deepEqual(statuses, [502, 200, 200]);
  const refused = await chat(fake, { model: LLAMA, messages: messages() });
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get("x-ratelimit-limit"), "3");
  assert.equal(
    refused.headers.get("x-ratelimit-reset"),
    String(minute + 60_000),
  );
  const bytes = new Uint8Array(await refused.arrayBuffer());
  assert.match(new TextDecoder().decode(bytes), /free-models-per-min/);
  assert.equal(fake.freeTierRefused, 1);
  // freerouter reads it as the account's per-minute cap.
  const verdict = classifyFailure(httpFailure(refused, bytes), {
    now: t.now(),
    defaultCooldownMs: 60_000,
  });
  assert.deepEqual(verdict, {
    action: "account",
    scope: "minute",
    until: minute + 60_000,
    limit: 3,
  });
  t.set(minute + 60_000);
  assert.equal(
    await statusOf(await chat(fake, { model: LLAMA, messages: messages() })),
    200,
  );
});

Deno.test("startFakeOpenRouter({freeTier}) refuses past its daily limit with body A (B from 1,000) until 00:00 UTC, and /key reports the day's count, refusals included", async () => {
  const day = Date.UTC(2026, 11, 7);
  const t = clock(day + 3_600_000);
  await using fake = startFakeOpenRouter({
    freeTier: { perDay: 3, usedToday: 1, now: t.now },
  });
  assert.deepEqual(await daily(fake.baseUrl), {
    used: 1,
    limit: 3,
    remaining: 2,
  });
  fake.script(LLAMA, providerError502(LLAMA));
  assert.equal(
    await statusOf(await chat(fake, { model: LLAMA, messages: messages() })),
    502,
  );
  assert.equal(
    await statusOf(await chat(fake, { model: CODER, messages: messages() })),
    200,
  );
  assert.deepEqual(await daily(fake.baseUrl), {
    used: 3,
    limit: 3,
    remaining: 0,
  });
  const refused = await chat(fake, { model: CODER, messages: messages() });
  assert.equal(refused.status, 429);
  assert.equal(
    refused.headers.get("x-ratelimit-reset"),
    String(day + 86_400_000),
  );
  const error = errorOf(await json(refused));
  assert.match(String(error.message), /free-models-per-day\. Add 10 credits/);
  assert.equal(rec(error.metadata).limit_source, "openrouter_free_tier_daily");
  // A refused request counts in the day's total, past the limit.
  assert.deepEqual(await daily(fake.baseUrl), {
    used: 4,
    limit: 3,
    remaining: 0,
  });
  t.set(day + 86_400_000);
  assert.deepEqual(await daily(fake.baseUrl), {
    used: 0,
    limit: 3,
    remaining: 3,
  });

  await using high = startFakeOpenRouter({
    freeTier: { perDay: 1000, usedToday: 1000, now: t.now },
  });
  const b = await chat(high, { model: CODER, messages: messages() });
  assert.equal(b.status, 429);
  assert.match(
    String(errorOf(await json(b)).message),
    /free-models-per-day-high-balance/,
  );
});

Deno.test("startFakeOpenRouter({freeTier}) counts only free models: a paid model's request is neither counted nor refused", async () => {
  const noon = Date.UTC(2026, 11, 7, 12);
  await using fake = startFakeOpenRouter({
    freeTier: { perDay: 1, now: () => noon },
  });
  const paid = fake.models.find((row) =>
    Number(rec(rec(row).pricing).prompt) > 0
  );
  assert.ok(paid !== undefined, "the default catalog lists a paid model");
  const id = String(rec(paid).id);
  for (let i = 0; i < 2; i++) {
    assert.equal(
      await statusOf(await chat(fake, { model: id, messages: messages() })),
      200,
    );
  }
  assert.equal(rec(await daily(fake.baseUrl)).used, 0);
  assert.equal(
    await statusOf(await chat(fake, { model: CODER, messages: messages() })),
    200,
  );
  assert.equal(
    await statusOf(await chat(fake, { model: CODER, messages: messages() })),
    429,
  );
});
