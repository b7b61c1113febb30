/**
 * createHandler(): routing, fallback, cooldowns, errors and key handling,
 * against the fake OpenRouter.
 */
import assert from "node:assert/strict";
import {
  ALIAS_IDS,
  escapeRegExp,
  hello,
  jsonOf,
  rig,
  SERVER_KEY,
} from "./_harness.ts";
import {
  errorIn200WithChoices,
  errorStatus,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  modelRpm,
  ok,
  overloadedIn200,
  provider401,
  providerError502,
  type Step,
  userNotFound401,
} from "./fake_openrouter/mod.ts";

const [A, B, C] = POOL as [string, string, string];

Deno.test("createHandler() routes auto to the first pool model and returns the upstream body unchanged", async () => {
  await using r = rig();
  const res = await r.chat(hello());
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-freerouter-model"), A);
  assert.equal(res.headers.get("x-freerouter-attempts"), "1");
  const body = await jsonOf(res);
  assert.equal(body.object, "chat.completion");
  assert.equal(body.model, A);
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A]);
});

Deno.test("createHandler() forwards the body unchanged except model, with only freerouter's headers", async () => {
  await using r = rig();
  const body = hello("auto", {
    temperature: 0.3,
    custom_field: { nested: [1, 2] },
    provider: { sort: "price" },
  });
  const res = await r.chat(body, {
    headers: {
      "content-type": "application/json",
      authorization: "Bearer client-secret",
      cookie: "session=abc",
      connection: "keep-alive",
      "x-custom-client-header": "1",
    },
  });
  await res.body?.cancel();
  const [sent] = r.fake.chatRequests();
  assert.ok(sent);
  assert.deepEqual(sent.body, { ...body, model: A });
  assert.equal(sent.headers.get("authorization"), `Bearer ${SERVER_KEY}`);
  assert.equal(sent.headers.get("content-type"), "application/json");
  assert.ok(sent.headers.get("http-referer"));
  assert.equal(sent.headers.get("x-openrouter-title"), "freerouter");
  assert.equal(sent.headers.get("cookie"), null);
  assert.equal(sent.headers.get("x-custom-client-header"), null);
});

Deno.test("createHandler() tries a requested free model first, then the pool order", async () => {
  await using r = rig();
  r.fake.script(C, errorStatus(503));
  const res = await r.chat(hello(C));
  await res.body?.cancel();
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [C, A]);
});

Deno.test("createHandler() uses the pool order for paid, unknown and empty model names", async () => {
  await using r = rig();
  for (const name of ["openai/gpt-4o", "no/such-model", "", "auto"]) {
    const res = await r.chat(hello(name));
    assert.equal(
      res.headers.get("x-freerouter-model"),
      A,
      `model ${JSON.stringify(name)}`,
    );
    await res.body?.cancel();
  }
  const res = await r.chat({
    messages: [{ role: "user", content: "no model field" }],
  });
  assert.equal(res.headers.get("x-freerouter-model"), A);
  await res.body?.cancel();
});

for (const status of [403, 404, 408, 409, 429, 500, 502, 503, 504]) {
  Deno.test(`createHandler() falls back to the next model on ${status}`, async () => {
    await using r = rig();
    r.fake.script(A, errorStatus(status));
    const res = await r.chat(hello());
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-freerouter-model"), B);
    assert.equal(res.headers.get("x-freerouter-attempts"), "2");
    assert.equal((await jsonOf(res)).model, B);
  });
}

Deno.test("createHandler() falls back on a 502 'Provider returned error' body", async () => {
  await using r = rig();
  r.fake.script(A, providerError502(A));
  const res = await r.chat(hello());
  assert.equal(res.headers.get("x-freerouter-model"), B);
  await res.body?.cancel();
});

