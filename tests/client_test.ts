/**
 * FreeRouterClient: the in-process library against the fake OpenRouter —
 * key defaults, models(), chat() with fallback, errors, an injected fetch,
 * and shared FreeRouterState and Deno KV persistence. client_stream_test.ts
 * covers stream()/streamRaw() and disposal.
 */
import assert from "node:assert/strict";
import { collect, within } from "./_async.ts";
import {
  CLIENT_KEY,
  clientFor,
  escapeRegExp,
  manualClock,
  MESSAGES,
  withKvFile,
} from "./_harness.ts";
import {
  badRequest400,
  errorStatus,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  startFakeOpenRouter,
} from "./fake_openrouter/mod.ts";
import {
  FreeRouterClient,
  FreeRouterError,
  FreeRouterState,
  UpstreamHTTPError,
} from "../src/mod.ts";

const [A, B, C] = POOL as [string, string, string];
const ENV_NAME = "OPENROUTER_API_KEY";

/** Runs `fn` with OPENROUTER_API_KEY set to `value` (or unset), restoring it after. */
async function withEnvKey(
  value: string | undefined,
  fn: () => Promise<void>,
): Promise<void> {
  const saved = Deno.env.get(ENV_NAME);
  try {
    if (value === undefined) Deno.env.delete(ENV_NAME);
    else Deno.env.set(ENV_NAME, value);
    await fn();
  } finally {
    if (saved === undefined) Deno.env.delete(ENV_NAME);
    else Deno.env.set(ENV_NAME, saved);
  }
}

/** Runs `fn` with a fresh temp dir (holding `files`) as the working directory. */
async function inTempCwd(
  files: Record<string, string>,
  fn: () => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "freerouter-cwd-" });
  const saved = Deno.cwd();
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    Deno.chdir(dir);
    await fn();
  } finally {
    Deno.chdir(saved);
    await Deno.remove(dir, { recursive: true });
  }
}

// ---------------------------------------------------------------------------
// The key

Deno.test("FreeRouterClient() takes OPENROUTER_API_KEY from the environment by default", async () => {
  const envKey = "sk-or-v1-from-the-environment-000000000001";
  await using fake = startFakeOpenRouter();
  await withEnvKey(envKey, async () => {
    await using fr = new FreeRouterClient({
      baseUrl: fake.baseUrl,
      now: manualClock().now,
      rpm: 0,
      strategy: "priority",
      affinity: false,
      sameModelWait: 0,
    });
    const completion = await fr.chat(MESSAGES);
    assert.equal(completion.freerouter.model, A);
  });
  const [sent] = fake.chatRequests();
  assert.ok(sent);
  assert.equal(sent.headers.get("authorization"), `Bearer ${envKey}`);
});

Deno.test("FreeRouterClient() reads OPENROUTER_API_KEY from .env in the working directory", async () => {
  const dotenvKey = "sk-or-v1-from-dotenv-file-00000000000002";
  await using fake = startFakeOpenRouter();
  await withEnvKey(undefined, async () => {
    await inTempCwd(
      { ".env": `# test\nOTHER=1\nOPENROUTER_API_KEY="${dotenvKey}"\n` },
      async () => {
        assert.equal(Deno.env.get(ENV_NAME), undefined);
        await using fr = new FreeRouterClient({
          baseUrl: fake.baseUrl,
          now: manualClock().now,
          rpm: 0,
          strategy: "priority",
          affinity: false,
          sameModelWait: 0,
        });
        const completion = await fr.chat(MESSAGES);
        assert.equal(completion.freerouter.model, A);
      },
    );
  });
  const [sent] = fake.chatRequests();
  assert.ok(sent);
  assert.equal(sent.headers.get("authorization"), `Bearer ${dotenvKey}`);
});

Deno.test("FreeRouterClient() prefers OPENROUTER_API_KEY in the environment over .env", async () => {
  const envKey = "sk-or-v1-from-the-environment-000000000003";
  await using fake = startFakeOpenRouter();
  await withEnvKey(envKey, async () => {
    await inTempCwd(
      { ".env": "OPENROUTER_API_KEY=sk-or-v1-from-dotenv-loses\n" },
      async () => {
        await using fr = new FreeRouterClient({
          baseUrl: fake.baseUrl,
          now: manualClock().now,
          rpm: 0,
        });
        await fr.chat(MESSAGES);
      },
    );
  });
  assert.equal(
    fake.chatRequests()[0]?.headers.get("authorization"),
    `Bearer ${envKey}`,
  );
});

