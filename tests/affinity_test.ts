/**
 * Conversation affinity (a conversation stays on the model of its previous
 * turn while that model is available) and the short wait a named model is
 * worth (one more try after a short reset, or after one transient error).
 */
import assert from "node:assert/strict";
import { Affinity, conversationKey } from "../src/core/affinity.ts";
import {
  hello,
  manualClock,
  postJson,
  rig,
  type RigOptions,
} from "./_harness.ts";
import {
  chunk,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  modelRpm,
  ok,
  providerError502,
  streamErrorEvent,
} from "./fake_openrouter/mod.ts";
import { streamStep } from "./_streams.ts";

const [A, B, C] = FREE_CHAT_IDS_IN_PRIORITY_ORDER as [string, string, string];

function turns(first: string, ...more: string[]) {
  const messages = [
    { role: "system", content: "You are terse." },
    { role: "user", content: first },
  ];
  for (const m of more) {
    messages.push({ role: "assistant", content: "…" }, {
      role: "user",
      content: m,
    });
  }
  return { model: "auto", messages };
}

Deno.test("affinity: conversationKey() is the session header, else stable across the turns of one conversation", () => {
  const one = conversationKey(turns("Plan a trip"), null);
  assert.equal(conversationKey(turns("Plan a trip", "To Rome"), null), one);
  assert.notEqual(conversationKey(turns("Plan a party"), null), one);
  assert.equal(conversationKey(turns("Plan a trip"), "abc"), "s:abc");
});

Deno.test("affinity: the LRU forgets idle conversations and the oldest when full", () => {
  const affinity = new Affinity(2, 1_000);
  affinity.set("a", A, 0);
  affinity.set("b", B, 0);
  affinity.set("c", C, 0);
  assert.equal(affinity.get("a", 0), undefined);
  assert.equal(affinity.get("b", 500), B);
  assert.equal(affinity.get("c", 1_500), undefined);
  assert.equal(affinity.size, 1);
});

const opts = (extra: RigOptions = {}): RigOptions => ({
  affinity: true,
  ...extra,
});

Deno.test("affinity: the next turn of a conversation goes to the model that answered the last one", async () => {
  await using r = rig(opts());
  r.fake.script(A, providerError502(A));
  const first = await r.chat(turns("Plan a trip"));
  assert.equal(first.headers.get("x-freerouter-model"), B);
  await first.body?.cancel();
  // A is healthy again, but the conversation stays on B.
  const second = await r.chat(turns("Plan a trip", "To Rome"));
  assert.equal(second.headers.get("x-freerouter-model"), B);
  await second.body?.cancel();
  // Another conversation takes the pool order.
  const other = await r.chat(turns("Write a poem"));
  assert.equal(other.headers.get("x-freerouter-model"), A);
  await other.body?.cancel();
});

Deno.test("affinity: conversationKey() leaves out cache breakpoints, which a client moves each turn, and tells an alias's conversation apart", () => {
  const parts = (marked: number) => ({
    model: "auto",
    messages: [{
      role: "user",
      content: ["Plan", "a trip"].map((text, i) => ({
        type: "text",
        text,
        ...(i === marked ? { cache_control: { type: "ephemeral" } } : {}),
      })),
    }],
  });
  assert.equal(
    conversationKey(parts(0), null),
    conversationKey(parts(1), null),
  );
  const trip = turns("Plan a trip");
  assert.equal(
    conversationKey(trip, null, "auto"),
    conversationKey(trip, null),
  );
  assert.notEqual(
    conversationKey(trip, null, "auto:long"),
    conversationKey(trip, null),
  );
  assert.notEqual(
    conversationKey(trip, "abc", "auto:long"),
    conversationKey(trip, "abc"),
  );
});

Deno.test("affinity: a turn under another alias gets that alias's model, and the conversation keeps its model under the first", async () => {
  await using r = rig(opts());
  r.fake.script(A, providerError502(A));
  const first = await r.chat(turns("Plan a trip"));
  assert.equal(first.headers.get("x-freerouter-model"), B);
  await first.body?.cancel();
  const long = await r.chat({
    ...turns("Summarise a book"),
    model: "auto:long",
  });
  const longest = long.headers.get("x-freerouter-model");
  await long.body?.cancel();
  assert.notEqual(longest, B); // else the test says nothing
  const switched = await r.chat({
    ...turns("Plan a trip", "To Rome"),
    model: "auto:long",
  });
  assert.equal(switched.headers.get("x-freerouter-model"), longest);
  await switched.body?.cancel();
  const back = await r.chat(turns("Plan a trip", "To Rome", "By train"));
  assert.equal(back.headers.get("x-freerouter-model"), B);
  await back.body?.cancel();
});

