/**
 * The agent fronts over a resumed stream: a break after commit continues on
 * the next model inside the same stream (stream_guard.ts), and the front
 * translates the continuation's rewritten chunks as part of one answer.
 * While the continuation is sought, and whenever the upstream sends a
 * keep-alive comment, each front sends its own keep-alive.
 */
import assert from "node:assert/strict";
import { within } from "./_async.ts";
import { anthropicSdk, openaiSdk } from "./_agent_fronts.ts";
import { rig } from "./_harness.ts";
import {
  chunk,
  DONE,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  PROCESSING,
  streamErrorEvent,
  streamOk,
} from "./fake_openrouter/mod.ts";

const [A, B] = FREE_CHAT_IDS_IN_PRIORITY_ORDER as [string, string];

/** Role, `Hello `, `wor`, then an error event (a break after commit). */
function breaking(): Parameters<ReturnType<typeof rig>["fake"]["script"]>[1] {
  const meta = { id: "gen-first", created: 1_700_000_000 };
  return {
    stream: {
      parts: [
        chunk(A, { role: "assistant", content: "" }, null, meta),
        chunk(A, "Hello ", null, meta),
        chunk(A, "wor", null, meta),
        streamErrorEvent({ withChoices: true, code: 502 }),
      ],
      end: "hang",
    },
  };
}

Deno.test("a /v1/messages stream that breaks after commit is resumed: one text block with the whole text, then message_stop", async () => {
  await using r = rig({ strategy: "priority", streamIdleTimeout: 0.2 });
  r.fake.script(A, breaking());
  r.fake.script(B, { stream: streamOk(B, ["ld", "!"]) });
  const stream = anthropicSdk(r.handler).messages.stream({
    model: "auto",
    max_tokens: 256,
    messages: [{ role: "user", content: "Say hello" }],
  });
  const types: string[] = [];
  stream.on("streamEvent", (event) => types.push(event.type));
  const message = await within(stream.finalMessage(), "the final message");
  assert.deepEqual(message.content.map((b) => b.type), ["text"]);
  const [block] = message.content;
  assert.equal(block?.type === "text" && block.text, "Hello world!");
  assert.equal(message.stop_reason, "end_turn");
  assert.equal(types.at(-1), "message_stop");
  assert.ok(!types.includes("error"));
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B]);
});

Deno.test("a /v1/responses stream that breaks after commit is resumed: one message with the whole text, then response.completed", async () => {
  await using r = rig({ strategy: "priority", streamIdleTimeout: 0.2 });
  r.fake.script(A, breaking());
  r.fake.script(B, { stream: streamOk(B, ["ld", "!"]) });
  const stream = openaiSdk(r.handler).responses.stream({
    model: "auto",
    input: "Say hello",
  });
  const types: string[] = [];
  stream.on("event", (event) => types.push(event.type));
  const response = await within(stream.finalResponse(), "the final response");
  assert.equal(response.output_text, "Hello world!");
  assert.equal(response.status, "completed");
  assert.deepEqual(response.output.map((item) => item.type), ["message"]);
  assert.equal(types.at(-1), "response.completed");
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B]);
});

/**
 * Reads `res` until `ready(text)` holds, then lets the upstream go on
 * (`release`) and reads to the end; the text at the release and in all.
 */
async function readAcross(
  res: Response,
  ready: (text: string) => boolean,
  release: () => void,
): Promise<{ before: string; text: string }> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (!ready(text)) {
      const { done, value } = await within(reader.read(), "a keep-alive");
      assert.ok(!done, `the stream ended: ${text}`);
      text += value;
    }
    const before = text;
    release();
    for (;;) {
      const { done, value } = await within(reader.read(), "the end");
      if (done) return { before, text };
      text += value;
    }
  } finally {
    release();
    await reader.cancel().catch(() => {});
  }
}

/** Every front's streaming request, and the keep-alive its client sees. */
const KEEPALIVE_FRONTS: Array<{
  front: string;
  path: string;
  body: Record<string, unknown>;
  keepAlive: string;
}> = [
  {
    front: "chat completions",
    path: "/v1/chat/completions",
    body: {
      model: "auto",
      stream: true,
      messages: [{ role: "user", content: "Say hello" }],
    },
    keepAlive: ": resuming\n\n",
  },
  {
    front: "/v1/messages",
    path: "/v1/messages",
    body: {
      model: "auto",
      stream: true,
      max_tokens: 256,
      messages: [{ role: "user", content: "Say hello" }],
    },
    keepAlive: 'event: ping\ndata: {"type":"ping"}\n\n',
  },
  {
    front: "/v1/responses",
    path: "/v1/responses",
    body: { model: "auto", stream: true, input: "Say hello" },
    keepAlive: ": keep-alive\n\n",
  },
];

for (const { front, path, body, keepAlive } of KEEPALIVE_FRONTS) {
  Deno.test(`a ${front} stream sends its keep-alives while the continuation is sought, then the continuation`, async () => {
    await using r = rig({ strategy: "priority", streamIdleTimeout: 0.2 });
    r.fake.script(A, breaking());
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const ok = streamOk(B, ["ld", "!"]);
    // The continuation answers only once the client has seen two keep-alives.
    r.fake.script(B, { stream: { ...ok, parts: [() => held, ...ok.parts] } });
    const res = await r.request(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200);
    const seen = (text: string) => text.split(keepAlive).length - 1;
    const { before, text } = await readAcross(
      res,
      (t) => seen(t) >= 2,
      release,
    );
    assert.ok(!before.includes("ld"), "the continuation came first");
    assert.match(text, /"ld"/);
    // No front's error event: chat's error data, Anthropic's, Responses'.
    assert.doesNotMatch(text, /data: \{"error"|event: error|response\.failed/);
    assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B]);
  });
}

for (const { front, path, body, keepAlive } of KEEPALIVE_FRONTS.slice(1)) {
  Deno.test(`a ${front} stream turns the upstream's keep-alive comments after commit into its own keep-alive`, async () => {
    await using r = rig({ strategy: "priority" });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    r.fake.script(A, {
      stream: {
        parts: [
          chunk(A, { role: "assistant", content: "" }),
          chunk(A, "Hel"),
          PROCESSING,
          () => held,
          chunk(A, "lo", "stop"),
          DONE,
        ],
      },
    });
    const res = await r.request(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const { text } = await readAcross(
      res,
      (t) => t.includes(keepAlive),
      release,
    );
    assert.ok(text.indexOf(keepAlive) < text.indexOf('"lo"'), text);
  });
}

Deno.test("a stream sends its first keep-alive as soon as the continuation is sought, not one interval later", async () => {
  // A 60 s idle timeout: the next keep-alive would be 10 s away.
  await using r = rig({ strategy: "priority", streamIdleTimeout: 60 });
  r.fake.script(A, breaking());
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const ok = streamOk(B, ["ld", "!"]);
  r.fake.script(B, { stream: { ...ok, parts: [() => held, ...ok.parts] } });
  const res = await r.chat({
    model: "auto",
    stream: true,
    messages: [{ role: "user", content: "Say hello" }],
  });
  const { before } = await readAcross(
    res,
    (t) => t.includes(": resuming\n\n"),
    release,
  );
  assert.ok(before.includes("wor"), "the keep-alive came before the text");
});
