/**
 * The fake OpenRouter's exchanges: aborts seen, stream parts and gates in
 * order, resets, leading whitespace, delays and gates of plain responses.
 */
import assert from "node:assert/strict";
import {
  chunk,
  completionBody,
  DONE,
  ok,
  PROCESSING,
  startFakeOpenRouter,
  streamErrorEvent,
} from "./mod.ts";
import { readRest, readUntil } from "../_streams.ts";
import {
  arr,
  chat,
  CODER,
  json,
  LLAMA,
  messages,
  rec,
} from "./_test_client.ts";

const decoder = new TextDecoder();

Deno.test("startFakeOpenRouter() marks a hung request aborted when the client aborts", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(CODER, { hang: true });
  const ac = new AbortController();
  const pending = chat(fake, { model: CODER, messages: messages() }, {
    signal: ac.signal,
  });
  await fake.waitForChatRequests(1);
  const recorded = fake.chatRequests()[0];
  assert.ok(recorded);
  assert.equal(recorded.isAborted(), false);
  ac.abort();
  await assert.rejects(
    pending,
    (e: unknown) => (e as Error).name === "AbortError",
  );
  await recorded.aborted;
  assert.equal(recorded.isAborted(), true);
});

Deno.test("startFakeOpenRouter() marks a stream aborted when the client aborts mid-stream", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(CODER, {
    stream: { parts: [PROCESSING, chunk(CODER, "first")], end: "hang" },
  });
  const ac = new AbortController();
  const res = await chat(fake, {
    model: CODER,
    messages: messages(),
    stream: true,
  }, {
    signal: ac.signal,
  });
  const reader = res.body!.getReader();
  await readUntil(reader, '"first"');
  const recorded = fake.chatRequests()[0];
  assert.ok(recorded);
  assert.equal(recorded.isAborted(), false);
  ac.abort();
  await assert.rejects(reader.read());
  await recorded.aborted;
  assert.equal(recorded.isAborted(), true);
});

Deno.test("startFakeOpenRouter() writes stream parts in order and waits on gate functions", async () => {
  await using fake = startFakeOpenRouter();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let gateCalls = 0;
  fake.script(CODER, {
    stream: {
      parts: [
        PROCESSING,
        chunk(CODER, "one"),
        () => {
          gateCalls++;
          return gate;
        },
        chunk(CODER, "two"),
        new TextEncoder().encode(
          streamErrorEvent({ withChoices: true, code: 502 }),
        ),
        DONE,
      ],
    },
  });
  const res = await chat(fake, {
    model: CODER,
    messages: messages(),
    stream: true,
  });
  const reader = res.body!.getReader();
  const head = await readUntil(reader, '"one"');
  assert.ok(head.startsWith(PROCESSING));
  assert.ok(
    !head.includes('"two"'),
    "gated part must not be sent before release",
  );
  assert.equal(gateCalls, 1);
  release();
  const text = head + (await readRest(reader)).text;
  const order = [PROCESSING, '"one"', '"two"', '"finish_reason":"error"', DONE]
    .map(
      (s) => text.indexOf(s),
    );
  assert.ok(order.every((i) => i >= 0), `all parts present: ${order}`);
  assert.deepEqual(order, [...order].sort((a, b) => a - b));
  assert.equal(fake.chatRequests()[0]?.isAborted(), false);
});

Deno.test("startFakeOpenRouter() reset steps break the client's connection", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(CODER, { reset: true }, {
    stream: { parts: [chunk(CODER, "partial")], end: "reset" },
  });

  // Before any status: fetch() itself rejects.
  await assert.rejects(
    chat(fake, { model: CODER, messages: messages() }),
    TypeError,
  );

  // Mid-stream: the status and some data arrive, then the body read rejects.
  const res = await chat(fake, {
    model: CODER,
    messages: messages(),
    stream: true,
  });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  let received = "";
  await assert.rejects(async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      received += decoder.decode(value, { stream: true });
    }
  });
  // The parts sent before the reset reach the client first.
  assert.match(received, /"content":"partial"/);

  // The fake broke these itself; the client did not abort.
  assert.deepEqual(fake.chatRequests().map((r) => r.isAborted()), [
    false,
    false,
  ]);

  // The server keeps working afterwards.
  const after = await chat(fake, { model: CODER, messages: messages() });
  assert.equal(after.status, 200);
  await after.body?.cancel();
});

Deno.test("startFakeOpenRouter() sends leadingWhitespace before the JSON body", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(CODER, {
    leadingWhitespace: "\n\n\n",
    body: completionBody(CODER, "padded"),
  });
  const res = await chat(fake, { model: CODER, messages: messages() });
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.ok(text.startsWith("\n\n\n{"));
  const body = rec(JSON.parse(text.trim()));
  assert.equal(rec(rec(arr(body.choices)[0]).message).content, "padded");

  // With a long delay the padding arrives alone; aborting clears the timer.
  fake.script(CODER, {
    leadingWhitespace: "\n\n",
    delayMs: 600_000,
    body: completionBody(CODER),
  });
  const ac = new AbortController();
  const slow = await chat(fake, { model: CODER, messages: messages() }, {
    signal: ac.signal,
  });
  assert.equal(slow.status, 200);
  const reader = slow.body!.getReader();
  const first = await reader.read();
  assert.equal(decoder.decode(first.value), "\n\n");
  ac.abort();
  await assert.rejects(reader.read());
  const recorded = fake.chatRequests()[1];
  assert.ok(recorded);
  await recorded.aborted;
});

Deno.test("startFakeOpenRouter() delayMs is cancelled when the client aborts", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(CODER, { delayMs: 600_000, body: completionBody(CODER) });
  const ac = new AbortController();
  const pending = chat(fake, { model: CODER, messages: messages() }, {
    signal: ac.signal,
  });
  await fake.waitForChatRequests(1);
  ac.abort();
  await assert.rejects(pending);
  await fake.chatRequests()[0]?.aborted;
});

Deno.test("startFakeOpenRouter() gates a plain response until the gate resolves", async () => {
  await using fake = startFakeOpenRouter();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  fake.script(CODER, { ...ok(CODER, "late"), gate: () => gate });
  let settled = false;
  const pending = chat(fake, { model: CODER, messages: messages() }).then(
    (r) => {
      settled = true;
      return r;
    },
  );
  await fake.waitForChatRequests(1);
  // A second, ungated request completes while the first is held back.
  const other = await chat(fake, { model: LLAMA, messages: messages() });
  await other.body?.cancel();
  assert.equal(settled, false);
  release();
  const res = await pending;
  assert.equal(
    rec(rec(arr((await json(res)).choices)[0]).message).content,
    "late",
  );
});