Deno.test("affinity: a conversation leaves its model while that model cools down", async () => {
  await using r = rig(opts());
  r.fake.script(A, providerError502(A));
  await (await r.chat(turns("Plan a trip"))).body?.cancel();
  r.fake.script(B, modelRpm(B, { resetMs: r.clock.now() + 60_000 }));
  const res = await r.chat(turns("Plan a trip", "To Rome"));
  assert.equal(res.headers.get("x-freerouter-model"), A);
  await res.body?.cancel();
  const third = await r.chat(turns("Plan a trip", "To Rome", "By train"));
  assert.equal(third.headers.get("x-freerouter-model"), A);
  await third.body?.cancel();
});

Deno.test("affinity: a turn whose stream broke and was finished by another model stays with the model that finished it", async () => {
  await using r = rig(opts({ streamResume: true }));
  r.fake.script(
    A,
    streamStep([
      chunk(A, { role: "assistant", content: "" }),
      chunk(A, "Hel"),
      streamErrorEvent({ withChoices: true, code: 502, message: "gone" }),
    ], "hang"),
  );
  const first = await r.chat({ ...turns("Plan a trip"), stream: true });
  assert.equal(first.headers.get("x-freerouter-model"), A);
  assert.match(await first.text(), /data: \[DONE\]/);
  const [, continuation] = r.fake.chatRequests();
  assert.equal(continuation?.model, B, "B finished the turn");
  const second = await r.chat(turns("Plan a trip", "To Rome"));
  assert.equal(second.headers.get("x-freerouter-model"), B);
  await second.body?.cancel();
});

Deno.test("affinity: X-FreeRouter-Session ties requests with different prompts together", async () => {
  await using r = rig(opts());
  r.fake.script(A, providerError502(A));
  const headers = { "x-freerouter-session": "s-1" };
  await (await r.chat(turns("One"), { headers })).body?.cancel();
  const res = await r.chat(turns("Two"), { headers });
  assert.equal(res.headers.get("x-freerouter-model"), B);
  await res.body?.cancel();
});

Deno.test("affinity: conversationKey() mixes in the conversation's label (prompt_cache_key), which tells apart conversations whose first messages match", () => {
  const one = conversationKey(turns("Plan a trip"), null, "auto", "thread-1");
  assert.equal(
    conversationKey(turns("Plan a trip", "To Rome"), null, "auto", "thread-1"),
    one,
  );
  assert.notEqual(
    conversationKey(turns("Plan a trip"), null, "auto", "thread-2"),
    one,
  );
  assert.notEqual(conversationKey(turns("Plan a trip"), null), one);
  // A label never makes different first messages one conversation.
  assert.notEqual(
    conversationKey(turns("Plan a party"), null, "auto", "thread-1"),
    one,
  );
  // The session header wins.
  assert.equal(
    conversationKey(turns("Plan a trip"), "abc", "auto", "thread-1"),
    "s:abc",
  );
});

/**
 * A Codex-like Responses turn: the same instructions, a first user message
 * describing the working directory, then the task; `prompt_cache_key` is
 * the thread.
 */
function codexTurn(thread: string, task: string, ...more: string[]) {
  const input: unknown[] = [
    {
      type: "message",
      role: "user",
      content: [{
        type: "input_text",
        text: "<environment_context><cwd>/work</cwd></environment_context>",
      }],
    },
    {
      type: "message",
      role: "user",
      content: [{ type: "input_text", text: task }],
    },
  ];
  for (const m of more) {
    input.push(
      {
        type: "message",
        role: "assistant",
        content: [{ type: "output_text", text: "…" }],
      },
      {
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: m }],
      },
    );
  }
  return {
    model: "auto",
    instructions: "You are a coding agent.",
    input,
    prompt_cache_key: thread,
  };
}

Deno.test("affinity: on /v1/responses, threads (prompt_cache_key) whose first user message is the same environment are two conversations, each kept on its model", async () => {
  await using r = rig(opts());
  r.fake.script(A, providerError502(A));
  const model = async (body: unknown) => {
    const res = await postJson(r, "/v1/responses", body);
    assert.equal(res.status, 200);
    await res.body?.cancel();
    return res.headers.get("x-freerouter-model");
  };
  assert.equal(await model(codexTurn("thread-1", "Fix the build")), B);
  // Another thread in the same directory takes the pool order.
  assert.equal(await model(codexTurn("thread-2", "Write the docs")), A);
  // Each thread's next turn stays on its own model.
  assert.equal(
    await model(codexTurn("thread-1", "Fix the build", "Run the tests")),
    B,
  );
  assert.equal(
    await model(codexTurn("thread-2", "Write the docs", "Shorter")),
    A,
  );
});

