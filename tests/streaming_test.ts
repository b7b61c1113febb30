/**
 * createHandler() with `stream: true`: byte-exact forwarding, fallback before
 * the first data event, the guard after it, client disconnects, and the
 * official openai SDK as a streaming client.
 *
 * Ordering is checked with gates in the fake's stream parts, never with
 * wall-clock thresholds. `within()` only turns a would-be hang into a failure.
 */
import assert from "node:assert/strict";
import { concat, deferred, within } from "./_async.ts";
import OpenAI from "openai";
import {
  hello,
  manualClock,
  type Rig,
  rig,
  type RigOptions,
} from "./_harness.ts";
import {
  chunk,
  DONE,
  errorStatus,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  type GenerationMeta,
  PROCESSING,
  type Step,
  streamErrorEvent,
  streamOk,
  type StreamScript,
  usageChunk,
} from "./fake_openrouter.ts";

const [A, B, C] = POOL as [string, string, string];
const encoder = new TextEncoder();

// ---------------------------------------------------------------------------
// Helpers

function meta(n: number): Required<GenerationMeta> {
  return {
    id: `gen-1764000000-STREAMTEST000000000${n}`,
    created: 1764000000 + n,
    provider: "Chutes",
  };
}

/** A fixed set of chunks for one model, with fixed ids so bytes are known. */
function chunksOf(model: string, n = 0) {
  const m = meta(n);
  return {
    role: chunk(model, { role: "assistant", content: "" }, null, m),
    hel: chunk(model, "Hel", null, m),
    lo: chunk(model, "lo", null, m),
    finish: chunk(model, { content: "" }, "stop", m),
    usage: usageChunk(model, m),
  };
}

/** A complete, well-formed stream for a model (fixed bytes). */
function fullStream(model: string, n = 0): string[] {
  const c = chunksOf(model, n);
  return [c.role, c.hel, c.lo, c.finish, c.usage, DONE];
}

function streamStep(
  parts: StreamScript["parts"],
  end?: StreamScript["end"],
): Step {
  return { stream: { parts, end } };
}

function streamingHello(extra: Record<string, unknown> = {}) {
  return hello("auto", { stream: true, ...extra });
}

/** Timers a fake upstream uses to pace its parts; all cleared on dispose. */
class Pacer implements Disposable {
  #timers = new Set<ReturnType<typeof setTimeout>>();
  /** A gate for the fake's `parts` that opens after `ms`. */
  gate(ms: number): () => Promise<void> {
    return () =>
      new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.#timers.delete(t);
          resolve();
        }, ms);
        this.#timers.add(t);
      });
  }
  [Symbol.dispose](): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}

interface BodyRead {
  /** Every `read()` value, as received. */
  chunks: Uint8Array[];
  /** All bytes. */
  bytes: Uint8Array;
  /** All bytes decoded. */
  text: string;
}

/** Reads the rest of a body with a reader (the stream must end, not error). */
async function readRest(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  chunks: Uint8Array[] = [],
): Promise<BodyRead> {
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  const bytes = concat(chunks);
  return { chunks, bytes, text: new TextDecoder().decode(bytes) };
}

function readBody(res: Response): Promise<BodyRead> {
  assert.ok(res.body, "a streamed response has a body");
  return readRest(res.body.getReader());
}

/** Whether bytes end at an SSE event boundary (a blank line). */
function endsAtEventBoundary(bytes: Uint8Array): boolean {
  const n = bytes.length;
  const tail = (...b: number[]) =>
    n >= b.length && b.every((x, i) => bytes[n - b.length + i] === x);
  return tail(10, 10) || tail(13, 10, 13, 10) || tail(13, 13);
}

/** Every chunk the proxy handed over holds whole events only. */
function assertWholeEvents(read: BodyRead): void {
  for (const [i, c] of read.chunks.entries()) {
    assert.ok(
      endsAtEventBoundary(c),
      `chunk ${i} ends mid-event: ${
        JSON.stringify(new TextDecoder().decode(c).slice(-60))
      }`,
    );
  }
}

