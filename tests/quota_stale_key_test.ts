/**
 * A stale `GET /key` report (one answered across 00:00 UTC, or OpenRouter's
 * counters lagging across the reset) must not block the account for the
 * whole new day: a later report of the day that counts less sets the day's
 * count right (never below freerouter's own attempts), here and on every
 * instance sharing the KV store; a read answered after the midnight that
 * followed its start is not applied at all.
 */
import assert from "node:assert/strict";
import {
  currentCounts,
  oneMore,
  withKeyUsed,
} from "../src/core/account_limit.ts";
import type { KeyReport } from "../src/core/key_report.ts";
import { FreeRouterState } from "../src/mod.ts";
import { KeyWatch } from "../src/state/key_watch.ts";
import { routingState } from "../src/state/public_state.ts";
import { RoutingState } from "../src/state/state.ts";
import { hello, manualClock, rig, withKvFile } from "./_harness.ts";

const BEFORE_MIDNIGHT = Date.parse("2026-11-24T23:58:00Z");

Deno.test("withKeyUsed(): /key raises the day's count, a later lower report sets a stale one right, never below freerouter's attempts", () => {
  const t = Date.parse("2026-11-25T00:01:00Z");
  // A stale report right after midnight: yesterday's 50.
  let c = withKeyUsed(oneMore(undefined, t), 50, t);
  assert.equal(c.dayCount, 50);
  c = oneMore(oneMore(c, t), t); // two more attempts: 52 counted, 3 of them freerouter's
  assert.equal(c.dayCount, 52);
  // A report that has not seen the last attempts yet keeps the count.
  assert.equal(withKeyUsed(c, 51, t).dayCount, 52);
  // A report below the last one: that one was stale.
  const fresh = withKeyUsed(c, 2, t + 300_000);
  assert.equal(fresh.dayCount, 3, "freerouter's own three attempts stay");
  const higher = withKeyUsed(c, 9, t + 300_000);
  assert.equal(higher.dayCount, 9, "what OpenRouter counted from others too");
  // And counting goes on from there.
  assert.equal(oneMore(higher, t + 300_000).dayCount, 10);
  assert.equal(
    withKeyUsed(oneMore(higher, t + 300_000), 9, t + 360_000).dayCount,
    10,
  );
  // A report answered before the last one applied (another instance applied
  // a later one first) changes nothing.
  const later = withKeyUsed(c, 60, t + 600_000);
  assert.equal(later.dayCount, 60);
  const older = withKeyUsed(later, 55, t + 300_000);
  assert.deepEqual([older.dayCount, older.keyUsed], [60, 60]);
  // The next day starts without the reports of this one.
  const tomorrow = currentCounts(higher, Date.parse("2026-11-26T00:00:01Z"));
  assert.equal(tomorrow.dayCount, 0);
  assert.equal(tomorrow.keyUsed, undefined);
  assert.equal(withKeyUsed(tomorrow, 4, tomorrow.day * 86_400_000).dayCount, 4);
});

type Quota = {
  used_today: number;
  remaining_today: number | null;
  exhausted: boolean;
  projection: { rate_per_hour: number | null };
};

