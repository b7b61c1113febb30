/**
 * createHandler() with `stream: true`, before the first data event: the
 * fallback to the next model, and the 502 when every candidate fails.
 *
 * Ordering is checked with gates in the fake's stream parts, never with
 * wall-clock thresholds. `within()` only turns a would-be hang into a failure.
 */
import assert from "node:assert/strict";
import { within } from "./_async.ts";
import { hello, manualClock, rig } from "./_harness.ts";
import {
  chunk,
  errorStatus,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  PROCESSING,
  type Step,
  streamErrorEvent,
} from "./fake_openrouter/mod.ts";
import {
  assertCommitted,
  fullStream,
  openStream,
  Pacer,
  readBody,
  streamingHello,
  streamStep,
} from "./_streams.ts";

const [A, B, C] = POOL as [string, string, string];

// ---------------------------------------------------------------------------
// Fallback before the first data event

Deno.test("createHandler() streams from the next model and cools the first when it answers 429 before the stream", async () => {
  await using r = rig({ cooldownSeconds: 60 });
  r.fake.script(A, errorStatus(429));
  r.fake.script(B, streamStep(fullStream(B, 1)), streamStep(fullStream(B, 2)));
  const res = await openStream(r);
  assertCommitted(res, B, 2);
  assert.equal((await readBody(res)).text, fullStream(B, 1).join(""));
  const again = await openStream(r);
  assertCommitted(again, B, 1);
  assert.equal((await readBody(again)).text, fullStream(B, 2).join(""));
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B, B]);
});

for (const status of [500, 502, 503]) {
  Deno.test(`createHandler() streams from the next model without cooling the first when it answers ${status} before the stream`, async () => {
    await using r = rig({ cooldownSeconds: 60 });
    r.fake.script(A, errorStatus(status), streamStep(fullStream(A, 2)));
    r.fake.script(B, streamStep(fullStream(B, 1)));
    const res = await openStream(r);
    assertCommitted(res, B, 2);
    assert.equal((await readBody(res)).text, fullStream(B, 1).join(""));
    const again = await openStream(r);
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
    const res = await openStream(r);
    assertCommitted(res, B, 2);
    const read = await readBody(res);
    assert.equal(read.text, fullStream(B, 1).join(""));
    // Not a 429: no cooldown, the next request tries the first model again.
    const again = await openStream(r);
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
      const res = await openStream(r);
      assertCommitted(res, B, 2);
      assert.equal((await readBody(res)).text, fullStream(B, 1).join(""));
      const again = await openStream(r);
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
        const res = await openStream(r, stream ? streamingHello() : hello());
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
  const res = await openStream(r);
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
    const res = await openStream(r);
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
    const res = await openStream(r);
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
  const res = await openStream(r);
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
  const res = await openStream(r);
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
