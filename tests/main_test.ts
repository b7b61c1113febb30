/**
 * The proxy process (src/server/main.ts): configuration errors, `.env`, startup
 * while OpenRouter is down, and the official OpenAI SDK as a real client.
 */
import assert from "node:assert/strict";
import { runToEnd, startMain } from "./_deno_process.ts";
import { ALIAS_IDS } from "./_harness.ts";
import OpenAI from "openai";
import { parseServerConfig } from "../src/server/config.ts";
import { serve } from "../src/server/serve.ts";
import type { Logger } from "../src/options.ts";
import {
  cloudflare429,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  startFakeOpenRouter,
} from "./fake_openrouter/mod.ts";

const [A, B] = POOL as [string, string];

const quiet: Logger = { info() {}, warn() {} };

for (
  const [key, value] of [["MAX_ATTEMPTS", "abc"], ["PORT", "70000"], [
    "REQUEST_TIMEOUT",
    "0",
  ]] as const
) {
  Deno.test(`main exits 2 with one line naming ${key} when ${key}=${value}`, async () => {
    const { code, stderr } = await runToEnd({
      [key]: value,
      FREEROUTER_KV_PATH: ":memory:",
    });
    assert.equal(code, 2);
    const lines = stderr.trim().split("\n");
    assert.equal(lines.length, 1, stderr);
    assert.match(
      lines[0]!,
      new RegExp(`^freerouter: Invalid configuration: ${key} `),
    );
    assert.doesNotMatch(stderr, /\bat .*\.ts:\d+/, "no stack trace");
  });
}

