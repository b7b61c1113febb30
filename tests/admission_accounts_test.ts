/**
 * Admission is first-come, first-served per account: a request waiting for
 * its own account's per-minute limit never holds up another account's
 * (bring-your-own-key, where each client key is an OpenRouter account).
 */
import assert from "node:assert/strict";
import { hello, rig } from "./_harness.ts";
import { deferred, within } from "./_async.ts";

const as = (key: string) => ({
  headers: {
    "content-type": "application/json",
    authorization: `Bearer ${key}`,
  },
});

Deno.test("createHandler() answers another account while one waits for its minute", async () => {
  const asleep = deferred();
  const wake = deferred();
  const r = rig({
    apiKey: undefined, // bring-your-own-key: each client key is an account
    rpm: 1,
    maxWait: 60,
    // The limiter's wait: told when it starts, ended by the test.
    sleep: (ms) => {
      asleep.resolve();
      return wake.promise.then(() => r.clock.advance(ms));
    },
  });
  await using _ = r;
  const first = await r.chat(hello(), as("sk-or-v1-account-a"));
  assert.equal(first.status, 200);
  await first.body?.cancel();
  // A's second request waits for A's next minute.
  const waiting = r.chat(hello(), as("sk-or-v1-account-a"));
  await within(asleep.promise, "account A's request to wait");
  let settled = false;
  waiting.finally(() => (settled = true));
  const other = await within(
    r.chat(hello(), as("sk-or-v1-account-b")),
    "account B's answer while A waits",
  );
  assert.equal(other.status, 200);
  await other.body?.cancel();
  assert.equal(settled, false, "A is still waiting for its minute");
  wake.resolve();
  const second = await within(waiting, "A's request after its minute");
  assert.equal(second.status, 200);
  await second.body?.cancel();
  assert.equal(r.fake.chatRequests().length, 3);
});
