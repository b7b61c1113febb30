/**
 * The account's queue refuses at once what only a minute past
 * FREEROUTER_MAX_WAIT could take: a burst larger than this minute and the
 * next one together used to wait until the next minute began, and only then
 * learn that its room was past its deadline (a team probe: 10 of 50
 * requests waited 30 s for a 429).
 */
import assert from "node:assert/strict";
import { minuteRoomAt } from "../src/core/account_limit.ts";
import { hello, manualClock } from "./_harness.ts";
import { deferred, within } from "./_async.ts";
import {
  catalog,
  quotaRig,
  scriptOutageRound,
  status,
  weather,
} from "./_quota.ts";
import { catalogRow } from "./fake_openrouter/mod.ts";

const MINUTE = 60_000;
/** 12:00:30 UTC, half a minute in. */
const T = Date.parse("2026-11-24T12:00:30Z");
const minute = Math.floor(T / MINUTE);
const counts = (minuteCount: number) => ({
  minute,
  minuteCount,
  day: Math.floor(T / 86_400_000),
  dayCount: minuteCount,
});

Deno.test("minuteRoomAt(): now while this minute has room for the calls ahead and this one, else the first minute that does", () => {
  assert.equal(minuteRoomAt(counts(0), 2, T, 0), T);
  assert.equal(minuteRoomAt(counts(0), 2, T, 1), T);
  assert.equal(minuteRoomAt(counts(1), 2, T, 1), (minute + 1) * MINUTE);
  assert.equal(minuteRoomAt(counts(2), 2, T, 0), (minute + 1) * MINUTE);
  assert.equal(minuteRoomAt(counts(2), 2, T, 1), (minute + 1) * MINUTE);
  assert.equal(minuteRoomAt(counts(2), 2, T, 2), (minute + 2) * MINUTE);
  assert.equal(minuteRoomAt(counts(0), 2, T, 4), (minute + 2) * MINUTE);
  assert.equal(minuteRoomAt(undefined, 20, T, 39), (minute + 1) * MINUTE);
  assert.equal(minuteRoomAt(undefined, 20, T, 40), (minute + 2) * MINUTE);
  // Counts of an earlier minute are spent.
  assert.equal(minuteRoomAt(counts(2), 2, T + MINUTE, 1), T + MINUTE);
  assert.equal(minuteRoomAt(counts(5), 0, T, 100), T, "no per-minute limit");
});

Deno.test("createHandler(): of a burst larger than this minute and the next, those only a later minute could take get 429 at once, not after waiting for the next minute", async () => {
  await using r = heldRig({ maxWait: 30 });
  let refused = 0;
  const twoRefused = deferred();
  const burst = Array.from({ length: 6 }, () =>
    r.chat(hello()).then((res) => {
      if (res.status === 429 && ++refused === 2) twoRefused.resolve();
      return res;
    }));
  await within(r.asleep, "a request to wait for the next minute");
  // Two fit now, two in the next minute (30 s away, within FREEROUTER_MAX_WAIT);
  // the last two are refused while the others still wait.
  await within(twoRefused.promise, "two refused before the wait ends");
  r.release();
  const responses = await Promise.all(burst);
  const statuses = responses.map((res) => res.status).sort();
  assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
  for (const res of responses) {
    if (res.status === 429) {
      // Room comes at 12:02:00, 90 s after the burst.
      assert.equal(res.headers.get("retry-after"), "90");
      assert.equal((await res.json()).error.code, "rate_limited");
    } else await res.body?.cancel();
  }
  assert.equal(r.fake.chatRequests().length, 4);
});

/** Rig options of an account that has 2 of its 50 free requests left today, as `/key` says. */
const TWO_LEFT_TODAY = {
  quotaRefresh: 300,
  fakeOptions: {
    models: catalog(),
    key: { free_model_daily_requests: { used: 48, limit: 50, remaining: 2 } },
  },
};

/** Reads `/key`, then spends the day's last 2 requests: the day and a 2-a-minute minute are spent. */
async function spendDayAndMinute(r: ReturnType<typeof quotaRig>) {
  await r.handler.refreshQuota();
  for (let i = 0; i < 2; i++) await (await r.chat(hello())).body?.cancel();
}

Deno.test("createHandler(): a burst refused because the account's day is spent gets the day's 429, also when the minute's queue alone would refuse it", async () => {
  await using r = quotaRig({
    rpm: 2,
    maxWait: 30,
    clock: manualClock(T),
    ...TWO_LEFT_TODAY,
  });
  await spendDayAndMinute(r);
  // The day (50 of 50) and the minute (2 of 2) are spent.
  const burst = await Promise.all(
    Array.from({ length: 6 }, () => r.chat(hello())),
  );
  for (const res of burst) {
    assert.equal(res.status, 429);
    assert.equal((await res.json()).error.code, "daily_limit_reached");
  }
  assert.equal(r.fake.chatRequests().length, 2);
});