/** Splits LF-framed SSE text into events, each with its `\n\n`. */
function eventsOf(text: string): string[] {
  assert.ok(
    text.endsWith("\n\n"),
    `the stream ends at an event boundary: ${JSON.stringify(text.slice(-60))}`,
  );
  return text.slice(0, -2).split("\n\n").map((e) => `${e}\n\n`);
}

/** `data: {"error":{message,type,param,code}}` — the OpenAI error event. */
function assertErrorEvent(event: string | undefined): void {
  assert.ok(event !== undefined, "an error event");
  assert.ok(
    event.startsWith('data: {"error":{'),
    `an error event, got ${JSON.stringify(event)}`,
  );
  assert.ok(event.endsWith("\n\n"));
  assert.equal(event.indexOf("\n"), event.length - 2, "one data line");
  const body = JSON.parse(event.slice("data: ".length)) as {
    error: Record<string, unknown>;
  };
  assert.deepEqual(Object.keys(body), ["error"]);
  assert.deepEqual(Object.keys(body.error).sort(), [
    "code",
    "message",
    "param",
    "type",
  ]);
  assert.equal(typeof body.error.message, "string");
  assert.notEqual(body.error.message, "");
  assert.equal(typeof body.error.type, "string");
}

/** The upstream events `forwarded` arrived whole, then one error event, no `[DONE]`. */
function assertBrokenStream(read: BodyRead, forwarded: string[]): void {
  assertWholeEvents(read);
  const events = eventsOf(read.text);
  assert.deepEqual(events.slice(0, -1), forwarded);
  assertErrorEvent(events.at(-1));
  assert.doesNotMatch(read.text, /^data: ?\[DONE\]\r?$/m, "no [DONE]");
}

function assertCommitted(res: Response, model: string, attempts: number) {
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream\b/);
  assert.equal(res.headers.get("x-freerouter-model"), model);
  assert.equal(res.headers.get("x-freerouter-attempts"), String(attempts));
}

/** A streaming chat request's response (fails instead of hanging). */
function open(r: Rig, body = streamingHello()): Promise<Response> {
  return within(r.chat(body), "the response head");
}

/**
 * Serves a rig's handler on a real loopback port. Disposing closes the fake
 * first, so an upstream still hanging cannot keep the server from shutting
 * down (even when the handler under test misbehaves).
 */
function serveOnLoopback(r: Rig): { url: string } & AsyncDisposable {
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    r.handler,
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    async [Symbol.asyncDispose]() {
      await r.fake.close();
      await server.shutdown();
    },
  };
}

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
  const res = await open(r);
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
  const res = await open(r);
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
    c.hel.slice(0, cut),
    gate,
    c.hel.slice(cut),
    c.lo,
    c.finish,
    DONE,
  ];
  r.fake.script(A, streamStep(parts));
  const res = await open(r);
  assertCommitted(res, A, 1);
  const reader = res.body!.getReader();
  const first = await within(reader.read(), "the first chunk");
  assert.equal(new TextDecoder().decode(first.value), c.role);
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
  const res = await open(r);
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
  const res = await open(r);
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
  const res = await open(r);
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
  const res = await open(r);
  assertCommitted(res, A, 1);
  const read = await readBody(res);
  assert.equal(read.text, [c.role, ...pieces, c.finish, DONE].join(""));
});

// ---------------------------------------------------------------------------
// Fallback before the first data event

Deno.test("createHandler() streams from the next model and cools the first when it answers 429 before the stream", async () => {
  await using r = rig({ cooldownSeconds: 60 });
  r.fake.script(A, errorStatus(429));
  r.fake.script(B, streamStep(fullStream(B, 1)), streamStep(fullStream(B, 2)));
  const res = await open(r);
  assertCommitted(res, B, 2);
  assert.equal((await readBody(res)).text, fullStream(B, 1).join(""));
  const again = await open(r);
  assertCommitted(again, B, 1);
  assert.equal((await readBody(again)).text, fullStream(B, 2).join(""));
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B, B]);
});

