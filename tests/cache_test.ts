/**
 * The response cache (`cacheTtl`, FREEROUTER_CACHE_TTL) through the handler:
 * hits without an upstream attempt, expiry, streams recorded as they pass and
 * replayed as well-formed streams, what is never stored or answered from it,
 * per-client separation, in-flight coalescing, the agent fronts, and a cache
 * shared by two handlers on one KV file. cache_store_test.ts covers the
 * stores and the pure rules.
 */
import assert from "node:assert/strict";
import {
  hello,
  rig,
  type RigOptions,
  SERVER_KEY,
  withKvFile,
} from "./_harness.ts";
import { within } from "./_async.ts";
import { readBody, sseEvents } from "./_streams.ts";
import {
  errorStatus,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  ok,
  streamOk,
} from "./fake_openrouter/mod.ts";

const FIRST = FREE_CHAT_IDS_IN_PRIORITY_ORDER[0]!;

function cacheRig(options: RigOptions = {}) {
  return rig({ cacheTtl: 60, rpm: 0, ...options });
}

const upstream = (r: ReturnType<typeof rig>) => r.fake.chatRequests().length;

Deno.test("cache: an identical request within the TTL is answered from the cache with X-FreeRouter-Cache: hit and no upstream attempt", async () => {
  await using r = cacheRig();
  const first = await r.chat(hello("auto", { temperature: 0 }));
  assert.equal(first.status, 200);
  assert.equal(first.headers.get("x-freerouter-cache"), "miss");
  const firstBody = await first.text();
  assert.equal(upstream(r), 1);

  // Same body, keys in another order, another `user` and stream_options.
  const again = await r.chat({
    temperature: 0,
    user: "someone-else",
    messages: [{ content: "Hello", role: "user" }],
    model: "auto",
  });
  assert.equal(again.status, 200);
  assert.equal(again.headers.get("x-freerouter-cache"), "hit");
  assert.equal(again.headers.get("x-freerouter-attempts"), "0");
  assert.ok(again.headers.get("x-freerouter-model"));
  assert.equal(await again.text(), firstBody, "the stored answer, unchanged");
  assert.equal(upstream(r), 1, "no upstream attempt");

  // Another body is a miss.
  const other = await r.chat(hello("auto", { temperature: 1 }));
  assert.equal(other.headers.get("x-freerouter-cache"), "miss");
  await other.body?.cancel();
  assert.equal(upstream(r), 2);
});

Deno.test("cache: an answer expires after the TTL", async () => {
  await using r = cacheRig({ cacheTtl: 30 });
  await (await r.chat(hello())).body?.cancel();
  r.clock.advance(29_000);
  const hit = await r.chat(hello());
  assert.equal(hit.headers.get("x-freerouter-cache"), "hit");
  await hit.body?.cancel();
  r.clock.advance(1_000);
  const expired = await r.chat(hello());
  assert.equal(expired.headers.get("x-freerouter-cache"), "miss");
  await expired.body?.cancel();
  assert.equal(upstream(r), 2);
});

