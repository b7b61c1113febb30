/**
 * The quota you can see: OpenRouter's `GET /key` read at start, on demand and
 * after a daily-cap 429 (`quotaRefresh`); its `free_model_daily_requests`
 * setting the daily limit and today's count before any 429; a failing `/key`
 * changing nothing; "nothing remains" refusing requests without an upstream
 * attempt; a daily-cap 429 outranking what `/key` says later; and the quota
 * (used, remaining, reset countdown, projection) in `/health`, the status
 * report, `/metrics` and `freerouter check`.
 */
import assert from "node:assert/strict";
import { run } from "../src/server/main.ts";
import { samplesKey } from "../src/state/quota_book.ts";
import { accountIdOf } from "../src/state/account_id.ts";
import { KvStateStore } from "../src/state/kv_store.ts";
import { accountCounts } from "../src/state/kv_keys.ts";
import {
  hello,
  rig,
  type RigOptions,
  SERVER_KEY,
  withKvFile,
} from "./_harness.ts";
import {
  dailyCap,
  errorStatus,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
} from "./fake_openrouter/mod.ts";

const FIRST = FREE_CHAT_IDS_IN_PRIORITY_ORDER[0]!;
/** The harness clock starts at 2026-11-24T12:00:00Z: the reset is 12 h away. */
const MIDNIGHT = Date.parse("2026-11-25T00:00:00Z");

type Quota = {
  used_today: number;
  daily_limit: number | null;
  remaining_today: number | null;
  limit_source: string | null;
  exhausted: boolean;
  blocked_by: string | null;
  resets_at: string;
  resets_in_seconds: number;
  projection: {
    rate_per_hour: number | null;
    runs_out_at: string | null;
    runs_out_in_seconds: number | null;
    lasts_until_reset: boolean | null;
  };
  key: Record<string, unknown>;
};

function keyRig(
  daily: { used: number; limit: number; remaining: number },
  options: RigOptions = {},
) {
  return rig({
    quotaRefresh: 300,
    fakeOptions: { key: { free_model_daily_requests: daily } },
    ...options,
  });
}

async function quotaOf(r: ReturnType<typeof rig>): Promise<Quota> {
  const s = await (await r.request("/v1/freerouter/status")).json();
  return s.quota as Quota;
}

Deno.test("quota: the daily limit and today's count come from /key at start, before any 429", async () => {
  await using r = keyRig({ used: 12, limit: 50, remaining: 38 });
  const q = await quotaOf(r);
  assert.equal(r.fake.keyRequests().length, 1, "read once at start");
  assert.equal(
    r.fake.keyRequests()[0]!.headers.get("authorization"),
    `Bearer ${SERVER_KEY}`,
  );
  assert.equal(q.daily_limit, 50);
  assert.equal(q.limit_source, "key");
  assert.equal(q.used_today, 12);
  assert.equal(q.remaining_today, 38);
  assert.equal(q.exhausted, false);
  assert.equal(q.resets_at, new Date(MIDNIGHT).toISOString());
  assert.equal(q.resets_in_seconds, 12 * 3600);
  assert.equal(q.key.is_free_tier, true);
  assert.deepEqual(q.key.free_model_daily_requests, {
    used: 12,
    limit: 50,
    remaining: 38,
  });
  assert.equal(r.fake.chatRequests().length, 0);
  // The account's own section agrees, and the limiter counts from there.
  const s = await (await r.request("/v1/freerouter/status")).json();
  assert.equal(s.account.daily_limit, 50);
  assert.equal(s.account.requests_today, 12);
  await (await r.chat(hello())).body?.cancel();
  assert.equal((await quotaOf(r)).used_today, 13);
});