Deno.test("quota: a /key report still showing yesterday's spent day after 00:00 UTC blocks only until a report with room sets it right", async () => {
  const clock = manualClock(BEFORE_MIDNIGHT);
  await using r = rig({
    clock,
    quotaRefresh: 300,
    fakeOptions: {
      key: { free_model_daily_requests: { used: 48, limit: 50, remaining: 2 } },
    },
  });
  await r.handler.refreshQuota();
  for (let i = 0; i < 2; i++) await (await r.chat(hello())).body?.cancel();
  clock.advance(3 * 60_000); // 00:01, a new UTC day
  const first = await r.chat(hello());
  assert.equal(first.status, 200);
  await first.body?.cancel();
  // OpenRouter's counter has not reset yet.
  r.fake.key.free_model_daily_requests = { used: 50, limit: 50, remaining: 0 };
  await r.handler.refreshQuota();
  const refused = await r.chat(hello());
  assert.equal(refused.status, 429);
  await refused.body?.cancel();
  clock.advance(5 * 60_000); // 00:06: it has
  r.fake.key.free_model_daily_requests = { used: 1, limit: 50, remaining: 49 };
  await r.handler.refreshQuota();
  const answered = await r.chat(hello());
  assert.equal(answered.status, 200, "the account is not blocked all day");
  await answered.body?.cancel();
  const status = await (await r.request("/v1/freerouter/status")).json();
  const quota = status.quota as Quota;
  assert.equal(quota.used_today, 2);
  assert.equal(quota.remaining_today, 48);
  assert.equal(quota.exhausted, false);
  assert.equal(status.account.requests_today, 2);
  assert.equal(status.account.blocked, false);
  assert.ok(
    (quota.projection.rate_per_hour ?? 0) < 50,
    `rate ${quota.projection.rate_per_hour} counts the stale report`,
  );
  const health = await (await r.request("/health")).json();
  assert.notEqual(health.status, "limited");
  assert.equal(r.fake.chatRequests().length, 4);
});

Deno.test("quota: another instance on the KV file sees the day's count set right by the first one's /key report", async () => {
  await withKvFile(async (path) => {
    const clock = manualClock(Date.parse("2026-11-25T00:01:00Z"));
    using kv1 = await Deno.openKv(path);
    using kv2 = await Deno.openKv(path);
    // No timer tick during the test: it runs the second one's sync itself.
    await using shared = new FreeRouterState({
      kv: kv2,
      syncIntervalMs: 3_600_000,
    });
    await using one = rig({
      clock,
      kv: kv1,
      quotaRefresh: 300,
      fakeOptions: {
        key: {
          free_model_daily_requests: { used: 50, limit: 50, remaining: 0 },
        },
      },
    });
    await using two = rig({ clock, state: shared, fake: one.fake });
    await one.handler.refreshQuota();
    const stale = await (await two.request("/v1/freerouter/status")).json();
    assert.equal(stale.account.requests_today, 50, "both read the stale 50");
    one.fake.key.free_model_daily_requests = {
      used: 1,
      limit: 50,
      remaining: 49,
    };
    await one.handler.refreshQuota();
    const right = await (await two.request("/v1/freerouter/status")).json();
    assert.equal(right.account.requests_today, 1);
    await routingState(shared).syncNow(); // takes in the lifted /key block
    const res = await two.chat(hello());
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const after = await (await one.request("/v1/freerouter/status")).json();
    assert.equal(after.account.requests_today, 2);
  });
});

Deno.test("KeyWatch does not apply a /key read answered after the 00:00 UTC that followed its start, and reads again", async () => {
  const clock = manualClock(Date.parse("2026-11-24T23:59:59Z"));
  const report = (used: number): KeyReport => ({
    limit: null,
    limitRemaining: null,
    usage: 0,
    usageDaily: 0,
    isFreeTier: true,
    freeDaily: { used, limit: 50, remaining: 50 - used },
  });
  const state = new RoutingState({});
  let reads = 0;
  const watch = new KeyWatch({
    state,
    account: Promise.resolve("acct"),
    read: () => {
      reads++;
      if (reads === 1) {
        clock.advance(2_000); // answered at 00:00:01 with yesterday's count
        return Promise.resolve(report(50));
      }
      return Promise.resolve(report(0));
    },
    intervalMs: 3_600_000,
    now: clock.now,
    warn: () => {},
  });
  try {
    await watch.settled();
    assert.equal(reads, 2);
    assert.equal(state.counts.at("acct", clock.now()).dayCount, 0);
    assert.equal(state.account("acct").block, undefined);
    assert.equal(
      state.quota.key("acct")?.report?.freeDaily?.used,
      0,
      "the status shows the fresh report",
    );
  } finally {
    await watch.close();
    await state.close();
  }
});
