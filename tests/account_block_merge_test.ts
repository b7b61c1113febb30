/**
 * Account blocks meeting in a shared store: a block one instance learned
 * from OpenRouter's daily-cap 429 survives another instance's per-minute
 * block and its `/key` report with room, written before it synced (before,
 * the later write replaced or deleted it, and both instances sent attempts
 * OpenRouter refused and counted). The merge rules are pure
 * (core/account_limit.ts); the store applies them with a check-and-set.
 */
import assert from "node:assert/strict";
import {
  type AccountBlock,
  mergeBlock,
  mergeLearned,
  storedBlock,
} from "../src/core/account_limit.ts";
import type { KeyReport } from "../src/core/key_report.ts";
import { applyKeyReport } from "../src/state/quota.ts";
import { RoutingState } from "../src/state/state.ts";
import { withKvFile } from "./_harness.ts";
import { racingKv, twoInstances } from "./_two_instances.ts";

const NOW = Date.parse("2026-12-07T15:30:20Z");
const MIDNIGHT = Date.parse("2026-12-08T00:00:00Z");
const NEXT_MINUTE = Date.parse("2026-12-07T15:31:00Z");
const DAY: AccountBlock = {
  scope: "day",
  until: MIDNIGHT,
  reason: "Rate limit exceeded: free-models-per-day",
};
const MINUTE: AccountBlock = {
  scope: "minute",
  until: NEXT_MINUTE,
  reason: "Rate limit exceeded: free-models-per-min.",
};
const KEY_DAY: AccountBlock = { ...DAY, reason: "/key", source: "key" };
const ID = "account-fingerprint";

Deno.test("mergeBlock(): the block that holds longer stays; a daily-cap 429's block is not given up for one set from /key", () => {
  assert.equal(mergeBlock(undefined, MINUTE), MINUTE);
  assert.equal(mergeBlock(DAY, MINUTE), DAY);
  assert.equal(mergeBlock(MINUTE, DAY), DAY);
  // A per-minute 429 does not lift the day /key said is spent.
  assert.equal(mergeBlock(KEY_DAY, MINUTE), KEY_DAY);
  assert.equal(mergeBlock(MINUTE, KEY_DAY), KEY_DAY);
  // Either way round, the daily-cap 429's block holds, even when it ends first.
  assert.equal(mergeBlock(DAY, KEY_DAY), DAY);
  assert.equal(mergeBlock(KEY_DAY, DAY), DAY);
  const early = { ...DAY, until: MIDNIGHT - 3_600_000 };
  assert.equal(mergeBlock(early, KEY_DAY), early);
});

Deno.test("storedBlock(): writing no block keeps a stored 429 block and lifts a stored /key block", () => {
  assert.equal(storedBlock(DAY, undefined), DAY);
  assert.equal(storedBlock(KEY_DAY, undefined), undefined);
  assert.equal(storedBlock(undefined, undefined), undefined);
  assert.equal(storedBlock(DAY, MINUTE), DAY);
});

Deno.test("mergeLearned(): each limit from the view that trusts it longer", () => {
  assert.deepEqual(
    mergeLearned(
      { rpm: 20, rpmUntil: NOW + 1000 },
      { rpd: 50, rpdUntil: MIDNIGHT, rpm: 10, rpmUntil: NOW + 500 },
    ),
    { rpm: 20, rpmUntil: NOW + 1000, rpd: 50, rpdUntil: MIDNIGHT },
  );
  assert.deepEqual(mergeLearned({}, {}), {});
});

const blockIn = async (kv: Deno.Kv) =>
  (await kv.get(["freerouter", "account", ID, "block"])).value;

Deno.test("a daily-cap block survives another instance's minute block written before it synced", async () => {
  await twoInstances(NOW, async (a, b, kv) => {
    await a.blockAccount(ID, DAY, 50, NOW);
    await b.blockAccount(ID, MINUTE, 20, NOW);
    assert.deepEqual(await blockIn(kv), DAY);
    assert.deepEqual(b.account(ID).block, DAY);
    await a.syncNow();
    assert.deepEqual(a.account(ID).block, DAY);
    // Both limits learned: the day's from a, the minute's from b.
    assert.equal(b.account(ID).learned.rpd, 50);
    assert.equal(b.account(ID).learned.rpm, 20);
  });
});

Deno.test("a daily-cap block survives another instance's /key report with room, written before it synced", async () => {
  const lagging: KeyReport = {
    limit: null,
    limitRemaining: null,
    usage: 0,
    usageDaily: 0,
    isFreeTier: true,
    freeDaily: { used: 10, limit: 50, remaining: 40 },
  };
  await twoInstances(NOW, async (a, b, kv) => {
    await a.blockAccount(ID, DAY, 50, NOW);
    await applyKeyReport(b, ID, lagging, NOW);
    assert.deepEqual(await blockIn(kv), DAY);
    assert.deepEqual(b.account(ID).block, DAY);
    await a.syncNow();
    assert.deepEqual(a.account(ID).block, DAY);
  });
});

Deno.test("a /key report with room still lifts a block another instance set from /key", async () => {
  const room: KeyReport = {
    limit: null,
    limitRemaining: null,
    usage: 0,
    usageDaily: 0,
    isFreeTier: true,
    freeDaily: { used: 10, limit: 1000, remaining: 990 },
  };
  await twoInstances(NOW, async (a, b, kv) => {
    await a.blockAccount(ID, KEY_DAY, undefined, NOW);
    assert.deepEqual(await blockIn(kv), KEY_DAY);
    await applyKeyReport(b, ID, room, NOW);
    assert.equal(await blockIn(kv), null);
    await a.syncNow();
    assert.equal(a.account(ID).block, undefined);
  });
});

Deno.test("saveAccount() re-reads and merges when another instance writes between its read and its commit", async () => {
  await withKvFile(async (path) => {
    const kvA = await Deno.openKv(path);
    const kvB = await Deno.openKv(path);
    const b = new RoutingState({ kv: kvB, syncIntervalMs: 60_000 });
    // b's write lands between a's read and its commit.
    const racing = racingKv(kvA, () => b.blockAccount(ID, DAY, 50, NOW));
    const a = new RoutingState({ kv: racing.kv, syncIntervalMs: 60_000 });
    try {
      await a.load(() => NOW);
      await b.load(() => NOW);
      await a.blockAccount(ID, MINUTE, 20, NOW);
      assert.equal(
        racing.commits(),
        2,
        "the first commit failed its check and was retried",
      );
      assert.deepEqual(await blockIn(kvB), DAY);
      assert.deepEqual(a.account(ID).block, DAY);
    } finally {
      await a.close();
      await b.close();
      kvA.close();
      kvB.close();
    }
  });
});
