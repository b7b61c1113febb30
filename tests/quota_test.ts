/**
 * Quota-aware routing (account caps, model caps, capability 404s, lasting
 * failures, the circuit breaker, the account limiter, adaptive order and the
 * status endpoint) with the real OpenRouter bodies.
 */
import assert from "node:assert/strict";
import { FreeRouterState } from "../src/mod.ts";
import { MAX_ACCOUNTS, routingState } from "../src/state/state.ts";
import { hello, manualClock, rig, type RigOptions } from "./_harness.ts";
import {
  catalogRow,
  dailyCap,
  errorStatus,
  freeVariantEnded404,
  insufficientCredits402,
  minuteCap,
  modelRpd,
  modelRpm,
  noToolEndpoints404,
  providerThrottled,
} from "./fake_openrouter.ts";

const A = "alpha/one:free";
const B = "beta/two:free";
const C = "gamma/three:free";
const TOOLS = ["tools", "tool_choice", "max_tokens", "temperature"];
const catalog = () => [
  catalogRow({ id: A, context_length: 300_000, supported_parameters: TOOLS }),
  catalogRow({ id: B, context_length: 200_000, supported_parameters: TOOLS }),
  catalogRow({ id: C, context_length: 100_000, supported_parameters: TOOLS }),
];
const weather = {
  tools: [{
    type: "function",
    function: {
      name: "weather",
      parameters: { type: "object", properties: {} },
    },
  }],
};

/** A rig whose waits move the manual clock instead of sleeping, and which records them. */
function quotaRig(options: RigOptions = {}) {
  const clock = options.clock ?? manualClock();
  const sleeps: number[] = [];
  const r = rig({
    fakeOptions: { models: catalog() },
    clock,
    sleep: (ms) => {
      sleeps.push(ms);
      clock.advance(ms);
      return Promise.resolve();
    },
    ...options,
  });
  return Object.assign(r, { sleeps });
}

const models = (r: ReturnType<typeof rig>) =>
  r.fake.chatRequests().map((q) => q.model);

async function status(r: ReturnType<typeof rig>) {
  return await (await r.request("/v1/freerouter/status")).json() as {
    account: Record<string, unknown>;
    limiter: { waiting: number };
    pool: Array<Record<string, unknown>>;
  };
}

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
    ["402 insufficient credits", insufficientCredits402()],
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

Deno.test("createHandler() opens the circuit after 3 transient failures in a row and closes it after the cooldown", async () => {
  await using r = quotaRig({ cooldownSeconds: 60 });
  r.fake.script(A, errorStatus(503), errorStatus(502), {
    status: 200,
    body: { error: { message: "overloaded", code: 503 } },
  });
  for (let i = 0; i < 3; i++) {
    const res = await r.chat(hello());
    assert.equal(res.headers.get("x-freerouter-model"), B);
    await res.body?.cancel();
  }
  const open = await r.chat(hello());
  assert.equal(open.headers.get("x-freerouter-model"), B);
  await open.body?.cancel();
  assert.deepEqual(
    models(r),
    [A, B, A, B, A, B, B],
    "A skipped once the breaker opened",
  );
  r.clock.advance(60_000);
  const closed = await r.chat(hello());
  assert.equal(closed.headers.get("x-freerouter-model"), A);
  await closed.body?.cancel();
});

Deno.test("createHandler() resets the failure count on success, so scattered failures do not open the circuit", async () => {
  await using r = quotaRig();
  r.fake.script(A, errorStatus(503), errorStatus(503));
  for (let i = 0; i < 2; i++) await (await r.chat(hello())).body?.cancel();
  const success = await r.chat(hello());
  assert.equal(success.headers.get("x-freerouter-model"), A);
  await success.body?.cancel();
  r.fake.script(A, errorStatus(503), errorStatus(503));
  for (let i = 0; i < 2; i++) await (await r.chat(hello())).body?.cancel();
  const a = (await status(r)).pool.find((m) => m.id === A)!;
  assert.equal(a.consecutive_failures, 2);
  assert.equal(a.state, "ready");
  const next = await r.chat(hello());
  assert.equal(
    next.headers.get("x-freerouter-model"),
    A,
    "the breaker stayed closed",
  );
  await next.body?.cancel();
  assert.deepEqual(models(r), [A, B, A, B, A, A, B, A, B, A]);
});

