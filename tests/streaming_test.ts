/**
 * createHandler() with `stream: true`: byte-exact forwarding, the request
 * passed through, and the official openai SDK as a streaming client.
 * streaming_fallback_test.ts covers the fallback before the first data
 * event, streaming_guard_test.ts what happens after it.
 *
 * Ordering is checked with gates in the fake's stream parts, never with
 * wall-clock thresholds. `within()` only turns a would-be hang into a failure.
 */
import assert from "node:assert/strict";
import { deferred, within } from "./_async.ts";
import OpenAI from "openai";
import { rig } from "./_harness.ts";
import {
  chunk,
  DONE,
  errorStatus,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  PROCESSING,
  streamOk,
  usageChunk,
} from "./fake_openrouter/mod.ts";
import {
  assertCommitted,
  assertWholeEvents,
  chunksOf,
  eventsOf,
  fullStream,
  meta,
  openStream,
  Pacer,
  readBody,
  readRest,
  serveOnLoopback,
  streamingHello,
  streamStep,
} from "./_streams.ts";

const [A, B] = POOL as [string, string];
const encoder = new TextEncoder();

// ---------------------------------------------------------------------------
// Forwarding

Deno.test("createHandler() streams the upstream's events in order and byte-for-byte unchanged when the stream is well-formed", async () => {
  await using r = rig();
  const c = chunksOf(A);
  // Events a re-serialiser would change: odd JSON spacing and escapes, no
  // space after `data:`, CRLF framing, an `id:` field, multi-line data, and
  // a keep-alive comment mid-stream; one event split across two writes.
  const spaced =
    'data: {"id":"gen-x", "choices" : [ {"index":0,"delta":{"content":"H\\u00e9 \u00e9 \ud83d\ude00"},"finish_reason":null} ] }\n\n';
  const crlf =
    'data:{"id":"gen-x","choices":[{"index":0,"delta":{"content":"crlf"},"finish_reason":null}]}\r\n\r\n';
  const multiLine =
    'id: 7\ndata: {"id":"gen-x",\ndata: "choices":[{"index":0,"delta":{"content":"!"},"finish_reason":null}]}\n\n';
  const parts = [
    c.role,
    c.hel.slice(0, 25),
    c.hel.slice(25),
    spaced,
    PROCESSING,
    crlf,
    multiLine,
    c.lo,
    c.finish,
    c.usage,
    DONE,
  ];
  r.fake.script(A, streamStep(parts));
  const res = await openStream(r);
  assertCommitted(res, A, 1);
  const read = await readBody(res);
  assert.deepEqual(read.bytes, encoder.encode(parts.join("")));
  assert.equal(read.text, parts.join(""));
  assertWholeEvents(read);
  assert.equal(r.fake.chatRequests().length, 1);
});

Deno.test("createHandler() streams the first chunk to the client when the upstream has not yet sent its last one", async () => {
  await using r = rig();
  const [role, hel, ...rest] = fullStream(A) as [string, string, ...string[]];
  // The fake holds its remaining events at a gate that opens only once the
  // client has read its first chunk: a proxy that buffers never gets there.
  const clientHasFirst = deferred();
  let restSent = false;
  const gate = async () => {
    await clientHasFirst.promise;
    restSent = true;
  };
  r.fake.script(A, streamStep([role, hel, gate, ...rest]));
  const res = await openStream(r);
  assertCommitted(res, A, 1);
  const reader = res.body!.getReader();
  const first = await within(reader.read(), "the first chunk");
  assert.equal(first.done, false);
  assert.equal(restSent, false);
  const firstText = new TextDecoder().decode(first.value);
  assert.ok(firstText.startsWith(role), JSON.stringify(firstText));
  clientHasFirst.resolve();
  const read = await readRest(reader, [first.value!]);
  assert.equal(restSent, true);
  assert.equal(read.text, [role, hel, ...rest].join(""));
});

