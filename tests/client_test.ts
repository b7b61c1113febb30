/**
 * FreeRouterClient: the in-process library against the fake OpenRouter —
 * key defaults, models(), chat() with fallback, stream()/streamRaw() with the
 * fallback-until-first-content rule and abort on `break`, errors, shared
 * FreeRouterState, Deno KV persistence, an injected fetch, and disposal.
 *
 * Ordering is controlled with gates in the fake's stream parts, never with
 * wall-clock sleeps. `within()` only turns a would-be hang into a failure.
 */
import assert from "node:assert/strict";
import { concat, deferred, within } from "./_async.ts";
import { type ManualClock, manualClock } from "./_harness.ts";
import {
  badRequest400,
  chunk,
  DONE,
  errorStatus,
  type FakeOpenRouter,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  type GenerationMeta,
  startFakeOpenRouter,
  type Step,
  streamErrorEvent,
  streamOk,
  type StreamScript,
  usageChunk,
} from "./fake_openrouter.ts";
import {
  type ChatCompletionChunk,
  type ChatMessage,
  FreeRouterClient,
  type FreeRouterClientOptions,
  FreeRouterError,
  FreeRouterState,
  UpstreamHTTPError,
} from "../src/mod.ts";

const [A, B, C] = POOL as [string, string, string];
const KEY = "sk-or-v1-client-test-key-0123456789abcdef";
const ENV_NAME = "OPENROUTER_API_KEY";
const MESSAGES: ChatMessage[] = [{ role: "user", content: "Hello" }];
const decoder = new TextDecoder();

// ---------------------------------------------------------------------------
// Helpers

/** A client pointed at the fake, on the manual clock, without the account limiter. */
function clientFor(
  fake: FakeOpenRouter,
  clock: ManualClock,
  options: FreeRouterClientOptions = {},
): FreeRouterClient {
  return new FreeRouterClient({
    apiKey: KEY,
    baseUrl: fake.baseUrl,
    now: clock.now,
    rpm: 0,
    ...options,
  });
}

function meta(n: number): Required<GenerationMeta> {
  return {
    id: `gen-1764000000-CLIENTTEST00000000${n}`,
    created: 1764000000 + n,
    provider: "Chutes",
  };
}

/** A complete stream for a model with fixed bytes: role, pieces, finish, usage, [DONE]. */
function fullStream(model: string, pieces: string[], n = 0): string[] {
  const m = meta(n);
  return [
    chunk(model, { role: "assistant", content: "" }, null, m),
    ...pieces.map((p) => chunk(model, p, null, m)),
    chunk(model, { content: "" }, "stop", m),
    usageChunk(model, m),
    DONE,
  ];
}

/** The parsed `data:` JSON of framed single-line events (no `[DONE]`). */
function parsedEvents(parts: readonly string[]): unknown[] {
  return parts.filter((p) => p !== DONE).map((p) => {
    assert.ok(p.startsWith("data: ") && p.endsWith("\n\n"));
    return JSON.parse(p.slice("data: ".length, -2));
  });
}

function contentOf(chunks: readonly ChatCompletionChunk[]): string[] {
  return chunks.map((c) => String(c.choices[0]?.delta.content ?? ""));
}

function streamStep(
  parts: StreamScript["parts"],
  end?: StreamScript["end"],
): Step {
  return { stream: { parts, end } };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

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

async function withKvFile(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "freerouter-client-kv-" });
  try {
    await fn(`${dir}/kv.sqlite`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
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
  assert.equal(sent.headers.get("authorization"), `Bearer ${KEY}`);
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

// ---------------------------------------------------------------------------
// stream() and streamRaw()

Deno.test("FreeRouterClient.stream() yields the parsed chunks in order", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock());
  const parts = fullStream(A, ["Hel", "lo", " wor", "ld"]);
  fake.script(A, streamStep(parts));
  const chunks = await collect(fr.stream(MESSAGES, { temperature: 0.5 }));
  assert.deepEqual(chunks, parsedEvents(parts));
  assert.deepEqual(contentOf(chunks), ["", "Hel", "lo", " wor", "ld", "", ""]);
  assert.equal(chunks.at(-1)?.choices.length, 0, "the usage chunk is last");
  const [sent] = fake.chatRequests();
  assert.ok(sent);
  assert.deepEqual(sent.body, {
    model: A,
    messages: MESSAGES,
    temperature: 0.5,
    stream: true,
  });
});

Deno.test("FreeRouterClient.streamRaw() yields bytes that concatenate to exactly the upstream stream", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock());
  const script = streamOk(A, ["Hello", ",", " world"]);
  fake.script(A, { stream: script });
  const pieces = await collect(
    fr.streamRaw({ model: "auto", messages: MESSAGES, max_tokens: 9 }),
  );
  for (const piece of pieces) assert.ok(piece instanceof Uint8Array);
  const text = decoder.decode(concat(pieces));
  assert.equal(text, script.parts.join(""));
  assert.ok(text.endsWith("data: [DONE]\n\n"));
  const [sent] = fake.chatRequests();
  assert.ok(sent);
  assert.deepEqual(sent.body, {
    model: A,
    messages: MESSAGES,
    max_tokens: 9,
    stream: true,
  });
});

Deno.test("FreeRouterClient.stream() falls back when the first model answers 503", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock());
  fake.script(A, errorStatus(503));
  const parts = fullStream(B, ["from", " B"]);
  fake.script(B, streamStep(parts));
  const chunks = await collect(fr.stream(MESSAGES));
  assert.deepEqual(chunks, parsedEvents(parts));
  assert.deepEqual(chunks.map((c) => c.model), Array(chunks.length).fill(B));
  assert.deepEqual(fake.chatRequests().map((q) => q.model), [A, B]);
});