Deno.test("createHandler() never lets more than FREEROUTER_RPM attempts through in a minute, and waits for the next one", async () => {
  await using r = quotaRig({ rpm: 3, maxWait: 60 });
  const start = r.clock.now();
  const minuteEnd = (Math.floor(start / 60_000) + 1) * 60_000;
  for (let i = 0; i < 3; i++) await (await r.chat(hello())).body?.cancel();
  assert.deepEqual(r.sleeps, []);
  const fourth = await r.chat(hello());
  assert.equal(fourth.status, 200);
  await fourth.body?.cancel();
  assert.deepEqual(
    r.sleeps,
    [minuteEnd - start],
    "the 4th attempt waited for the next minute",
  );
  assert.equal(r.fake.chatRequests().length, 4);
});

Deno.test("createHandler() answers 429 without an upstream call when the limiter's wait exceeds FREEROUTER_MAX_WAIT", async () => {
  await using r = quotaRig({ rpm: 2, maxWait: 5 });
  for (let i = 0; i < 2; i++) await (await r.chat(hello())).body?.cancel();
  const res = await r.chat(hello());
  assert.equal(res.status, 429);
  const retryAfter = Number(res.headers.get("retry-after"));
  assert.ok(retryAfter > 5 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  await res.body?.cancel();
  assert.equal(r.fake.chatRequests().length, 2);
  const s = await status(r);
  assert.equal(s.account.requests_this_minute, 2);
  assert.equal(s.account.rpm_limit, 2);
});

Deno.test("createHandler() counts attempts across two instances on one KV file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const clock = manualClock();
    using kv1 = await Deno.openKv(`${dir}/kv.sqlite`);
    using kv2 = await Deno.openKv(`${dir}/kv.sqlite`);
    await using one = quotaRig({ clock, kv: kv1, rpm: 4, maxWait: 0 });
    await using two = quotaRig({
      clock,
      kv: kv2,
      rpm: 4,
      maxWait: 0,
      fake: one.fake,
    });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      for (const r of [one, two]) {
        const res = await r.chat(hello());
        statuses.push(res.status);
        await res.body?.cancel();
      }
    }
    assert.equal(statuses.filter((s) => s === 200).length, 4);
    assert.equal(statuses.filter((s) => s === 429).length, 6);
    assert.equal(one.fake.chatRequests().length, 4);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createHandler() sees another instance's cooldown within a second", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const clock = manualClock();
    using kv1 = await Deno.openKv(`${dir}/kv.sqlite`);
    using kv2 = await Deno.openKv(`${dir}/kv.sqlite`);
    await using s1 = new FreeRouterState({ kv: kv1, syncIntervalMs: 100 });
    await using s2 = new FreeRouterState({ kv: kv2, syncIntervalMs: 100 });
    await using one = quotaRig({ clock, state: s1 });
    await using two = quotaRig({ clock, state: s2, fake: one.fake });
    await (await two.chat(hello())).body?.cancel(); // two is up and syncing
    one.fake.script(A, modelRpm(A, { resetMs: clock.now() + 120_000 }));
    await (await one.chat(hello())).body?.cancel();
    const seenAt = performance.now();
    let cooled = false;
    while (!cooled && performance.now() - seenAt < 1_000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      cooled = (await status(two)).pool.find((m) =>
        m.id === A
      )!.state === "cooling_down";
    }
    assert.ok(cooled, "instance two saw the cooldown within 1 s");
    const res = await two.chat(hello());
    assert.equal(res.headers.get("x-freerouter-model"), B);
    await res.body?.cancel();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createHandler() with FREEROUTER_STRATEGY=adaptive moves failing models back", async () => {
  await using priority = quotaRig();
  priority.fake.script(A, errorStatus(500));
  await (await priority.chat(hello())).body?.cancel();
  const p = await priority.chat(hello());
  assert.equal(
    p.headers.get("x-freerouter-model"),
    A,
    "priority keeps the pool order",
  );
  await p.body?.cancel();

  await using adaptive = quotaRig({ strategy: "adaptive" });
  adaptive.fake.script(A, errorStatus(500));
  await (await adaptive.chat(hello())).body?.cancel();
  const a = await adaptive.chat(hello());
  assert.equal(
    a.headers.get("x-freerouter-model"),
    B,
    "adaptive moved A behind B",
  );
  await a.body?.cancel();
  const s = await status(adaptive);
  assert.equal(s.pool.find((m) => m.id === A)!.success_rate, 0);
  assert.equal(s.pool.find((m) => m.id === B)!.success_rate, 1);
});

