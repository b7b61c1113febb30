/**
 * Quota-aware routing with the real OpenRouter bodies: the account's daily
 * and per-minute caps, model caps, capability 404s and lasting failures, and
 * accounts kept apart with bring-your-own-key. quota_limiter_test.ts covers
 * the circuit breaker, the account limiter, adaptive order and the status
 * endpoint.
 */
import assert from "node:assert/strict";
import {
  hello,
  HELLO_ON_EVERY_FRONT,
  manualClock,
  postJson,
} from "./_harness.ts";
import {
  dailyCap,
  freeVariantEnded404,
  minuteCap,
  modelRpd,
  modelRpm,
  noToolEndpoints404,
  providerCredits402,
  providerThrottled,
} from "./fake_openrouter/mod.ts";
import { A, B, models, quotaRig, status, weather } from "./_quota.ts";

for (
  const [name, step] of [
    [
      "free-models-per-day (body A)",
      (reset: number) => dailyCap({ resetMs: reset }),
    ],
    [
      "free-models-per-day-high-balance (body B)",
      (reset: number) => dailyCap({ resetMs: reset, highBalance: true }),
    ],
    [
      "limit_source openrouter_free_tier_daily",
      (reset: number) => dailyCap({ resetMs: reset, withLimitSource: true }),
    ],
  ] as const
) {
  Deno.test(`createHandler() stops at the account's daily cap (${name}) and calls upstream no more until the reset`, async () => {
    await using r = quotaRig();
    const reset = r.clock.now() + 3 * 3600_000;
    r.fake.script(A, step(reset));
    const first = await r.chat(hello());
    assert.equal(first.status, 429);
    assert.equal(first.headers.get("retry-after"), String(3 * 3600));
    const body = await first.json() as { error: Record<string, unknown> };
    assert.equal(body.error.code, "daily_limit_reached");
    assert.equal(body.error.type, "rate_limit_error");
    assert.deepEqual(models(r), [A], "no other model was tried");
    r.clock.advance(3600_000);
    const again = await r.chat(hello());
    assert.equal(again.status, 429);
    assert.equal(again.headers.get("retry-after"), String(2 * 3600));
    await again.body?.cancel();
    assert.deepEqual(models(r), [A], "no upstream call while blocked");
    const health = await (await r.request("/health")).json();
    assert.equal(health.status, "limited");
    r.clock.advance(2 * 3600_000);
    const after = await r.chat(hello());
    assert.equal(after.status, 200);
    await after.body?.cancel();
    assert.deepEqual(models(r), [A, A]);
  });
}

Deno.test("createHandler() tells a Responses client the day's wait in x-ratelimit-reset-requests, not Retry-After (Codex would wait it out in silence); a wait of a minute or less stays in Retry-After", async () => {
  await using r = quotaRig();
  const reset = r.clock.now() + 3 * 3600_000;
  r.fake.script(A, dailyCap({ resetMs: reset }));
  await (await r.chat(hello())).body?.cancel();
  const responses = await postJson(r, "/v1/responses", {
    model: "auto",
    input: "Hello",
  });
  assert.equal(responses.status, 429);
  assert.equal(responses.headers.get("retry-after"), null);
  assert.equal(
    responses.headers.get("x-ratelimit-reset-requests"),
    `${3 * 3600}s`,
  );
  assert.equal(responses.headers.get("x-ratelimit-remaining-requests"), "0");
  const body = await responses.json() as { error: Record<string, unknown> };
  assert.equal(body.error.code, "daily_limit_reached");
  // The other fronts keep Retry-After: their clients give up on a long one.
  for (const [path, request] of HELLO_ON_EVERY_FRONT) {
    if (path === "/v1/responses") continue;
    const res = await postJson(r, path, request);
    assert.equal(res.status, 429, path);
    assert.equal(res.headers.get("retry-after"), String(3 * 3600), path);
    await res.body?.cancel();
  }
  // A minute's wait stays, and Codex waits it out.
  r.clock.advance(3 * 3600_000 - 30_000);
  const soon = await postJson(r, "/v1/responses", {
    model: "auto",
    input: "Hello",
  });
  assert.equal(soon.status, 429);
  assert.equal(soon.headers.get("retry-after"), "30");
  assert.equal(soon.headers.get("x-ratelimit-reset-requests"), null);
  await soon.body?.cancel();
});

