/**
 * The fake OpenRouter's server: scripted steps per model, request recording,
 * default validation and answers, waitForChatRequests(), close(), `/key`.
 */
import assert from "node:assert/strict";
import {
  badRequest400,
  chunk,
  dailyCap,
  FREE_ROUTER_PICK,
  minuteCap,
  ok,
  startFakeOpenRouter,
} from "./mod.ts";
import { readRest, readUntil, sseEvents } from "../_streams.ts";
import {
  arr,
  chat,
  CODER,
  errorOf,
  json,
  KEY,
  LLAMA,
  messages,
  NO_TOOLS,
  rec,
} from "./_test_client.ts";

Deno.test("startFakeOpenRouter() answers scripted steps per model in order, then the default success", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(CODER, dailyCap(), badRequest400("bad thing"));
  assert.equal(fake.pendingSteps(CODER), 2);

  const r1 = await chat(fake, { model: CODER, messages: messages() });
  assert.equal(r1.status, 429);
  await r1.body?.cancel();

  // Another model is unaffected by CODER's queue.
  const other = await chat(fake, { model: LLAMA, messages: messages() });
  assert.equal(other.status, 200);
  assert.equal((await json(other)).model, LLAMA);

  const r2 = await chat(fake, { model: CODER, messages: messages() });
  assert.equal(r2.status, 400);
  assert.equal(errorOf(await json(r2)).message, "bad thing");

  const r3 = await chat(fake, { model: CODER, messages: messages() });
  assert.equal(r3.status, 200);
  assert.match(r3.headers.get("x-generation-id") ?? "", /^gen-/);
  const body = await json(r3);
  assert.match(String(body.id), /^gen-\d+-[A-Za-z0-9]{20}$/);
  assert.equal(body.model, CODER);
  assert.equal(body.object, "chat.completion");
  assert.equal(typeof body.provider, "string");
  assert.equal(typeof body.created, "number");
  const choice = rec(arr(body.choices)[0]);
  assert.equal(choice.index, 0);
  assert.equal(choice.finish_reason, "stop");
  assert.equal(choice.native_finish_reason, "stop");
  assert.equal(choice.logprobs, null);
  assert.deepEqual(
    { role: rec(choice.message).role, content: rec(choice.message).content },
    { role: "assistant", content: "Hello world" },
  );
  assert.equal(rec(body.usage).total_tokens, 35);
  assert.equal(fake.pendingSteps(CODER), 0);
  assert.deepEqual(fake.chatRequests().map((r) => r.model), [
    CODER,
    LLAMA,
    CODER,
    CODER,
  ]);
});

Deno.test("startFakeOpenRouter() records method, path, query, headers, body and model", async () => {
  await using fake = startFakeOpenRouter();
  const res = await chat(fake, {
    model: LLAMA,
    messages: messages(),
    temperature: 0,
  }, {
    headers: { "x-openrouter-title": "freerouter" },
  });
  await res.body?.cancel();
  const models = await fetch(`${fake.baseUrl}/models?output_modalities=text`);
  await models.body?.cancel();
  const raw = await fetch(`${fake.baseUrl}/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}` },
    body: "not json",
  });
  assert.equal(raw.status, 400);
  await raw.body?.cancel();

  assert.equal(fake.requests.length, 3);
  const [c, m, r] = fake.requests;
  assert.ok(c && m && r);
  assert.equal(c.method, "POST");
  assert.equal(c.path, "/api/v1/chat/completions");
  assert.equal(c.search, "");
  assert.equal(c.headers.get("authorization"), `Bearer ${KEY}`);
  assert.equal(c.headers.get("x-openrouter-title"), "freerouter");
  assert.deepEqual(c.body, {
    model: LLAMA,
    messages: messages(),
    temperature: 0,
  });
  assert.equal(c.model, LLAMA);
  assert.equal(c.isAborted(), false);

  assert.equal(m.method, "GET");
  assert.equal(m.path, "/api/v1/models");
  assert.equal(m.search, "?output_modalities=text");
  assert.equal(m.body, undefined);
  assert.equal(m.model, undefined);

  assert.equal(r.body, "not json");
  assert.equal(r.model, undefined);
  assert.deepEqual(fake.chatRequests(), [c, r]);
  assert.deepEqual(fake.modelsRequests(), [m]);
});

Deno.test("startFakeOpenRouter() validates auth, model ids and tool support by default", async () => {
  await using fake = startFakeOpenRouter();
  const tools = [{
    type: "function",
    function: { name: "f", parameters: { type: "object", properties: {} } },
  }];

  fake.script(CODER, ok(CODER, "scripted"));
  const noAuth = await chat(fake, { model: CODER, messages: messages() }, {
    auth: false,
  });
  assert.equal(noAuth.status, 401);
  assert.deepEqual(await noAuth.json(), {
    error: { message: "No auth credentials found", code: 401 },
  });
  assert.equal(fake.pendingSteps(CODER), 1, "401 does not consume a step");
  const scripted = await chat(fake, { model: CODER, messages: messages() });
  assert.equal(
    rec(rec(arr((await json(scripted)).choices)[0]).message).content,
    "scripted",
  );

  const unknown = await chat(fake, {
    model: "acme/nope:free",
    messages: messages(),
  });
  assert.equal(unknown.status, 400);
  assert.deepEqual(await unknown.json(), {
    error: { message: "acme/nope:free is not a valid model ID", code: 400 },
  });

  const noTools = await chat(fake, {
    model: NO_TOOLS,
    messages: messages(),
    tools,
  });
  assert.equal(noTools.status, 404);
  assert.equal(
    errorOf(await json(noTools)).message,
    "No endpoints found that support tool use",
  );
  const withTools = await chat(fake, {
    model: CODER,
    messages: messages(),
    tools,
  });
  assert.equal(withTools.status, 200);
  await withTools.body?.cancel();

  // Scripted steps win over the default tool check.
  fake.script(NO_TOOLS, ok(NO_TOOLS));
  const forced = await chat(fake, {
    model: NO_TOOLS,
    messages: messages(),
    tools,
  });
  assert.equal(forced.status, 200);
  await forced.body?.cancel();

  const tooMany = await chat(fake, {
    model: CODER,
    models: [CODER, LLAMA, NO_TOOLS, "openrouter/free"],
    messages: messages(),
  });
  assert.equal(tooMany.status, 400);
  assert.equal(
    errorOf(await json(tooMany)).message,
    "'models' array must have 3 items or fewer.",
  );

  const router = await chat(fake, {
    model: "openrouter/free",
    messages: messages(),
  });
  assert.equal((await json(router)).model, FREE_ROUTER_PICK);
});

