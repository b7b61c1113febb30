/**
 * createHandler() with `stream: true`, after the first data event: the guard
 * that ends a broken stream with an error event, and client disconnects.
 *
 * Ordering is checked with gates in the fake's stream parts, never with
 * wall-clock thresholds. `within()` only turns a would-be hang into a failure.
 */
import assert from "node:assert/strict";
import { deferred, within } from "./_async.ts";
import { rig, type RigOptions } from "./_harness.ts";
import {
  chunk,
  DONE,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  PROCESSING,
  streamErrorEvent,
  type StreamScript,
} from "./fake_openrouter/mod.ts";
import {
  assertBrokenStream,
  assertCommitted,
  chunksOf,
  meta,
  openStream,
  Pacer,
  readRest,
  serveOnLoopback,
  streamingHello,
  streamStep,
} from "./_streams.ts";

const [A] = POOL as [string];

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
    ["ends with [DONE] but no finish_reason", [c.lo, DONE], "close", [c.lo]],
    ["ends with neither a finish_reason nor [DONE]", [c.lo], "close", [c.lo]],
  ];
  // (An end after the finish chunk without [DONE] is a complete answer: see
  // the test below.)
  for (const [name, tail, end, forwarded, options] of cases) {
    Deno.test(`createHandler() streams a final error event and no [DONE] when the upstream ${name} after commit`, async () => {
      // A stall is only ended by the idle timeout; nothing else may wait for it.
      await using r = rig({
        streamResume: false,
        streamIdleTimeout: 3600,
        ...options,
      });
      const firstRead = deferred();
      r.fake.script(
        A,
        streamStep([c.role, c.hel, () => firstRead.promise, ...tail], end),
      );
      const res = await openStream(r);
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
    await using r = rig({ streamResume: false, streamIdleTimeout: 0.3 });
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
    const res = await openStream(r);
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
        await using r = rig({ streamResume: false, streamIdleTimeout: 0.2 });
        const firstRead = deferred();
        r.fake.script(
          A,
          streamStep([c.role, c.hel, () => firstRead.promise, partial], end),
        );
        const res = await openStream(r);
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
  await using r = rig({ streamResume: false, streamIdleTimeout: 3600 });
  const c = chunksOf(A);
  r.fake.script(A, streamStep([c.role, c.hel], "hang"));
  await using served = serveOnLoopback(r.handler, () => r.fake.close());
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
  await using r = rig({ streamResume: false, streamIdleTimeout: 3600 });
  const c = chunksOf(A);
  r.fake.script(A, streamStep([c.role, c.hel], "hang"));
  const res = await openStream(r);
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
  await using r = rig({ streamResume: false, requestTimeout: 3600 });
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

Deno.test("createHandler() ends a stream with [DONE] and no error when the upstream sent its finish_reason and usage, then closed without [DONE]", async () => {
  await using r = rig({ streamResume: false, streamIdleTimeout: 3600 });
  const c = chunksOf(A);
  r.fake.script(A, streamStep([c.role, c.hel, c.finish, c.usage], "close"));
  const res = await openStream(r);
  assertCommitted(res, A, 1);
  const text = await within(res.text(), "the end of the stream");
  assert.equal(text, [c.role, c.hel, c.finish, c.usage, DONE].join(""));
  assert.equal(r.fake.chatRequests().length, 1);
});