for (const status of [500, 502, 503]) {
  Deno.test(`createHandler() streams from the next model without cooling the first when it answers ${status} before the stream`, async () => {
    await using r = rig({ cooldownSeconds: 60 });
    r.fake.script(A, errorStatus(status), streamStep(fullStream(A, 2)));
    r.fake.script(B, streamStep(fullStream(B, 1)));
    const res = await open(r);
    assertCommitted(res, B, 2);
    assert.equal((await readBody(res)).text, fullStream(B, 1).join(""));
    const again = await open(r);
    assertCommitted(again, A, 1);
    assert.equal((await readBody(again)).text, fullStream(A, 2).join(""));
    assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B, A]);
  });
}

for (
  const [shape, withChoices, code] of [
    ["with choices", true, 503],
    ["with choices", true, "server_error"],
    ["bare", false, 502],
    ["bare", false, "server_error"],
  ] as Array<[string, boolean, number | string]>
) {
  Deno.test(`createHandler() streams from the next model when the first data event is an error (${shape}, code ${JSON.stringify(code)})`, async () => {
    await using r = rig({ cooldownSeconds: 60 });
    const error = streamErrorEvent({ withChoices, code, model: A });
    r.fake.script(
      A,
      streamStep([error, ...fullStream(A, 9)]),
      streamStep(fullStream(A, 2)),
    );
    r.fake.script(B, streamStep(fullStream(B, 1)));
    const res = await open(r);
    assertCommitted(res, B, 2);
    const read = await readBody(res);
    assert.equal(read.text, fullStream(B, 1).join(""));
    // Not a 429: no cooldown, the next request tries the first model again.
    const again = await open(r);
    assertCommitted(again, A, 1);
    assert.equal((await readBody(again)).text, fullStream(A, 2).join(""));
    assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B, A]);
  });
}

for (const withChoices of [true, false]) {
  Deno.test(
    `createHandler() streams from the next model and cools the first when its first data event is a 429 error (${
      withChoices ? "with choices" : "bare"
    })`,
    async () => {
      // The bare shape carries X-RateLimit-Reset (next UTC midnight, real
      // time), so the clock starts at the real time.
      await using r = rig({
        cooldownSeconds: 60,
        clock: manualClock(Date.now()),
      });
      r.fake.script(
        A,
        streamStep([
          PROCESSING,
          // A per-model limit (not the account-wide free-models-per-day cap).
          streamErrorEvent({
            withChoices,
            code: 429,
            message: `Rate limit exceeded: limit_rpm/${A}`,
          }),
        ]),
      );
      r.fake.script(
        B,
        streamStep(fullStream(B, 1)),
        streamStep(fullStream(B, 2)),
      );
      const res = await open(r);
      assertCommitted(res, B, 2);
      assert.equal((await readBody(res)).text, fullStream(B, 1).join(""));
      const again = await open(r);
      assertCommitted(again, B, 1);
      assert.equal((await readBody(again)).text, fullStream(B, 2).join(""));
      assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B, B]);
    },
  );
}