Deno.test("createHandler() streams whole events only when an event arrives split across upstream writes", async () => {
  await using r = rig();
  const c = chunksOf(A);
  const release = deferred();
  const gateEntered = deferred();
  const gate = async () => {
    gateEntered.resolve();
    await release.promise;
  };
  const cut = 30;
  const parts = [
    c.role,
    c.hel,
    c.lo.slice(0, cut),
    gate,
    c.lo.slice(cut),
    c.finish,
    DONE,
  ];
  r.fake.script(A, streamStep(parts));
  const res = await openStream(r);
  assertCommitted(res, A, 1);
  const reader = res.body!.getReader();
  // The stream commits at its first content, with the role chunk before it.
  const first = await within(reader.read(), "the first chunk");
  assert.equal(new TextDecoder().decode(first.value), c.role + c.hel);
  await within(gateEntered.promise, "the half event to be sent");
  release.resolve();
  const read = await readRest(reader, [first.value!]);
  assertWholeEvents(read);
  assert.deepEqual(eventsOf(read.text), [c.role, c.hel, c.lo, c.finish, DONE]);
});

Deno.test("createHandler() streams a one-event answer with its [DONE] when the first data event already carries the finish_reason", async () => {
  await using r = rig();
  const m = meta(0);
  const parts = [
    chunk(A, { role: "assistant", content: "Hi" }, "stop", m),
    usageChunk(A, m),
    DONE,
  ];
  r.fake.script(A, streamStep(parts));
  const res = await openStream(r);
  assertCommitted(res, A, 1);
  assert.equal((await readBody(res)).text, parts.join(""));
});

Deno.test("createHandler() streams an event whose bytes arrive in several pieces when the upstream writes it slowly", async () => {
  await using r = rig();
  using pacer = new Pacer();
  const c = chunksOf(A);
  // Four pieces of one event, 30 ms apart: the proxy reads pieces that hold
  // no complete event and must keep reading until the event is whole.
  const size = Math.ceil(c.lo.length / 4);
  const pieces = [0, 1, 2, 3].map((i) => c.lo.slice(i * size, (i + 1) * size));
  const parts = [
    c.role,
    c.hel,
    ...pieces.flatMap((p) => [pacer.gate(30), p]),
    c.finish,
    DONE,
  ];
  r.fake.script(A, streamStep(parts));
  const res = await openStream(r);
  assertCommitted(res, A, 1);
  const read = await within(readBody(res), "the end of the stream");
  assertWholeEvents(read);
  assert.equal(read.text, [c.role, c.hel, c.lo, c.finish, DONE].join(""));
});

Deno.test("createHandler() streams past REQUEST_TIMEOUT when the committed stream keeps its events within the idle timeout", async () => {
  await using r = rig({ requestTimeout: 0.2, streamIdleTimeout: 30 });
  using pacer = new Pacer();
  const [role, hel, ...rest] = fullStream(A) as [string, string, ...string[]];
  // The upstream pauses longer than REQUEST_TIMEOUT after the first event.
  r.fake.script(A, streamStep([role, hel, pacer.gate(600), ...rest]));
  const res = await openStream(r);
  assertCommitted(res, A, 1);
  const read = await readBody(res);
  assert.equal(read.text, [role, hel, ...rest].join(""));
});

Deno.test("createHandler() streams to the end when every gap between events is shorter than the idle timeout", async () => {
  await using r = rig({ streamIdleTimeout: 0.5 });
  using pacer = new Pacer();
  const c = chunksOf(A);
  const pieces = Array.from(
    { length: 15 },
    (_, i) => chunk(A, `p${i}`, null, meta(0)),
  );
  // 15 gaps of 50 ms: each well under the idle timeout, together well over it.
  const parts = [
    c.role,
    ...pieces.flatMap((p) => [pacer.gate(50), p]),
    c.finish,
    DONE,
  ];
  r.fake.script(A, streamStep(parts));
  const res = await openStream(r);
  assertCommitted(res, A, 1);
  const read = await readBody(res);
  assert.equal(read.text, [c.role, ...pieces, c.finish, DONE].join(""));
});