Deno.test("main reads .env from the working directory, and the environment wins over it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "freerouter-env-" });
  try {
    await Deno.writeTextFile(
      `${dir}/.env`,
      "# comment\nMAX_ATTEMPTS=abc\nPORT=1\n",
    );
    const fromFile = await runToEnd({ FREEROUTER_KV_PATH: ":memory:" }, dir);
    assert.equal(fromFile.code, 2);
    assert.match(fromFile.stderr, /MAX_ATTEMPTS/);
    const overridden = await runToEnd({
      FREEROUTER_KV_PATH: ":memory:",
      MAX_ATTEMPTS: "3",
      PORT: "99999",
    }, dir);
    assert.equal(overridden.code, 2);
    assert.match(overridden.stderr, /PORT .*"99999"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main warns about a .env variable that looks like a setting but is none, naming the one meant", async () => {
  await using fake = startFakeOpenRouter();
  const dir = await Deno.makeTempDir({ prefix: "freerouter-env-" });
  try {
    await Deno.writeTextFile(
      `${dir}/.env`,
      "FREEROUTER_MAX_ATTEMPTS=3\nFREEROUTER_TYPO=1\nUNRELATED=x\n",
    );
    const main = await startMain({
      OPENROUTER_API_KEY: "sk-or-v1-test",
      OPENROUTER_BASE_URL: fake.baseUrl,
      FREEROUTER_KV_PATH: ":memory:",
    }, dir);
    await main.stop();
    const stderr = main.stderr();
    assert.match(
      stderr,
      /WARN FREEROUTER_MAX_ATTEMPTS is not a freerouter setting and is ignored \(did you mean MAX_ATTEMPTS\?\)/,
    );
    assert.match(stderr, /WARN FREEROUTER_TYPO is not a freerouter setting/);
    assert.doesNotMatch(stderr, /UNRELATED/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main never prints the OpenRouter key in a configuration error", async () => {
  const { code, stderr } = await runToEnd({
    OPENROUTER_API_KEY: "sk-or-v1-secret-value-123",
    OPENROUTER_BASE_URL: "ftp://nope",
    FREEROUTER_KV_PATH: ":memory:",
  });
  assert.equal(code, 2);
  assert.match(stderr, /OPENROUTER_BASE_URL/);
  assert.doesNotMatch(stderr, /secret-value/);
});

Deno.test("main refuses an OpenRouter key with a line break, without printing it", async () => {
  const { code, stderr } = await runToEnd({
    OPENROUTER_API_KEY: "sk-or-v1-secret-value-123\nx",
    FREEROUTER_KV_PATH: ":memory:",
  });
  assert.equal(code, 2);
  assert.match(
    stderr,
    /^freerouter: Invalid configuration: OPENROUTER_API_KEY must be printable ASCII/,
  );
  assert.doesNotMatch(stderr, /secret-value/);
});

Deno.test("main starts and serves /health while OpenRouter is unreachable, and stops on SIGTERM", async () => {
  const main = await startMain({
    OPENROUTER_API_KEY: "sk-or-v1-test",
    OPENROUTER_BASE_URL: "http://127.0.0.1:9/api/v1",
    FREEROUTER_KV_PATH: ":memory:",
  });
  const health = await (await fetch(`${main.url}/health`)).json();
  assert.equal(health.status, "degraded");
  const chat = await fetch(`${main.url}/v1/chat/completions`, {
    method: "POST",
    body: JSON.stringify({
      model: "auto",
      messages: [{ role: "user", content: "hi" }],
    }),
  });
  assert.equal(chat.status, 503);
  await chat.body?.cancel();
  assert.equal((await main.stop()).code, 0);
});

/** The UTC minute window (as the account limiter counts it) of epoch ms. */
const minuteOf = (ms: number) => Math.floor(ms / 60_000);

/**
 * Whether requests admitted one after another, each in a UTC minute between
 * its `[sent, answered]` minutes, can have been at most `rpm` per minute. A
 * request answered in the minute it was sent is counted in that minute; one
 * that straddles a minute's end is counted in whichever of its minutes has
 * room (earliest first, which is optimal for requests in sequence).
 */
function fitPerMinute(
  admitted: ReadonlyArray<readonly [number, number]>,
  rpm: number,
): boolean {
  const counts = new Map<number, number>();
  let minute = -Infinity;
  for (const [sent, answered] of admitted) {
    minute = Math.max(minute, sent);
    while (minute <= answered && (counts.get(minute) ?? 0) >= rpm) minute++;
    if (minute > answered) return false;
    counts.set(minute, (counts.get(minute) ?? 0) + 1);
  }
  return true;
}

Deno.test("two proxy processes on one KV file never let more than FREEROUTER_RPM attempts through in a UTC minute", async () => {
  await using fake = startFakeOpenRouter();
  const dir = await Deno.makeTempDir({ prefix: "freerouter-two-" });
  const env = {
    OPENROUTER_API_KEY: "sk-or-v1-test",
    OPENROUTER_BASE_URL: fake.baseUrl,
    FREEROUTER_KV_PATH: `${dir}/kv.sqlite`,
    FREEROUTER_RPM: "3",
    FREEROUTER_MAX_WAIT: "0",
  };
  const one = await startMain(env);
  const two = await startMain(env);
  try {
    const statuses: number[] = [];
    /** Each admitted request's UTC minutes: when it was sent, when answered. */
    const admitted: Array<[number, number]> = [];
    for (let i = 0; i < 5; i++) {
      for (const url of [one.url, two.url]) {
        const sent = minuteOf(Date.now());
        const res = await fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          body: JSON.stringify({
            model: "auto",
            messages: [{ role: "user", content: "hi" }],
          }),
        });
        statuses.push(res.status);
        if (res.status === 200) admitted.push([sent, minuteOf(Date.now())]);
        if (res.status === 429) {
          assert.ok(Number(res.headers.get("retry-after")) >= 1);
        }
        await res.body?.cancel();
      }
    }
    assert.ok(admitted.length >= 3, `admitted ${admitted.length}`);
    assert.ok(
      fitPerMinute(admitted, 3),
      `more than 3 admitted in one UTC minute: ${JSON.stringify(admitted)}`,
    );
    assert.equal(statuses.filter((s) => s !== 200 && s !== 429).length, 0);
    assert.equal(fake.chatRequests().length, admitted.length);
  } finally {
    assert.equal((await one.stop()).code, 0);
    assert.equal((await two.stop()).code, 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the official openai SDK gets answers through the proxy, with fallback and X-FreeRouter-Model", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(A, cloudflare429());
  const config = parseServerConfig({
    OPENROUTER_API_KEY: "sk-or-v1-test",
    OPENROUTER_BASE_URL: fake.baseUrl,
    PORT: "0",
    FREEROUTER_KV_PATH: ":memory:",
    FREEROUTER_STRATEGY: "priority",
  });
  await using server = await serve(config, quiet);
  const client = new OpenAI({
    baseURL: `${server.url}/v1`,
    apiKey: "unused",
    maxRetries: 0,
  });
  const { data, response } = await client.chat.completions
    .create({ model: "auto", messages: [{ role: "user", content: "Say hi" }] })
    .withResponse();
  assert.equal(response.headers.get("x-freerouter-model"), B);
  assert.equal(response.headers.get("x-freerouter-attempts"), "2");
  assert.equal(data.model, B);
  assert.equal(typeof data.choices[0]?.message.content, "string");
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), [...POOL, ...ALIAS_IDS]);
  await assert.rejects(
    client.chat.completions.create({ model: "auto", messages: [] }),
    (err: unknown) =>
      err instanceof OpenAI.BadRequestError && /messages/.test(err.message),
  );
});
