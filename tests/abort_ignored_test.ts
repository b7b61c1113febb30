/**
 * Timeouts that hold when the runtime does not end a pending body read on
 * abort (issue 19). Deno's fetch sometimes leaves a pending read of a
 * response body unsettled after its signal aborts (seen under load through
 * `deno task start`: the idle deadline fired, the read never returned, and
 * the stream stayed open). Here a `fetch` that drops the signal stands for
 * that runtime: every timeout must still end the attempt, because freerouter
 * cancels the reader itself (or stops waiting for a whole-body read).
 */
import assert from "node:assert/strict";
import { within } from "./_async.ts";
import { fetchFreePool } from "../src/upstream/catalog_fetch.ts";
import { fetchKeyReport } from "../src/upstream/key_fetch.ts";
import { hello, rig } from "./_harness.ts";
import {
  chunk,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
} from "./fake_openrouter/mod.ts";
import { meta, readBody, sseEvents, streamStep } from "./_streams.ts";
import { status } from "./_quota.ts";

const [A, B] = POOL as [string, string];
const m = meta(2);

/** A fetch whose abort signal never reaches the request or its body. */
const deaf: typeof fetch = (input, init) =>
  fetch(input, { ...init, signal: undefined });

/** The model an OpenAI-style request body names. */
function modelOf(init: RequestInit | undefined): string {
  return (JSON.parse(String(init?.body ?? "{}")) as { model?: string }).model ??
    "";
}

Deno.test("a committed stream whose upstream goes silent ends with stream_stalled even when the abort does not end the read, and the upstream body is cancelled", async () => {
  await using r = rig({
    fetch: deaf,
    streamIdleTimeout: 0.2,
    streamResume: false,
  });
  r.fake.script(
    A,
    streamStep([
      chunk(A, { role: "assistant", content: "" }, null, m),
      chunk(A, "Hel", null, m),
    ], "hang"),
  );
  const res = await r.chat(hello("auto", { stream: true }));
  assert.equal(res.headers.get("x-freerouter-model"), A);
  const events = sseEvents(
    (await within(readBody(res), "the stalled stream's end")).text,
  );
  assert.equal(JSON.parse(events.at(-1)!).error.code, "stream_stalled");
  assert.ok(!events.includes("[DONE]"));
  await within(r.fake.chatRequests()[0]!.aborted, "the upstream cancel");
});

/** The last failure the status report shows for `model`: a stalled read must count as a timeout, not as an answer that ended. */
async function lastError(r: ReturnType<typeof rig>, model: string) {
  return (await status(r)).pool.find((m) => m.id === model)?.last_error;
}

Deno.test("a stream held before its commit that goes silent times out and falls back even when the abort does not end the read", async () => {
  await using r = rig({ fetch: deaf, streamIdleTimeout: 0.2 });
  r.fake.script(
    A,
    streamStep([chunk(A, { role: "assistant", content: "" }, null, m)], "hang"),
  );
  const res = await within(
    r.chat(hello("auto", { stream: true })),
    "the fallback",
  );
  assert.equal(res.headers.get("x-freerouter-model"), B);
  assert.equal(res.headers.get("x-freerouter-attempts"), "2");
  assert.equal(sseEvents((await readBody(res)).text).at(-1), "[DONE]");
  assert.equal(await lastError(r, A), "timeout");
});

for (const sized of [true, false]) {
  Deno.test(
    `a non-streaming answer whose body stalls after its headers (${
      sized ? "with" : "without"
    } a Content-Length) times out and falls back even when the abort does not end the read`,
    async () => {
      let cancelled = false;
      const stalling: typeof fetch = (input, init) => {
        if (modelOf(init) !== A) return fetch(input, init);
        const part = new TextEncoder().encode('{"id":"gen-1","choices":[');
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(part);
          },
          cancel() {
            cancelled = true;
          },
        });
        const headers: Record<string, string> = {
          "content-type": "application/json",
        };
        if (sized) headers["content-length"] = "4096";
        return Promise.resolve(new Response(body, { status: 200, headers }));
      };
      await using r = rig({ fetch: stalling, streamIdleTimeout: 0.2 });
      const res = await within(r.chat(hello("auto")), "the fallback");
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-freerouter-model"), B);
      assert.equal(res.headers.get("x-freerouter-attempts"), "2");
      assert.equal(await lastError(r, A), "timeout");
      if (!sized) {
        assert.equal(cancelled, true, "the stalled body was cancelled");
      }
    },
  );
}

/** A 200 whose JSON body starts and then stalls, out of the abort signal's reach. */
const stallingJson: typeof fetch = () =>
  Promise.resolve(
    new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode('{"data":['));
        },
      }),
      { status: 200, headers: { "content-type": "application/json" } },
    ),
  );

Deno.test("GET /models and GET /key whose bodies stall after their headers reject at their timeout even when the abort does not end the read", async () => {
  const options = {
    baseUrl: "http://openrouter.test",
    fetch: stallingJson,
    requestTimeoutMs: 50,
  };
  // Rejected by its own timeout, not by the bound that turns a hang into a failure.
  const ownTimeout = (err: unknown) => !String(err).includes("never happened");
  await assert.rejects(
    within(fetchFreePool(options, undefined), "the catalog read to end"),
    ownTimeout,
  );
  await assert.rejects(
    within(fetchKeyReport(options, "sk-or-v1-key"), "the key read to end"),
    ownTimeout,
  );
});
