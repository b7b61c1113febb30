/**
 * Quota-aware routing: the circuit breaker, the account limiter (also across
 * instances on one KV file), adaptive order, the status endpoint, and the
 * bounded account table.
 */
import assert from "node:assert/strict";
import { FreeRouterState } from "../src/mod.ts";
import { MAX_ACCOUNTS } from "../src/state/accounts.ts";
import { routingState } from "../src/state/public_state.ts";
import { hello, manualClock, rig, withKvFile } from "./_harness.ts";
import { within } from "./_async.ts";
import { dailyCap, errorStatus, modelRpm, ok } from "./fake_openrouter/mod.ts";
import { A, B, C, catalog, models, quotaRig, status } from "./_quota.ts";

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
  // 12:00:42: the next minute is 18 s away (a flat minute would be 60 s).
  await using r = quotaRig({
    rpm: 3,
    maxWait: 60,
    clock: manualClock(Date.parse("2026-11-24T12:00:42Z")),
  });
  const start = r.clock.now();
  const minuteEnd = Date.parse("2026-11-24T12:01:00Z");
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

Deno.test("an instance that sent nothing reports the account's counts as the other instances on its KV file spent them (status, health, metrics)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const clock = manualClock();
    const path = `${dir}/kv.sqlite`;
    using kv = await Deno.openKv(path);
    await using busy = quotaRig({ clock, kv, rpm: 20 });
    // One idle instance per report, so that no report reads another's refresh.
    const idle = async () => {
      const own = await Deno.openKv(path);
      const r = quotaRig({ clock, kv: own, rpm: 20, fake: busy.fake });
      await (await r.chat(hello())).body?.cancel(); // it has counted once
      return Object.assign(r, { own });
    };
    const [a, b, c] = [await idle(), await idle(), await idle()];
    try {
      for (let i = 0; i < 3; i++) {
        await (await busy.chat(hello())).body?.cancel();
      }
      const s = await status(a);
      assert.equal(s.account.requests_this_minute, 6);
      assert.equal(s.account.requests_today, 6);
      const health = await (await b.request("/health")).json();
      assert.equal(health.quota.used_today, 6);
      const metrics = await (await c.request("/metrics")).text();
      assert.match(metrics, /^freerouter_quota_used_today 6$/m);
    } finally {
      for (const r of [a, b, c]) {
        await r[Symbol.asyncDispose]();
        r.own.close();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createHandler() sees another instance's cooldown at its next sync", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const clock = manualClock();
    using kv1 = await Deno.openKv(`${dir}/kv.sqlite`);
    using kv2 = await Deno.openKv(`${dir}/kv.sqlite`);
    // No timer tick during the test: the test runs the sync itself.
    const hour = 3_600_000;
    await using s1 = new FreeRouterState({ kv: kv1, syncIntervalMs: hour });
    await using s2 = new FreeRouterState({ kv: kv2, syncIntervalMs: hour });
    await using one = quotaRig({ clock, state: s1 });
    await using two = quotaRig({ clock, state: s2, fake: one.fake });
    await (await two.chat(hello())).body?.cancel(); // two is up
    one.fake.script(A, modelRpm(A, { resetMs: clock.now() + 120_000 }));
    await (await one.chat(hello())).body?.cancel();
    const stateOfA = async () =>
      (await status(two)).pool.find((m) => m.id === A)!.state;
    assert.equal(await stateOfA(), "ready", "not before two syncs");
    await routingState(s2).syncNow();
    assert.equal(await stateOfA(), "cooling_down");
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

/**
 * A rig whose account has one slot a minute and waits up to 120 s for the
 * next; its waits are `wait`, after they are noted in `sleeps` and told by
 * `asleep`.
 */
function oneSlotRig(
  clock: ReturnType<typeof manualClock>,
  wait: (ms: number, signal?: AbortSignal) => Promise<void>,
) {
  const asleep = Promise.withResolvers<void>();
  const sleeps: number[] = [];
  const r = rig({
    fakeOptions: { models: catalog() },
    clock,
    rpm: 1,
    maxWait: 120,
    sleep: (ms, signal) => {
      sleeps.push(ms);
      asleep.resolve();
      return wait(ms, signal);
    },
  });
  return { r, asleep: asleep.promise, sleeps };
}

Deno.test("createHandler() lets a client that leaves while queued take no limiter slot", async () => {
  const clock = manualClock();
  const release = Promise.withResolvers<void>();
  // A wait that ends normally even though the client left meanwhile (the
  // timer fired just as the client went away).
  const { r, asleep } = oneSlotRig(clock, async (ms) => {
    await release.promise;
    clock.advance(ms);
  });
  await using _ = r;
  await (await r.chat(hello())).body?.cancel(); // uses this minute's only slot
  const controller = new AbortController();
  const leaving = r.chat(hello(), { signal: controller.signal });
  await within(asleep, "the request to wait in the queue");
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

/** A sleep that never ends by itself: it rejects when `signal` aborts. */
function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((_, reject) => {
    signal?.addEventListener("abort", () => reject(signal.reason), {
      once: true,
    });
  });
}

Deno.test("createHandler() refuses a request waiting for the next minute as soon as another attempt learns the day's cap", async () => {
  const clock = manualClock();
  const release = Promise.withResolvers<void>();
  // A wait that only ends when its signal aborts: the request must be woken
  // by the block, not by its timer.
  const { r, asleep, sleeps } = oneSlotRig(
    clock,
    (_ms, signal) => untilAborted(signal),
  );
  await using _ = r;
  r.fake.script(A, { ...dailyCap(), gate: () => release.promise });
  const first = r.chat(hello()); // takes this minute's only slot
  await within(
    r.fake.waitForChatRequests(1),
    "the first attempt to reach the fake",
  );
  const waiting = r.chat(hello());
  await within(asleep, "the second request to wait for the next minute");
  release.resolve(); // the first attempt meets the daily cap
  const capped = await within(first, "the first answer");
  assert.equal(capped.status, 429);
  await capped.body?.cancel();
  const refused = await within(waiting, "the waiting request to be refused");
  assert.equal(refused.status, 429);
  const body = await refused.json();
  assert.equal(body.error.code, "daily_limit_reached");
  assert.equal(sleeps.length, 1);
  assert.equal(r.fake.chatRequests().length, 1, "no attempt after the cap");
});

Deno.test("createHandler() refuses a request waiting for the next minute once another instance on its KV file learns the day's cap", async () => {
  await withKvFile(async (path) => {
    const clock = manualClock();
    const asleep = Promise.withResolvers<void>();
    using kv1 = await Deno.openKv(path);
    using kv2 = await Deno.openKv(path);
    await using one = rig({
      fakeOptions: { models: catalog() },
      clock,
      kv: kv1,
      rpm: 1,
    });
    await using two = rig({
      fake: one.fake,
      clock,
      kv: kv2,
      rpm: 1,
      maxWait: 120,
      // Ends only when its signal aborts (see the test above).
      sleep: (_ms, signal) => {
        asleep.resolve();
        return untilAborted(signal);
      },
    });
    one.fake.script(A, ok(A), dailyCap());
    await (await one.chat(hello())).body?.cancel(); // this minute's only slot
    const waiting = two.chat(hello());
    await within(asleep.promise, "the other instance's request to wait");
    clock.advance(60_000); // a new minute: the first instance may try again
    const capped = await one.chat(hello());
    assert.equal(capped.status, 429);
    await capped.body?.cancel();
    const refused = await within(waiting, "the waiting request to be refused");
    assert.equal(refused.status, 429);
    assert.equal((await refused.json()).error.code, "daily_limit_reached");
    assert.equal(one.fake.chatRequests().length, 2, "no attempt after the cap");
  });
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
  await state.counts.takeSlot("counted", { rpm: 20, rpd: undefined }, now);
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