Deno.test("quota: the limiter refuses the request past the limit /key reported with daily_limit_reached, without an upstream attempt, and /health says limited", async () => {
  await using r = keyRig({ used: 48, limit: 50, remaining: 2 });
  await r.handler.refreshQuota();
  for (let i = 0; i < 2; i++) {
    const res = await r.chat(hello());
    assert.equal(res.status, 200);
    await res.body?.cancel();
  }
  const refused = await r.chat(hello());
  assert.equal(refused.status, 429);
  assert.equal(
    ((await refused.json()) as { error: { code: string } }).error.code,
    "daily_limit_reached",
    "the day is spent, not the minute",
  );
  assert.equal(refused.headers.get("retry-after"), String(12 * 3600));
  assert.equal(r.fake.chatRequests().length, 2);
  const health = await (await r.request("/health")).json();
  assert.equal(health.status, "limited", "a spent day is a limit");
  assert.equal(health.account_blocked_until, new Date(MIDNIGHT).toISOString());
  assert.equal(health.quota.exhausted, true);
  // The status report agrees: the account is blocked until midnight.
  const { account } = await (await r.request("/v1/freerouter/status")).json();
  assert.equal(account.blocked, true);
  assert.equal(account.blocked_until, new Date(MIDNIGHT).toISOString());
  assert.equal(account.block_scope, "day");
});

Deno.test("quota: with FREEROUTER_RPM=0 (no per-minute limit) the day is still counted, and the limit /key reported still stops requests", async () => {
  await using r = keyRig({ used: 47, limit: 50, remaining: 3 }, { rpm: 0 });
  await r.handler.refreshQuota();
  for (let i = 0; i < 3; i++) {
    const res = await r.chat(hello());
    assert.equal(res.status, 200);
    await res.body?.cancel();
  }
  assert.equal((await quotaOf(r)).used_today, 50);
  const refused = await r.chat(hello());
  assert.equal(refused.status, 429);
  assert.equal(
    ((await refused.json()) as { error: { code: string } }).error.code,
    "daily_limit_reached",
  );
  assert.equal(r.fake.chatRequests().length, 3);
});

Deno.test("quota: when /key says nothing remains, requests get 429 with Retry-After (next UTC midnight) without an upstream attempt; /key with room lifts it", async () => {
  await using r = keyRig({ used: 50, limit: 50, remaining: 0 });
  await r.handler.refreshQuota();
  const res = await r.chat(hello());
  assert.equal(res.status, 429);
  assert.equal(res.headers.get("retry-after"), String(12 * 3600));
  const body = await res.json();
  assert.equal(body.error.code, "daily_limit_reached");
  assert.equal(r.fake.chatRequests().length, 0);
  const q = await quotaOf(r);
  assert.equal(q.exhausted, true);
  assert.equal(q.remaining_today, 0);
  assert.equal(q.blocked_by, "key");
  const health = await (await r.request("/health")).json();
  assert.equal(health.status, "limited");
  assert.equal(health.quota.remaining_today, 0);

  // Credits bought: /key now reports 1000 a day.
  r.fake.key.free_model_daily_requests = {
    used: 50,
    limit: 1000,
    remaining: 950,
  };
  await r.handler.refreshQuota();
  const after = await r.chat(hello());
  assert.equal(after.status, 200);
  await after.body?.cancel();
  assert.equal((await quotaOf(r)).daily_limit, 1000);
});

Deno.test("quota: a daily-cap 429 blocks until its reset whatever /key says afterwards, and /key is read again after it", async () => {
  await using r = keyRig({ used: 10, limit: 50, remaining: 40 });
  await r.handler.refreshQuota();
  const reads = r.fake.keyRequests().length;
  r.fake.script(FIRST, dailyCap({ resetMs: MIDNIGHT }));
  const capped = await r.chat(hello());
  assert.equal(capped.status, 429);
  await capped.body?.cancel();
  // The status waits for the read the 429 started.
  const q = await quotaOf(r);
  assert.equal(
    r.fake.keyRequests().length,
    reads + 1,
    "read again after the 429",
  );
  assert.equal(q.blocked_by, "rate_limit");
  assert.equal(q.exhausted, true);
  // /key lags and still reports room: the block holds.
  await r.handler.refreshQuota();
  const still = await r.chat(hello());
  assert.equal(still.status, 429);
  assert.equal(still.headers.get("retry-after"), String(12 * 3600));
  await still.body?.cancel();
  assert.equal(r.fake.chatRequests().length, 1);
  r.clock.advance(MIDNIGHT - r.clock.now());
  const tomorrow = await r.chat(hello());
  assert.equal(tomorrow.status, 200);
  await tomorrow.body?.cancel();
});

