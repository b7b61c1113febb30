/**
 * Fault injection, upstream faults: refused and reset connections, attempts
 * that hang or stall, and a catalog endpoint that fails are survived.
 */
import assert from "node:assert/strict";
import { concat, deferred, within } from "../_async.ts";
import { ALIAS_IDS, hello, rig } from "../_harness.ts";
import {
  catalogRow,
  completionBody,
  DONE,
  errorStatus,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  overloadedIn200,
  startFakeOpenRouter,
  type Step,
} from "../fake_openrouter/mod.ts";
import { fullStream, readRest } from "../_streams.ts";
import {
  assertOpenAIError,
  captureLog,
  closedBaseUrl,
  type OpenAIError,
  test,
  testNoRejectionLeft,
  withTempDir,
} from "./_helpers.ts";

const [A, B] = POOL as [string, string];
const decoder = new TextDecoder();

// ===========================================================================
// Upstream faults are survived

/** A fetch that sends chat attempts for `refused` models to a closed port. */
function refusingFetch(refused: ReadonlySet<string>): typeof fetch {
  const closed = closedBaseUrl();
  return (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url.endsWith("/chat/completions") && typeof init?.body === "string") {
      const model = (JSON.parse(init.body) as { model?: string }).model;
      if (model !== undefined && refused.has(model)) {
        return fetch(`${closed}/chat/completions`, init);
      }
    }
    return fetch(input, init);
  };
}

