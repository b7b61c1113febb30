/**
 * The response cache's rules (src/core/cached_answer.ts) and stores
 * (src/state/response_cache.ts in memory, src/state/kv_cache.ts in KV):
 * canonical bodies, what bypasses the cache, a stream assembled into one
 * completion and replayed, expiry, the size cap and bounded eviction.
 */
import assert from "node:assert/strict";
import {
  cacheBypass,
  canonicalRequest,
  ChunkAssembler,
  replayEvents,
  storable,
} from "../src/core/cached_answer.ts";
import {
  MAX_EVICTIONS,
  MemoryResponseCache,
  type ResponseCache,
  sizeOf,
} from "../src/state/response_cache.ts";
import { KvResponseCache } from "../src/state/kv_cache.ts";
import type { ChatCompletion } from "../src/types.ts";

Deno.test("canonicalRequest() sorts keys at every depth and leaves out stream, stream_options and user", () => {
  const a = canonicalRequest({
    model: "auto",
    messages: [{ role: "user", content: "Hi", name: "x" }],
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
    user: "u1",
  });
  const b = canonicalRequest({
    user: "u2",
    temperature: 0,
    messages: [{ name: "x", content: "Hi", role: "user" }],
    model: "auto",
  });
  assert.equal(a, b);
  assert.equal(
    a,
    '{"messages":[{"content":"Hi","name":"x","role":"user"}],"model":"auto","temperature":0}',
  );
  assert.notEqual(
    a,
    canonicalRequest({
      model: "auto",
      messages: [{ role: "user", content: "Hi", name: "x" }],
      temperature: 1,
    }),
  );
});

Deno.test("cacheBypass() names n > 1, Cache-Control no-cache/no-store and X-FreeRouter-Cache: bypass", () => {
  const req = { messages: [] };
  assert.equal(cacheBypass(req, null, null), undefined);
  assert.equal(cacheBypass({ ...req, n: 1 }, null, null), undefined);
  assert.equal(cacheBypass({ ...req, n: 3 }, null, null), "n > 1");
  assert.equal(cacheBypass(req, "max-age=0, no-store", null), "Cache-Control");
  assert.equal(cacheBypass(req, "No-Cache", null), "Cache-Control");
  assert.equal(cacheBypass(req, "max-age=60", null), undefined);
  assert.equal(cacheBypass(req, null, "bypass"), "X-FreeRouter-Cache");
});