for (
  const [name, step] of [
    ["an error object without choices", overloadedIn200()],
    ["an error inside a choice", errorIn200WithChoices()],
    ["invalid JSON", { status: 200, body: '{"id":"gen-1","choices":[' }],
    ["JSON that is not a chat completion", {
      status: 200,
      body: { hello: "world" },
    }],
    ["an empty body", { status: 200, body: "" }],
  ] as Array<[string, Step]>
) {
  Deno.test(`createHandler() falls back on a 200 with ${name}`, async () => {
    await using r = rig();
    r.fake.script(A, step);
    const res = await r.chat(hello());
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-freerouter-model"), B);
    assert.equal((await jsonOf(res)).model, B);
  });
}

Deno.test("createHandler() accepts a 200 padded with leading whitespace", async () => {
  await using r = rig();
  const step = ok(A, "padded answer");
  r.fake.script(A, { ...step, leadingWhitespace: "\n\n\n   \n" });
  const res = await r.chat(hello());
  assert.equal(res.headers.get("x-freerouter-model"), A);
  const body = await jsonOf(res);
  assert.deepEqual(
    (body.choices as Array<{ message: { content: string } }>)[0]?.message
      .content,
    "padded answer",
  );
});

Deno.test("createHandler() falls back on a connection reset", async () => {
  await using r = rig();
  r.fake.script(A, { reset: true });
  const res = await r.chat(hello());
  assert.equal(res.headers.get("x-freerouter-model"), B);
  await res.body?.cancel();
});

Deno.test("createHandler() falls back when an attempt exceeds REQUEST_TIMEOUT, aborting it upstream", async () => {
  await using r = rig({ requestTimeout: 0.2 });
  r.fake.script(A, { hang: true });
  const res = await r.chat(hello());
  assert.equal(res.headers.get("x-freerouter-model"), B);
  await res.body?.cancel();
  const [hung] = r.fake.chatRequests();
  await hung!.aborted; // resolves only if freerouter aborted the upstream request
  assert.equal(hung!.isAborted(), true);
});

for (
  const [name, step] of [
    ["400", errorStatus(400, "temperature: must be at most 2")],
    ["413", errorStatus(413, "payload too large")],
    ["422", errorStatus(422, "unprocessable")],
    ["401 about the key", userNotFound401()],
  ] as Array<[string, Step]>
) {
  Deno.test(`createHandler() returns a ${name} unchanged without fallback`, async () => {
    await using r = rig();
    r.fake.script(A, step);
    const res = await r.chat(hello());
    const expected = step as { status: number; body: unknown };
    assert.equal(res.status, expected.status);
    assert.deepEqual(await res.json(), expected.body);
    assert.equal(r.fake.chatRequests().length, 1);
  });
}

Deno.test("createHandler() falls back on a 401 that names a provider", async () => {
  await using r = rig();
  r.fake.script(A, provider401(A));
  const res = await r.chat(hello());
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-freerouter-model"), B);
  await res.body?.cancel();
});

Deno.test("createHandler() cools a model down after a 429 and moves it to the end", async () => {
  await using r = rig({ cooldownSeconds: 60 });
  r.fake.script(A, errorStatus(429));
  (await r.chat(hello())).body?.cancel();
  const res = await r.chat(hello());
  assert.equal(res.headers.get("x-freerouter-model"), B);
  await res.body?.cancel();
  // A was not asked again: the second request went straight to B.
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B, B]);
});

Deno.test("createHandler() tries a model again once its COOLDOWN_SECONDS have passed", async () => {
  await using r = rig({ cooldownSeconds: 60 });
  r.fake.script(A, errorStatus(429));
  await (await r.chat(hello())).body?.cancel();
  r.clock.advance(59_000);
  assert.equal((await r.chat(hello())).headers.get("x-freerouter-model"), B);
  r.clock.advance(1_000);
  assert.equal((await r.chat(hello())).headers.get("x-freerouter-model"), A);
});

Deno.test("createHandler() cools a model until X-RateLimit-Reset (epoch ms) when the 429 carries it", async () => {
  await using r = rig({ cooldownSeconds: 60 });
  const resetMs = r.clock.now() + 10 * 60_000;
  r.fake.script(A, modelRpm(A, { resetMs }));
  await (await r.chat(hello())).body?.cancel();
  r.clock.advance(10 * 60_000 - 1);
  assert.equal((await r.chat(hello())).headers.get("x-freerouter-model"), B);
  r.clock.advance(1);
  assert.equal((await r.chat(hello())).headers.get("x-freerouter-model"), A);
});