for (
  const [name, event] of [
    [
      "the daily free-models-per-day cap (bare)",
      () => streamErrorEvent({ withChoices: false, code: 429 }),
    ],
    ["the per-minute free-models-per-min cap (bare)", () =>
      streamErrorEvent({
        withChoices: false,
        code: 429,
        message: "Rate limit exceeded: free-models-per-min. ",
      })],
    [
      "a per-model 429 (with choices)",
      () => streamErrorEvent({ withChoices: true, code: 429, model: A }),
    ],
    [
      "a 503 (with choices)",
      () => streamErrorEvent({ withChoices: true, code: 503, model: A }),
    ],
    [
      "a string code (bare)",
      () => streamErrorEvent({ withChoices: false, code: "server_error" }),
    ],
  ] as Array<[string, () => string]>
) {
  Deno.test(`createHandler() streams by the same cooldown rules as non-streaming when the first data event is ${name}`, async () => {
    const framed = event();
    const errorBody = JSON.parse(framed.slice("data: ".length));
    const start = Date.now();
    /** Two requests; the first model fails once with this error. */
    const run = async (stream: boolean) => {
      await using r = rig({ cooldownSeconds: 60, clock: manualClock(start) });
      r.fake.script(
        A,
        stream
          ? streamStep([PROCESSING, framed])
          : { status: 200, body: errorBody },
      );
      const outcomes = [];
      for (let i = 0; i < 2; i++) {
        const res = await open(r, stream ? streamingHello() : hello());
        outcomes.push({
          status: res.status,
          model: res.headers.get("x-freerouter-model"),
          attempts: res.headers.get("x-freerouter-attempts"),
          retryAfter: res.headers.get("retry-after"),
          error: res.ok ? undefined : await res.json(),
        });
        if (res.ok) await res.body?.cancel();
      }
      return { outcomes, tried: r.fake.chatRequests().map((q) => q.model) };
    };
    const streamed = await run(true);
    const plain = await run(false);
    assert.deepEqual(streamed, plain);
    assert.equal(streamed.tried[0], A);
  });
}

Deno.test("createHandler() streams from the next model when comment lines are followed by an error event", async () => {
  await using r = rig();
  r.fake.script(
    A,
    streamStep([
      PROCESSING,
      PROCESSING,
      PROCESSING,
      streamErrorEvent({ withChoices: false, code: "server_error" }),
    ]),
  );
  r.fake.script(B, streamStep(fullStream(B, 1)));
  const res = await open(r);
  assertCommitted(res, B, 2);
  const read = await readBody(res);
  assert.equal(read.text, fullStream(B, 1).join(""));
  assert.equal(read.text.includes("OPENROUTER PROCESSING"), false);
});

for (
  const [name, parts] of [
    ["no bytes at all", []],
    ["only comment lines", [PROCESSING, PROCESSING]],
  ] as Array<[string, string[]]>
) {
  Deno.test(`createHandler() streams from the next model when the upstream stream ends before any data (${name})`, async () => {
    await using r = rig();
    r.fake.script(A, streamStep(parts, "close"));
    r.fake.script(B, streamStep(fullStream(B, 1)));
    const res = await open(r);
    assertCommitted(res, B, 2);
    assert.equal((await readBody(res)).text, fullStream(B, 1).join(""));
    assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B]);
  });
}

for (
  const [name, step] of [
    ["a comment, then the stream hangs", streamStep([PROCESSING], "hang")],
    [
      "a comment, then a gate that never opens",
      streamStep([
        PROCESSING,
        () => new Promise<void>(() => {}),
        chunk(A, "x"),
      ]),
    ],
    ["headers, then nothing", streamStep([], "hang")],
  ] as Array<[string, Step]>
) {
  Deno.test(`createHandler() streams from the next model when no data event arrives within REQUEST_TIMEOUT (${name})`, async () => {
    await using r = rig({ requestTimeout: 0.2 });
    r.fake.script(A, step);
    r.fake.script(B, streamStep(fullStream(B, 1)));
    const res = await open(r);
    assertCommitted(res, B, 2);
    assert.equal((await readBody(res)).text, fullStream(B, 1).join(""));
    const [slow] = r.fake.chatRequests();
    assert.equal(slow?.model, A);
    await within(slow.aborted, "the slow upstream request to be aborted");
    assert.equal(slow.isAborted(), true);
  });
}