Deno.test("quota: a failing /key changes nothing: no limit learned at start, and a limit learned from a 429 stays", async () => {
  await using r = keyRig({ used: 0, limit: 50, remaining: 50 });
  r.fake.scriptKey(errorStatus(500), errorStatus(500));
  let q = await quotaOf(r); // after the read at start
  assert.equal(r.fake.keyRequests().length, 1);
  assert.equal(q.daily_limit, null);
  assert.equal(q.key.checked_at, null);
  assert.match(String(q.key.error), /500/);
  const ok = await r.chat(hello());
  assert.equal(ok.status, 200);
  await ok.body?.cancel();

  r.fake.script(FIRST, dailyCap({ resetMs: MIDNIGHT, limit: 50 }));
  await (await r.chat(hello())).body?.cancel(); // the 429, then a failed read
  q = await quotaOf(r);
  assert.equal(q.daily_limit, 50, "learned from X-RateLimit-Limit, kept");
  assert.equal(q.limit_source, "rate_limit");
  assert.equal(q.blocked_by, "rate_limit");
  assert.match(String(q.key.error), /500/);
  assert.equal(r.fake.keyRequests().length, 2);
});

Deno.test("quota: a malformed /key answer is noted, not applied", async () => {
  await using r = keyRig({ used: 0, limit: 50, remaining: 50 });
  r.fake.scriptKey({ status: 200, body: { nothing: true } });
  const q = await quotaOf(r); // after the read at start
  assert.equal(q.daily_limit, null);
  assert.match(String(q.key.error), /without a key report/);
});

Deno.test("quota: the projection: at the last hour's rate, when the day's quota runs out", async () => {
  await using r = keyRig({ used: 0, limit: 50, remaining: 50 });
  await r.handler.refreshQuota(); // a sample at 12:00: 0 used
  let q = await quotaOf(r);
  assert.equal(q.projection.rate_per_hour, null, "no history yet");
  assert.equal(q.projection.runs_out_at, null);
  // Ten requests over 30 minutes: 20 an hour.
  for (let i = 0; i < 10; i++) {
    r.clock.advance(3 * 60_000);
    await (await r.chat(hello())).body?.cancel();
  }
  q = await quotaOf(r);
  assert.equal(q.used_today, 10);
  assert.equal(q.projection.rate_per_hour, 20);
  assert.equal(q.projection.lasts_until_reset, false);
  // 40 left at 20 an hour: two hours from now.
  assert.equal(q.projection.runs_out_in_seconds, 2 * 3600);
  assert.equal(
    q.projection.runs_out_at,
    new Date(r.clock.now() + 2 * 3600_000).toISOString(),
  );
  const health = await (await r.request("/health")).json();
  assert.deepEqual(health.quota.projection, q.projection);
  assert.equal(health.quota.used_today, 10);
  const metrics = await (await r.request("/metrics")).text();
  assert.match(metrics, /^freerouter_quota_used_today 10$/m);
  assert.match(metrics, /^freerouter_quota_daily_limit 50$/m);
  assert.match(metrics, /^freerouter_quota_remaining_today 40$/m);
  assert.match(metrics, /^freerouter_quota_rate_per_hour 20$/m);
  assert.match(metrics, /^freerouter_quota_runs_out_seconds 7200$/m);
  assert.match(metrics, /^freerouter_quota_reset_seconds 41400$/m);

  // An hour later without requests, the rate falls and the quota lasts.
  r.clock.advance(3600_000);
  q = await quotaOf(r);
  assert.equal(q.projection.lasts_until_reset, true);
  assert.equal(q.projection.runs_out_at, null);
  assert.ok((q.projection.rate_per_hour ?? 99) < 20);
});

Deno.test("quota: the day's history is kept in KV, so another instance projects from it", async () => {
  await withKvFile(async (path) => {
    using kvA = await Deno.openKv(path);
    await using a = keyRig({ used: 0, limit: 50, remaining: 50 }, { kv: kvA });
    await a.handler.refreshQuota();
    for (let i = 0; i < 10; i++) {
      a.clock.advance(3 * 60_000);
      await (await a.chat(hello())).body?.cancel();
    }
    await a.handler.close();
    using kvB = await Deno.openKv(path);
    await using b = keyRig({ used: 10, limit: 50, remaining: 40 }, {
      kv: kvB,
      fake: a.fake,
      clock: a.clock,
    });
    const q = await quotaOf(b);
    assert.equal(q.used_today, 10);
    assert.equal(q.projection.rate_per_hour, 20);
  });
});