Deno.test("createHandler() reports every pool model, the account and the limiter at /v1/freerouter/status", async () => {
  await using r = quotaRig({ rpm: 20 });
  r.fake.script(A, modelRpm(A, { resetMs: r.clock.now() + 60_000 }));
  await (await r.chat(hello())).body?.cancel();
  const s = await status(r);
  assert.deepEqual(s.pool.map((m) => m.id), [A, B, C]);
  const a = s.pool.find((m) => m.id === A)!;
  assert.equal(a.state, "cooling_down");
  assert.equal(a.last_error, "429");
  assert.match(String(a.cooldown_reason), /429/);
  assert.equal(s.pool.find((m) => m.id === B)!.state, "ready");
  assert.equal(s.account.requests_this_minute, 2);
  assert.equal(s.account.requests_today, 2);
  assert.equal(s.limiter.waiting, 0);
});

Deno.test("createHandler() admits exactly FREEROUTER_RPM of a concurrent burst across two instances on one KV file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const clock = manualClock();
    using kv1 = await Deno.openKv(`${dir}/kv.sqlite`);
    using kv2 = await Deno.openKv(`${dir}/kv.sqlite`);
    await using one = quotaRig({ clock, kv: kv1, rpm: 5, maxWait: 0 });
    await using two = quotaRig({
      clock,
      kv: kv2,
      rpm: 5,
      maxWait: 0,
      fake: one.fake,
    });
    await Promise.all([one.handler.models(), two.handler.models()]);
    const responses = await Promise.all(
      Array.from(
        { length: 16 },
        (_, i) => (i % 2 === 0 ? one : two).chat(hello()),
      ),
    );
    const statuses = responses.map((res) => res.status);
    await Promise.all(responses.map((res) => res.body?.cancel()));
    assert.equal(statuses.filter((s) => s === 200).length, 5, statuses.join());
    assert.equal(statuses.filter((s) => s === 429).length, 11);
    assert.equal(one.fake.chatRequests().length, 5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createHandler() lets a client that leaves while queued take no limiter slot", async () => {
  const clock = manualClock();
  const release = Promise.withResolvers<void>();
  const sleeps: number[] = [];
  await using r = rig({
    fakeOptions: { models: catalog() },
    clock,
    rpm: 1,
    maxWait: 120,
    // A wait that ends normally even though the client left meanwhile (the
    // timer fired just as the client went away).
    sleep: async (ms) => {
      sleeps.push(ms);
      await release.promise;
      clock.advance(ms);
    },
  });
  await (await r.chat(hello())).body?.cancel(); // uses this minute's only slot
  const controller = new AbortController();
  const leaving = r.chat(hello(), { signal: controller.signal });
  while (sleeps.length === 0) await Promise.resolve(); // the request is now waiting in the queue
  controller.abort();
  release.resolve();
  const left = await leaving;
  assert.equal(left.status, 499);
  await left.body?.cancel();
  const s = await status(r);
  assert.equal(
    s.account.requests_this_minute,
    0,
    "the next minute's slot was not taken",
  );
  assert.equal(r.fake.chatRequests().length, 1);
});

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

Deno.test("RoutingState forgets idle accounts beyond MAX_ACCOUNTS, keeping blocked and counted ones", async () => {
  await using shared = new FreeRouterState();
  const state = routingState(shared);
  const now = Date.parse("2026-11-24T12:00:00Z");
  await state.load(() => now);
  await state.blockAccount(
    "blocked",
    { scope: "day", until: now + 3600_000, reason: "cap" },
    50,
    now,
  );
  await state.takeSlot("counted", { rpm: 20, rpd: undefined }, now);
  for (let i = 0; i < MAX_ACCOUNTS + 500; i++) state.account(`junk-${i}`);
  assert.ok(
    state.accounts.size <= MAX_ACCOUNTS,
    `${state.accounts.size} accounts kept`,
  );
  assert.ok(state.accounts.has("blocked"), "a blocked account is kept");
  assert.ok(
    state.accounts.has("counted"),
    "an account with attempts this minute is kept",
  );
});