Deno.test("createHandler() streams from the next model when keep-alive comments keep coming but no data arrives within REQUEST_TIMEOUT", async () => {
  await using r = rig({ requestTimeout: 0.3 });
  using pacer = new Pacer();
  // A comment every 20 ms for ~4 s, then data: comments must not count.
  const keepAlives = Array.from(
    { length: 200 },
    () => [pacer.gate(20), PROCESSING],
  ).flat();
  r.fake.script(A, streamStep([PROCESSING, ...keepAlives, ...fullStream(A)]));
  r.fake.script(B, streamStep(fullStream(B, 1)));
  const res = await open(r);
  assertCommitted(res, B, 2);
  assert.equal((await readBody(res)).text, fullStream(B, 1).join(""));
  await within(r.fake.chatRequests()[0]!.aborted, "the upstream abort");
});

// ---------------------------------------------------------------------------
// Every candidate failing

Deno.test("createHandler() streams nothing and answers the same 502 JSON as non-streaming when every candidate fails", async () => {
  const scripts: Array<[string, Step]> = [
    [A, errorStatus(429, undefined, { "retry-after": "30" })],
    [B, errorStatus(429, undefined, { "retry-after": "7" })],
    [C, errorStatus(429, undefined, { "retry-after": "12" })],
  ];
  const run = async (stream: boolean) => {
    await using r = rig({ maxAttempts: 3, cooldownSeconds: 60 });
    for (const [model, step] of scripts) r.fake.script(model, step);
    const res = await r.chat(stream ? streamingHello() : hello());
    return {
      status: res.status,
      contentType: res.headers.get("content-type"),
      retryAfter: res.headers.get("retry-after"),
      attempts: res.headers.get("x-freerouter-attempts"),
      model: res.headers.get("x-freerouter-model"),
      body: await res.json(),
      tried: r.fake.chatRequests().map((q) => q.model),
    };
  };
  const streamed = await run(true);
  const plain = await run(false);
  assert.deepEqual(streamed, plain);
  assert.equal(streamed.status, 502);
  assert.equal(streamed.contentType, "application/json");
  assert.equal(streamed.retryAfter, "7");
  assert.equal(streamed.model, null);
  assert.deepEqual(streamed.tried, [A, B, C]);
  assert.deepEqual(Object.keys(streamed.body).sort(), ["error"]);
  assert.equal(streamed.body.error.code, "all_candidates_failed");
});

Deno.test("createHandler() streams nothing and answers 502 JSON in the OpenAI shape when every candidate fails before its first data event", async () => {
  await using r = rig({ maxAttempts: 4, requestTimeout: 0.2 });
  r.fake.script(A, errorStatus(503));
  r.fake.script(
    B,
    streamStep([
      PROCESSING,
      streamErrorEvent({ withChoices: true, code: 429, model: B }),
    ]),
  );
  r.fake.script(C, streamStep([PROCESSING], "close"));
  r.fake.script(POOL[3]!, streamStep([PROCESSING], "hang"));
  const res = await open(r);
  assert.equal(res.status, 502);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal(res.headers.get("x-freerouter-model"), null);
  const body = await res.json() as { error: Record<string, unknown> };
  assert.deepEqual(Object.keys(body), ["error"]);
  assert.deepEqual(Object.keys(body.error).sort(), [
    "code",
    "message",
    "param",
    "type",
  ]);
  assert.equal(body.error.code, "all_candidates_failed");
  assert.equal(body.error.param, null);
  for (const model of [A, B, C, POOL[3]!]) {
    assert.ok(
      String(body.error.message).includes(model),
      `${model} in ${body.error.message}`,
    );
  }
  assert.deepEqual(
    r.fake.chatRequests().map((q) => q.model),
    [A, B, C, POOL[3]],
  );
});

// ---------------------------------------------------------------------------
// After commit: the guard

