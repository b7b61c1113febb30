/**
 * FreeRouterClient's edges as a library user meets them: close() stops the
 * chats under way (not only streams) and waits for them, a closed client
 * refuses calls, an abort keeps the caller's reason, models() fails with the
 * same typed error as chat(), typed read-only inputs (the OpenAI SDK's
 * message and request types) are accepted as they are, and nothing waits for
 * a catalog fetch that hangs once its caller has gone.
 */
import assert from "node:assert/strict";
import type OpenAI from "openai";
import { clientFor, hello, manualClock, MESSAGES, rig } from "./_harness.ts";
import { within } from "./_async.ts";
import {
  chunk,
  type FakeOpenRouter,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  startFakeOpenRouter,
} from "./fake_openrouter/mod.ts";
import {
  type ChatMessageInput,
  FreeRouterError,
  FreeRouterState,
} from "../src/mod.ts";

const [A] = POOL as [string];

/**
 * Scripts the fake's next `GET /models` to wait for `release`; `reached`
 * resolves when the fetch has arrived.
 */
function gatedCatalog(fake: FakeOpenRouter, body?: unknown) {
  const reached = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  fake.scriptModels({
    ...(body === undefined ? {} : { body }),
    gate: () => {
      reached.resolve();
      return release.promise;
    },
  });
  return { reached, release };
}

Deno.test("FreeRouterClient.close() aborts a chat under way, waits for it, and sends no attempt after", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(A, { hang: true });
  const fr = clientFor(fake, manualClock());
  const chat = fr.chat(MESSAGES);
  const outcome = chat.then(
    () => "answered",
    (err) => err,
  );
  await fake.waitForChatRequests(1);
  await fr.close();
  // close() has returned: the chat has already settled, as aborted.
  let settled = false;
  void outcome.then(() => (settled = true));
  await Promise.resolve();
  assert.ok(settled, "close() returned before the chat settled");
  const err = await outcome;
  assert.ok(err instanceof FreeRouterError, String(err));
  assert.equal(err.code, "aborted");
  assert.deepEqual(err.attempts.map((a) => [a.model, a.outcome]), [
    [A, "aborted"],
  ]);
  assert.equal(fake.chatRequests().length, 1);
});

Deno.test("FreeRouterClient refuses chat() and stream() once closed, before any upstream request", async () => {
  await using fake = startFakeOpenRouter();
  const fr = clientFor(fake, manualClock());
  await fr.close();
  await assert.rejects(fr.chat(MESSAGES), {
    name: "FreeRouterError",
    code: "aborted",
    message: /closed/,
  });
  await assert.rejects(fr.stream(MESSAGES).next(), {
    name: "FreeRouterError",
    code: "aborted",
    message: /closed/,
  });
  assert.equal(fake.chatRequests().length, 0);
});

Deno.test("FreeRouterClient.chat() aborted by the caller rejects with the caller's reason as its cause", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(A, { hang: true });
  await using fr = clientFor(fake, manualClock());
  const controller = new AbortController();
  const chat = fr.chat(MESSAGES, { signal: controller.signal });
  await fake.waitForChatRequests(1);
  const reason = new Error("the user pressed Esc");
  controller.abort(reason);
  const err = await chat.catch((e) => e);
  assert.ok(err instanceof FreeRouterError, String(err));
  assert.equal(err.code, "aborted");
  assert.equal(err.cause, reason);
});

Deno.test("FreeRouterClient.models() fails with FreeRouterError no_free_models when the catalog cannot be loaded, as chat() does", async () => {
  const fake = startFakeOpenRouter();
  const baseUrl = fake.baseUrl;
  await fake[Symbol.asyncDispose]();
  await using fr = clientFor(fake, manualClock(), { baseUrl });
  for (const call of [() => fr.models(), () => fr.chat(MESSAGES)]) {
    const err = await call().catch((e) => e);
    assert.ok(err instanceof FreeRouterError, String(err));
    assert.equal(err.code, "no_free_models");
    assert.ok(err.cause !== undefined);
  }
});

Deno.test("FreeRouterClient takes the OpenAI SDK's typed, read-only messages and request bodies unchanged", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock());
  const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hello" },
  ];
  const history: readonly ChatMessageInput[] = Object.freeze(
    messages.map((m) => Object.freeze(m)),
  );
  const completion = await fr.chat(history, { temperature: 0 });
  assert.equal(completion.freerouter.model, A);
  const body: OpenAI.Chat.ChatCompletionCreateParamsStreaming = {
    model: "auto",
    messages,
    stream: true,
  };
  let bytes = 0;
  for await (const chunk of fr.streamRaw(body)) bytes += chunk.length;
  assert.ok(bytes > 0);
  for await (const _ of fr.stream(messages)) { /* drained */ }
  const sent = fake.chatRequests().map((r) =>
    (r.body as { messages: unknown }).messages
  );
  assert.equal(sent.length, 3);
  for (const m of sent) assert.deepEqual(m, messages);
});

Deno.test("FreeRouterClient.models() is refused once the client is closed", async () => {
  await using fake = startFakeOpenRouter();
  const fr = clientFor(fake, manualClock());
  await fr.close();
  await assert.rejects(fr.models(), {
    name: "FreeRouterError",
    code: "aborted",
  });
  assert.equal(fake.modelsRequests().length, 0);
});