Deno.test("FreeRouterClient.chat() without any key throws FreeRouterError missing_api_key before calling upstream", async () => {
  await using fake = startFakeOpenRouter();
  await withEnvKey(undefined, async () => {
    await inTempCwd({}, async () => {
      await using fr = new FreeRouterClient({
        baseUrl: fake.baseUrl,
        now: manualClock().now,
        rpm: 0,
      });
      const check = (err: unknown) => {
        assert.ok(err instanceof FreeRouterError);
        assert.ok(err instanceof Error);
        assert.equal(err.name, "FreeRouterError");
        assert.equal(err.code, "missing_api_key");
        assert.equal(err.status, 401);
        assert.match(err.message, /OPENROUTER_API_KEY/);
        return true;
      };
      await assert.rejects(fr.chat(MESSAGES), check);
      await assert.rejects(collect(fr.stream(MESSAGES)), check);
      await assert.rejects(
        collect(fr.streamRaw({ messages: MESSAGES })),
        check,
      );
    });
  });
  assert.equal(fake.requests.length, 0, "no upstream call at all");
});

// ---------------------------------------------------------------------------
// models()

Deno.test("FreeRouterClient.models() lists the routable free models in priority order", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock());
  const models = await fr.models();
  assert.deepEqual(models.map((m) => m.id), POOL);
  const first = models[0]!;
  assert.equal(first.id, A);
  assert.equal(first.context_length, 1048576);
  assert.equal(first.owned_by, "qwen");
  assert.equal(typeof first.name, "string");
  assert.equal(fake.modelsRequests().length, 1);
  assert.equal(fake.chatRequests().length, 0);
  await fr.models();
  assert.equal(fake.modelsRequests().length, 1, "the pool is cached");
});

// ---------------------------------------------------------------------------
// chat()

Deno.test("FreeRouterClient.chat() returns the completion with the model used", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock());
  const completion = await fr.chat(MESSAGES);
  assert.equal(completion.object, "chat.completion");
  assert.equal(completion.model, A);
  assert.equal(completion.choices[0]?.message.content, "Hello world");
  assert.equal(completion.freerouter.model, A);
  assert.deepEqual(completion.freerouter.attempts, [
    { model: A, outcome: "ok", ms: 0 },
  ]);
  const [sent] = fake.chatRequests();
  assert.ok(sent);
  assert.equal(fake.chatRequests().length, 1);
  assert.equal(sent.headers.get("authorization"), `Bearer ${CLIENT_KEY}`);
  assert.deepEqual(sent.body, { model: A, messages: MESSAGES });
});

Deno.test("FreeRouterClient.chat() falls back to the next model on a 429 and reports the attempts", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock());
  fake.script(A, errorStatus(429));
  const completion = await fr.chat(MESSAGES);
  assert.equal(completion.freerouter.model, B);
  assert.equal(completion.model, B);
  assert.deepEqual(completion.freerouter.attempts, [
    { model: A, outcome: "429", ms: 0 },
    { model: B, outcome: "ok", ms: 0 },
  ]);
  assert.deepEqual(fake.chatRequests().map((q) => q.model), [A, B]);
});

Deno.test("FreeRouterClient.chat() passes extra params through to the upstream body", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock());
  const params = {
    temperature: 0.3,
    top_p: 0.9,
    max_tokens: 77,
    seed: 42,
    stop: ["\n\n"],
    provider: { sort: "latency" },
    custom_field: { nested: [1, 2] },
  };
  await fr.chat(MESSAGES, params);
  const [sent] = fake.chatRequests();
  assert.ok(sent);
  assert.deepEqual(sent.body, { model: A, messages: MESSAGES, ...params });
});

Deno.test("FreeRouterClient.chat() tries the requested free model first", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock());
  const completion = await fr.chat(MESSAGES, { model: C, temperature: 0 });
  assert.equal(completion.freerouter.model, C);
  assert.equal(completion.model, C);
  const [sent] = fake.chatRequests();
  assert.ok(sent);
  assert.deepEqual(sent.body, { model: C, messages: MESSAGES, temperature: 0 });
  fake.script(C, errorStatus(503));
  const fallback = await fr.chat(MESSAGES, { model: C });
  assert.equal(fallback.freerouter.model, A, "then the pool order");
  assert.deepEqual(fake.chatRequests().map((q) => q.model), [C, C, A]);
});

