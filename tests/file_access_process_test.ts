/**
 * The server process gives up file access once it has what it reads at
 * startup (`.env`, the client keys file, the KV store), as `deno task start`
 * runs it: the start command must grant read and write for any configured
 * path, and from then on nothing in the process can use them. What it read
 * before still works (the client keys), and Deno KV keeps writing its open
 * file: a cooldown written after the drop is there after a restart.
 */
import assert from "node:assert/strict";
import { startMain } from "./_deno_process.ts";
import {
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  providerThrottled,
  startFakeOpenRouter,
} from "./fake_openrouter/mod.ts";

const [A, B] = FREE_CHAT_IDS_IN_PRIORITY_ORDER as [string, string];
const KEY = "fr-file-access-test-key-0123";

function chat(url: string): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}` },
    body: JSON.stringify({
      model: "auto",
      messages: [{ role: "user", content: "hi" }],
    }),
  });
}

Deno.test("deno task start drops read and write once the KV store is open; the keys read before work, and KV writes made after it survive a restart", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(A, providerThrottled(A));
  const dir = await Deno.makeTempDir({ prefix: "freerouter-files-" });
  await Deno.writeTextFile(
    `${dir}/keys.json`,
    JSON.stringify({ clients: [{ name: "ci", key: KEY }] }),
  );
  const env = {
    OPENROUTER_API_KEY: "sk-or-v1-file-access-test",
    OPENROUTER_BASE_URL: fake.baseUrl,
    FREEROUTER_KV_PATH: `${dir}/state/kv.sqlite`,
    FREEROUTER_CLIENT_KEYS: `${dir}/keys.json`,
  };
  try {
    const first = await startMain(env);
    try {
      assert.match(
        first.stderr(),
        /File access dropped: the KV store is open, and the process can no longer read or write files/,
      );
      assert.doesNotMatch(first.stderr(), /Could not drop file access/);
      // A's 429 cools it down: a KV write after the drop.
      const res = await chat(first.url);
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(res.headers.get("x-freerouter-model"), B);
      await res.body?.cancel();
      const denied = await fetch(`${first.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: "Bearer fr-not-a-client-key-000" },
        body: "{}",
      });
      assert.equal(denied.status, 401);
      await denied.body?.cancel();
    } finally {
      assert.equal((await first.stop()).code, 0);
    }
    const before = fake.chatRequests().length;
    const second = await startMain(env);
    try {
      const res = await chat(second.url);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-freerouter-model"), B);
      assert.equal(res.headers.get("x-freerouter-attempts"), "1");
      await res.body?.cancel();
      assert.deepEqual(
        fake.chatRequests().slice(before).map((r) => r.model),
        [B],
        "the cooldown written after the drop was read back",
      );
    } finally {
      assert.equal((await second.stop()).code, 0);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