Deno.test("startFakeOpenRouter() streams streamOk() by default for stream:true", async () => {
  await using fake = startFakeOpenRouter();
  const res = await chat(fake, {
    model: CODER,
    messages: messages(),
    stream: true,
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  const events = sseEvents(await res.text());
  assert.equal(events.at(-1), "[DONE]");
  const chunks = events.slice(0, -1).map((e) => rec(JSON.parse(e)));
  assert.ok(chunks.every((c) => c.object === "chat.completion.chunk"));
  assert.ok(chunks.every((c) => c.model === CODER));
  assert.equal(new Set(chunks.map((c) => c.id)).size, 1, "one generation id");
  assert.deepEqual(
    rec(rec(arr(chunks[0]?.choices)[0]).delta).role,
    "assistant",
  );
  const usage = chunks.at(-1);
  assert.ok(usage);
  assert.deepEqual(usage.choices, []);
  assert.equal(rec(usage.usage).prompt_tokens, 12);
  const content = chunks.slice(0, -1).map((c) =>
    String(rec(rec(arr(c.choices)[0]).delta).content ?? "")
  ).join("");
  assert.equal(content, "Hello world");
  const finish = rec(arr(chunks.at(-2)?.choices)[0]);
  assert.equal(finish.finish_reason, "stop");
});

Deno.test("startFakeOpenRouter() waitForChatRequests() counts concurrent requests", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(CODER, { hang: true }, { hang: true }, { hang: true });
  const ac = new AbortController();
  const pending = [1, 2, 3].map(() =>
    chat(fake, { model: CODER, messages: messages() }, { signal: ac.signal })
  );
  await fake.waitForChatRequests(3);
  assert.equal(fake.chatRequests().length, 3);
  await fake.waitForChatRequests(2); // already reached
  ac.abort();
  for (const p of pending) await assert.rejects(p);
  await Promise.all(fake.chatRequests().map((r) => r.aborted));

  const never = fake.waitForChatRequests(10);
  await fake.close();
  await assert.rejects(never, /closed/);
});

Deno.test("startFakeOpenRouter() close() releases hung requests and streams", async () => {
  const fake = startFakeOpenRouter();
  fake.script(CODER, { hang: true }, {
    stream: { parts: [chunk(CODER, "a"), () => new Promise<void>(() => {})] },
  });
  const hung = chat(fake, { model: CODER, messages: messages() });
  const streamRes = await chat(fake, {
    model: CODER,
    messages: messages(),
    stream: true,
  });
  const reader = streamRes.body!.getReader();
  await readUntil(reader, '"a"');
  await fake.waitForChatRequests(2);
  await Promise.all([
    fake.close(),
    assert.rejects(hung, TypeError),
    assert.rejects(readRest(reader)),
  ]);
  assert.deepEqual(fake.chatRequests().map((r) => r.isAborted()), [
    false,
    false,
  ]);
  await fake.close(); // idempotent
});

Deno.test("startFakeOpenRouter() serves GET /key and scripted /models responses", async () => {
  await using fake = startFakeOpenRouter({ key: { is_free_tier: false } });

  const missing = await fetch(`${fake.baseUrl}/key`);
  assert.equal(missing.status, 401);
  assert.deepEqual(await missing.json(), {
    error: { message: "User not found.", code: 401 },
  });
  const wrong = await fetch(`${fake.baseUrl}/key`, {
    headers: { authorization: "Bearer not-an-openrouter-key" },
  });
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();

  fake.key.free_model_daily_requests = { used: 60, limit: 50, remaining: 0 };
  const good = await fetch(`${fake.baseUrl}/key`, {
    headers: { authorization: `Bearer ${KEY}` },
  });
  assert.equal(good.status, 200);
  const data = rec((await json(good)).data);
  assert.equal(data.label, "sk-or-v1-01...def");
  assert.equal(data.is_free_tier, false);
  assert.deepEqual(data.free_model_daily_requests, {
    used: 60,
    limit: 50,
    remaining: 0,
  });
  assert.equal(rec(data.rate_limit).requests, -1);
  assert.equal(fake.keyRequests().length, 3);

  fake.scriptModels(minuteCap(), { status: 500, body: "oops" });
  const m1 = await fetch(`${fake.baseUrl}/models`);
  assert.equal(m1.status, 429);
  await m1.body?.cancel();
  const m2 = await fetch(`${fake.baseUrl}/models`);
  assert.equal(m2.status, 500);
  assert.equal(await m2.text(), "oops");
  const m3 = await fetch(`${fake.baseUrl}/models`);
  assert.equal(m3.status, 200);
  assert.ok(arr((await json(m3)).data).length > 20);
});
