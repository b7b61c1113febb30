/**
 * The client's signal in an attempt's request (src/upstream/request.ts): the
 * request's signal is read only when it matters: never for an attempt
 * that answers at once, from the start for a fallback attempt, and once an
 * attempt has run a while (a `Deno.serve` request's `signal` getter costs
 * about 5 µs, a tenth of a minimal proxy's work per request).
 *
 * The upstream here is an in-memory fetch, so an immediate answer settles in
 * microtasks, before any timer can fire.
 */
import assert from "node:assert/strict";
import { createHandler } from "../src/http/handler.ts";
import { CLIENT_WATCH_DELAY_MS } from "../src/upstream/scope.ts";
import { hello } from "./_harness.ts";
import { catalogRow, completionBody } from "./fake_openrouter/mod.ts";

const A = "meta-llama/llama-3.3-70b-instruct:free";
const B = "qwen/qwen3-coder:free";

/** A Request that counts reads of its `signal`. */
class WatchedRequest extends Request {
  reads = 0;
  override get signal(): AbortSignal {
    this.reads++;
    return super.signal;
  }
}

function chatRequest(init: { signal?: AbortSignal } = {}): WatchedRequest {
  return new WatchedRequest("http://freerouter.test/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(hello()),
    signal: init.signal,
  });
}

type Answer = "ok" | "503" | "hang";

/** An in-memory OpenRouter: the catalog holds A and B; `answers` scripts each model. */
function upstream(answers: Record<string, Answer>) {
  const calls: Array<{ model: string; signal: AbortSignal | undefined }> = [];
  const called = Promise.withResolvers<void>();
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json" },
    });
  const fetch = (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    if (url.endsWith("/models")) {
      return Promise.resolve(
        json({ data: [catalogRow({ id: A }), catalogRow({ id: B })] }),
      );
    }
    const signal = init?.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const model = (JSON.parse(String(init?.body)) as { model: string }).model;
    calls.push({ model, signal });
    called.resolve();
    const answer = answers[model] ?? "ok";
    if (answer === "ok") return Promise.resolve(json(completionBody(model)));
    if (answer === "503") {
      return Promise.resolve(
        json({ error: { message: "down", code: 503 } }, 503),
      );
    }
    return new Promise<Response>((_, reject) =>
      signal?.addEventListener("abort", () => reject(signal.reason))
    );
  };
  return {
    fetch: fetch as typeof globalThis.fetch,
    calls,
    /** Settles at the first chat call. */
    called: called.promise,
  };
}

/** A handler whose upstream is `up`. */
function handlerFor(up: { fetch: typeof globalThis.fetch }) {
  return createHandler({ apiKey: "sk-or-v1-test", fetch: up.fetch });
}

Deno.test("createHandler() never reads the request's signal when the first attempt answers at once", async () => {
  const up = upstream({});
  await using handler = handlerFor(up);
  const req = chatRequest();
  const res = await handler(req);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-freerouter-model"), A);
  await res.body?.cancel();
  assert.equal(req.reads, 0);
});

Deno.test("createHandler() watches the request's signal from the start of a fallback attempt", async () => {
  const up = upstream({ [A]: "503" });
  await using handler = handlerFor(up);
  const req = chatRequest();
  const res = await handler(req);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-freerouter-model"), B);
  await res.body?.cancel();
  assert.deepEqual(up.calls.map((c) => c.model), [A, B]);
  assert.equal(req.reads, 1);
});

Deno.test("createHandler() makes no fallback attempt for a client that has gone away", async () => {
  const up = upstream({ [A]: "503" });
  await using handler = handlerFor(up);
  const controller = new AbortController();
  controller.abort();
  const res = await handler(chatRequest({ signal: controller.signal }));
  await res.body?.cancel();
  assert.deepEqual(up.calls.map((c) => c.model), [A]);
});

Deno.test(`createHandler() aborts a hung attempt when the client leaves, watching from ${CLIENT_WATCH_DELAY_MS} ms into it`, async () => {
  const up = upstream({ [A]: "hang" });
  await using handler = handlerFor(up);
  const controller = new AbortController();
  const req = chatRequest({ signal: controller.signal });
  const pending = handler(req);
  // Wait for the attempt to be on its way upstream, then leave.
  await up.called;
  const attempt = up.calls[0]!.signal!;
  const aborted = new Promise((resolve) =>
    attempt.addEventListener("abort", resolve, { once: true })
  );
  controller.abort();
  await aborted;
  const res = await pending;
  await res.body?.cancel();
  assert.equal(req.reads, 1);
  assert.deepEqual(up.calls.map((c) => c.model), [A], "no fallback");
});
