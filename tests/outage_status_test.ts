/**
 * What an outage's pause (core/outage.ts) shows and what it does not hide:
 * the status report, the status page's data, `/health` and `/metrics` tell
 * of it; a request of an account whose day is spent gets the day's 429, not
 * the pause's 502; and a request that was waiting for the account's minute
 * when the outage was found sends nothing to the outage's models after its
 * wait.
 */
import assert from "node:assert/strict";
import { hello } from "./_harness.ts";
import { deferred } from "./_async.ts";
import { catalogRow, errorStatus } from "./fake_openrouter/mod.ts";
import {
  A,
  B,
  C,
  catalog,
  quotaRig,
  scriptOutageRound,
  status,
} from "./_quota.ts";

/** Every model of the quota catalog fails once with a 503. */
function allFailOnce(r: ReturnType<typeof quotaRig>): void {
  for (const model of [A, B, C]) r.fake.script(model, errorStatus(503));
}

Deno.test("status report, /health and /metrics: an outage shows its rounds, models and pause; once the pause ends its models are only ordered after the others; an answer from one of them clears it", async () => {
  await using r = quotaRig();
  const before = await status(r);
  assert.equal(before.account.outage, null);
  const health0 = await (await r.request("/health")).json();
  assert.equal(health0.status, "ok");
  assert.equal(health0.outage_paused_until, null);

  allFailOnce(r);
  await (await r.chat(hello())).body?.cancel();
  const start = r.clock.now();
  const until = new Date(start + 30_000).toISOString();
  const during = await status(r);
  const afterOthers = new Date(start + 60_000).toISOString();
  assert.deepEqual(during.account.outage, {
    rounds: 1,
    models: [A, B, C].sort(),
    paused_until: until,
    after_others_until: afterOthers,
    last_round_at: new Date(start).toISOString(),
  });
  const health1 = await (await r.request("/health")).json();
  assert.equal(health1.status, "degraded", "every request gets a 502 now");
  assert.equal(health1.outage_paused_until, until);
  assert.match(
    await (await r.request("/metrics")).text(),
    /^freerouter_account_outage_paused 1$/m,
  );

  r.clock.advance(30_000);
  const after = (await status(r)).account.outage as Record<string, unknown>;
  assert.equal(after.paused_until, null);
  assert.equal(after.after_others_until, afterOthers);
  const health2 = await (await r.request("/health")).json();
  assert.equal(health2.status, "ok");
  assert.equal(health2.outage_paused_until, null);
  assert.match(
    await (await r.request("/metrics")).text(),
    /^freerouter_account_outage_paused 0$/m,
  );

  const answered = await r.chat(hello());
  assert.equal(answered.status, 200);
  await answered.body?.cancel();
  assert.equal((await status(r)).account.outage, null, "over");
});

Deno.test("/health stays ok in an outage of some models only (a request still has others to try), and shows the pause", async () => {
  const D = "delta/four:free";
  await using r = quotaRig({
    maxAttempts: 3,
    fakeOptions: {
      models: [...catalog(), catalogRow({ id: D, context_length: 50_000 })],
    },
  });
  allFailOnce(r); // 3 attempts at most: D is not tried
  await (await r.chat(hello())).body?.cancel();
  const health = await (await r.request("/health")).json();
  assert.equal(health.status, "ok", "D is left");
  assert.equal(
    health.outage_paused_until,
    new Date(r.clock.now() + 30_000).toISOString(),
  );
  const next = await r.chat(hello());
  assert.equal(next.headers.get("x-freerouter-model"), D);
  await next.body?.cancel();
});

Deno.test("status report: an outage shows while its models go after the others (twice the pause), not while it is only remembered; a failed round then still pauses longer", async () => {
  await using r = quotaRig();
  allFailOnce(r);
  await (await r.chat(hello())).body?.cancel();
  r.clock.advance(59_999);
  assert.notEqual((await status(r)).account.outage, null);
  r.clock.advance(1);
  assert.equal((await status(r)).account.outage, null);
  allFailOnce(r);
  const second = await r.chat(hello());
  assert.equal(second.status, 502);
  assert.equal(second.headers.get("retry-after"), "120", "the second round");
  await second.body?.cancel();
  assert.equal(
    ((await status(r)).account.outage as { rounds: number }).rounds,
    2,
  );
});