Deno.test("createHandler() keeps the daily block across a restart on the same KV file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const clock = manualClock();
    const reset = clock.now() + 3600_000;
    {
      using kv = await Deno.openKv(`${dir}/kv.sqlite`);
      await using r = quotaRig({ clock, kv });
      r.fake.script(A, dailyCap({ resetMs: reset }));
      await (await r.chat(hello())).body?.cancel();
    }
    using kv = await Deno.openKv(`${dir}/kv.sqlite`);
    await using r = quotaRig({ clock, kv });
    const res = await r.chat(hello());
    assert.equal(res.status, 429);
    await res.body?.cancel();
    assert.equal(r.fake.chatRequests().length, 0);
    const s = await status(r);
    assert.equal(
      s.account.daily_limit,
      50,
      "the daily limit learned from X-RateLimit-Limit",
    );
    clock.advance(3600_000);
    assert.equal((await r.chat(hello())).status, 200);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createHandler() waits for the per-minute reset and retries the same model, trying no other", async () => {
  await using r = quotaRig({ maxWait: 30 });
  const reset = r.clock.now() + 20_000;
  r.fake.script(A, minuteCap({ resetMs: reset }));
  const res = await r.chat(hello());
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-freerouter-model"), A);
  assert.equal(res.headers.get("x-freerouter-attempts"), "2");
  await res.body?.cancel();
  assert.deepEqual(models(r), [A, A]);
  assert.deepEqual(r.sleeps, [20_000]);
});

Deno.test("createHandler() answers 429 with Retry-After when the per-minute reset is beyond FREEROUTER_MAX_WAIT", async () => {
  await using r = quotaRig({ maxWait: 10 });
  r.fake.script(A, minuteCap({ resetMs: r.clock.now() + 45_000 }));
  const res = await r.chat(hello());
  assert.equal(res.status, 429);
  assert.equal(res.headers.get("retry-after"), "45");
  assert.equal(
    ((await res.json()) as { error: { code: string } }).error.code,
    "rate_limited",
  );
  assert.deepEqual(models(r), [A]);
  assert.deepEqual(r.sleeps, []);
  const next = await r.chat(hello());
  assert.equal(
    next.status,
    429,
    "new requests are not sent while the minute block holds",
  );
  await next.body?.cancel();
  assert.deepEqual(models(r), [A]);
});

for (
  const [name, step] of [
    ["limit_rpm (body D)", (reset: number) => modelRpm(A, { resetMs: reset })],
    ["limit_rpd (body E)", (reset: number) => modelRpd(A, { resetMs: reset })],
  ] as const
) {
  Deno.test(`createHandler() cools only the model on ${name} and tries the next one`, async () => {
    await using r = quotaRig();
    const reset = r.clock.now() + 120_000;
    r.fake.script(A, step(reset));
    const res = await r.chat(hello());
    assert.equal(res.headers.get("x-freerouter-model"), B);
    await res.body?.cancel();
    const s = await status(r);
    const a = s.pool.find((m) => m.id === A)!;
    assert.equal(a.state, "cooling_down");
    assert.equal(a.cooldown_until, new Date(reset).toISOString());
    assert.equal(s.account.blocked, false);
  });
}

Deno.test("createHandler() cools only the model on 'Provider returned error' 429 (body F)", async () => {
  await using r = quotaRig({ cooldownSeconds: 60 });
  r.fake.script(A, providerThrottled(A));
  const res = await r.chat(hello());
  assert.equal(res.headers.get("x-freerouter-model"), B);
  await res.body?.cancel();
  const second = await r.chat(hello());
  assert.equal(second.headers.get("x-freerouter-model"), B);
  await second.body?.cancel();
  assert.deepEqual(models(r), [A, B, B]);
});