{
  const c = chunksOf(A);
  // Each upstream sends `role` and `hel`, waits until the client has read the
  // first chunk (so the stream is committed and flowing), then sends `tail`.
  const cases: Array<
    [string, string[], StreamScript["end"], string[], RigOptions?]
  > = [
    [
      "sends an error event with choices and a string code",
      [
        streamErrorEvent({ withChoices: true, code: "server_error", model: A }),
        DONE,
      ],
      "close",
      [],
    ],
    [
      "sends a bare error event with a numeric code",
      [
        streamErrorEvent({ withChoices: false, code: 502 }),
        DONE,
      ],
      "close",
      [],
    ],
    [
      "sends an error event, then keeps the connection open",
      [
        streamErrorEvent({ withChoices: false, code: "server_error" }),
      ],
      "hang",
      [],
    ],
    [
      "sends a malformed event, then keeps the connection open",
      [
        "data: {not json\n\n",
      ],
      "hang",
      [],
    ],
    ["resets the connection", [c.lo], "reset", [c.lo]],
    ["stalls longer than streamIdleTimeout", [c.lo], "hang", [c.lo], {
      streamIdleTimeout: 0.2,
    }],
    [
      "sends a malformed event",
      [
        "data: {not json\n\n",
        c.lo,
        c.finish,
        DONE,
      ],
      "close",
      [],
    ],
    [
      "ends after the finish chunk without [DONE]",
      [
        c.finish,
        c.usage,
      ],
      "close",
      [c.finish, c.usage],
    ],
    ["ends with [DONE] but no finish_reason", [c.lo, DONE], "close", [c.lo]],
    ["ends with neither a finish_reason nor [DONE]", [c.lo], "close", [c.lo]],
  ];
  for (const [name, tail, end, forwarded, options] of cases) {
    Deno.test(`createHandler() streams a final error event and no [DONE] when the upstream ${name} after commit`, async () => {
      // A stall is only ended by the idle timeout; nothing else may wait for it.
      await using r = rig({ streamIdleTimeout: 3600, ...options });
      const firstRead = deferred();
      r.fake.script(
        A,
        streamStep([c.role, c.hel, () => firstRead.promise, ...tail], end),
      );
      const res = await open(r);
      assertCommitted(res, A, 1);
      const reader = res.body!.getReader();
      const first = await within(reader.read(), "the first chunk");
      firstRead.resolve();
      const read = await within(
        readRest(reader, [first.value!]),
        "the end of the stream",
      );
      assertBrokenStream(read, [c.role, c.hel, ...forwarded]);
      assert.equal(r.fake.chatRequests().length, 1, "no fallback after commit");
      if (end === "hang") {
        await within(
          r.fake.chatRequests()[0]!.aborted,
          "the upstream request to be aborted",
        );
      }
    });
  }

  Deno.test("createHandler() streams a final error event and no [DONE] when the upstream dribbles one event's bytes for longer than streamIdleTimeout", async () => {
    await using r = rig({ streamIdleTimeout: 0.3 });
    using pacer = new Pacer();
    const firstRead = deferred();
    // 25 bytes, 40 ms apart: every read is quick, but no event completes
    // for about a second. Then the event and the stream end properly.
    const head = c.lo.slice(0, 25);
    const dribble = [...head].flatMap((ch) => [pacer.gate(40), ch]);
    r.fake.script(
      A,
      streamStep([
        c.role,
        c.hel,
        () => firstRead.promise,
        ...dribble,
        c.lo.slice(25),
        c.finish,
        DONE,
      ]),
    );
    const res = await open(r);
    assertCommitted(res, A, 1);
    const reader = res.body!.getReader();
    const first = await within(reader.read(), "the first chunk");
    firstRead.resolve();
    const read = await within(
      readRest(reader, [first.value!]),
      "the end of the stream",
    );
    assertBrokenStream(read, [c.role, c.hel]);
  });

  const marked = chunk(A, "PARTIAL-EVENT", null, meta(0));
  const at = marked.indexOf("PARTIAL-EVENT") + "PARTIAL-EVENT".length;
  for (
    const [cutName, partial] of [
      ["inside the JSON", marked.slice(0, at)],
      ["before the blank line", marked.slice(0, -1)],
    ] as Array<[string, string]>
  ) {
    for (const end of ["close", "reset", "hang"] as const) {
      Deno.test(`createHandler() streams only whole events before the error event when the upstream breaks off ${cutName} (${end})`, async () => {
        await using r = rig({ streamIdleTimeout: 0.2 });
        const firstRead = deferred();
        r.fake.script(
          A,
          streamStep([c.role, c.hel, () => firstRead.promise, partial], end),
        );
        const res = await open(r);
        assertCommitted(res, A, 1);
        const reader = res.body!.getReader();
        const first = await within(reader.read(), "the first chunk");
        firstRead.resolve();
        const read = await within(
          readRest(reader, [first.value!]),
          "the end of the stream",
        );
        assertBrokenStream(read, [c.role, c.hel]);
        assert.equal(read.text.includes("PARTIAL"), false, "no partial event");
      });
    }
  }
}