Deno.test("createHandler(): an account whose day is spent gets the day's 429 in an outage's pause, not the pause's 502", async () => {
  await using r = quotaRig({
    quotaRefresh: 300,
    fakeOptions: {
      models: catalog(),
      key: { free_model_daily_requests: { used: 47, limit: 50, remaining: 3 } },
    },
  });
  await r.handler.refreshQuota();
  allFailOnce(r);
  const round = await r.chat(hello()); // the day's last 3 requests
  assert.equal(round.status, 502);
  assert.equal(round.headers.get("retry-after"), "30");
  await round.body?.cancel();
  const next = await r.chat(hello());
  assert.equal(next.status, 429);
  assert.equal((await next.json()).error.code, "daily_limit_reached");
  // The harness clock is at 12:00 UTC: the day ends in 12 hours.
  assert.equal(next.headers.get("retry-after"), String(12 * 3600));
  assert.equal(r.fake.chatRequests().length, 3);
});

/**
 * A rig at 12:00:50 with 3 attempts a minute, whose A, B and C fail with a
 * 503 (C once `outage()` was called: the minute is spent by then): the
 * outage's round; waits for the minute block until released.
 */
function queueRig(options: Parameters<typeof quotaRig>[0] = {}) {
  const waiting = deferred();
  const releaseWait = deferred();
  const r = quotaRig({
    rpm: 3,
    sleep: async (ms) => {
      waiting.resolve();
      await releaseWait.promise;
      r.clock.advance(ms);
    },
    ...options,
  });
  // 50 s into the minute: a request queued behind it waits 10 s, and the
  // outage's 30 s pause holds when the wait ends.
  r.clock.advance(50_000);
  const { arrivedC, releaseC } = scriptOutageRound(r);
  return Object.assign(r, {
    /**
     * Sends the outage's round and `n` requests that queue behind its
     * minute; ends the round while they wait, then their wait.
     */
    async outageWhileQueued(n: number): Promise<Response[]> {
      const first = r.chat(hello());
      await arrivedC; // A, B and C sent: the minute is spent
      const queued = Array.from({ length: n }, () => r.chat(hello()));
      await waiting.promise; // the first of them waits for the next minute
      releaseC();
      const one = await first;
      assert.equal(one.status, 502);
      assert.equal(one.headers.get("retry-after"), "30");
      await one.body?.cancel();
      releaseWait.resolve();
      return await Promise.all(queued);
    },
  });
}

Deno.test("createHandler(): requests waiting for the account's minute when an outage is found send nothing to the outage's models after the wait, and take no slot of the account's count", async () => {
  await using r = queueRig();
  for (const res of await r.outageWhileQueued(3)) {
    assert.equal(res.status, 502);
    assert.equal(res.headers.get("retry-after"), "20");
    assert.match((await res.json()).error.message, /nothing was sent/);
  }
  assert.equal(r.fake.chatRequests().length, 3, "nothing sent after the wait");
  const { account } = await status(r);
  assert.equal(account.requests_today, 3, "only what was sent is counted");
});

Deno.test("createHandler(): a request held after its wait gets the pause's 502 when the round left the day one request: the wait took no slot of it", async () => {
  await using r = queueRig({
    quotaRefresh: 300,
    fakeOptions: {
      models: catalog(),
      key: { free_model_daily_requests: { used: 46, limit: 50, remaining: 4 } },
    },
  });
  await r.handler.refreshQuota();
  const [res] = await r.outageWhileQueued(1);
  assert.equal(res!.status, 502, "49 of 50 used: the day has room");
  assert.equal((await res!.json()).error.code, "all_candidates_failed");
  assert.equal(r.fake.chatRequests().length, 3);
  assert.equal((await status(r)).account.requests_today, 49);
});