function chunk(delta: Record<string, unknown>, finish: string | null = null) {
  return JSON.stringify({
    id: "gen-1",
    object: "chat.completion.chunk",
    created: 7,
    model: "m:free",
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
}

Deno.test("ChunkAssembler keeps calls that share index 0 but not an id apart, in the order they started", () => {
  const a = new ChunkAssembler();
  const calls: Array<[string, string]> = [
    ["call_a", '{"city":"A"}'],
    ["call_b", "{}"],
  ];
  for (const [id, args] of calls) {
    a.push(chunk({
      tool_calls: [{
        index: 0,
        id,
        type: "function",
        function: { name: "w", arguments: args.slice(0, 2) },
      }],
    }));
    a.push(
      chunk({
        tool_calls: [{ index: 0, function: { arguments: args.slice(2) } }],
      }),
    );
  }
  a.push(chunk({}, "tool_calls"));
  assert.deepEqual(a.completion()!.choices[0]!.message.tool_calls, [
    {
      id: "call_a",
      type: "function",
      function: { name: "w", arguments: '{"city":"A"}' },
    },
    {
      id: "call_b",
      type: "function",
      function: { name: "w", arguments: "{}" },
    },
  ]);
});

Deno.test("ChunkAssembler builds the completion of a stream: content, reasoning, tool calls, finish, usage", () => {
  const a = new ChunkAssembler();
  a.push(chunk({ role: "assistant", content: "" }));
  a.push(chunk({ reasoning: "think" }));
  a.push(chunk({ content: "Hel" }));
  a.push(chunk({ content: "lo" }));
  a.push(chunk({
    tool_calls: [{
      index: 0,
      id: "call_1",
      type: "function",
      function: { name: "get", arguments: '{"a":' },
    }],
  }));
  a.push(chunk({ tool_calls: [{ index: 0, function: { arguments: "1}" } }] }));
  a.push(chunk({}, "tool_calls"));
  a.push(
    JSON.stringify({ id: "gen-1", choices: [], usage: { total_tokens: 5 } }),
  );
  a.push("[DONE]");
  const c = a.completion()!;
  assert.equal(c.id, "gen-1");
  assert.equal(c.model, "m:free");
  assert.equal(c.object, "chat.completion");
  assert.deepEqual(c.choices[0]!.message, {
    role: "assistant",
    content: "Hello",
    reasoning: "think",
    tool_calls: [{
      id: "call_1",
      type: "function",
      function: { name: "get", arguments: '{"a":1}' },
    }],
  });
  assert.equal(c.choices[0]!.finish_reason, "tool_calls");
  assert.deepEqual(c.usage, { total_tokens: 5 });
  assert.ok(storable(c));

  // Replayed, the same answer comes back.
  const again = new ChunkAssembler();
  for (const data of replayEvents(c)) again.push(data);
  assert.deepEqual(again.completion(), c);
});

Deno.test("ChunkAssembler has no completion for a stream with an error event, without a finish, or with a second choice", () => {
  const errored = new ChunkAssembler();
  errored.push(chunk({ content: "Hel" }));
  errored.push(JSON.stringify({ error: { message: "boom", code: 502 } }));
  errored.push(chunk({}, "stop"));
  assert.equal(errored.completion(), undefined);

  const unfinished = new ChunkAssembler();
  unfinished.push(chunk({ content: "Hel" }));
  assert.equal(unfinished.completion(), undefined);

  const finishedInError = new ChunkAssembler();
  finishedInError.push(chunk({ content: "Hel" }, "error"));
  assert.equal(finishedInError.completion(), undefined);

  const two = new ChunkAssembler();
  two.push(JSON.stringify({
    choices: [{ index: 1, delta: { content: "x" }, finish_reason: "stop" }],
  }));
  assert.equal(two.completion(), undefined);
});

Deno.test("storable() takes one complete choice only", () => {
  const base: ChatCompletion = {
    id: "g",
    object: "chat.completion",
    created: 0,
    model: "m",
    choices: [{
      index: 0,
      message: { role: "assistant", content: "x" },
      finish_reason: "stop",
    }],
  };
  assert.ok(storable(base));
  assert.ok(!storable({ ...base, choices: [] }));
  assert.ok(
    !storable({ ...base, choices: [...base.choices, ...base.choices] }),
  );
  assert.ok(
    !storable({
      ...base,
      choices: [{ ...base.choices[0]!, finish_reason: null }],
    }),
  );
  assert.ok(!storable({ ...base, error: { message: "x" } }));
});

/** The same checks for both stores. */
async function storeChecks(
  make: (maxBytes: number) => Promise<ResponseCache>,
): Promise<void> {
  const now = 1_000_000;
  const text = (n: number) => `{"answer":"${"x".repeat(n)}"}`;
  // Hit, miss, expiry.
  const cache = await make(10_000);
  assert.equal(await cache.set("a", text(10), now, now + 1000), true);
  assert.equal(await cache.get("a", now + 999), text(10));
  assert.equal(await cache.get("a", now + 1000), undefined, "expired");
  assert.equal(await cache.get("b", now), undefined);

  // The size cap: the oldest answers are evicted for a new one.
  const capped = await make(3 * sizeOf(text(100)));
  for (const k of ["1", "2", "3"]) {
    assert.equal(await capped.set(k, text(100), now, now + 60_000), true);
  }
  assert.equal(await capped.set("4", text(100), now, now + 60_000), true);
  assert.equal(await capped.get("1", now), undefined, "the oldest went");
  for (const k of ["2", "3", "4"]) {
    assert.equal(await capped.get(k, now), text(100));
  }
  // An answer larger than the cap is not stored.
  assert.equal(await capped.set("big", text(1000), now, now + 60_000), false);
  assert.equal(await capped.get("4", now), text(100), "and evicts nothing");

  // Bounded work: an answer that would need more than MAX_EVICTIONS
  // evictions is not stored (the cache keeps what it has).
  const small = text(10);
  const many = await make((MAX_EVICTIONS + 8) * sizeOf(small));
  for (let i = 0; i < MAX_EVICTIONS + 8; i++) {
    assert.equal(await many.set(`k${i}`, small, now, now + 60_000), true);
  }
  const huge = "y".repeat((MAX_EVICTIONS + 4) * sizeOf(small) - 64);
  assert.equal(await many.set("huge", huge, now, now + 60_000), false);
  assert.equal(await many.get(`k${MAX_EVICTIONS + 7}`, now), small);
  // Expired entries are evicted first, and count as evictions too.
  const later = now + 120_000;
  assert.equal(await many.set("fresh", small, later, later + 60_000), true);
}

Deno.test("MemoryResponseCache: hit, expiry, size cap, oldest evicted first, bounded eviction", async () => {
  await storeChecks((max) => Promise.resolve(new MemoryResponseCache(max)));
  const cache = new MemoryResponseCache(1_000_000);
  await cache.set("k", "v1", 0, 100);
  await cache.set("k", "v2", 0, 100);
  assert.equal(cache.size, 1);
  assert.equal(
    cache.bytes,
    sizeOf("v2"),
    "a replaced answer is not counted twice",
  );
});

Deno.test("KvResponseCache: the same behaviour in KV, with the total kept in step and long answers split over parts", async () => {
  const opened: Deno.Kv[] = [];
  try {
    await storeChecks(async (max) => {
      const kv = await Deno.openKv(":memory:");
      opened.push(kv);
      return new KvResponseCache(kv, max);
    });
  } finally {
    for (const kv of opened) kv.close();
  }
  // A long answer (over one KV value) comes back whole.
  using kv2 = await Deno.openKv(":memory:");
  const cache = new KvResponseCache(kv2, 10_000_000);
  const long = "é".repeat(50_000);
  assert.equal(await cache.set("long", long, 0, 1000), true);
  assert.equal(await cache.get("long", 1), long);
  const meta = (await kv2.get(["freerouter", "cache", "meta"])).value as {
    bytes: number;
  };
  assert.equal(meta.bytes, sizeOf(long));
  // Stored twice (another instance raced): counted once.
  assert.equal(await cache.set("long", long, 1, 1000), false);
  assert.equal(
    ((await kv2.get(["freerouter", "cache", "meta"])).value as {
      bytes: number;
    }).bytes,
    sizeOf(long),
  );
});