// ---------------------------------------------------------------------------
// Client disconnects

Deno.test("createHandler() streams nothing more and aborts the upstream request when the client disconnects from a real socket", async () => {
  await using r = rig({ streamIdleTimeout: 3600 });
  const c = chunksOf(A);
  r.fake.script(A, streamStep([c.role, c.hel], "hang"));
  await using served = serveOnLoopback(r);
  const controller = new AbortController();
  const res = await within(
    fetch(`${served.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(streamingHello()),
      signal: controller.signal,
    }),
    "the response head",
  );
  assertCommitted(res, A, 1);
  const reader = res.body!.getReader();
  const first = await within(reader.read(), "the first chunk");
  assert.ok(new TextDecoder().decode(first.value).startsWith(c.role));
  controller.abort();
  await assert.rejects(reader.read());
  const [upstream] = r.fake.chatRequests();
  await within(upstream!.aborted, "the upstream request to be aborted");
  assert.equal(upstream!.isAborted(), true);
  assert.equal(r.fake.chatRequests().length, 1, "no fallback after commit");
});

Deno.test("createHandler() streams nothing more and aborts the upstream request when the client cancels the response body", async () => {
  await using r = rig({ streamIdleTimeout: 3600 });
  const c = chunksOf(A);
  r.fake.script(A, streamStep([c.role, c.hel], "hang"));
  const res = await open(r);
  assertCommitted(res, A, 1);
  const reader = res.body!.getReader();
  const first = await within(reader.read(), "the first chunk");
  assert.ok(new TextDecoder().decode(first.value).startsWith(c.role));
  reader.releaseLock();
  await res.body!.cancel();
  const [upstream] = r.fake.chatRequests();
  await within(upstream!.aborted, "the upstream request to be aborted");
  assert.equal(upstream!.isAborted(), true);
  assert.equal(r.fake.chatRequests().length, 1, "no fallback after commit");
});

Deno.test("createHandler() streams nothing and tries no other model when the client disconnects before the first data event", async () => {
  await using r = rig({ requestTimeout: 3600 });
  const gateEntered = deferred();
  r.fake.script(
    A,
    streamStep([PROCESSING, () => {
      gateEntered.resolve();
      return new Promise<void>(() => {});
    }]),
  );
  const controller = new AbortController();
  const pending = r.chat(streamingHello(), { signal: controller.signal });
  await within(gateEntered.promise, "the upstream's first comment");
  controller.abort();
  const res = await within(pending, "the handler's answer");
  assert.notEqual(res.status, 200);
  await res.body?.cancel();
  const [upstream] = r.fake.chatRequests();
  await within(upstream!.aborted, "the upstream request to be aborted");
  assert.equal(
    r.fake.chatRequests().length,
    1,
    "no fallback after the client left",
  );
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
  const res = await open(r, body);
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
  await using served = serveOnLoopback(r);
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
  await using served = serveOnLoopback(r);
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
    await using r = rig();
    const c = chunksOf(A);
    const firstSeen = deferred();
    r.fake.script(
      A,
      streamStep([c.role, c.hel, () => firstSeen.promise, c.lo], end),
    );
    await using served = serveOnLoopback(r);
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