Deno.test("affinity: on /v1/messages, metadata.user_id (Claude Code's session) tells apart conversations whose first messages match", async () => {
  await using r = rig(opts());
  r.fake.script(A, providerError502(A));
  const model = async (session: string, ...more: string[]) => {
    const messages = [{ role: "user", content: "Fix the build" }];
    for (const m of more) {
      messages.push({ role: "assistant", content: "…" }, {
        role: "user",
        content: m,
      });
    }
    const res = await postJson(r, "/v1/messages", {
      model: "auto",
      max_tokens: 64,
      system: "You are Claude Code.",
      messages,
      metadata: { user_id: JSON.stringify({ session_id: session }) },
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    return res.headers.get("x-freerouter-model");
  };
  assert.equal(await model("s-1"), B);
  assert.equal(await model("s-2"), A);
  assert.equal(await model("s-1", "Run the tests"), B);
  assert.equal(await model("s-2", "Shorter"), A);
});

Deno.test("affinity: on /v1/chat/completions, prompt_cache_key tells apart conversations whose first messages match", async () => {
  await using r = rig(opts());
  r.fake.script(A, providerError502(A));
  const model = async (thread: string, ...more: string[]) => {
    const res = await r.chat({
      ...turns("Hello", ...more),
      prompt_cache_key: thread,
    });
    await res.body?.cancel();
    return res.headers.get("x-freerouter-model");
  };
  assert.equal(await model("t-1"), B);
  assert.equal(await model("t-2"), A);
  assert.equal(await model("t-1", "Again"), B);
  // The label reaches OpenRouter as the client sent it.
  assert.equal(
    (r.fake.chatRequests().at(-1)?.body as Record<string, unknown>)
      .prompt_cache_key,
    "t-1",
  );
});

Deno.test("affinity: off, each turn takes the pool order", async () => {
  await using r = rig(opts({ affinity: false }));
  r.fake.script(A, providerError502(A));
  await (await r.chat(turns("Plan a trip"))).body?.cancel();
  const res = await r.chat(turns("Plan a trip", "To Rome"));
  assert.equal(res.headers.get("x-freerouter-model"), A);
  await res.body?.cancel();
});

/** A rig whose waits move its manual clock (no real sleep). */
function waitingRig(sameModelWait: number) {
  const clock = manualClock();
  const waits: number[] = [];
  const r = rig({
    clock,
    sameModelWait,
    sleep: (ms) => {
      waits.push(ms);
      clock.advance(ms);
      return Promise.resolve();
    },
  });
  return { r, waits };
}

Deno.test("same model: a named model's 429 with a short reset is waited for and tried once more", async () => {
  const { r, waits } = waitingRig(3);
  await using _ = r;
  r.fake.script(C, modelRpm(C, { resetMs: r.clock.now() + 2_000 }), ok(C));
  const res = await r.chat(hello(C));
  assert.equal(res.headers.get("x-freerouter-model"), C);
  assert.equal(res.headers.get("x-freerouter-attempts"), "2");
  await res.body?.cancel();
  assert.deepEqual(waits, [2_000]);
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [C, C]);
});

Deno.test("same model: a long reset moves on at once", async () => {
  const { r, waits } = waitingRig(3);
  await using _ = r;
  r.fake.script(C, modelRpm(C, { resetMs: r.clock.now() + 30_000 }));
  const res = await r.chat(hello(C));
  assert.equal(res.headers.get("x-freerouter-model"), A);
  await res.body?.cancel();
  assert.deepEqual(waits, []);
});

Deno.test("same model: one transient 5xx is retried at once, a second moves on", async () => {
  const { r, waits } = waitingRig(3);
  await using _ = r;
  r.fake.script(C, providerError502(C), providerError502(C));
  const res = await r.chat(hello(C));
  assert.equal(res.headers.get("x-freerouter-model"), A);
  await res.body?.cancel();
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [C, C, A]);
  assert.deepEqual(waits, []);
});

Deno.test("same model: never for auto, and not when FREEROUTER_SAME_MODEL_WAIT is 0", async () => {
  for (const [model, wait] of [["auto", 3], [C, 0]] as const) {
    const { r } = waitingRig(wait);
    await using _ = r;
    const first = model === "auto" ? A : C;
    r.fake.script(first, providerError502(first));
    const res = await r.chat(hello(model));
    await res.body?.cancel();
    assert.equal(r.fake.chatRequests().length, 2, model);
    assert.notEqual(r.fake.chatRequests()[1]!.model, first, model);
  }
});