Deno.test("createHandler() cools a model for Retry-After seconds when the 429 carries it", async () => {
  await using r = rig({ cooldownSeconds: 60 });
  r.fake.script(A, errorStatus(429, "slow down", { "retry-after": "5" }));
  await (await r.chat(hello())).body?.cancel();
  r.clock.advance(4_999);
  assert.equal((await r.chat(hello())).headers.get("x-freerouter-model"), B);
  r.clock.advance(1);
  assert.equal((await r.chat(hello())).headers.get("x-freerouter-model"), A);
});

Deno.test("createHandler() makes at most MAX_ATTEMPTS attempts and answers 502 in the OpenAI shape", async () => {
  await using r = rig({ maxAttempts: 3 });
  for (const model of POOL) r.fake.script(model, errorStatus(503));
  const res = await r.chat(hello());
  assert.equal(res.status, 502);
  // Every model failed: an outage, whose first pause a retry may wait out.
  assert.equal(res.headers.get("retry-after"), "30");
  const body = await res.json() as { error: Record<string, unknown> };
  assert.deepEqual(Object.keys(body.error).sort(), [
    "code",
    "message",
    "param",
    "type",
  ]);
  assert.equal(body.error.code, "all_candidates_failed");
  const message = String(body.error.message);
  for (const model of [A, B, C]) {
    assert.match(
      message,
      new RegExp(`${escapeRegExp(model)} → 503`),
    );
  }
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B, C]);
});

Deno.test("createHandler() adds Retry-After (soonest cooldown end) when every attempt was a 429", async () => {
  await using r = rig({ maxAttempts: 2, cooldownSeconds: 60 });
  r.fake.script(A, errorStatus(429, "rl", { "retry-after": "30" }));
  r.fake.script(B, errorStatus(429, "rl", { "retry-after": "7" }));
  const res = await r.chat(hello());
  assert.equal(res.status, 502);
  assert.equal(res.headers.get("retry-after"), "7");
  await res.body?.cancel();
});

Deno.test("createHandler() aborts the upstream request when the client disconnects", async () => {
  await using r = rig();
  r.fake.script(A, { hang: true });
  const controller = new AbortController();
  const pending = r.chat(hello(), { signal: controller.signal });
  await r.fake.waitForChatRequests(1);
  controller.abort();
  const res = await pending;
  await res.body?.cancel();
  await r.fake.chatRequests()[0]!.aborted;
  assert.equal(
    r.fake.chatRequests().length,
    1,
    "no fallback after the client left",
  );
});