for (const stream of [false, true]) {
  test(`createHandler() falls back to the next model when an attempt's connection is refused (stream: ${stream})`, async () => {
    await using r = rig({ fetch: refusingFetch(new Set([A])) });
    const res = await r.chat(hello("auto", { stream }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-freerouter-model"), B);
    assert.equal(res.headers.get("x-freerouter-attempts"), "2");
    const text = await res.text();
    if (stream) assert.ok(text.endsWith(DONE));
    else assert.equal((JSON.parse(text) as { model: string }).model, B);
    assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [B]);
  });
}

test("createHandler() answers 502 in the OpenAI shape after MAX_ATTEMPTS when every connection is refused after a restart", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/kv.sqlite`;
    await using fake = startFakeOpenRouter();
    {
      using kv = await Deno.openKv(path);
      await using first = rig({ fake, kv });
      await (await first.chat(hello())).body?.cancel();
    }
    // OpenRouter is gone entirely: the catalog comes from KV.
    const log = captureLog();
    using kv = await Deno.openKv(path);
    await using second = rig({
      fake,
      kv,
      baseUrl: closedBaseUrl(),
      maxAttempts: 3,
      logger: log,
    });
    for (const stream of [false, true]) {
      const res = await second.chat(hello("auto", { stream }));
      assert.equal(res.headers.get("x-freerouter-attempts"), "3");
      const error = await assertOpenAIError(
        res,
        502,
        "all_candidates_failed",
      );
      assert.equal(error.message.match(/network error/g)?.length, 3);
      // Every model failed: the account's attempts pause (core/outage.ts).
      second.clock.advance(30_000);
    }
    const models = await second.request("/v1/models");
    assert.equal(models.status, 200);
    const list = await models.json() as { data: Array<{ id: string }> };
    assert.deepEqual(list.data.map((m) => m.id), [...POOL, ...ALIAS_IDS]);
    assert.doesNotMatch(log.text(), /Unexpected error/);
    assert.equal(fake.chatRequests().length, 1, "only the first run's");
  });
});

for (const stream of [false, true]) {
  test(`createHandler() falls back to the next model when the connection resets before the response head (stream: ${stream})`, async () => {
    await using r = rig();
    r.fake.script(A, { reset: true });
    const res = await r.chat(hello("auto", { stream }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-freerouter-model"), B);
    await res.body?.cancel();
  });
}

test("createHandler() falls back to the next model when the connection resets in the middle of a non-streamed body", async () => {
  await using r = rig();
  const body = JSON.stringify(completionBody(A, "this answer is cut off"));
  r.fake.script(A, {
    stream: {
      headers: { "content-type": "application/json" },
      parts: [body.slice(0, body.length / 2)],
      end: "reset",
    },
  });
  const res = await r.chat(hello());
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-freerouter-model"), B);
  const json = await res.json() as { model: string };
  assert.equal(json.model, B);
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B]);
});

/** Asserts the stream forwarded `events`, then one OpenAI error event, and no [DONE]. */
function assertBrokenOff(text: string, events: string[]): void {
  assert.ok(text.startsWith(events.join("")), text.slice(0, 300));
  const rest = text.slice(events.join("").length);
  assert.match(rest, /^data: \{"error":\{/);
  assert.ok(rest.endsWith("\n\n"));
  const error = JSON.parse(rest.slice("data: ".length)) as {
    error: OpenAIError;
  };
  assert.equal(typeof error.error.message, "string");
  assert.doesNotMatch(text, /^data: ?\[DONE\]/m, "no [DONE]");
}

test("createHandler() ends a stream with an error event and no [DONE] when the connection resets after the first events", async () => {
  await using r = rig({ streamResume: false });
  const events = fullStream(A).slice(0, 2);
  const delivered = deferred();
  // The reset comes only once the client has the first events.
  r.fake.script(A, {
    stream: { parts: [...events, () => delivered.promise], end: "reset" },
  });
  const res = await r.chat(hello("auto", { stream: true }));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-freerouter-model"), A);
  const reader = res.body!.getReader();
  const chunks: Uint8Array[] = [];
  while (decoder.decode(concat(chunks)).length < events.join("").length) {
    const { done, value } = await within(reader.read(), "the first events");
    if (done) break;
    chunks.push(value);
  }
  delivered.resolve();
  const { text } = await within(readRest(reader, chunks), "end");
  assertBrokenOff(text, events);
  assert.equal(r.fake.chatRequests().length, 1, "no fallback after commit");
});

for (const stream of [false, true]) {
  test(`createHandler() falls back and aborts the hung attempt when it answers nothing within REQUEST_TIMEOUT (stream: ${stream})`, async () => {
    await using r = rig({ requestTimeout: 0.3 });
    r.fake.script(A, { hang: true });
    const res = await r.chat(hello("auto", { stream }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-freerouter-model"), B);
    await res.body?.cancel();
    const [hung] = r.fake.chatRequests();
    await within(hung!.aborted, "the hung upstream request aborted");
  });
}

test("createHandler() falls back when a stream sends its head but no event within REQUEST_TIMEOUT", async () => {
  await using r = rig({ requestTimeout: 0.3 });
  r.fake.script(A, { stream: { parts: [], end: "hang" } });
  const res = await r.chat(hello("auto", { stream: true }));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-freerouter-model"), B);
  assert.ok((await res.text()).endsWith(DONE));
  await within(r.fake.chatRequests()[0]!.aborted, "the stalled stream aborted");
});

test("createHandler() falls back and aborts the attempt when a non-streamed body stalls midway", async () => {
  await using r = rig({ requestTimeout: 5, streamIdleTimeout: 0.3 });
  const body = JSON.stringify(completionBody(A, "stalls"));
  r.fake.script(A, {
    stream: {
      headers: { "content-type": "application/json" },
      parts: [body.slice(0, 40)],
      end: "hang",
    },
  });
  const res = await r.chat(hello());
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-freerouter-model"), B);
  await res.body?.cancel();
  await within(r.fake.chatRequests()[0]!.aborted, "the stalled body aborted");
});

test("createHandler() ends a stream with an error event when it stalls after the first events", async () => {
  await using r = rig({ streamResume: false, streamIdleTimeout: 0.3 });
  const events = fullStream(A).slice(0, 2);
  r.fake.script(A, { stream: { parts: events, end: "hang" } });
  const res = await r.chat(hello("auto", { stream: true }));
  assert.equal(res.headers.get("x-freerouter-model"), A);
  assertBrokenOff(await res.text(), events);
  await within(r.fake.chatRequests()[0]!.aborted, "the stalled stream aborted");
});

test("createHandler() answers 502 with every timeout listed when each of MAX_ATTEMPTS attempts hangs", async () => {
  await using r = rig({ requestTimeout: 0.3, maxAttempts: 2 });
  r.fake.script(A, { hang: true });
  r.fake.script(B, { hang: true });
  const res = await r.chat(hello());
  assert.equal(res.headers.get("x-freerouter-attempts"), "2");
  const error = await assertOpenAIError(res, 502, "all_candidates_failed");
  assert.equal(error.message.match(/timeout/g)?.length, 2);
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B]);
  for (const q of r.fake.chatRequests()) {
    await within(q.aborted, `the hung request to ${q.model} aborted`);
  }
});

for (
  const [name, step] of [
    ["invalid JSON", { status: 200, body: '{"id":"gen-1","choices":[{' }],
    ["an error object", overloadedIn200()],
    ["an error object and code 502", errorStatus(200, "Provider went away")],
    ["HTML", {
      status: 200,
      headers: { "content-type": "text/html" },
      body: "<html>Bad gateway</html>",
    }],
  ] as Array<[string, Step]>
) {
  test(`createHandler() falls back to the next model when a 200 carries ${name}`, async () => {
    await using r = rig();
    r.fake.script(A, step);
    const res = await r.chat(hello());
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-freerouter-model"), B);
    assert.equal((await res.json() as { model: string }).model, B);
  });
}

for (
  const [name, first] of [
    ["an event that is not JSON", "data: {not json\n\n"],
    [
      "an error event",
      'data: {"error":{"message":"overloaded","code":503}}\n\n',
    ],
  ]
) {
  test(`createHandler() falls back to the next model when a stream starts with ${name}`, async () => {
    await using r = rig();
    r.fake.script(A, { stream: { parts: [first!, ...fullStream(A)] } });
    const res = await r.chat(hello("auto", { stream: true }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-freerouter-model"), B);
    const text = await res.text();
    assert.ok(!text.includes(first!), "nothing of the failed attempt");
    assert.ok(text.endsWith(DONE));
  });
}

test("createHandler() keeps the last good catalog when the models endpoint answers garbage, an empty list or an error", async () => {
  const log = captureLog();
  await using r = rig({ modelRefreshTtl: 60, logger: log });
  await (await r.chat(hello())).body?.cancel();
  const faults: Step[] = [
    { status: 200, headers: { "content-type": "text/html" }, body: "<html>" },
    { status: 200, body: "{not json" },
    { status: 200, body: { data: [] } },
    { status: 200, body: { data: "models" } },
    { status: 200, body: [] },
    { status: 200, body: {} },
    { status: 200, body: { data: [null, 7, "x", { id: 5 }] } },
    { status: 500, body: "oops" },
    { status: 200, body: "" },
    { reset: true },
  ];
  for (const [i, fault] of faults.entries()) {
    r.fake.scriptModels(fault);
    r.clock.advance(61_000);
    const res = await r.chat(hello());
    assert.equal(res.status, 200, `fault ${i}`);
    assert.equal(res.headers.get("x-freerouter-model"), A, `fault ${i}`);
    await res.body?.cancel();
    // The background refresh fails on its own (closing would end it first).
    await within(
      log.waitFor(/^warn Catalog refresh failed/, i + 1),
      `fault ${i} logged`,
    );
    const list = await (await r.request("/v1/models")).json() as {
      data: Array<{ id: string }>;
    };
    assert.deepEqual(
      list.data.map((m) => m.id),
      [...POOL, ...ALIAS_IDS],
      `fault ${i}`,
    );
  }
  assert.equal(r.fake.modelsRequests().length, 1 + faults.length);
  assert.equal(
    log.lines.filter((l) => /^warn Catalog refresh failed/.test(l)).length,
    faults.length,
    log.text(),
  );
});

test("createHandler() keeps the last good catalog and aborts the refresh when the models endpoint times out", async () => {
  const log = captureLog();
  await using r = rig({
    modelRefreshTtl: 60,
    requestTimeout: 0.3,
    logger: log,
  });
  await (await r.chat(hello())).body?.cancel();
  r.fake.scriptModels({ hang: true });
  r.clock.advance(61_000);
  const res = await r.chat(hello());
  assert.equal(res.status, 200, "answered from the stale catalog");
  assert.equal(res.headers.get("x-freerouter-model"), A);
  await res.body?.cancel();
  // The refresh's own timeout ends it: nothing here closes the handler.
  await within(
    log.waitFor(
      /^warn Catalog refresh failed, keeping the last good list: GET \/models: no answer within 0\.3 s/,
      1,
    ),
    "the refresh timed out",
  );
  const hung = r.fake.modelsRequests()[1]!;
  await within(hung.aborted, "the hung /models request aborted");
  const list = await (await r.request("/v1/models")).json() as {
    data: Array<{ id: string }>;
  };
  assert.deepEqual(list.data.map((m) => m.id), [...POOL, ...ALIAS_IDS]);
});

test("createHandler() answers 503 no_free_models and recovers later when the very first catalog load fails", async () => {
  await using r = rig({ requestTimeout: 0.3 });
  r.fake.scriptModels(
    { status: 200, body: "<html>" },
    { status: 200, body: { data: [] } },
    { hang: true },
  );
  for (let i = 0; i < 3; i++) {
    await assertOpenAIError(await r.chat(hello()), 503, "no_free_models");
  }
  await within(r.fake.modelsRequests()[2]!.aborted, "the hung load aborted");
  const res = await r.chat(hello());
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-freerouter-model"), A);
  await res.body?.cancel();
  assert.equal(r.fake.chatRequests().length, 1);
});

test("createHandler() routes on the well-formed entries only when catalog entries have missing or odd required fields", async () => {
  const good = catalogRow({ id: "good/one:free", context_length: 65536 });
  const second = catalogRow({ id: "good/two", context_length: 8192 });
  const odd = (patch: Record<string, unknown>, id = "odd/model:free") => ({
    ...catalogRow({ id }),
    ...patch,
  });
  const noArchitecture: Record<string, unknown> = odd({}, "odd/no-arch:free");
  delete noArchitecture.architecture;
  const noContext: Record<string, unknown> = odd({}, "odd/no-context:free");
  delete noContext.context_length;
  const noId: Record<string, unknown> = odd({});
  delete noId.id;
  const models: unknown[] = [
    null,
    42,
    "odd/a-string:free",
    [],
    {},
    noId,
    noArchitecture,
    noContext,
    odd({ id: 7 }),
    odd({ id: "" }),
    odd({ id: ["x:free"] }),
    odd({ architecture: "text->text" }, "odd/arch-string:free"),
    odd({ architecture: null }, "odd/arch-null:free"),
    odd({ architecture: { modality: 5 } }, "odd/modality-number:free"),
    odd({ context_length: -5 }, "odd/negative-context:free"),
    odd({ context_length: "big" }, "odd/string-context:free"),
    odd({ context_length: null }, "odd/null-context:free"),
    odd({ context_length: Infinity }, "odd/infinite-context:free"),
    odd({ pricing: "free" }, "odd/pricing-string:free"),
    odd({ pricing: null }, "odd/pricing-null:free"),
    odd({ pricing: { prompt: "abc", completion: "0" } }, "odd/price-nan:free"),
    odd({ pricing: { completion: "0" } }, "odd/no-prompt-price:free"),
    odd({ pricing: [] }, "odd/pricing-array:free"),
    good,
    second,
  ];
  await using r = rig({ fakeOptions: { models } });
  const res = await r.request("/v1/models");
  assert.equal(res.status, 200);
  const list = await res.json() as { data: Array<{ id: string }> };
  assert.deepEqual(list.data.map((m) => m.id), [
    "good/one:free",
    "good/two",
    ...ALIAS_IDS,
  ]);
  const chat = await r.chat(hello());
  assert.equal(chat.status, 200);
  assert.equal(chat.headers.get("x-freerouter-model"), "good/one:free");
  await chat.body?.cancel();
});

testNoRejectionLeft();
