/**
 * Deno KV persistence (src/state/kv_store.ts): cooldowns and the last good
 * catalog survive a restart (the KV file reopened by a new handler).
 */
import assert from "node:assert/strict";
import { ALIAS_IDS, hello, manualClock, rig, withKvFile } from "./_harness.ts";
import {
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  modelRpm,
  startFakeOpenRouter,
} from "./fake_openrouter/mod.ts";
import { withRetry } from "../src/state/kv_store.ts";

const [A, B] = POOL as [string, string];

Deno.test("createHandler() keeps a cooldown across a restart on the same KV file", async () => {
  await withKvFile(async (path) => {
    await using fake = startFakeOpenRouter();
    const clock = manualClock();
    fake.script(A, modelRpm(A, { resetMs: clock.now() + 5 * 60_000 }));
    {
      using kv = await Deno.openKv(path);
      await using first = rig({ fake, clock, kv });
      await (await first.chat(hello())).body?.cancel();
    }
    assert.deepEqual(fake.chatRequests().map((q) => q.model), [A, B]);
    {
      using kv = await Deno.openKv(path);
      await using second = rig({ fake, clock, kv });
      const res = await second.chat(hello());
      assert.equal(res.headers.get("x-freerouter-model"), B);
      await res.body?.cancel();
      assert.deepEqual(
        fake.chatRequests().map((q) => q.model),
        [A, B, B],
        "A was skipped after the restart",
      );
      clock.advance(5 * 60_000);
      const later = await second.chat(hello());
      assert.equal(
        later.headers.get("x-freerouter-model"),
        A,
        "the cooldown ends at the reset",
      );
      await later.body?.cancel();
    }
  });
});

Deno.test("createHandler() routes after a restart while OpenRouter's model list is unreachable", async () => {
  await withKvFile(async (path) => {
    await using fake = startFakeOpenRouter();
    const clock = manualClock();
    {
      using kv = await Deno.openKv(path);
      await using first = rig({ fake, clock, kv });
      await (await first.chat(hello())).body?.cancel();
    }
    fake.scriptModels({ status: 503, body: "down" }, {
      status: 503,
      body: "down",
    });
    {
      using kv = await Deno.openKv(path);
      await using second = rig({ fake, clock, kv });
      const res = await second.chat(hello());
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-freerouter-model"), A);
      await res.body?.cancel();
      const models = await (await second.request("/v1/models")).json() as {
        data: Array<{ id: string }>;
      };
      assert.deepEqual(models.data.map((m) => m.id), [...POOL, ...ALIAS_IDS]);
    }
  });
});

Deno.test("createHandler() without KV starts with no cooldowns", async () => {
  await using fake = startFakeOpenRouter();
  const clock = manualClock();
  fake.script(A, modelRpm(A, { resetMs: clock.now() + 5 * 60_000 }));
  {
    await using first = rig({ fake, clock });
    await (await first.chat(hello())).body?.cancel();
  }
  await using second = rig({ fake, clock });
  const res = await second.chat(hello());
  assert.equal(res.headers.get("x-freerouter-model"), A);
  await res.body?.cancel();
});

Deno.test("withRetry() retries lock contention only within CONTENTION_BUDGET_MS: a store that takes seconds to say it is locked fails at once, a short contention is waited out", async () => {
  const locked = () => Promise.reject(new Error("database is locked"));
  let clock = 0;
  let calls = 0;
  // SQLite waited 5 s before it said so: an outage, not contention.
  await assert.rejects(
    withRetry(() => (calls++, clock += 5_000, locked()), () => clock),
    /database is locked/,
  );
  assert.equal(calls, 1);
  // Two quick refusals, then the write goes through.
  calls = 0;
  clock = 0;
  const value = await withRetry(
    () => ++calls < 3 ? (clock += 1, locked()) : Promise.resolve("written"),
    () => clock,
  );
  assert.equal(value, "written");
  assert.equal(calls, 3);
  // Other errors are not retried.
  calls = 0;
  await assert.rejects(
    withRetry(() => (calls++, Promise.reject(new Error("disk I/O error")))),
    /disk I\/O/,
  );
  assert.equal(calls, 1);
});