// ---------------------------------------------------------------------------
// Request pass-through

Deno.test("createHandler() streams with stream_options and unknown fields passed through unchanged when forwarding the request", async () => {
  await using r = rig();
  const body = streamingHello({
    stream_options: { include_usage: true },
    temperature: 0.25,
    max_tokens: 64,
    usage: { include: true },
    provider: { order: ["Chutes"], allow_fallbacks: false },
    custom_field: { nested: [1, "two", null, { deep: true }] },
  });
  r.fake.script(A, errorStatus(429));
  r.fake.script(B, streamStep(fullStream(B, 1)));
  const res = await openStream(r, body);
  assertCommitted(res, B, 2);
  assert.equal((await readBody(res)).text, fullStream(B, 1).join(""));
  const [first, second] = r.fake.chatRequests();
  assert.deepEqual(first!.body, { ...body, model: A });
  assert.deepEqual(second!.body, { ...body, model: B });
});

// ---------------------------------------------------------------------------
// The official openai SDK as a streaming client

function sdkClient(url: string): OpenAI {
  return new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0 });
}

async function sdkStream(client: OpenAI) {
  return await client.chat.completions.create({
    model: "auto",
    messages: [{ role: "user", content: "Say hello" }],
    stream: true,
    stream_options: { include_usage: true },
  }).withResponse();
}

Deno.test("createHandler() streams to the official openai SDK when it iterates over a real socket", async () => {
  await using r = rig();
  r.fake.script(A, { stream: streamOk(A, ["Hel", "lo", " SDK"]) });
  await using served = serveOnLoopback(r.handler, () => r.fake.close());
  const { data, response } = await within(
    sdkStream(sdkClient(served.url)),
    "the response head",
  );
  assert.equal(response.headers.get("x-freerouter-model"), A);
  assert.equal(response.headers.get("x-freerouter-attempts"), "1");
  let content = "";
  let finish: string | null | undefined;
  let usage: unknown;
  for await (const event of data) {
    content += event.choices[0]?.delta?.content ?? "";
    finish = event.choices[0]?.finish_reason ?? finish;
    usage = event.usage ?? usage;
  }
  assert.equal(content, "Hello SDK");
  assert.equal(finish, "stop");
  assert.ok(usage);
});

Deno.test("createHandler() streams to the official openai SDK from the next model when the first answers 429", async () => {
  await using r = rig();
  r.fake.script(A, errorStatus(429));
  r.fake.script(B, { stream: streamOk(B, ["fall", "back"]) });
  await using served = serveOnLoopback(r.handler, () => r.fake.close());
  const { data, response } = await within(
    sdkStream(sdkClient(served.url)),
    "the response head",
  );
  assert.equal(response.headers.get("x-freerouter-model"), B);
  assert.equal(response.headers.get("x-freerouter-attempts"), "2");
  let content = "";
  for await (const event of data) {
    content += event.choices[0]?.delta?.content ?? "";
    assert.equal(event.model, B);
  }
  assert.equal(content, "fallback");
});

for (
  const [name, end] of [["resets", "reset"], ["ends early", "close"]] as const
) {
  Deno.test(`createHandler() streams a failure the official openai SDK throws on when the upstream ${name} after commit`, async () => {
    await using r = rig({ streamResume: false });
    const c = chunksOf(A);
    const firstSeen = deferred();
    r.fake.script(
      A,
      streamStep([c.role, c.hel, () => firstSeen.promise, c.lo], end),
    );
    await using served = serveOnLoopback(r.handler, () => r.fake.close());
    const { data, response } = await within(
      sdkStream(sdkClient(served.url)),
      "the response head",
    );
    assert.equal(response.headers.get("x-freerouter-model"), A);
    let content = "";
    await assert.rejects(
      async () => {
        for await (const event of data) {
          content += event.choices[0]?.delta?.content ?? "";
          firstSeen.resolve();
        }
      },
      (err: unknown) => err instanceof OpenAI.APIError,
    );
    assert.equal(content, "Hello");
  });
}
