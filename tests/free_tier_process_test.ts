/**
 * The account's daily free-tier quota through the real start command, against
 * a fake OpenRouter that counts it as OpenRouter does (failed attempts too)
 * and refuses past it: freerouter's count and OpenRouter's agree across a
 * restart, and no request is sent that the day's quota would refuse.
 */
import assert from "node:assert/strict";
import { awayFromMidnight } from "./_async.ts";
import { startMain } from "./_deno_process.ts";
import {
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  providerError502,
  startFakeOpenRouter,
} from "./fake_openrouter/mod.ts";

/**
 * Waits until the proxy at `url` has applied its first `/key` read (its
 * status report waits for one under way, a second at most): the day's limit
 * is known only from it.
 */
async function quotaRead(url: string): Promise<Record<string, unknown>> {
  for (let tries = 0; tries < 30; tries++) {
    const status = await (await fetch(`${url}/v1/freerouter/status`)).json();
    if (status.quota?.daily_limit != null) return status.quota;
  }
  assert.fail("the proxy did not read /key");
}

/** Sends one chat request; its status, error code and whether it carried Retry-After. */
async function ask(url: string, model = "auto") {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    body: JSON.stringify({
      model,
      messages: [{ role: "user", content: "hi" }],
    }),
  });
  const body = await res.json() as { error?: { code?: string } };
  return {
    status: res.status,
    code: body.error?.code,
    retryAfter: Number(res.headers.get("retry-after") ?? 0),
  };
}

Deno.test("deno task start spends the day's free quota to the last request and not one past it, failed attempts counted, across a restart while /key is unreachable", async () => {
  // The fake and the proxies count in the real UTC day: keep the test out
  // of the last minute before 00:00, when the day would end under it.
  await awayFromMidnight(60_000);
  const named = FREE_CHAT_IDS_IN_PRIORITY_ORDER[1]!;
  // The day allows 8; 2 are spent before freerouter starts.
  await using fake = startFakeOpenRouter({
    freeTier: { perDay: 8, usedToday: 2 },
  });
  const dir = await Deno.makeTempDir({ prefix: "freerouter-free-tier-" });
  const env = {
    OPENROUTER_API_KEY: "sk-or-v1-test",
    OPENROUTER_BASE_URL: fake.baseUrl,
    FREEROUTER_KV_PATH: `${dir}/kv.sqlite`,
    FREEROUTER_RPM: "0",
  };
  try {
    const first = await startMain(env);
    try {
      const quota = await quotaRead(first.url);
      assert.equal(quota.daily_limit, 8);
      assert.equal(quota.used_today, 2);
      // A failed attempt (the named model's 502) is one of the day's too.
      fake.script(named, providerError502(named));
      const answered = [
        await ask(first.url, named),
        await ask(first.url),
        await ask(first.url),
      ];
      assert.deepEqual(answered.map((a) => a.status), [200, 200, 200]);
      assert.equal(fake.chatRequests().length, 4);
    } finally {
      assert.equal((await first.stop()).code, 0);
    }

    // The restarted proxy cannot read /key: what it knows of the day is in
    // the KV file.
    fake.scriptKey(
      ...Array.from({ length: 50 }, () => providerError502("key")),
    );
    const second = await startMain(env);
    try {
      // What the first proxy counted and learned, from the KV file.
      const known = await quotaRead(second.url);
      assert.equal(known.daily_limit, 8);
      assert.equal(known.used_today, 6);
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await ask(second.url));
      assert.deepEqual(results.map((r) => r.status), [200, 200, 429, 429]);
      for (const refused of results.slice(2)) {
        assert.equal(refused.code, "daily_limit_reached");
        assert.ok(refused.retryAfter >= 1, `Retry-After ${refused.retryAfter}`);
      }
    } finally {
      assert.equal((await second.stop()).code, 0);
    }
    // 2 before, 4 by the first proxy, 2 by the second: the day's 8, and no
    // request OpenRouter refused.
    assert.equal(fake.chatRequests().length, 6);
    assert.equal(fake.freeTierRefused, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