Deno.test("FreeRouterClient.models() under way when close() comes ends aborted, as chats and streams do", async () => {
  await using fake = startFakeOpenRouter();
  const { reached, release } = gatedCatalog(fake);
  const fr = clientFor(fake, manualClock(), { requestTimeout: 600 });
  const models = fr.models().catch((err) => err);
  try {
    await within(reached.promise, "the catalog fetch to start");
    await within(fr.close(), "close()");
    const err = await within(models, "models() to settle");
    assert.ok(err instanceof FreeRouterError, String(err));
    assert.equal(err.code, "aborted");
  } finally {
    release.resolve();
  }
});

Deno.test("FreeRouterClient.streamRaw() routes a body whose model is null as auto", async () => {
  await using fake = startFakeOpenRouter();
  await using fr = clientFor(fake, manualClock());
  let bytes = 0;
  for await (
    const chunk of fr.streamRaw({ model: null, messages: MESSAGES })
  ) bytes += chunk.length;
  assert.ok(bytes > 0);
  assert.equal(fake.chatRequests()[0]?.model, A);
});

Deno.test("FreeRouterClient.stream() aborted after it began rejects with the caller's reason as its cause and the attempts it made", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(A, {
    stream: {
      parts: [chunk(A, { role: "assistant", content: "" }), chunk(A, "Hel")],
      end: "hang",
    },
  });
  await using fr = clientFor(fake, manualClock());
  const controller = new AbortController();
  const reason = new Error("the user pressed Esc");
  const err = await (async () => {
    for await (const _ of fr.stream(MESSAGES, { signal: controller.signal })) {
      controller.abort(reason);
    }
  })().catch((e) => e);
  assert.ok(err instanceof FreeRouterError, String(err));
  assert.equal(err.code, "aborted");
  assert.equal(err.cause, reason);
  // The attempts it made are reported, as for any other failure.
  assert.deepEqual(err.attempts.map((a) => a.model), [A]);
});

Deno.test("FreeRouterClient.close() does not wait for a first catalog fetch that hangs: the chat waiting for it ends aborted", async () => {
  await using fake = startFakeOpenRouter();
  const { reached, release } = gatedCatalog(fake);
  // A timeout far beyond the watchdogs: only an abort ends the fetch.
  const fr = clientFor(fake, manualClock(), { requestTimeout: 600 });
  const chat = fr.chat(MESSAGES).then(() => "answered", (err) => err);
  try {
    await within(reached.promise, "the catalog fetch to start");
    await within(fr.close(), "close() with the catalog fetch hanging");
    const err = await within(chat, "the chat to settle");
    assert.ok(err instanceof FreeRouterError, String(err));
    assert.equal(err.code, "aborted");
    assert.equal(fake.chatRequests().length, 0);
  } finally {
    release.resolve();
  }
});

Deno.test("FreeRouterClient.close() on a shared state does not wait for a catalog fetch that hangs; another client still gets it", async () => {
  await using fake = startFakeOpenRouter();
  const { reached, release } = gatedCatalog(fake, { data: fake.models });
  await using state = new FreeRouterState();
  const clock = manualClock();
  // A timeout far beyond the watchdogs: only the gate ends the fetch.
  const leaving = clientFor(fake, clock, { requestTimeout: 600, state });
  await using staying = clientFor(fake, clock, { requestTimeout: 600, state });
  const caller = new AbortController();
  const chat = leaving.chat(MESSAGES, { signal: caller.signal }).then(
    () => "answered",
    (err) => err,
  );
  const models = staying.models();
  const leavingModels = leaving.models().catch((err) => err);
  try {
    await within(reached.promise, "the catalog fetch to start");
    caller.abort();
    const err = await within(chat, "the aborted chat to settle");
    assert.equal((err as FreeRouterError).code, "aborted");
    await within(leaving.close(), "the leaving client's close()");
    const ended = await within(leavingModels, "its models() under way");
    assert.equal((ended as FreeRouterError).code, "aborted");
    release.resolve();
    assert.deepEqual(
      (await within(models, "the other client's catalog")).map((m) => m.id),
      POOL,
    );
    assert.equal(fake.modelsRequests().length, 1);
  } finally {
    release.resolve();
  }
});

Deno.test("FreeRouterState.close() ends a catalog fetch that hangs, left by a client that shared the state", async () => {
  await using fake = startFakeOpenRouter();
  const { reached, release } = gatedCatalog(fake);
  const state = new FreeRouterState();
  const fr = clientFor(fake, manualClock(), { requestTimeout: 600, state });
  const caller = new AbortController();
  const chat = fr.chat(MESSAGES, { signal: caller.signal }).catch((e) => e);
  try {
    await within(reached.promise, "the catalog fetch to start");
    caller.abort();
    await within(chat, "the aborted chat to settle");
    await within(fr.close(), "the client's close()");
    await within(state.close(), "the state's close() with the fetch hanging");
  } finally {
    release.resolve();
  }
});

Deno.test("a proxy request whose client leaves while the first catalog fetch hangs ends at once, and the fetch goes on for the others", async () => {
  await using fake = startFakeOpenRouter();
  const { reached, release } = gatedCatalog(fake, { data: fake.models });
  await using r = rig({ fake, requestTimeout: 600 });
  const leaving = new AbortController();
  const left = r.chat(hello(), { signal: leaving.signal });
  const staying = r.chat(hello());
  try {
    await within(reached.promise, "the catalog fetch to start");
    leaving.abort();
    const res = await within(left, "the request whose client left to end");
    assert.equal(res.status, 499);
    await res.body?.cancel();
    release.resolve(); // the catalog arrives: the other request is answered
    const answered = await within(staying, "the other request");
    assert.equal(answered.status, 200);
    await answered.body?.cancel();
    assert.equal(fake.modelsRequests().length, 1, "one fetch for both");
  } finally {
    release.resolve();
  }
});
