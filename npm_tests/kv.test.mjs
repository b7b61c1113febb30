// State persisted in KV on Node, through the `@deno/kv` npm package: a
// cooldown and the catalog survive a restart. Skipped when @deno/kv did not
// install (build_npm.ts treats it as optional).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { FreeRouterClient, FreeRouterState } from "freerouter";
import { modelBusy, POOL, startFakeOpenRouter } from "./_fake_openrouter.mjs";

const KEY = "sk-or-v1-npm-test-key";
const HELLO = [{ role: "user", content: "Hello" }];

async function loadKv() {
  try {
    return await import("@deno/kv");
  } catch (err) {
    return { error: err };
  }
}

test("cooldowns and the catalog persist in @deno/kv across a restart", {
  timeout: 30_000,
}, async (t) => {
  const kvModule = await loadKv();
  if (kvModule.error) {
    t.skip(`@deno/kv is not installed: ${kvModule.error.message}`);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), "freerouter-kv-"));
  const path = join(dir, "kv.sqlite");
  const fake = await startFakeOpenRouter();
  t.after(async () => {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });
  const options = { apiKey: KEY, baseUrl: fake.baseUrl, strategy: "priority" };

  // First run: the top model answers 429 and cools down.
  const kv1 = await kvModule.openKv(path);
  const before = new FreeRouterState({ kv: kv1 });
  assert.equal(before.persistent, true);
  const first = new FreeRouterClient({ ...options, state: before });
  fake.script(POOL[0], modelBusy(POOL[0]));
  try {
    const answered = await first.chat(HELLO);
    assert.equal(answered.freerouter.model, POOL[1]);
  } finally {
    await first.close();
    await before.close();
    kv1.close();
  }

  // Second run, same file: the cooldown and the catalog come back from KV.
  const kv2 = await kvModule.openKv(path);
  const after = new FreeRouterState({ kv: kv2 });
  const second = new FreeRouterClient({ ...options, state: after });
  try {
    const chatsBefore = fake.chatRequests().length;
    const again = await second.chat(HELLO);
    assert.deepEqual(again.freerouter.attempts.map((a) => a.model), [
      POOL[1],
    ]);
    assert.deepEqual(
      fake.chatRequests().slice(chatsBefore).map((r) => r.model),
      [POOL[1]],
      `${POOL[0]} is still cooling down after the restart`,
    );
    assert.equal(fake.modelsRequests().length, 1, "the catalog came from KV");
  } finally {
    await second.close();
    await after.close();
    kv2.close();
  }
});
