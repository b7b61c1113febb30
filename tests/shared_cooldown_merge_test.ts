/**
 * Cooldowns and capability gaps meeting in a shared store: a model's longer
 * cooldown survives another instance's shorter one written before it synced,
 * and the capabilities two instances found a model to lack add up (before,
 * the later write replaced the stored one, and every instance adopted it at
 * its next sync: a model under its daily cap was tried again by all of them
 * after a 4 s hint, each try costing a request of the day's quota).
 */
import assert from "node:assert/strict";
import { RoutingState } from "../src/state/state.ts";
import { withKvFile } from "./_harness.ts";
import { racingKv, twoInstances } from "./_two_instances.ts";

const NOW = Date.parse("2026-12-07T15:30:20Z");
const Q = "qwen/qwen3-coder:free";
const LONG = { model: Q, until: NOW + 40_000, reason: "429" };
const SHORT = { model: Q, until: NOW + 4_000, reason: "429" };

const cooldownIn = async (kv: Deno.Kv) =>
  (await kv.get(["freerouter", "cooldown", Q])).value;
const gapsIn = async (kv: Deno.Kv) =>
  (await kv.get(["freerouter", "gap", Q])).value;

Deno.test("a model's longer cooldown survives another instance's shorter one written before it synced, in the store and in both instances", async () => {
  await twoInstances(NOW, async (a, b, kv) => {
    await a.coolDown(LONG, NOW);
    await b.coolDown(SHORT, NOW);
    assert.deepEqual(await cooldownIn(kv), LONG);
    assert.equal(b.cooldowns.get(Q)?.until, LONG.until);
    await a.syncNow();
    await b.syncNow();
    assert.equal(a.cooldowns.get(Q)?.until, LONG.until);
    assert.equal(b.cooldowns.get(Q)?.until, LONG.until);
  });
});

Deno.test("a longer cooldown written later replaces a shorter stored one", async () => {
  await twoInstances(NOW, async (a, b, kv) => {
    await a.coolDown(SHORT, NOW);
    await b.coolDown(LONG, NOW);
    assert.deepEqual(await cooldownIn(kv), LONG);
    await a.syncNow();
    assert.equal(a.cooldowns.get(Q)?.until, LONG.until);
  });
});

Deno.test("the capabilities two instances found a model to lack add up, in the store and in both instances", async () => {
  await twoInstances(NOW, async (a, b, kv) => {
    await a.addGap(Q, "tools");
    await b.addGap(Q, "image_input");
    assert.deepEqual(
      new Set(await gapsIn(kv) as string[]),
      new Set(["tools", "image_input"]),
    );
    assert.deepEqual(b.gaps.get(Q), new Set(["tools", "image_input"]));
    await a.syncNow();
    assert.deepEqual(a.gaps.get(Q), new Set(["tools", "image_input"]));
  });
});

for (const what of ["cooldown", "gap"] as const) {
  Deno.test(`saving a ${what} re-reads and merges when another instance writes between its read and its commit`, async () => {
    await withKvFile(async (path) => {
      const kvA = await Deno.openKv(path);
      const kvB = await Deno.openKv(path);
      const b = new RoutingState({ kv: kvB, syncIntervalMs: 60_000 });
      const racing = racingKv(
        kvA,
        () =>
          what === "cooldown" ? b.coolDown(LONG, NOW) : b.addGap(Q, "tools"),
      );
      const a = new RoutingState({ kv: racing.kv, syncIntervalMs: 60_000 });
      try {
        await a.load(() => NOW);
        await b.load(() => NOW);
        if (what === "cooldown") await a.coolDown(SHORT, NOW);
        else await a.addGap(Q, "image_input");
        // The first commit failed its check; on the second read the longer
        // cooldown is stored, so there is nothing left to write.
        assert.equal(racing.commits(), what === "cooldown" ? 1 : 2);
        if (what === "cooldown") {
          assert.deepEqual(await cooldownIn(kvB), LONG);
          assert.equal(a.cooldowns.get(Q)?.until, LONG.until);
        } else {
          assert.deepEqual(
            new Set(await gapsIn(kvB) as string[]),
            new Set(["tools", "image_input"]),
          );
          assert.deepEqual(a.gaps.get(Q), new Set(["tools", "image_input"]));
        }
      } finally {
        await a.close();
        await b.close();
        kvA.close();
        kvB.close();
      }
    });
  });
}
