/**
 * A model's per-minute limit learned from a `limit_rpm` 429: the rule
 * (core/model_budget.ts), the classification that reads it, and the router
 * that stops sending the attempt that would be one too many.
 */
import assert from "node:assert/strict";
import {
  hasRoom,
  learnMinuteLimit,
  MINUTE_LIMIT_HOLD_MS,
  minuteEnd,
  spend,
} from "../src/core/model_budget.ts";
import {
  classifyFailure,
  errorInfo,
  type UpstreamFailure,
} from "../src/core/failure.ts";
import { hello } from "./_harness.ts";
import {
  minuteCap,
  modelRpm,
  ok,
  providerThrottled,
} from "./fake_openrouter/mod.ts";
import { A, B, C, models, quotaRig, status } from "./_quota.ts";

const T0 = Date.parse("2026-11-24T12:00:00Z");

Deno.test("learnMinuteLimit() spends the minute until the reset and trusts the limit for a while", () => {
  const b = learnMinuteLimit(3, T0 + 10_000, T0 + 60_000);
  assert.equal(hasRoom(b, T0 + 59_999), false, "the 429 said none is left");
  assert.equal(hasRoom(b, T0 + 60_000), true, "the next minute starts afresh");
  assert.equal(hasRoom(undefined, T0), true, "no limit known: no budget");
});

Deno.test("learnMinuteLimit() follows the upstream's minutes, not our clock's", () => {
  // The upstream's clock is 5 s ahead: its minute ends at our :55.
  const b = learnMinuteLimit(1, T0 + 10_000, T0 + 55_000);
  assert.equal(hasRoom(b, T0 + 54_999), false);
  assert.equal(hasRoom(b, T0 + 55_000), true, "its reset, not ours");
  const { budget, last } = spend(b, T0 + 56_000);
  assert.equal(last, true);
  assert.equal(minuteEnd(budget!, T0 + 56_000), T0 + 115_000);
  assert.equal(hasRoom(budget, T0 + 114_999), false);
  assert.equal(hasRoom(budget, T0 + 115_000), true);
});

Deno.test("spend() counts attempts per minute and names the minute's last one", () => {
  let b = learnMinuteLimit(2, T0 + 10_000, T0 + 60_000);
  const minute = T0 + 60_000;
  const first = spend(b, minute + 1_000);
  assert.equal(first.last, false);
  b = first.budget!;
  assert.equal(hasRoom(b, minute + 2_000), true);
  const second = spend(b, minute + 2_000);
  assert.equal(second.last, true);
  b = second.budget!;
  assert.equal(hasRoom(b, minute + 59_000), false);
  assert.equal(minuteEnd(b, minute + 59_000), minute + 60_000);
  assert.equal(hasRoom(b, minute + 60_000), true);
  assert.equal(spend(b, minute + 60_000).budget!.used, 1, "a new minute");
});

Deno.test("a learned limit is forgotten after MINUTE_LIMIT_HOLD_MS", () => {
  const b = learnMinuteLimit(1, T0, T0 + 60_000);
  const later = T0 + MINUTE_LIMIT_HOLD_MS;
  assert.equal(hasRoom({ ...b, minute: later / 60_000 }, later), true);
  assert.deepEqual(spend(b, later), { budget: undefined, last: false });
});

function failureOf(step: ReturnType<typeof modelRpm>): UpstreamFailure {
  const body = step.body;
  return {
    kind: "http",
    status: step.status ?? 200,
    error: errorInfo(body), // as the upstream client reads it
    body,
    headers: new Headers(step.headers),
  };
}

Deno.test("classifyFailure() reads the per-minute limit of a limit_rpm 429 only", () => {
  const reset = T0 + 60_000;
  for (
    const form of [{}, { legacy: true }, { legacy: true, bare: true }, {
      bare: true,
    }]
  ) {
    const verdict = classifyFailure(
      failureOf(modelRpm(A, { limit: 8, resetMs: reset, ...form })),
      { now: T0, defaultCooldownMs: 60_000 },
    );
    assert.deepEqual(verdict, {
      action: "next",
      effect: { kind: "cooldown", until: reset, perMinute: 8 },
    }, JSON.stringify(form));
  }
  const throttled = classifyFailure(failureOf(providerThrottled(A)), {
    now: T0,
    defaultCooldownMs: 60_000,
  });
  assert.deepEqual(throttled, {
    action: "next",
    effect: { kind: "cooldown", until: T0 + 60_000 },
  });
});