Deno.test("FreeRouterClient.chat() throws UpstreamHTTPError with the upstream status and body on a 400", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock());
  const message = "messages[0].content must not be empty";
  const step = badRequest400(message);
  fake.script(A, step);
  await assert.rejects(fr.chat(MESSAGES), (err: unknown) => {
    assert.ok(err instanceof UpstreamHTTPError);
    assert.ok(err instanceof Error);
    assert.equal(err.name, "UpstreamHTTPError");
    assert.equal(err.status, 400);
    assert.equal(err.body, JSON.stringify(step.body));
    assert.deepEqual(JSON.parse(err.body), step.body);
    assert.match(err.message, /400/);
    assert.match(err.message, new RegExp(escapeRegExp(message)));
    assert.deepEqual(err.attempts.map((a) => [a.model, a.outcome]), [
      [A, "400"],
    ]);
    return true;
  });
  assert.deepEqual(
    fake.chatRequests().map((q) => q.model),
    [A],
    "no fallback on a refusal",
  );
});

Deno.test("FreeRouterClient.chat() throws FreeRouterError all_candidates_failed with the attempts after maxAttempts", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock(), { maxAttempts: 2 });
  for (const model of POOL) fake.script(model, errorStatus(503));
  await assert.rejects(fr.chat(MESSAGES), (err: unknown) => {
    assert.ok(err instanceof FreeRouterError);
    assert.ok(err instanceof Error);
    assert.equal(err.name, "FreeRouterError");
    assert.equal(err.code, "all_candidates_failed");
    assert.equal(err.status, 502);
    assert.deepEqual(err.attempts, [
      { model: A, outcome: "503", ms: 0 },
      { model: B, outcome: "503", ms: 0 },
    ]);
    assert.match(err.message, new RegExp(`${escapeRegExp(A)} → 503`));
    assert.match(err.message, new RegExp(`${escapeRegExp(B)} → 503`));
    return true;
  });
  assert.deepEqual(fake.chatRequests().map((q) => q.model), [A, B]);
});

Deno.test("FreeRouterClient.chat() aborts a hung upstream request when the signal aborts", async () => {
  await using fake = startFakeOpenRouter();
  // A short timeout so that, if the signal were ignored, the attempt would
  // time out and fall back (a resolved promise, failing the test) quickly.
  await using fr = clientFor(fake, manualClock(), { requestTimeout: 5 });
  fake.script(A, { hang: true });
  const controller = new AbortController();
  const pending = fr.chat(MESSAGES, { signal: controller.signal });
  await within(fake.waitForChatRequests(1), "the upstream request");
  controller.abort();
  await assert.rejects(pending, (err: unknown) => {
    assert.ok(err instanceof FreeRouterError);
    assert.equal(err.code, "aborted");
    return true;
  });
  const [hung] = fake.chatRequests();
  await within(hung!.aborted, "the upstream request was aborted");
  assert.equal(hung!.isAborted(), true);
  assert.equal(fake.chatRequests().length, 1, "no fallback after an abort");
  assert.equal("signal" in (hung!.body as Record<string, unknown>), false);
});

// ---------------------------------------------------------------------------
// Injected fetch

Deno.test("FreeRouterClient uses the injected fetch for every upstream call, GET /models included", async () => {
  await using fake = startFakeOpenRouter();
  const calls: string[] = [];
  const recordingFetch: typeof fetch = (input, init) => {
    const url = input instanceof Request
      ? input.url
      : input instanceof URL
      ? input.href
      : input;
    const method = init?.method ??
      (input instanceof Request ? input.method : "GET");
    calls.push(`${method} ${url}`);
    return globalThis.fetch(input, init);
  };
  await using fr = clientFor(fake, manualClock(), { fetch: recordingFetch });
  fake.script(A, errorStatus(503));
  const completion = await fr.chat(MESSAGES);
  assert.equal(completion.freerouter.model, B);
  const chunks = await collect(fr.stream(MESSAGES));
  assert.ok(chunks.length > 0);
  const origin = new URL(fake.baseUrl).origin;
  assert.deepEqual(
    calls,
    fake.requests.map((q) => `${q.method} ${origin}${q.path}${q.search}`),
    "every request the fake saw went through the injected fetch",
  );
  assert.deepEqual(
    calls.map((c) => c.replace(origin, "")),
    [
      "GET /api/v1/models",
      "POST /api/v1/chat/completions",
      "POST /api/v1/chat/completions",
      "POST /api/v1/chat/completions",
    ],
  );
});

// ---------------------------------------------------------------------------
// Shared state and KV

