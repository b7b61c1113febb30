/**
 * Attempts an instance counted in memory while its KV store could not be
 * reached are added to the store's counts once it answers again, so that
 * every instance sharing the store counts them (before, they were lost: the
 * store stayed below what OpenRouter had counted).
 */
import assert from "node:assert/strict";
import { addCounts } from "../src/core/account_limit.ts";
import { RoutingState } from "../src/state/state.ts";
import { STORE_RETRY_MS } from "../src/state/unsynced_counts.ts";
import { accountCounts } from "../src/state/kv_keys.ts";
import { flaky } from "./_flaky_kv.ts";

const NOW = Date.parse("2026-12-07T15:30:20Z");
const ID = "account-fingerprint";
const LIMITS = { rpm: 20, rpd: 50 };

/** Runs `fn` with a loaded RoutingState on a flaky in-memory store; closes both after. */
async function withFlakyState(
  fn: (
    kv: Deno.Kv,
    store: ReturnType<typeof flaky>,
    state: RoutingState,
  ) => Promise<void>,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const store = flaky(kv);
  const state = new RoutingState({ kv: store, syncIntervalMs: 60_000 });
  try {
    await state.load(() => NOW, () => {});
    await fn(kv, store, state);
  } finally {
    store.down = store.full = false;
    await state.close();
    kv.close();
  }
}

Deno.test("AccountCounts.takeSlot(): attempts counted locally while the store was down (without asking it again for STORE_RETRY_MS) reach the store with the next one", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = flaky(kv);
  const warnings: string[] = [];
  const state = new RoutingState({ kv: store, syncIntervalMs: 60_000 });
  try {
    await state.load(() => NOW, (w) => warnings.push(w));
    assert.equal((await state.counts.takeSlot(ID, LIMITS, NOW)).ok, true);
    store.down = true;
    for (let i = 0; i < 2; i++) {
      assert.equal((await state.counts.takeSlot(ID, LIMITS, NOW + 1)).ok, true);
    }
    assert.equal(
      warnings.filter((w) => /counting locally/.test(w)).length,
      1,
      "the second slot did not wait for the store",
    );
    store.down = false;
    const later = NOW + 1 + STORE_RETRY_MS;
    assert.equal((await state.counts.takeSlot(ID, LIMITS, later)).ok, true);
    const stored = (await kv.get(accountCounts(ID))).value as {
      dayCount: number;
      minuteCount: number;
    };
    assert.equal(stored.dayCount, 4);
    assert.equal(stored.minuteCount, 4);
    assert.equal(state.counts.at(ID, later).dayCount, 4);
    // Counted once: the next slot adds only itself.
    await state.counts.takeSlot(ID, LIMITS, later + 1);
    assert.equal(
      ((await kv.get(accountCounts(ID))).value as { dayCount: number })
        .dayCount,
      5,
    );
  } finally {
    await state.close();
  }
});

Deno.test("RoutingState: attempts counted locally reach the store even when the next slot is refused, and on a sync tick or close when none comes", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = flaky(kv);
  const stored = async () =>
    ((await kv.get(accountCounts(ID))).value as { dayCount: number } | null)
      ?.dayCount ?? 0;
  const state = new RoutingState({ kv: store, syncIntervalMs: 60_000 });
  try {
    await state.load(() => NOW, () => {});
    // The minute is full in the store (another instance spent it) while
    // this one, cut off, counts two attempts of its own.
    for (let i = 0; i < 20; i++) await state.counts.takeSlot(ID, LIMITS, NOW);
    store.down = true;
    await state.counts.takeSlot(ID, { rpm: 30, rpd: 50 }, NOW);
    await state.counts.takeSlot(ID, { rpm: 30, rpd: 50 }, NOW);
    store.down = false;
    // The store is asked again once STORE_RETRY_MS have passed (same minute).
    const later = NOW + STORE_RETRY_MS;
    const refused = await state.counts.takeSlot(ID, LIMITS, later);
    assert.equal(refused.ok, false);
    assert.equal(await stored(), 22, "the refused slot still wrote them");
    // An instance that sends nothing more: the sync tick writes them.
    store.down = true;
    await state.counts.takeSlot(ID, { rpm: 30, rpd: 50 }, later);
    store.down = false;
    await state.syncNow();
    assert.equal(await stored(), 23);
    // And close() does, when no tick comes before it.
    store.down = true;
    await state.counts.takeSlot(ID, { rpm: 30, rpd: 50 }, later);
    store.down = false;
  } finally {
    await state.close();
  }
  assert.equal(await stored(), 24);
  kv.close();
});

Deno.test("addCounts(): what the extra counted in a window that is over adds nothing", () => {
  const at = (t: number, n: number) => ({
    minute: Math.floor(t / 60_000),
    minuteCount: n,
    day: Math.floor(t / 86_400_000),
    dayCount: n,
  });
  const base = at(NOW, 3);
  assert.deepEqual(addCounts(base, at(NOW, 2), NOW), at(NOW, 5));
  // Counted a minute ago: today's count only.
  assert.deepEqual(addCounts(base, at(NOW - 60_000, 2), NOW), {
    ...at(NOW, 3),
    dayCount: 5,
  });
  // Counted yesterday: nothing.
  assert.deepEqual(addCounts(base, at(NOW - 86_400_000, 2), NOW), base);
  assert.deepEqual(addCounts(undefined, undefined, NOW), at(NOW, 0));
});