Deno.test("cache: a stream is recorded as it passes and replayed as a well-formed stream (role, content, finish, usage, [DONE])", async () => {
  await using r = cacheRig();
  r.fake.script(FIRST, { stream: streamOk(FIRST, ["Hel", "lo ", "there"]) });
  const first = await r.chat(hello("auto", { stream: true }));
  assert.equal(first.headers.get("x-freerouter-cache"), "miss");
  const original = sseEvents((await readBody(first)).text);
  assert.equal(original.at(-1), "[DONE]");

  const replay = await r.chat(hello("auto", { stream: true }));
  assert.equal(replay.status, 200);
  assert.equal(replay.headers.get("x-freerouter-cache"), "hit");
  assert.match(replay.headers.get("content-type") ?? "", /text\/event-stream/);
  const events = sseEvents((await readBody(replay)).text);
  assert.equal(events.at(-1), "[DONE]");
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
  assert.deepEqual(chunks[0].choices[0].delta, {
    role: "assistant",
    content: "",
  });
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
  assert.equal(text, "Hello there");
  const finishes = chunks.map((c) => c.choices[0]?.finish_reason).filter(
    Boolean,
  );
  assert.deepEqual(finishes, ["stop"]);
  assert.ok(chunks.at(-1).usage, "the usage chunk comes last");
  assert.deepEqual(chunks.at(-1).choices, []);
  for (const c of chunks) {
    assert.equal(c.object, "chat.completion.chunk");
    assert.equal(c.model, FIRST);
  }
  assert.equal(upstream(r), 1);

  // The same question without `stream` is answered from the recording too.
  const whole = await r.chat(hello());
  assert.equal(whole.headers.get("x-freerouter-cache"), "hit");
  const body = await whole.json();
  assert.equal(body.choices[0].message.content, "Hello there");
  assert.equal(body.choices[0].finish_reason, "stop");
  assert.equal(upstream(r), 1);
});

Deno.test("cache: a non-stream answer is replayed as a stream when a stream is asked for", async () => {
  await using r = cacheRig();
  await (await r.chat(hello())).body?.cancel();
  const replay = await r.chat(hello("auto", { stream: true }));
  assert.equal(replay.headers.get("x-freerouter-cache"), "hit");
  const events = sseEvents((await readBody(replay)).text);
  const text = events.slice(0, -1).map((e) =>
    JSON.parse(e).choices[0]?.delta?.content ?? ""
  ).join("");
  assert.equal(text, "Hello world");
  assert.equal(events.at(-1), "[DONE]");
});

Deno.test("cache: a stream the client cancels half-way is not stored", async () => {
  await using r = cacheRig();
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const script = streamOk(FIRST, ["one", "two"]);
  script.parts.splice(2, 0, () => held);
  r.fake.script(FIRST, { stream: script });
  const first = await r.chat(hello("auto", { stream: true }));
  const reader = first.body!.getReader();
  await reader.read(); // the first event
  await reader.cancel();
  release();
  const again = await r.chat(hello("auto", { stream: true }));
  assert.equal(again.headers.get("x-freerouter-cache"), "miss");
  assert.equal(again.headers.get("x-freerouter-attempts"), "1");
  assert.match((await readBody(again)).text, /\[DONE\]/);
  const third = await r.chat(hello("auto", { stream: true }));
  assert.equal(third.headers.get("x-freerouter-cache"), "hit", "stored now");
  await readBody(third);
});

Deno.test("cache: failures are never stored", async () => {
  await using r = cacheRig({ maxAttempts: 1 });
  r.fake.script(FIRST, errorStatus(503));
  const failed = await r.chat(hello());
  assert.equal(failed.status, 502);
  await failed.body?.cancel();
  const again = await r.chat(hello());
  assert.equal(again.status, 200);
  assert.equal(again.headers.get("x-freerouter-cache"), "miss");
  await again.body?.cancel();
  assert.equal(upstream(r), 2);
});

for (
  const [what, extra, headers] of [
    ["Cache-Control: no-store", {}, { "cache-control": "no-store" }],
    ["Cache-Control: no-cache", {}, { "cache-control": "no-cache" }],
    ["X-FreeRouter-Cache: bypass", {}, { "x-freerouter-cache": "bypass" }],
    ["n: 2", { n: 2 }, {}],
  ] as const
) {
  Deno.test(`cache: a request with ${what} is neither answered from the cache nor stored`, async () => {
    await using r = cacheRig();
    await (await r.chat(hello("auto", extra))).body?.cancel(); // stored (unless n > 1)
    const skipped = await r.chat(hello("auto", extra), { headers });
    assert.equal(skipped.headers.get("x-freerouter-cache"), "bypass");
    await skipped.body?.cancel();
    const before = upstream(r);
    assert.equal(before, 2, "the bypassing request went upstream");
    if (Object.keys(headers).length > 0) {
      // The entry is still there for a plain request; a second bypassing
      // request goes upstream again.
      const plain = await r.chat(hello("auto", extra));
      assert.equal(plain.headers.get("x-freerouter-cache"), "hit");
      await plain.body?.cancel();
      const bypassAgain = await r.chat(hello("auto", extra), { headers });
      assert.equal(bypassAgain.headers.get("x-freerouter-cache"), "bypass");
      await bypassAgain.body?.cancel();
      assert.equal(upstream(r), 3);
    } else {
      const third = await r.chat(hello("auto", extra));
      assert.equal(third.headers.get("x-freerouter-cache"), "bypass");
      await third.body?.cancel();
      assert.equal(upstream(r), 3, "n > 1 is never stored");
    }
  });
}