Deno.test("FreeRouterClient instances sharing a FreeRouterState share cooldowns and the catalog", async () => {
  await using fake = startFakeOpenRouter();
  const clock = manualClock();
  await using state = new FreeRouterState();
  await using first = clientFor(fake, clock, { state, cooldownSeconds: 60 });
  await using second = clientFor(fake, clock, { state, cooldownSeconds: 60 });
  const [poolOne, poolTwo] = await Promise.all([
    first.models(),
    second.models(),
  ]);
  assert.deepEqual(poolOne.map((m) => m.id), POOL);
  assert.deepEqual(poolTwo.map((m) => m.id), POOL);
  fake.script(A, errorStatus(429));
  const one = await first.chat(MESSAGES);
  assert.equal(one.freerouter.model, B);
  const two = await second.chat(MESSAGES);
  assert.equal(two.freerouter.model, B);
  assert.deepEqual(two.freerouter.attempts, [
    { model: B, outcome: "ok", ms: 0 },
  ]);
  assert.deepEqual(
    fake.chatRequests().map((q) => q.model),
    [A, B, B],
    "the second client skipped A",
  );
  assert.equal(fake.modelsRequests().length, 1, "one catalog fetch for both");
  clock.advance(60_000);
  assert.equal((await second.chat(MESSAGES)).freerouter.model, A);
});

Deno.test("FreeRouterClient instances with separate states do not share cooldowns", async () => {
  await using fake = startFakeOpenRouter();
  const clock = manualClock();
  await using first = clientFor(fake, clock);
  await using second = clientFor(fake, clock);
  fake.script(A, errorStatus(429));
  assert.equal((await first.chat(MESSAGES)).freerouter.model, B);
  assert.equal((await second.chat(MESSAGES)).freerouter.model, A);
  assert.equal(fake.modelsRequests().length, 2);
});

Deno.test("FreeRouterClient with kv keeps a cooldown for a new client on the reopened KV", async () => {
  await withKvFile(async (path) => {
    await using fake = startFakeOpenRouter();
    const clock = manualClock();
    fake.script(A, errorStatus(429));
    {
      using kv = await Deno.openKv(path);
      await using fr = clientFor(fake, clock, { kv, cooldownSeconds: 120 });
      assert.equal((await fr.chat(MESSAGES)).freerouter.model, B);
    }
    assert.deepEqual(fake.chatRequests().map((q) => q.model), [A, B]);
    {
      using kv = await Deno.openKv(path);
      await using fr = clientFor(fake, clock, { kv, cooldownSeconds: 120 });
      const completion = await fr.chat(MESSAGES);
      assert.equal(completion.freerouter.model, B);
      assert.deepEqual(completion.freerouter.attempts, [
        { model: B, outcome: "ok", ms: 0 },
      ]);
      assert.deepEqual(
        fake.chatRequests().map((q) => q.model),
        [A, B, B],
        "A was skipped by the new client",
      );
      clock.advance(120_000);
      assert.equal(
        (await fr.chat(MESSAGES)).freerouter.model,
        A,
        "the cooldown ends on time",
      );
    }
  });
});

Deno.test("FreeRouterClient and FreeRouterState refuse options that only JavaScript can pass with a TypeError or RangeError naming the option, when constructed", () => {
  const make = (options: unknown) => () =>
    new FreeRouterClient(
      options as ConstructorParameters<typeof FreeRouterClient>[0],
    );
  assert.throws(make({ maxAttempts: "3" }), {
    name: "RangeError",
    message: /"maxAttempts" must be a whole number, got "3"/,
  });
  assert.throws(make({ baseUrl: 42 }), {
    name: "TypeError",
    message: /"baseUrl" must be a URL string/,
  });
  assert.throws(make({ baseUrl: "ftp://openrouter.ai/api/v1" }), {
    name: "TypeError",
    message: /"baseUrl" must be an http or https URL/,
  });
  assert.throws(make({ state: {} }), {
    name: "TypeError",
    message: /"state" must be a FreeRouterState/,
  });
  assert.throws(make({ aliases: { mine: [1] } }), {
    name: "TypeError",
    message: /alias "mine" has an invalid model id or pattern 1/,
  });
  assert.throws(make({ kv: {} }), {
    name: "TypeError",
    message: /"kv" must be a Deno KV store/,
  });
  assert.throws(() => new FreeRouterState({ kv: {} as Deno.Kv }), {
    name: "TypeError",
    message: /"kv" must be a Deno KV store/,
  });
  // null is no options at all: the defaults.
  const fr = make(null)();
  assert.ok(fr instanceof FreeRouterClient);
});