Deno.test("createHandler() remembers a capability 404 for such requests only", async () => {
  await using r = quotaRig({ modelRefreshTtl: 600 });
  r.fake.script(A, noToolEndpoints404());
  const tools = await r.chat(hello("auto", weather));
  assert.equal(tools.headers.get("x-freerouter-model"), B);
  await tools.body?.cancel();
  const plain = await r.chat(hello());
  assert.equal(
    plain.headers.get("x-freerouter-model"),
    A,
    "plain requests still go to A first",
  );
  await plain.body?.cancel();
  const toolsAgain = await r.chat(hello("auto", weather));
  assert.equal(toolsAgain.headers.get("x-freerouter-model"), B);
  await toolsAgain.body?.cancel();
  assert.deepEqual(
    models(r),
    [A, B, A, B],
    "A was skipped for the second tool request",
  );
  assert.deepEqual((await status(r)).pool.find((m) => m.id === A)!.lacks, [
    "tools",
  ]);
  r.clock.advance(600_000);
  await (await r.chat(hello())).body?.cancel(); // triggers the background refresh
  await r.handler.close();
  const afterRefresh = await r.chat(hello("auto", weather));
  assert.equal(
    afterRefresh.headers.get("x-freerouter-model"),
    A,
    "forgotten after the catalog refresh",
  );
  await afterRefresh.body?.cancel();
});

for (
  const [name, step] of [
    ["404 free_variant_ended", freeVariantEnded404(A)],
    ["402 naming a provider", providerCredits402(A)],
  ] as const
) {
  Deno.test(`createHandler() cools a model until the next catalog refresh on ${name}`, async () => {
    await using r = quotaRig({ modelRefreshTtl: 600, cooldownSeconds: 60 });
    r.fake.script(A, step);
    await (await r.chat(hello())).body?.cancel();
    r.clock.advance(300_000);
    const cooled = await r.chat(hello());
    assert.equal(cooled.headers.get("x-freerouter-model"), B);
    await cooled.body?.cancel();
    r.clock.advance(300_000);
    await (await r.chat(hello())).body?.cancel(); // refresh starts now
    await r.handler.close();
    const back = await r.chat(hello());
    assert.equal(back.headers.get("x-freerouter-model"), A);
    await back.body?.cancel();
  });
}

Deno.test("createHandler() forgets the learned daily limit after the reset, so bought credits take effect", async () => {
  await using r = quotaRig();
  const reset = r.clock.now() + 3600_000;
  r.fake.script(A, dailyCap({ resetMs: reset, limit: 1 }));
  await (await r.chat(hello())).body?.cancel();
  assert.equal((await status(r)).account.daily_limit, 1);
  r.clock.advance(3600_000);
  for (let i = 0; i < 3; i++) {
    const res = await r.chat(hello());
    assert.equal(res.status, 200, `request ${i} after the reset`);
    await res.body?.cancel();
  }
  assert.equal((await status(r)).account.daily_limit, null);
});

Deno.test("createHandler() keeps each client's account apart with bring-your-own-key: one key's daily cap blocks only that key", async () => {
  await using r = quotaRig({ apiKey: undefined });
  const as = (key: string) => ({
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${key}`,
    },
  });
  r.fake.script(A, dailyCap({ resetMs: r.clock.now() + 3600_000 }));
  const capped = await r.chat(hello(), as("sk-or-v1-alice"));
  assert.equal(capped.status, 429);
  await capped.body?.cancel();
  const again = await r.chat(hello(), as("sk-or-v1-alice"));
  assert.equal(
    again.status,
    429,
    "alice stays blocked without an upstream call",
  );
  await again.body?.cancel();
  const other = await r.chat(hello(), as("sk-or-v1-bob"));
  assert.equal(other.status, 200, "bob's account is not blocked");
  await other.body?.cancel();
  assert.deepEqual(
    r.fake.chatRequests().map((q) => q.headers.get("authorization")),
    ["Bearer sk-or-v1-alice", "Bearer sk-or-v1-bob"],
  );
  const bobStatus =
    await (await r.request("/v1/freerouter/status", as("sk-or-v1-bob"))).json();
  assert.equal(bobStatus.account.blocked, false);
  const aliceStatus =
    await (await r.request("/v1/freerouter/status", as("sk-or-v1-alice")))
      .json();
  assert.equal(aliceStatus.account.blocked, true);
  assert.doesNotMatch(JSON.stringify(aliceStatus), /sk-or-v1-alice/);
});