Deno.test("quota: without quotaRefresh (the library's default) /key is never read", async () => {
  await using r = rig();
  await r.handler.refreshQuota();
  await (await r.chat(hello())).body?.cancel();
  const q = await quotaOf(r);
  assert.equal(r.fake.keyRequests().length, 0);
  assert.equal(q.daily_limit, null);
  assert.equal(q.key.checked_at, null);
});

Deno.test("freerouter check shows the reset countdown and the projection from the proxy's history in FREEROUTER_KV_PATH", async () => {
  await using r = keyRig({ used: 45, limit: 50, remaining: 5 });
  await withKvFile(async (path) => {
    // A fixed noon: the history sample half an hour back is today's, and the
    // projection ends before midnight, whatever time the test runs.
    const now = Date.UTC(2026, 11, 6, 12, 0);
    {
      using kv = await Deno.openKv(path);
      await kv.set(samplesKey(await accountIdOf("sk-or-v1-check-0123456789")), [
        { t: now - 30 * 60_000, used: 15 },
      ]);
    }
    const out: string[] = [];
    const code = await run(["check"], {
      OPENROUTER_API_KEY: "sk-or-v1-check-0123456789",
      OPENROUTER_BASE_URL: r.fake.baseUrl,
      FREEROUTER_KV_PATH: path,
    }, { out: (t) => out.push(t), err: (t) => out.push(t), now: () => now });
    assert.equal(code, 0, out.join("\n"));
    const text = out.join("\n");
    assert.match(text, /Free models today: 45 of 50 used, 5 left/);
    assert.match(text, /Resets in: +12 h/);
    // 30 requests in the last 30 minutes: 60 an hour, 5 left: 5 minutes.
    assert.match(
      text,
      /Projection: +60 requests\/hour over the last hour: runs out at 12:05 UTC \(in 5 min\)/,
    );
  });
  // Without a KV file there is no history.
  const out: string[] = [];
  await run(["check"], {
    OPENROUTER_API_KEY: "sk-or-v1-check-0123456789",
    OPENROUTER_BASE_URL: r.fake.baseUrl,
    FREEROUTER_KV_PATH: "/nonexistent/freerouter/kv.sqlite",
  }, { out: (t) => out.push(t), err: (t) => out.push(t) });
  assert.match(out.join("\n"), /Projection: +not enough history yet/);
});

Deno.test("freerouter check trusts what the proxy stored over a lagging /key: a daily-cap block from a 429, and today's count", async () => {
  await using r = keyRig({ used: 10, limit: 50, remaining: 40 });
  const key = "sk-or-v1-check-0123456789";
  const now = Date.UTC(2026, 11, 6, 12, 0);
  const midnight = Date.UTC(2026, 11, 7);
  const check = async (path: string) => {
    const out: string[] = [];
    const code = await run(["check"], {
      OPENROUTER_API_KEY: key,
      OPENROUTER_BASE_URL: r.fake.baseUrl,
      FREEROUTER_KV_PATH: path,
    }, { out: (t) => out.push(t), err: (t) => out.push(t), now: () => now });
    assert.equal(code, 0, out.join("\n"));
    return out.join("\n");
  };
  await withKvFile(async (path) => {
    const id = await accountIdOf(key);
    {
      using kv = await Deno.openKv(path);
      const store = new KvStateStore(kv);
      // The proxy counted 30 today; /key still says 10.
      await kv.set(accountCounts(id), {
        minute: Math.floor(now / 60_000),
        minuteCount: 1,
        day: Math.floor(now / 86_400_000),
        dayCount: 30,
      });
      const counted = await check(path);
      assert.match(
        counted,
        /Counted: +30 requests today by the proxy \(\/key's count lags\), 20 left$/m,
      );
      assert.doesNotMatch(counted, /Blocked:/);
      // A daily-cap 429 the proxy saw holds whatever /key says.
      await store.saveAccount(
        id,
        {
          scope: "day",
          until: midnight,
          reason: "free-models-per-day",
        },
        {},
        now,
      );
    }
    const blocked = await check(path);
    assert.match(
      blocked,
      /Blocked: +until 00:00 UTC by a daily-cap 429 the proxy saw/,
    );
    assert.match(blocked, /Projection: +none left until the reset/);
  });
});
