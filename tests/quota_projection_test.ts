/**
 * The pure quota rules (src/core/quota.ts, src/core/key_report.ts): the
 * reset instant, the day-count samples, the last hour's rate, the view with
 * its projection, and reading a `GET /key` body; and how often QuotaBook
 * writes the samples to KV.
 */
import assert from "node:assert/strict";
import { loadSamples, QuotaBook } from "../src/state/quota_book.ts";
import {
  addSample,
  formatDuration,
  hourlyRate,
  mergeSamples,
  nextUtcMidnight,
  quotaView,
  type UsageSample,
} from "../src/core/quota.ts";
import { parseKeyReport } from "../src/core/key_report.ts";

const NOON = Date.parse("2026-11-24T12:00:00Z");
const MIN = 60_000;
const HOUR = 3_600_000;

Deno.test("nextUtcMidnight() is the next 00:00 UTC", () => {
  assert.equal(nextUtcMidnight(NOON), Date.parse("2026-11-25T00:00:00Z"));
  assert.equal(
    nextUtcMidnight(Date.parse("2026-11-25T00:00:00Z")),
    Date.parse("2026-11-26T00:00:00Z"),
  );
});

Deno.test("addSample() keeps samples a minute apart (the newest moves), drops other days and keeps one base before the hour", () => {
  let s: UsageSample[] = [];
  s = addSample(s, { t: NOON, used: 1 });
  s = addSample(s, { t: NOON + 10_000, used: 2 });
  s = addSample(s, { t: NOON + 20_000, used: 3 });
  assert.deepEqual(s, [{ t: NOON, used: 1 }, { t: NOON + 20_000, used: 3 }]);
  s = addSample(s, { t: NOON + 2 * MIN, used: 4 });
  assert.equal(s.length, 3);
  // A count lower than earlier ones (a stale /key report set right) drops
  // the samples above it.
  s = addSample(s, { t: NOON + 4 * MIN, used: 2 });
  assert.deepEqual(s, [{ t: NOON, used: 1 }, { t: NOON + 4 * MIN, used: 2 }]);
  s = addSample(s, { t: NOON + 5 * MIN, used: 4 });
  // Two hours later only the newest sample before the window stays.
  s = addSample(s, { t: NOON + 2 * HOUR, used: 9 });
  assert.deepEqual(s, [{ t: NOON + 5 * MIN, used: 4 }, {
    t: NOON + 2 * HOUR,
    used: 9,
  }]);
  // The next day starts afresh.
  const tomorrow = Date.parse("2026-11-25T00:00:30Z");
  assert.deepEqual(addSample(s, { t: tomorrow, used: 0 }), [
    { t: tomorrow, used: 0 },
  ]);
  // Bounded: a day of samples every 30 s keeps about an hour's worth.
  let many: UsageSample[] = [];
  for (let i = 0; i < 2000; i++) {
    many = addSample(many, { t: NOON - 10 * HOUR + i * 30_000, used: i });
  }
  assert.ok(
    many.length >= 58 && many.length <= 62,
    `${many.length} samples kept`,
  );
});

Deno.test("hourlyRate() is the last hour's rate under steady traffic: samples a second apart keep one a minute", () => {
  // An hour at a request a second, then an idle hour.
  let s: UsageSample[] = [];
  let used = 0;
  for (let i = 0; i <= 7200; i++) {
    if (i <= 3600) used = i;
    s = addSample(s, { t: NOON + i * 1000, used });
  }
  const now = NOON + 2 * HOUR;
  assert.ok(s.length >= 58 && s.length <= 62, `${s.length} samples kept`);
  const rate = hourlyRate(s, used, now)!;
  assert.ok(
    rate * 3_600_000 <= 60,
    `${rate * 3_600_000} requests in the idle hour`,
  );
});

Deno.test("hourlyRate() is the growth over the last hour, from the newest sample at or before its start", () => {
  assert.equal(hourlyRate([], 5, NOON), undefined);
  assert.equal(
    hourlyRate([{ t: NOON - 30_000, used: 0 }], 5, NOON),
    undefined,
    "less than a minute of history",
  );
  const half = [{ t: NOON - 30 * MIN, used: 10 }];
  assert.equal(hourlyRate(half, 20, NOON)! * HOUR, 20);
  const older = [{ t: NOON - 3 * HOUR, used: 4 }, {
    t: NOON - 10 * MIN,
    used: 30,
  }];
  // Counted from the window's start with the older sample's count: 36 in an hour.
  assert.equal(hourlyRate(older, 40, NOON)! * HOUR, 36);
  // Yesterday's samples say nothing about today.
  assert.equal(
    hourlyRate([{ t: NOON - 13 * HOUR, used: 4 }], 6, NOON),
    undefined,
  );
});

