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
import { quotaRig } from "./_quota.ts";

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
  const asleep = deferred();
  const release = deferred();
  await using r = quotaRig({
    rpm: 2,
    maxWait: 30,
    clock: manualClock(T),
    sleep: async (ms) => {
      asleep.resolve();
      await release.promise;
      r.clock.advance(ms);
    },
  });
  let refused = 0;
  const twoRefused = deferred();
  const burst = Array.from({ length: 6 }, () =>
    r.chat(hello()).then((res) => {
      if (res.status === 429 && ++refused === 2) twoRefused.resolve();
      return res;
    }));
  await within(asleep.promise, "a request to wait for the next minute");
  // Two fit now, two in the next minute (30 s away, within FREEROUTER_MAX_WAIT);
  // the last two are refused while the others still wait.
  await within(twoRefused.promise, "two refused before the wait ends");
  release.resolve();
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
