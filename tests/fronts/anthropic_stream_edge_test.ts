import assert from "node:assert/strict";
import { MessagesStream } from "../../src/fronts/anthropic/stream.ts";
import { chunk, parseSse } from "./anthropic_helpers.ts";

Deno.test("MessagesStream tells tool calls without an index apart by their ids", () => {
  const stream = new MessagesStream({ id: "msg_1", model: "m" });
  let sse = stream.start();
  for (
    const call of [
      { id: "a", function: { name: "A", arguments: '{"x":' } },
      { function: { arguments: "1}" } },
      { id: "b", function: { name: "B", arguments: "{}" } },
      { id: "b", function: { arguments: "" } },
    ]
  ) sse += stream.push(chunk({ tool_calls: [call] }));
  sse += stream.finish();
  const blocks = parseSse(sse).map((e) => e.data).filter((d) =>
    d.type.startsWith("content_block")
  ).map((d) =>
    d.type === "content_block_start"
      ? `start ${d.index} ${d.content_block.id}`
      : d.type === "content_block_delta"
      ? `delta ${d.index} ${d.delta.partial_json}`
      : `stop ${d.index}`
  );
  assert.deepEqual(blocks, [
    "start 0 a",
    'delta 0 {"x":',
    "delta 0 1}",
    "stop 0",
    "start 1 b",
    "delta 1 {}",
    "stop 1",
  ]);
});

Deno.test("MessagesStream.fail() before any content is one error event", () => {
  const stream = new MessagesStream({ id: "msg_1", model: "m" });
  assert.deepEqual(parseSse(stream.fail("no model answered")), [{
    event: "error",
    data: {
      type: "error",
      error: { type: "api_error", message: "no model answered" },
    },
  }]);
  assert.equal(stream.start(), "");
});
