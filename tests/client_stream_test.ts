/**
 * FreeRouterClient.stream() and streamRaw() against the fake OpenRouter: the
 * fallback-until-first-content rule, abort on `break`, errors after commit,
 * and disposal.
 *
 * Ordering is controlled with gates in the fake's stream parts, never with
 * wall-clock sleeps. `within()` only turns a would-be hang into a failure.
 */
import assert from "node:assert/strict";
import { collect, concat, deferred, within } from "./_async.ts";
import { clientFor, escapeRegExp, manualClock, MESSAGES } from "./_harness.ts";
import {
  badRequest400,
  DONE,
  errorStatus,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  startFakeOpenRouter,
  streamErrorEvent,
  streamOk,
} from "./fake_openrouter/mod.ts";
import { fullStream, streamStep } from "./_streams.ts";
import {
  type ChatCompletionChunk,
  type FreeRouterClient,
  FreeRouterError,
  UpstreamHTTPError,
} from "../src/mod.ts";

const [A, B] = POOL as [string, string];
const decoder = new TextDecoder();

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

// ---------------------------------------------------------------------------
// stream() and streamRaw()

Deno.test("FreeRouterClient.stream() yields the parsed chunks in order", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock());
  const parts = fullStream(A, 0, ["Hel", "lo", " wor", "ld"]);
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

Deno.test("FreeRouterClient.stream() reads a body that is not a byte stream (a fetch option that wraps the body), and falls back from it", async () => {
  await using fake = startFakeOpenRouter();
  /** The upstream's responses with each body re-made as a default (not byte) stream. */
  const wrapping: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (res.body === null) return res;
    const reader = res.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
    assert.throws(() => body.getReader({ mode: "byob" }), TypeError);
    return new Response(body, res);
  };
  await using fr = clientFor(fake, manualClock(), { fetch: wrapping });
  fake.script(A, errorStatus(503));
  fake.script(B, streamStep(fullStream(B, 0, ["Hel", "lo"])));
  const chunks = await collect(fr.stream(MESSAGES));
  assert.equal(contentOf(chunks).join(""), "Hello");
  assert.deepEqual(fake.chatRequests().map((r) => r.model), [A, B]);
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
  const parts = fullStream(B, 0, ["from", " B"]);
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
  const parts = fullStream(B, 1, ["second", " model"]);
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
  const [role, hel, ...rest] = fullStream(A);
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

Deno.test("FreeRouterClient.stream() and chat() with a signal already aborted throw aborted and send nothing upstream, not even the catalog fetch", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock());
  const ac = new AbortController();
  ac.abort(new Error("changed my mind"));
  const aborted = (err: unknown) =>
    err instanceof FreeRouterError && err.code === "aborted" &&
    err.cause === ac.signal.reason;
  await assert.rejects(
    collect(fr.stream(MESSAGES, { signal: ac.signal })),
    aborted,
  );
  await assert.rejects(fr.chat(MESSAGES, { signal: ac.signal }), aborted);
  assert.equal(fake.chatRequests().length, 0);
  assert.equal(fake.modelsRequests().length, 0);
});

for (const how of ["the signal", "close()"] as const) {
  Deno.test(`FreeRouterClient.stream() cut mid-answer by ${how} throws aborted instead of ending as if complete`, async () => {
    await using fake = startFakeOpenRouter();
    const fr = clientFor(fake, manualClock());
    const gate = deferred();
    const [role, hel, ...rest] = fullStream(A);
    fake.script(A, streamStep([role!, hel!, () => gate.promise, ...rest]));
    const ac = new AbortController();
    const seen: ChatCompletionChunk[] = [];
    try {
      await assert.rejects(
        (async () => {
          for await (const c of fr.stream(MESSAGES, { signal: ac.signal })) {
            seen.push(c);
            if (seen.length === 2) {
              if (how === "close()") void fr.close();
              else ac.abort();
            }
          }
        })(),
        (err: unknown) =>
          err instanceof FreeRouterError && err.code === "aborted",
      );
      assert.deepEqual(contentOf(seen), ["", "Hel"]);
    } finally {
      gate.resolve();
      await fr.close();
    }
  });
}

Deno.test("FreeRouterClient.streamRaw() aborts the upstream when the loop breaks after the first bytes", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock());
  const gate = deferred();
  // The stream commits at its first content: the role chunk comes with it.
  const [role, hel, ...rest] = fullStream(A);
  fake.script(A, streamStep([role!, hel!, () => gate.promise, ...rest]));
  try {
    let first: Uint8Array | undefined;
    for await (const bytes of fr.streamRaw({ messages: MESSAGES })) {
      first = bytes;
      break;
    }
    assert.equal(decoder.decode(first), role! + hel!);
    const [rec] = fake.chatRequests();
    assert.ok(rec);
    await within(rec.aborted, "the upstream request was aborted");
    assert.equal(rec.isAborted(), true);
  } finally {
    gate.resolve();
  }
});

Deno.test("FreeRouterClient.streamRaw() ends a stream that breaks for good with an error event and no [DONE], without throwing", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock(), { streamResume: false });
  const [role, hel] = fullStream(A);
  const bothSent = deferred();
  fake.script(A, streamStep([role!, hel!, () => bothSent.promise], "reset"));
  const pieces: Uint8Array[] = [];
  try {
    for await (
      const piece of fr.streamRaw({ model: "auto", messages: MESSAGES })
    ) {
      pieces.push(piece);
      if (decoder.decode(concat(pieces)).includes(hel!)) bothSent.resolve();
    }
  } finally {
    bothSent.resolve();
  }
  const text = decoder.decode(concat(pieces));
  assert.ok(text.startsWith(role! + hel!), text);
  assert.ok(!text.includes("[DONE]"), text);
  const last = text.slice(role!.length + hel!.length);
  assert.match(last, /^data: \{"error":\{/, last);
  assert.ok(last.endsWith("\n\n"));
});

Deno.test("FreeRouterClient.stream() throws FreeRouterError stream_interrupted, with its attempts, when the stream breaks after commit", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock(), { streamResume: false });
  const [role, hel] = fullStream(A);
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
        assert.deepEqual(err.attempts.map((a) => [a.model, a.outcome]), [
          [A, "ok"],
        ]);
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
  const [role, hel, ...rest] = fullStream(A);
  fake.script(A, streamStep([role!, hel!, () => gate.promise, ...rest]));
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
      assert.equal(decoder.decode(first.value), role! + hel!);
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