/** Resolves once `n` requests wait in the account's queue (read off the status report). */
async function untilWaiting(r: ReturnType<typeof quotaRig>, n: number) {
  let watching = true;
  try {
    await within(
      (async () => {
        while (watching && (await status(r)).limiter.waiting < n) {
          // Let timers run (the watchdog's too) before reading again.
          await new Promise((next) => setTimeout(next, 0));
        }
      })(),
      `${n} requests waiting`,
    );
  } finally {
    watching = false;
  }
}

/** A rig at 12:00:30 whose waits for the account's minute end when released. */
function heldRig(options: Parameters<typeof quotaRig>[0] = {}) {
  const asleep = deferred();
  const release = deferred();
  const r = quotaRig({
    rpm: 2,
    maxWait: 45,
    clock: manualClock(T),
    sleep: async (ms) => {
      asleep.resolve();
      await release.promise;
      r.clock.advance(ms);
    },
    ...options,
  });
  const dispose = r[Symbol.asyncDispose].bind(r);
  return Object.assign(r, {
    asleep: asleep.promise,
    release: release.resolve,
    // A failed test ends the waits it left behind before closing.
    [Symbol.asyncDispose]: () => (release.resolve(), dispose()),
  });
}

Deno.test("createHandler(): a request whose client left while it was queued is neither sent at its turn nor counted ahead of the requests after it", async () => {
  await using r = heldRig();
  for (let i = 0; i < 2; i++) await (await r.chat(hello())).body?.cancel();
  const a = r.chat(hello()); // waits for 12:01:00
  await within(r.asleep, "A to wait for the next minute");
  const leaving = new AbortController();
  const b = r.chat(hello(), { signal: leaving.signal });
  await untilWaiting(r, 2); // B is queued behind A
  leaving.abort();
  // With B gone, 12:01:00 (30 s away, within C's 45 s) has room for A and C.
  const c = r.chat(hello());
  await untilWaiting(r, 3);
  r.release();
  const [ra, rb, rc] = await Promise.all([a, b, c]);
  assert.deepEqual([ra.status, rb.status, rc.status], [200, 499, 200]);
  for (const res of [ra, rb, rc]) await res.body?.cancel();
  assert.equal(r.fake.chatRequests().length, 4, "B was not sent");
});

Deno.test("createHandler(): requests an outage will hold are not counted ahead of one that another model can take", async () => {
  const D = "delta/four:free"; // no tools: no candidate of a tools request
  await using r = heldRig({
    rpm: 3,
    maxWait: 30,
    clock: manualClock(T + 20_000), // 12:00:50
    fakeOptions: {
      models: [...catalog(), catalogRow({ id: D, context_length: 50_000 })],
    },
  });
  const { arrivedC, releaseC } = scriptOutageRound(r);
  const tools = hello("auto", weather);
  const round = r.chat(tools); // A, B, C: the outage's round, the minute's 3
  await within(arrivedC, "the round's third attempt");
  // Three tool requests (A, B, C only) queue for 12:01:00.
  const queued = [r.chat(tools), r.chat(tools), r.chat(tools)];
  await within(r.asleep, "the first of them to wait");
  releaseC();
  const one = await round;
  assert.equal(one.status, 502);
  await one.body?.cancel();
  // The outage holds A, B and C until 12:01:20: the three queued requests
  // will take no slot, and a plain request has D at 12:01:00.
  const plain = r.chat(hello());
  await untilWaiting(r, 4);
  r.release();
  for (const res of await Promise.all(queued)) {
    assert.equal(res.status, 502);
    await res.body?.cancel();
  }
  const res = await plain;
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-freerouter-model"), D);
  await res.body?.cancel();
});

Deno.test("createHandler(): a request the minute's queue refuses 10 s before the day's reset gets rate_limited until its room, not the day's 429", async () => {
  await using r = heldRig({
    clock: manualClock(Date.parse("2026-11-24T23:59:50Z")),
    ...TWO_LEFT_TODAY,
  });
  await spendDayAndMinute(r);
  // The day (50 of 50) and the minute (2 of 2) are spent: two requests
  // queue for 00:00:00, when both are new.
  const queued = [r.chat(hello())];
  await within(r.asleep, "the first to wait for the reset");
  queued.push(r.chat(hello()));
  await untilWaiting(r, 2);
  // A third has room only at 00:01:00, past its deadline (00:00:35).
  const res = await r.chat(hello());
  assert.equal(res.status, 429);
  assert.equal((await res.json()).error.code, "rate_limited");
  assert.equal(res.headers.get("retry-after"), "70");
  r.release();
  for (const ok of await Promise.all(queued)) {
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  }
});
