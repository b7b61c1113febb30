/**
 * The official SDK reads what the translators produce: its client is given a
 * fetch that answers with the translators' output (no network, no server).
 */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import { MessagesStream } from "../../src/fronts/anthropic/stream.ts";
import { fromChatCompletion } from "../../src/fronts/anthropic/response.ts";
import type { ChatCompletionChunk } from "../../src/types.ts";
import { chunk, toolDelta, usageChunk } from "./anthropic_helpers.ts";

function client(body: string, contentType: string): Anthropic {
  return new Anthropic({
    apiKey: "test",
    maxRetries: 0,
    fetch: () =>
      Promise.resolve(
        new Response(body, {
          status: 200,
          headers: { "content-type": contentType },
        }),
      ),
  });
}

function sse(chunks: ChatCompletionChunk[], thinking = false): string {
  const stream = new MessagesStream({
    id: "msg_sdk",
    model: "m:free",
    inputTokens: 5,
    thinking,
  });
  let text = stream.start() + stream.keepAlive();
  for (const c of chunks) text += stream.push(c);
  return text + stream.finish();
}

const params = {
  model: "auto",
  max_tokens: 100,
  messages: [{ role: "user" as const, content: "hi" }],
};

Deno.test("the SDK's messages.stream() assembles text, thinking and tool calls from MessagesStream", async () => {
  const body = sse([
    chunk({ role: "assistant", reasoning: "Plan." }),
    chunk({ content: "I will run " }),
    chunk({ content: "two commands." }),
    chunk({
      tool_calls: [
        toolDelta(0, { id: "call_a", name: "Bash", args: '{"command"' }),
      ],
    }),
    chunk({ tool_calls: [toolDelta(0, { args: ':"ls"}' })] }),
    chunk({
      tool_calls: [toolDelta(1, { id: "call_b", name: "Bash", args: "{}" })],
    }),
    chunk({}, "tool_calls"),
    usageChunk(50, 9),
  ], true);
  const message = await client(body, "text/event-stream").messages
    .stream(params).finalMessage();
  assert.equal(message.id, "msg_sdk");
  assert.equal(message.model, "m:free");
  assert.deepEqual(message.content.map((b) => b.type), [
    "thinking",
    "text",
    "tool_use",
    "tool_use",
  ]);
  const [thinking, text, first, second] = message.content;
  assert.equal(thinking?.type === "thinking" && thinking.thinking, "Plan.");
  assert.equal(
    text?.type === "text" && text.text,
    "I will run two commands.",
  );
  assert.ok(first?.type === "tool_use" && second?.type === "tool_use");
  assert.deepEqual([first.id, first.name, first.input], [
    "call_a",
    "Bash",
    { command: "ls" },
  ]);
  assert.deepEqual([second.id, second.input], ["call_b", {}]);
  assert.equal(message.stop_reason, "tool_use");
  assert.equal(message.usage.input_tokens, 50);
  assert.equal(message.usage.output_tokens, 9);
});

Deno.test("the SDK raises the error event of MessagesStream.fail() as an APIError", async () => {
  const stream = new MessagesStream({ id: "msg_1", model: "m" });
  const body = stream.start() + stream.push(chunk({ content: "part" })) +
    stream.fail("Overloaded", 529);
  const events = await client(body, "text/event-stream").messages.create({
    ...params,
    stream: true,
  });
  const seen: string[] = [];
  await assert.rejects(
    async () => {
      for await (const event of events) seen.push(event.type);
    },
    (err: unknown) => {
      assert.ok(err instanceof Anthropic.APIError);
      assert.equal(
        (err.error as { error: { type: string } }).error.type,
        "overloaded_error",
      );
      return true;
    },
  );
  assert.deepEqual(seen, [
    "message_start",
    "content_block_start",
    "content_block_delta",
  ]);
});

Deno.test("the SDK's messages.create() reads fromChatCompletion()'s Message", async () => {
  const message = fromChatCompletion({
    id: "gen-1",
    object: "chat.completion",
    created: 1,
    model: "m:free",
    choices: [{
      index: 0,
      message: {
        role: "assistant",
        content: "Sure.",
        tool_calls: [{
          id: "call_1",
          type: "function",
          function: { name: "Bash", arguments: '{"command":"pwd"}' },
        }],
      },
      finish_reason: "tool_calls",
    }],
    usage: { prompt_tokens: 3, completion_tokens: 4 },
  }, { id: "msg_x" });
  const read = await client(JSON.stringify(message), "application/json")
    .messages.create(params);
  assert.deepEqual(read, message);
  assert.equal(read.stop_reason, "tool_use");
});