Deno.test("FreeRouterClient.stream() falls back when the first model's stream starts with an error event", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock());
  fake.script(
    A,
    streamStep([streamErrorEvent({ withChoices: true, code: 502, model: A })]),
  );
  const parts = fullStream(B, ["second", " model"], 1);
  fake.script(B, streamStep(parts));
  const pieces = await collect(fr.streamRaw({ messages: MESSAGES }));
  assert.equal(
    decoder.decode(concat(pieces)),
    parts.join(""),
    "nothing of the failed stream reaches the caller",
  );
  assert.deepEqual(fake.chatRequests().map((q) => q.model), [A, B]);
});

Deno.test("FreeRouterClient.stream() aborts the upstream when the loop breaks after the first chunk", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock());
  const gate = deferred();
  const [role, hel, ...rest] = fullStream(A, ["Hel", "lo"]);
  fake.script(A, streamStep([role!, hel!, () => gate.promise, ...rest]));
  try {
    const seen: ChatCompletionChunk[] = [];
    for await (const c of fr.stream(MESSAGES)) {
      seen.push(c);
      break;
    }
    assert.deepEqual(seen, parsedEvents([role!]));
    const [rec] = fake.chatRequests();
    assert.ok(rec);
    await within(rec.aborted, "the upstream request was aborted");
    assert.equal(rec.isAborted(), true);
    assert.equal(fake.chatRequests().length, 1);
  } finally {
    gate.resolve();
  }
});

Deno.test("FreeRouterClient.streamRaw() aborts the upstream when the loop breaks after the first bytes", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock());
  const gate = deferred();
  const [role, ...rest] = fullStream(A, ["Hel", "lo"]);
  fake.script(A, streamStep([role!, () => gate.promise, ...rest]));
  try {
    let first: Uint8Array | undefined;
    for await (const bytes of fr.streamRaw({ messages: MESSAGES })) {
      first = bytes;
      break;
    }
    assert.equal(decoder.decode(first), role);
    const [rec] = fake.chatRequests();
    assert.ok(rec);
    await within(rec.aborted, "the upstream request was aborted");
    assert.equal(rec.isAborted(), true);
  } finally {
    gate.resolve();
  }
});

Deno.test("FreeRouterClient.stream() throws FreeRouterError stream_interrupted when the stream breaks after commit", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock());
  const [role, hel] = fullStream(A, ["Hel", "lo"]);
  // The connection is reset only once the caller holds both chunks, so the
  // stream is committed and nothing sent is still queued when it breaks.
  const bothSeen = deferred();
  fake.script(A, streamStep([role!, hel!, () => bothSeen.promise], "reset"));
  const seen: ChatCompletionChunk[] = [];
  try {
    await assert.rejects(
      (async () => {
        for await (const c of fr.stream(MESSAGES)) {
          seen.push(c);
          if (seen.length === 2) bothSeen.resolve();
        }
      })(),
      (err: unknown) => {
        assert.ok(err instanceof FreeRouterError);
        assert.ok(err instanceof Error);
        assert.equal(err.name, "FreeRouterError");
        assert.equal(err.code, "stream_interrupted");
        assert.equal(err.status, 502);
        assert.match(err.message, new RegExp(escapeRegExp(A)));
        return true;
      },
    );
  } finally {
    bothSeen.resolve();
  }
  assert.deepEqual(seen, parsedEvents([role!, hel!]));
  assert.deepEqual(
    fake.chatRequests().map((q) => q.model),
    [A],
    "no fallback after the first content",
  );
});

Deno.test("FreeRouterClient.stream() throws UpstreamHTTPError on a 400", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock());
  const step = badRequest400("bad stream request");
  fake.script(A, step);
  await assert.rejects(collect(fr.stream(MESSAGES)), (err: unknown) => {
    assert.ok(err instanceof UpstreamHTTPError);
    assert.equal(err.status, 400);
    assert.equal(err.body, JSON.stringify(step.body));
    return true;
  });
  assert.equal(fake.chatRequests().length, 1);
});

// ---------------------------------------------------------------------------
// Disposal

Deno.test("FreeRouterClient works with await using: disposal aborts open streams and a second close is harmless", async () => {
  await using fake = startFakeOpenRouter();
  const gate = deferred();
  const [role, ...rest] = fullStream(A, ["Hel", "lo"]);
  fake.script(A, streamStep([role!, () => gate.promise, ...rest]));
  let disposed: FreeRouterClient | undefined;
  let open: AsyncIterator<Uint8Array> | undefined;
  try {
    {
      await using fr = clientFor(fake, manualClock());
      disposed = fr;
      assert.equal(typeof fr[Symbol.asyncDispose], "function");
      open = fr.streamRaw({ messages: MESSAGES })[Symbol.asyncIterator]();
      const first = await open.next();
      assert.equal(first.done, false);
      assert.equal(decoder.decode(first.value), role);
    }
    const [rec] = fake.chatRequests();
    assert.ok(rec);
    await within(rec.aborted, "disposal aborted the open stream upstream");
    assert.equal(await disposed.close(), undefined);
    assert.equal(await disposed[Symbol.asyncDispose](), undefined);
  } finally {
    await open?.return?.();
    gate.resolve();
  }
});

Deno.test("FreeRouterClient.close() resolves and can be called twice", async () => {
  await using fake = startFakeOpenRouter();
  const fr = clientFor(fake, manualClock());
  await fr.chat(MESSAGES);
  assert.equal(await fr.close(), undefined);
  assert.equal(await fr.close(), undefined);
});