Deno.test("AccountCounts: attempts counted while the store was down are added once when a sync tick and a slot flush them together", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = flaky(kv);
  const state = new RoutingState({ kv: store, syncIntervalMs: 60_000 });
  try {
    await state.load(() => NOW, () => {});
    store.down = true;
    for (let i = 0; i < 3; i++) await state.counts.takeSlot(ID, LIMITS, NOW);
    store.down = false;
    await Promise.all([
      state.syncNow(),
      state.counts.takeSlot(ID, LIMITS, NOW + 1),
    ]);
    const stored = (await kv.get(accountCounts(ID))).value as {
      dayCount: number;
    };
    assert.equal(stored.dayCount, 4, "three counted locally, one slot");
  } finally {
    await state.close();
  }
});

Deno.test("RoutingState: a cooldown and a day's block whose KV write failed (a full disk) outlive a sync that takes in another instance's change, and reach the store once it takes writes", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = flaky(kv);
  const mine = new RoutingState({ kv: store, syncIntervalMs: 60_000 });
  const other = new RoutingState({ kv, syncIntervalMs: 60_000 });
  const cooldown = {
    model: "a:free",
    until: NOW + 900_000,
    reason: "429",
  };
  const block = {
    scope: "day" as const,
    until: NOW + 3_600_000,
    reason: "free-models-per-day",
  };
  try {
    await mine.load(() => NOW, () => {});
    await other.load(() => NOW, () => {});
    store.full = true;
    await assert.rejects(mine.coolDown(cooldown, NOW));
    await assert.rejects(mine.blockAccount(ID, block, 50, NOW));
    // Another instance writes: the store's revision moves on.
    await other.coolDown({ ...cooldown, model: "b:free" }, NOW);
    await mine.syncNow();
    assert.deepEqual(
      [...mine.cooldowns.keys()].sort(),
      ["a:free", "b:free"],
      "the other instance's cooldown taken in, its own kept",
    );
    assert.deepEqual(mine.account(ID).block, block);
    store.full = false;
    await mine.syncNow();
    await other.syncNow();
    assert.deepEqual(other.cooldowns.get("a:free"), cooldown);
    assert.deepEqual(other.account(ID).block, block);
  } finally {
    await mine.close();
    await other.close();
    kv.close();
  }
});

Deno.test("AccountCounts: once a sync tick has added the counts kept in memory to the store, the next slot asks the store again, before STORE_RETRY_MS", async () => {
  await withFlakyState(async (kv, store, state) => {
    const stored = async () =>
      ((await kv.get(accountCounts(ID))).value as { dayCount: number } | null)
        ?.dayCount ?? 0;
    await state.counts.takeSlot(ID, LIMITS, NOW);
    store.down = true;
    await state.counts.takeSlot(ID, LIMITS, NOW + 1);
    store.down = false;
    await state.syncNow();
    assert.equal(await stored(), 2);
    // Another instance counts one: this one's next slot sees it in the store.
    await kv.set(accountCounts(ID), {
      ...((await kv.get(accountCounts(ID))).value as object),
      dayCount: 3,
      minuteCount: 3,
    });
    await state.counts.takeSlot(ID, LIMITS, NOW + 2);
    assert.equal(await stored(), 4);
    assert.equal(state.counts.at(ID, NOW + 2).dayCount, 4);
  });
});

Deno.test("RoutingState.close() writes a cooldown whose KV write failed when the store takes writes again before any sync tick", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = flaky(kv);
  const state = new RoutingState({ kv: store, syncIntervalMs: 60_000 });
  const cooldown = { model: "a:free", until: NOW + 900_000, reason: "429" };
  await state.load(() => NOW, () => {});
  store.full = true;
  await assert.rejects(state.coolDown(cooldown, NOW));
  store.full = false;
  await state.close();
  const next = new RoutingState({ kv, syncIntervalMs: 60_000 });
  try {
    await next.load(() => NOW, () => {});
    assert.deepEqual(next.cooldowns.get("a:free"), cooldown);
  } finally {
    await next.close();
    kv.close();
  }
});

Deno.test("RoutingState: a sync tick that writes a block again (its first write failed) wakes no request waiting on the account", async () => {
  const block = {
    scope: "day" as const,
    until: NOW + 3_600_000,
    reason: "free-models-per-day",
  };
  await withFlakyState(async (_kv, store, state) => {
    store.full = true;
    await assert.rejects(state.blockAccount(ID, block, 50, NOW));
    let woken = 0;
    const stop = state.onBlockChange(ID, () => woken++);
    await state.syncNow();
    await state.syncNow();
    stop();
    assert.equal(woken, 0);
    assert.deepEqual(state.account(ID).block, block);
  });
});

Deno.test("AccountCounts.applyKeyUsed() writes /key's count to the store while slots are counted in memory after a store failure", async () => {
  await withFlakyState(async (kv, store, state) => {
    store.down = true;
    await state.counts.takeSlot(ID, LIMITS, NOW);
    store.down = false;
    await state.counts.applyKeyUsed(ID, 10, NOW + 1);
    const stored = (await kv.get(accountCounts(ID))).value as {
      dayCount: number;
    };
    assert.equal(stored.dayCount, 10);
  });
});
