/**
 * Client counts in KV: one commit per request while this instance is the
 * only writer, a fresh read only after another instance wrote; requests
 * counted in memory while KV was down are added to the store's counts once it
 * answers again (asked again STORE_RETRY_MS after it failed).
 */
import assert from "node:assert/strict";
import { clientCountsKey, ClientUsage } from "../src/state/client_usage.ts";
import { flaky } from "./_flaky_kv.ts";
import { STORE_RETRY_MS } from "../src/state/unsynced_counts.ts";
import type { KvLike } from "../src/state/kv_types.ts";

/** A KV handle that counts its reads. */
function counting(kv: Deno.Kv): { kv: KvLike; reads: () => number } {
  let reads = 0;
  const wrapped: KvLike = {
    get: (key) => {
      reads++;
      return kv.get(key as Deno.KvKey);
    },
    set: (key, value, options) => kv.set(key as Deno.KvKey, value, options),
    list: (selector) => kv.list({ prefix: selector.prefix as Deno.KvKey }),
    atomic: () => kv.atomic() as unknown as ReturnType<KvLike["atomic"]>,
    close: () => kv.close(),
  };
  return { kv: wrapped, reads: () => reads };
}

Deno.test("ClientUsage.take() reads a client's counts again only after another instance wrote them", async () => {
  using kv = await Deno.openKv(":memory:");
  const one = counting(kv);
  const two = counting(kv);
  const a = new ClientUsage(one.kv, () => {});
  const b = new ClientUsage(two.kv, () => {});
  const limits = { perMinute: 10 };
  const now = Date.parse("2026-11-24T12:00:00Z");
  assert.equal((await a.take("alice", limits, now)).ok, true);
  assert.equal(one.reads(), 1, "the first request reads the counts");
  for (let i = 0; i < 3; i++) await a.take("alice", limits, now);
  assert.equal(one.reads(), 1, "then commits against what it wrote");
  const other = await b.take("alice", limits, now);
  assert.equal(other.ok, true);
  assert.equal(
    other.ok && other.counts.minuteCount,
    5,
    "b counts on a's writes",
  );
  const next = await a.take("alice", limits, now);
  assert.equal(one.reads(), 2, "b wrote since: a reads again");
  assert.equal(next.ok && next.counts.minuteCount, 6, "and counts on b's");
});

Deno.test("ClientUsage: requests counted in memory while KV was down reach the store once it answers again, so that every instance counts them", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = flaky(kv);
  const warnings: string[] = [];
  const a = new ClientUsage(store, (w) => warnings.push(w));
  const b = new ClientUsage(kv, () => {});
  const limits = { perDay: 4 };
  const now = Date.parse("2026-11-24T12:00:00Z");
  const stored = async () =>
    ((await kv.get(clientCountsKey("alice"))).value as { dayCount: number })
      .dayCount;
  assert.equal((await a.take("alice", limits, now)).ok, true);
  store.down = true;
  for (let i = 0; i < 2; i++) {
    assert.equal((await a.take("alice", limits, now + 1)).ok, true);
  }
  assert.equal(warnings.length, 1, "the outage was reported");
  assert.equal(await stored(), 1, "the store missed them");
  store.down = false;
  // Within STORE_RETRY_MS of the failure the store is not asked (a store
  // that fails may take seconds to say so).
  assert.equal((await a.take("bob", limits, now + 2)).ok, true);
  assert.equal(await stored(), 1, "not asked yet");
  // Another client's request is the first to reach the store again.
  const later = now + 1 + STORE_RETRY_MS;
  assert.equal((await a.take("bob", limits, later)).ok, true);
  assert.equal(await stored(), 3, "alice's two were added");
  const other = await b.take("alice", limits, now + 3);
  assert.equal(other.ok && other.counts.dayCount, 4, "b counts on them");
  assert.deepEqual(await b.take("alice", limits, now + 4), {
    ok: false,
    retryAt: Date.parse("2026-11-25T00:00:00Z"),
    window: "day",
  });
  // Added once: a's next count of alice starts from the store's.
  const usage = await a.usage(["alice"], now + 5);
  assert.equal(usage.get("alice")?.today, 4);
  assert.equal(await stored(), 4);
});

/** A ClientUsage over `kv` that counted two of alice's requests while `kv` was down; it is up again. */
async function aliceCountedWhileDown(kv: Deno.Kv) {
  const store = flaky(kv);
  const a = new ClientUsage(store, () => {});
  const now = Date.parse("2026-11-24T12:00:00Z");
  store.down = true;
  await a.take("alice", {}, now);
  await a.take("alice", {}, now);
  store.down = false;
  return { a, now };
}

Deno.test("ClientUsage.usage(): requests counted while KV was down reach the store at the next report when no request comes", async () => {
  using kv = await Deno.openKv(":memory:");
  const { a, now } = await aliceCountedWhileDown(kv);
  assert.equal((await kv.get(clientCountsKey("alice"))).value, null);
  const usage = await a.usage(["alice"], now + 1);
  assert.equal(usage.get("alice")?.today, 2);
  const value = (await kv.get(clientCountsKey("alice"))).value as {
    dayCount: number;
    last: number;
  };
  assert.equal(value.dayCount, 2);
  assert.equal(value.last, now);
});

Deno.test("ClientUsage: requests counted while KV was down are added once, however many requests arrive together when it is back", async () => {
  using kv = await Deno.openKv(":memory:");
  const { a, now } = await aliceCountedWhileDown(kv);
  await Promise.all(
    ["bob", "carol", "dave"].map((name) =>
      a.take(name, {}, now + STORE_RETRY_MS)
    ),
  );
  const stored = (await kv.get(clientCountsKey("alice"))).value as {
    dayCount: number;
  };
  assert.equal(stored.dayCount, 2);
});