Deno.test("cache: a no-store answer is not stored for the next plain request", async () => {
  await using r = cacheRig();
  const skipped = await r.chat(hello(), {
    headers: { "cache-control": "no-store" },
  });
  assert.equal(skipped.headers.get("x-freerouter-cache"), "bypass");
  await skipped.body?.cancel();
  const plain = await r.chat(hello());
  assert.equal(plain.headers.get("x-freerouter-cache"), "miss");
  await plain.body?.cancel();
  assert.equal(upstream(r), 2);
});

Deno.test("cache: answers are kept per client key: one client never gets another's answer", async () => {
  await using r = cacheRig({
    clientKeys: [
      { name: "alice", key: "fr-alice-0123456789" },
      { name: "bob", key: "fr-bob-0123456789" },
    ],
  });
  const as = (key: string) => ({
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${key}`,
    },
  });
  r.fake.script(FIRST, ok(FIRST, "for alice"), ok(FIRST, "for bob"));
  const alice = await r.chat(hello(), as("fr-alice-0123456789"));
  assert.equal(alice.headers.get("x-freerouter-cache"), "miss");
  assert.equal((await alice.json()).choices[0].message.content, "for alice");
  const bob = await r.chat(hello(), as("fr-bob-0123456789"));
  assert.equal(bob.headers.get("x-freerouter-cache"), "miss");
  assert.equal((await bob.json()).choices[0].message.content, "for bob");
  const aliceAgain = await r.chat(hello(), as("fr-alice-0123456789"));
  assert.equal(aliceAgain.headers.get("x-freerouter-cache"), "hit");
  assert.equal(
    (await aliceAgain.json()).choices[0].message.content,
    "for alice",
  );
  assert.equal(upstream(r), 2);
});

Deno.test("cache: 20 identical concurrent requests share one upstream request (in-flight coalescing)", async () => {
  await using r = cacheRig();
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  // Whichever request leads (a stream or not), its answer waits for `held`.
  r.fake.script(FIRST, {
    respond: (body) => {
      if ((body as { stream?: boolean }).stream !== true) {
        return { ...ok(FIRST, "shared answer"), gate: () => held };
      }
      const stream = streamOk(FIRST, ["shared ", "answer"]);
      stream.parts.unshift(() => held);
      return { stream };
    },
  });
  // Each client reads its own answer (a streaming leader's followers wait
  // for its stream to end).
  const answers = Array.from({ length: 20 }, async (_, i) => {
    const res = await r.chat(hello("auto", { stream: i % 2 === 1 }));
    return { res, text: await res.text() };
  });
  await within(r.fake.waitForChatRequests(1), "the first request upstream");
  // Release the answer once the other 19 wait for it.
  await within(
    (async () => {
      for (;;) {
        const s = await (await r.request("/v1/freerouter/status")).json();
        if (s.cache.waiting === 19) return;
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    })(),
    "19 requests waiting for the first",
  );
  release();
  const responses = await within(Promise.all(answers), "every answer");
  const kinds = responses.map(({ res }) =>
    res.headers.get("x-freerouter-cache")
  );
  assert.equal(kinds.filter((k) => k === "miss").length, 1);
  assert.equal(kinds.filter((k) => k === "coalesced").length, 19);
  for (const [i, { res, text }] of responses.entries()) {
    assert.equal(res.status, 200, `request ${i}`);
    assert.equal(
      res.headers.get("content-type")?.includes("text/event-stream"),
      i % 2 === 1,
    );
    if (i % 2 === 1) {
      const events = sseEvents(text);
      assert.equal(events.at(-1), "[DONE]");
      const content = events.slice(0, -1).map((e) =>
        JSON.parse(e).choices?.[0]?.delta?.content ?? ""
      ).join("");
      assert.equal(content, "shared answer");
    } else {
      assert.equal(
        JSON.parse(text).choices[0].message.content,
        "shared answer",
      );
    }
  }
  assert.equal(upstream(r), 1, "one upstream request for all 20");
});

Deno.test("cache: requests waiting for one that fails with a routing error get that error, without an upstream request of their own", async () => {
  await using r = cacheRig({ maxAttempts: 1 });
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  r.fake.script(FIRST, { ...errorStatus(503), gate: () => held });
  const answers = Array.from({ length: 3 }, () => r.chat(hello()));
  await within(r.fake.waitForChatRequests(1), "the first request upstream");
  await within(
    (async () => {
      for (;;) {
        const s = await (await r.request("/v1/freerouter/status")).json();
        if (s.cache.waiting === 2) return;
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    })(),
    "2 requests waiting",
  );
  release();
  const responses = await Promise.all(answers);
  for (const res of responses) {
    assert.equal(res.status, 502);
    await res.body?.cancel();
  }
  assert.equal(upstream(r), 1);
});

Deno.test("cache: the agent fronts (Messages, Responses) are answered from the cache too", async () => {
  await using r = cacheRig();
  const messages = () =>
    r.request("/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "auto",
        max_tokens: 256,
        messages: [{ role: "user", content: "Hello" }],
      }),
    });
  const first = await messages();
  assert.equal(first.status, 200);
  assert.equal(first.headers.get("x-freerouter-cache"), "miss");
  const firstBody = await first.json();
  const again = await messages();
  assert.equal(again.headers.get("x-freerouter-cache"), "hit");
  const againBody = await again.json();
  assert.equal(againBody.type, "message");
  assert.deepEqual(againBody.content, firstBody.content);
  assert.equal(upstream(r), 1);

  const responses = () =>
    r.request("/v1/responses", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "auto", input: "Hello", stream: true }),
    });
  const streamed = await responses();
  assert.equal(streamed.headers.get("x-freerouter-cache"), "miss");
  await readBody(streamed);
  const replayed = await responses();
  assert.equal(replayed.headers.get("x-freerouter-cache"), "hit");
  const text = (await readBody(replayed)).text;
  assert.match(text, /response\.completed/);
  assert.match(text, /Hello world/);
  assert.equal(upstream(r), 2);
});

Deno.test("cache: two handlers on one KV file share the cache", async () => {
  await withKvFile(async (path) => {
    using kvA = await Deno.openKv(path);
    using kvB = await Deno.openKv(path);
    await using a = cacheRig({ kv: kvA });
    await using b = cacheRig({ kv: kvB, fake: a.fake, clock: a.clock });
    const first = await a.chat(hello());
    assert.equal(first.headers.get("x-freerouter-cache"), "miss");
    const body = await first.text();
    await a.handler.close(); // the background store is done
    const other = await b.chat(hello());
    assert.equal(other.headers.get("x-freerouter-cache"), "hit");
    assert.equal(await other.text(), body);
    assert.equal(upstream(a), 1);
  });
});

Deno.test("cache: off by default", async () => {
  await using r = rig({ apiKey: SERVER_KEY });
  const res = await r.chat(hello());
  assert.equal(res.headers.get("x-freerouter-cache"), null);
  await res.body?.cancel();
  await (await r.chat(hello())).body?.cancel();
  assert.equal(upstream(r), 2);
  const s = await (await r.request("/v1/freerouter/status")).json();
  assert.equal(s.cache, null);
});
