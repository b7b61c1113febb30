// createHandler() from the installed npm package, served on Node by
// @hono/node-server (the README's adapter), in front of the fake OpenRouter.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createHandler } from "freerouter";
import {
  badRequest,
  modelBusy,
  POOL,
  startFakeOpenRouter,
  streamParts,
  upstreamDown,
} from "./_fake_openrouter.mjs";
import { serveOnNode } from "./_node_server.mjs";

const KEY = "sk-or-v1-npm-test-key";
const HELLO = [{ role: "user", content: "Hello" }];
const TIMEOUT = { timeout: 20_000 };

/** The fake, a handler routed to it, and node:http serving the handler. */
async function setup(t, options = {}) {
  const fake = await startFakeOpenRouter();
  const handler = createHandler({
    apiKey: KEY,
    baseUrl: fake.baseUrl,
    requestTimeout: 10,
    // The fake's catalog has no benchmark data: its stored order, no
    // conversation affinity and no same-model retry, as the tests expect.
    strategy: "priority",
    affinity: false,
    sameModelWait: 0,
    ...options,
  });
  const server = await serveOnNode(handler);
  t.after(async () => {
    await server.close();
    await handler.close();
    await fake.close();
  });
  return { fake, handler, url: server.url };
}

function postChat(url, body, init = {}) {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    ...init,
    headers: { "content-type": "application/json", ...init.headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** The `data` payloads of an SSE text, `[DONE]` included. */
function sseData(text) {
  return text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) =>
    e.slice(6)
  );
}

/** Reads a text stream until `done(text)` holds; fails if it ends first. */
async function readUntil(reader, text, done) {
  while (!done(text)) {
    const { done: ended, value } = await reader.read();
    assert.ok(!ended, `the stream ended early: ${JSON.stringify(text)}`);
    text += value;
  }
  return text;
}

test("GET /v1/models and /health over node:http", TIMEOUT, async (t) => {
  const { url } = await setup(t);
  const res = await fetch(`${url}/v1/models`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /application\/json/);
  const list = await res.json();
  assert.equal(list.object, "list");
  // The pool in order, then the intent aliases (auto, auto:coding, …).
  const ids = list.data.map((m) => m.id);
  assert.deepEqual(ids.slice(0, POOL.length), POOL);
  assert.ok(ids.slice(POOL.length).every((id) => id.startsWith("auto")));
  assert.ok(ids.includes("auto:coding"));
  assert.equal(list.data[0].object, "model");
  assert.equal(list.data[0].context_length, 262_144);

  const health = await fetch(`${url}/health`);
  assert.equal(health.status, 200);
  const body = await health.json();
  assert.equal(body.status, "ok");
  assert.equal(body.pool_size, POOL.length);
});

test(
  "POST /v1/chat/completions falls back and reports the model in headers",
  TIMEOUT,
  async (t) => {
    const { fake, url } = await setup(t);
    fake.script(POOL[0], modelBusy(POOL[0]));
    const res = await postChat(url, { model: "auto", messages: HELLO });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-freerouter-model"), POOL[1]);
    assert.equal(res.headers.get("x-freerouter-attempts"), "2");
    const body = await res.json();
    assert.equal(body.model, POOL[1]);
    assert.equal(body.choices[0].message.content, `Hello from ${POOL[1]}`);
    assert.deepEqual(fake.chatRequests().map((r) => r.model), [
      POOL[0],
      POOL[1],
    ]);
    assert.equal(fake.chatRequests()[0].headers.authorization, `Bearer ${KEY}`);
  },
);

test(
  "a streamed answer reaches the client event by event, then [DONE]",
  TIMEOUT,
  async (t) => {
    const { fake, url } = await setup(t);
    let release;
    const gate = new Promise((resolve) => (release = resolve));
    t.after(() => release());
    fake.script(POOL[0], {
      stream: streamParts(POOL[0], ["Hel", () => gate, "lo"]),
    });
    const res = await postChat(url, {
      model: "auto",
      messages: HELLO,
      stream: true,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type"), /text\/event-stream/);
    assert.equal(res.headers.get("x-freerouter-model"), POOL[0]);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    // The upstream holds back the rest until the first content got through:
    // a buffering proxy never gets here (and the test times out).
    let text = await readUntil(
      reader,
      "",
      (s) => s.includes('"content":"Hel"'),
    );
    release();
    text = await readUntil(reader, text, (s) => s.endsWith("data: [DONE]\n\n"));
    assert.ok(text.startsWith(": OPENROUTER PROCESSING\n\n"));
    const data = sseData(text);
    assert.equal(data.at(-1), "[DONE]");
    assert.deepEqual(
      data.slice(0, -1).map((d) => JSON.parse(d).choices[0]?.delta.content),
      ["", "Hel", "lo", undefined, undefined],
    );
    assert.equal((await reader.read()).done, true);
  },
);

test(
  "a client that disconnects mid-stream aborts the upstream request",
  TIMEOUT,
  async (t) => {
    const { fake, url } = await setup(t);
    let release;
    const gate = new Promise((resolve) => (release = resolve));
    t.after(() => release());
    fake.script(POOL[0], { stream: streamParts(POOL[0], ["Hel", () => gate]) });
    const controller = new AbortController();
    const res = await postChat(
      url,
      { messages: HELLO, stream: true },
      { signal: controller.signal },
    );
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    await readUntil(reader, "", (s) => s.includes('"content":"Hel"'));
    controller.abort();
    await fake.chatRequests()[0].aborted;
  },
);

test(
  "errors keep their status and the OpenAI envelope over node:http",
  TIMEOUT,
  async (t) => {
    const { fake, url } = await setup(t);

    fake.script(POOL[0], badRequest());
    const refused = await postChat(url, { messages: HELLO });
    assert.equal(refused.status, 400);
    assert.equal(await refused.text(), JSON.stringify(badRequest().body));

    POOL.forEach((model) => fake.script(model, upstreamDown(503)));
    const failed = await postChat(url, { messages: HELLO });
    assert.equal(failed.status, 502);
    assert.equal(
      failed.headers.get("x-freerouter-attempts"),
      String(POOL.length),
    );
    const failure = await failed.json();
    assert.equal(failure.error.code, "all_candidates_failed");
    assert.equal(failure.error.type, "upstream_error");

    const invalid = await postChat(url, "{not json");
    assert.equal(invalid.status, 400);
    assert.equal((await invalid.json()).error.code, "invalid_json");

    const unknown = await fetch(`${url}/v1/embeddings`);
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).error.code, "not_found");
  },
);

test(
  "without a server key the client's own key is forwarded",
  TIMEOUT,
  async (t) => {
    const { fake, url } = await setup(t, { apiKey: undefined });
    const res = await postChat(url, { messages: HELLO }, {
      headers: { authorization: "Bearer sk-or-v1-client-key" },
    });
    assert.equal(res.status, 200);
    await res.body.cancel();
    assert.equal(
      fake.chatRequests()[0].headers.authorization,
      "Bearer sk-or-v1-client-key",
    );
  },
);
