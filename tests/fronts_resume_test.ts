/**
 * The agent fronts over a resumed stream: a break after commit continues on
 * the next model inside the same stream (stream_guard.ts), and the front
 * translates the continuation's rewritten chunks as part of one answer.
 */
import assert from "node:assert/strict";
import { within } from "./_async.ts";
import { anthropicSdk, openaiSdk } from "./_agent_fronts.ts";
import { rig } from "./_harness.ts";
import {
  chunk,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
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