Deno.test("createHandler() forwards the client's key upstream when the server has none", async () => {
  await using r = rig({ apiKey: undefined });
  const res = await r.chat(hello(), {
    headers: {
      "content-type": "application/json",
      authorization: "Bearer sk-or-v1-client-key",
    },
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  assert.equal(
    r.fake.chatRequests()[0]!.headers.get("authorization"),
    "Bearer sk-or-v1-client-key",
  );
});

Deno.test("createHandler() answers 401 when neither the server nor the client has a key", async () => {
  await using r = rig({ apiKey: undefined });
  const res = await r.chat(hello());
  assert.equal(res.status, 401);
  const body = await res.json() as { error: { code: string; type: string } };
  assert.equal(body.error.code, "missing_api_key");
  assert.equal(r.fake.chatRequests().length, 0);
});

Deno.test("createHandler() requires FREEROUTER_API_KEY when set and never forwards it", async () => {
  await using r = rig({ accessKey: "access-key-123" });
  const denied = await r.chat(hello());
  assert.equal(denied.status, 401);
  await denied.body?.cancel();
  const wrong = await r.chat(hello(), {
    headers: {
      "content-type": "application/json",
      authorization: "Bearer access-key-124",
    },
  });
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();
  const allowed = await r.chat(hello(), {
    headers: {
      "content-type": "application/json",
      authorization: "Bearer access-key-123",
    },
  });
  assert.equal(allowed.status, 200);
  await allowed.body?.cancel();
  assert.equal(r.fake.chatRequests().length, 1);
  assert.equal(
    r.fake.chatRequests()[0]!.headers.get("authorization"),
    `Bearer ${SERVER_KEY}`,
  );
});

Deno.test("createHandler() answers invalid JSON with 400 in the OpenAI shape", async () => {
  await using r = rig();
  const res = await r.chat("{not json");
  assert.equal(res.status, 400);
  const body = await res.json() as { error: Record<string, unknown> };
  assert.equal(body.error.type, "invalid_request_error");
  assert.equal(body.error.code, "invalid_json");
  assert.equal(r.fake.chatRequests().length, 0);
});

for (
  const [name, body, param] of [
    ["messages missing", { model: "auto" }, "messages"],
    ["messages not an array", { model: "auto", messages: "hi" }, "messages"],
    ["messages empty", { model: "auto", messages: [] }, "messages"],
    ["a message that is not an object", { messages: ["hi"] }, "messages.0"],
    ["model not a string", {
      model: 7,
      messages: [{ role: "user", content: "x" }],
    }, "model"],
    ["stream not a boolean", {
      stream: "yes",
      messages: [{ role: "user", content: "x" }],
    }, "stream"],
  ] as Array<[string, unknown, string]>
) {
  Deno.test(`createHandler() answers 400 naming the field when ${name}`, async () => {
    await using r = rig();
    const res = await r.chat(body);
    assert.equal(res.status, 400);
    const json = await res.json() as {
      error: { param: string; message: string };
    };
    assert.equal(json.error.param, param);
    assert.match(json.error.message, new RegExp(param.split(".")[0]!));
    assert.equal(r.fake.chatRequests().length, 0);
  });
}

Deno.test("createHandler() answers 405 with Allow on a wrong method, 404 on an unknown path", async () => {
  await using r = rig();
  const wrong = await r.request("/v1/chat/completions", { method: "GET" });
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get("allow"), "POST");
  assert.ok(((await wrong.json()) as { error: unknown }).error);
  const unknown = await r.request("/v1/embeddings", {
    method: "POST",
    body: "{}",
  });
  assert.equal(unknown.status, 404);
  assert.equal(
    ((await unknown.json()) as { error: { type: string } }).error.type,
    "not_found_error",
  );
});

Deno.test("createHandler() serves routes with and without the /v1 prefix", async () => {
  await using r = rig();
  const res = await r.request("/chat/completions", {
    method: "POST",
    body: JSON.stringify(hello()),
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  const models = await r.request("/models");
  assert.equal(models.status, 200);
  await models.body?.cancel();
});

Deno.test("createHandler() lists the routable free models in priority order at /v1/models", async () => {
  await using r = rig();
  const res = await r.request("/v1/models");
  assert.equal(res.status, 200);
  const body = await res.json() as {
    object: string;
    data: Array<Record<string, unknown>>;
  };
  assert.equal(body.object, "list");
  assert.deepEqual(body.data.map((m) => m.id), [...POOL, ...ALIAS_IDS]);
  const first = body.data[0]!;
  assert.equal(first.object, "model");
  assert.equal(first.owned_by, "qwen");
  assert.equal(first.context_length, 1048576);
  assert.equal(typeof first.created, "number");
});

Deno.test("createHandler() reports status and pool size at /health", async () => {
  await using r = rig();
  const before = await (await r.request("/health")).json();
  assert.deepEqual([before.status, before.pool_size], ["degraded", 0]);
  await (await r.chat(hello())).body?.cancel();
  const after = await (await r.request("/health")).json();
  assert.deepEqual([after.status, after.pool_size], ["ok", POOL.length]);
});

Deno.test("createHandler() answers 503 when the upstream lists no free model", async () => {
  await using r = rig({ fakeOptions: { models: [] } });
  const res = await r.chat(hello());
  assert.equal(res.status, 503);
  assert.equal(
    ((await res.json()) as { error: { code: string } }).error.code,
    "no_free_models",
  );
  assert.equal(r.fake.chatRequests().length, 0);
});

Deno.test("createHandler() fetches the catalog once for concurrent first requests (single flight)", async () => {
  await using r = rig();
  const responses = await Promise.all(
    Array.from({ length: 8 }, () => r.chat(hello())),
  );
  for (const res of responses) await res.body?.cancel();
  assert.equal(r.fake.modelsRequests().length, 1);
});

Deno.test("createHandler() refreshes the catalog once after MODEL_REFRESH_TTL and then uses the new list", async () => {
  await using r = rig({ modelRefreshTtl: 600 });
  await (await r.chat(hello())).body?.cancel();
  r.fake.models = r.fake.models.filter((m) => (m as { id?: string }).id !== A);
  r.clock.advance(599_000);
  await (await r.chat(hello())).body?.cancel();
  assert.equal(r.fake.modelsRequests().length, 1, "still fresh");
  r.clock.advance(1_000);
  const stale = await Promise.all([r.chat(hello()), r.chat(hello())]);
  for (const res of stale) await res.body?.cancel();
  await r.handler.close(); // waits for the background refresh
  assert.equal(
    r.fake.modelsRequests().length,
    2,
    "one refresh for concurrent requests",
  );
  const res = await r.chat(hello());
  assert.equal(res.headers.get("x-freerouter-model"), B);
  await res.body?.cancel();
});

Deno.test("createHandler().close() during a catalog refresh ends it without a warning, however many requests joined it; a refresh that fails on its own is still told", async () => {
  const warnings: string[] = [];
  let warned: () => void = () => {};
  /** The catalog fetches: how each ended. */
  const fetches: Array<Promise<string>> = [];
  let sent: (n: number) => void = () => {};
  const rigFetch: typeof fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const answer = fetch(input, init);
    if (new URL(url).pathname.endsWith("/models")) {
      fetches.push(answer.then((res) => `${res.status}`, (err) => err.message));
      sent(fetches.length);
    }
    return answer;
  };
  await using r = rig({
    modelRefreshTtl: 60,
    fetch: rigFetch,
    logger: {
      info() {},
      warn: (m) => {
        warnings.push(m);
        warned();
      },
    },
  });
  await (await r.chat(hello())).body?.cancel();
  r.fake.scriptModels({ status: 500, body: "oops" }, { hang: true });
  r.clock.advance(61_000);
  const failed = new Promise<void>((resolve) => (warned = resolve));
  await (await r.chat(hello())).body?.cancel();
  await failed; // the refresh fails on its own (closing would end it first)
  await r.handler.close();
  assert.equal(await fetches[1], "500");
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(
    warnings[0]!,
    /Catalog refresh failed, keeping the last good list/,
  );

  r.clock.advance(61_000);
  const third = new Promise<void>((resolve) => {
    sent = (n) => n === 3 && resolve();
  });
  // Two requests: the second joins the refresh the first started.
  const served = await Promise.all([r.chat(hello()), r.chat(hello())]);
  for (const res of served) {
    assert.equal(res.status, 200, "served from the last good list");
    await res.body?.cancel();
  }
  await third; // the refresh hangs upstream
  await r.handler.close();
  assert.equal(await fetches[2], "The router is closed");
  assert.equal(fetches.length, 3, "one refresh for both");
  assert.equal(warnings.length, 1, warnings.join("\n"));
});

Deno.test("createHandler() keeps serving the last good catalog when a refresh fails", async () => {
  await using r = rig({ modelRefreshTtl: 60 });
  await (await r.chat(hello())).body?.cancel();
  r.fake.scriptModels({ status: 500, body: "oops" }, {
    status: 200,
    body: "<html>garbage",
  }, {
    status: 200,
    body: { data: [] },
  });
  for (let i = 0; i < 3; i++) {
    r.clock.advance(61_000);
    const res = await r.chat(hello());
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-freerouter-model"), A);
    await res.body?.cancel();
    await r.handler.close();
  }
  assert.equal(r.fake.modelsRequests().length, 4);
});