Deno.test("createHandler() stops sending a model its learned per-minute limit would refuse", async () => {
  await using r = quotaRig();
  const chat = async () => {
    const res = await r.chat(hello());
    await res.body?.cancel();
    return res;
  };
  // Minute 0: A answers, then refuses with "limited to 2 requests per minute".
  r.fake.script(A, ok(A), modelRpm(A, { limit: 2, resetMs: T0 + 60_000 }));
  assert.equal((await chat()).headers.get("x-freerouter-model"), A);
  assert.equal((await chat()).headers.get("x-freerouter-model"), B);
  assert.equal((await chat()).headers.get("x-freerouter-model"), B);
  assert.deepEqual(models(r), [A, A, B, B]);
  // Minute 1: two attempts on A, then A is not asked again this minute.
  r.clock.advance(60_000);
  for (let i = 0; i < 2; i++) {
    assert.equal((await chat()).headers.get("x-freerouter-model"), A);
  }
  const s = await status(r);
  const a = s.pool.find((m) => m.id === A)!;
  assert.equal(a.state, "cooling_down", "the spent budget shows as a cooldown");
  assert.equal(a.cooldown_until, new Date(T0 + 120_000).toISOString());
  assert.equal(a.rpm_limit, 2);
  assert.equal(a.requests_this_minute, 2);
  const b = s.pool.find((m) => m.id === B)!;
  assert.equal(b.rpm_limit, null, "no limit learned for B");
  assert.equal((await chat()).headers.get("x-freerouter-model"), B);
  assert.deepEqual(models(r).slice(4), [A, A, B], "no third attempt on A");
  // Minute 2: A again.
  r.clock.advance(60_000);
  assert.equal((await chat()).headers.get("x-freerouter-model"), A);
});

Deno.test("createHandler() answers 429 without an attempt, with Retry-After, when every model's per-minute limit is spent", async () => {
  await using r = quotaRig();
  // Minute 0: every model says "limited to 1 request per minute".
  for (const m of [A, B, C]) {
    r.fake.script(m, modelRpm(m, { limit: 1, resetMs: T0 + 60_000 }));
  }
  const taught = await r.chat(hello());
  assert.equal(taught.status, 502);
  await taught.body?.cancel();
  // Minute 1: one answer from each, then none is asked again.
  r.clock.advance(60_000);
  const answered = [];
  for (let i = 0; i < 3; i++) {
    const res = await r.chat(hello());
    answered.push(res.headers.get("x-freerouter-model"));
    await res.body?.cancel();
  }
  assert.deepEqual(answered, [A, B, C]);
  const sent = models(r).length;
  r.clock.advance(30_000);
  const refused = await r.chat(hello());
  const body = await refused.json();
  assert.equal(models(r).length, sent, "no attempt sent");
  assert.equal(refused.status, 429, "nothing was sent: a rate limit");
  assert.equal(body.error.code, "rate_limited");
  assert.equal(refused.headers.get("retry-after"), "30");
  assert.match(body.error.message, /per-minute limit spent: .*alpha\/one:free/);
});

Deno.test("createHandler() trusts a learned limit for MINUTE_LIMIT_HOLD_MS only", async () => {
  await using r = quotaRig();
  r.fake.script(A, modelRpm(A, { limit: 1, resetMs: T0 + 60_000 }));
  const first = await r.chat(hello());
  await first.body?.cancel();
  r.clock.advance(MINUTE_LIMIT_HOLD_MS);
  for (let i = 0; i < 3; i++) {
    const res = await r.chat(hello());
    assert.equal(res.headers.get("x-freerouter-model"), A);
    await res.body?.cancel();
  }
});

/** Sends a request and returns the model that answered. */
async function answeredBy(response: Promise<Response>) {
  const res = await response;
  await res.body?.cancel();
  return res.headers.get("x-freerouter-model");
}