Deno.test("quotaView(): remaining, the reset, and when the quota runs out at the last hour's rate", () => {
  const samples = [{ t: NOON - HOUR, used: 10 }];
  const base = { used: 30, limit: 50, blocked: false, samples, now: NOON };
  const v = quotaView(base);
  assert.equal(v.remaining, 20);
  assert.equal(v.resetsAt, Date.parse("2026-11-25T00:00:00Z"));
  assert.equal(v.ratePerHour, 20);
  assert.equal(v.runsOutAt, NOON + HOUR);
  assert.equal(v.lastsUntilReset, false);
  // Slower than the time left: lasts.
  const slow = quotaView({ ...base, samples: [{ t: NOON - HOUR, used: 29 }] });
  assert.equal(slow.ratePerHour, 1);
  assert.equal(slow.runsOutAt, null);
  assert.equal(slow.lastsUntilReset, true);
  // No requests in the last hour: lasts.
  assert.equal(
    quotaView({ ...base, samples: [{ t: NOON - HOUR, used: 30 }] })
      .lastsUntilReset,
    true,
  );
  // Unknown limit: a rate, but nothing to project.
  const unknown = quotaView({ ...base, limit: undefined });
  assert.equal(unknown.remaining, null);
  assert.equal(unknown.ratePerHour, 20);
  assert.equal(unknown.lastsUntilReset, null);
  // Blocked or used up: exhausted.
  for (
    const view of [
      quotaView({ ...base, blocked: true }),
      quotaView({ ...base, used: 60 }),
    ]
  ) {
    assert.equal(view.exhausted, true);
    assert.equal(view.remaining, 0);
    assert.equal(view.runsOutAt, null);
    assert.equal(view.lastsUntilReset, false);
  }
});

Deno.test("mergeSamples() combines two histories in time order", () => {
  const merged = mergeSamples(
    [{ t: NOON - 50 * MIN, used: 1 }, { t: NOON - 10 * MIN, used: 9 }],
    [{ t: NOON - 30 * MIN, used: 5 }],
  );
  assert.deepEqual(merged.map((s) => s.used), [1, 5, 9]);
});

Deno.test("formatDuration() reads like a countdown", () => {
  assert.equal(formatDuration(42_000), "42 s");
  assert.equal(formatDuration(4 * MIN), "4 min");
  assert.equal(formatDuration(3 * HOUR), "3 h");
  assert.equal(formatDuration(3 * HOUR + 12 * MIN), "3 h 12 min");
});

Deno.test("parseKeyReport() reads OpenRouter's /key body, tolerating missing and odd fields", () => {
  const full = parseKeyReport({
    data: {
      label: "sk-or-v1-au7...890",
      limit: 100,
      limit_remaining: 74.5,
      usage: 25.5,
      usage_daily: 1.5,
      is_free_tier: false,
      rate_limit: { requests: -1, interval: "10s" },
      free_model_daily_requests: { used: 16, limit: 1000, remaining: 984 },
    },
  });
  assert.deepEqual(full, {
    limit: 100,
    limitRemaining: 74.5,
    usage: 25.5,
    usageDaily: 1.5,
    isFreeTier: false,
    freeDaily: { used: 16, limit: 1000, remaining: 984 },
  });
  // Over the limit: remaining floors at 0.
  assert.deepEqual(
    parseKeyReport({
      data: {
        free_model_daily_requests: { used: 60, limit: 50, remaining: 0 },
      },
    })?.freeDaily,
    { used: 60, limit: 50, remaining: 0 },
  );
  // Older answers have no daily counter; odd fields read as null.
  const old = parseKeyReport({ data: { limit: "lots", is_free_tier: true } });
  assert.equal(old?.freeDaily, undefined);
  assert.equal(old?.limit, null);
  assert.equal(old?.isFreeTier, true);
  assert.equal(
    parseKeyReport({ data: { free_model_daily_requests: { used: "x" } } })
      ?.freeDaily,
    undefined,
  );
  assert.equal(
    parseKeyReport({ error: { message: "User not found." } }),
    undefined,
  );
  assert.equal(parseKeyReport("nope"), undefined);
});

Deno.test("QuotaBook writes the samples to KV about once a minute under steady traffic, also after the first hour", async () => {
  using kv = await Deno.openKv(":memory:");
  const book = new QuotaBook(kv);
  for (let i = 0; i <= 3 * 3600; i++) {
    book.sample("acct", i, NOON + i * 1000);
    if (i % 600 === 0) await book.settle();
  }
  await book.settle();
  const stored = await loadSamples(kv, "acct");
  assert.ok(stored.length >= 58, `${stored.length} samples stored`);
  const newest = stored.at(-1)!.t;
  assert.ok(
    NOON + 3 * HOUR - newest <= 2 * MIN,
    `the newest stored sample is ${(NOON + 3 * HOUR - newest) / 1000} s old`,
  );
});