Deno.test("createHandler() never sends concurrent requests over a model's learned limit", async () => {
  await using r = quotaRig();
  r.fake.script(A, modelRpm(A, { limit: 2, resetMs: T0 + 60_000 }));
  await answeredBy(r.chat(hello())); // learns the limit: A 429, B answers
  r.clock.advance(60_000);
  const before = models(r).length;
  const got = await Promise.all(
    [1, 2, 3, 4].map(() => answeredBy(r.chat(hello()))),
  );
  const onA = models(r).slice(before).filter((m) => m === A).length;
  assert.equal(onA, 2, `A asked ${onA} times in a minute whose limit is 2`);
  assert.deepEqual(got.filter((m) => m === A).length, 2);
});

Deno.test("createHandler() sends the next model on the account slot a spent model was admitted with, instead of taking another", async () => {
  await using r = quotaRig();
  r.fake.script(A, modelRpm(A, { limit: 2, resetMs: T0 + 60_000 }));
  await answeredBy(r.chat(hello())); // learns the limit: A 429, B answers
  r.clock.advance(60_000);
  // All four pass the first check while A has room; two find it spent once admitted.
  await Promise.all([1, 2, 3, 4].map(() => answeredBy(r.chat(hello()))));
  const s = await status(r);
  assert.equal(
    s.account.requests_this_minute,
    4,
    "one account slot per upstream attempt this minute",
  );
  assert.equal(models(r).length, 2 + 4);
});

Deno.test("createHandler() learns a named model's limit when it retries that model after the reset", async () => {
  await using r = quotaRig({ sameModelWait: 5 });
  r.clock.advance(58_000);
  r.fake.script(A, modelRpm(A, { limit: 1, resetMs: T0 + 60_000 }), ok(A));
  assert.equal(await answeredBy(r.chat(hello(A))), A, "waited 2 s, then A");
  assert.equal(await answeredBy(r.chat(hello(A))), B);
  assert.deepEqual(
    models(r),
    [A, A, B],
    "A's one request this minute is spent",
  );
});

Deno.test("createHandler() still retries the same model after the account's per-minute cap", async () => {
  await using r = quotaRig();
  r.fake.script(A, modelRpm(A, { limit: 2, resetMs: T0 + 60_000 }));
  await answeredBy(r.chat(hello()));
  r.clock.advance(100_000); // minute 1, 20 s before its end
  r.fake.script(A, ok(A), minuteCap({ resetMs: T0 + 120_000 }), ok(A));
  assert.equal(await answeredBy(r.chat(hello())), A);
  assert.equal(
    await answeredBy(r.chat(hello())),
    A,
    "after the account's reset",
  );
  assert.deepEqual(models(r).slice(2), [A, A, A]);
});

Deno.test("createHandler() counts a model's minutes from the upstream's reset when its clock differs from ours", async () => {
  await using r = quotaRig({ maxAttempts: 1 });
  r.clock.advance(10_000);
  // The upstream's clock is 5 s ahead: its reset is our T0 + 55 s.
  r.fake.script(A, modelRpm(A, { limit: 1, resetMs: T0 + 55_000 }));
  await answeredBy(r.chat(hello()));
  r.clock.advance(40_000); // T0 + 50 s: A's minute is spent
  assert.equal(await answeredBy(r.chat(hello())), B);
  r.clock.advance(6_000); // T0 + 56 s: the upstream's minute has reset
  assert.equal(await answeredBy(r.chat(hello())), A, "A's new minute");
  const a = (await status(r)).pool.find((m) => m.id === A)!;
  assert.equal(
    a.cooldown_until,
    new Date(T0 + 115_000).toISOString(),
    "spent until the upstream's next reset",
  );
  assert.equal(await answeredBy(r.chat(hello())), B);
});

Deno.test("classifyFailure() reads the reset and the limit of a bare limit_rpm body that comes without HTTP headers (as a stream's error event carries it)", () => {
  const reset = T0 + 45_000;
  const { body } = modelRpm(A, { limit: 8, resetMs: reset, bare: true });
  const verdict = classifyFailure(
    { kind: "error_body", status: 200, error: errorInfo(body), body },
    { now: T0, defaultCooldownMs: 600_000 },
  );
  assert.deepEqual(verdict, {
    action: "next",
    effect: { kind: "cooldown", until: reset, perMinute: 8 },
  });
});
