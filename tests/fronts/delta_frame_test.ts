/**
 * The fronts' fast delta frames (`head + JSON.stringify(delta) + tail`) are
 * byte for byte `JSON.stringify` of the SDK-typed event, whatever the text.
 */
import assert from "node:assert/strict";
import type {
  RawContentBlockDeltaEvent,
  RawMessageStreamEvent,
} from "@anthropic-ai/sdk/resources/messages";
import type {
  Response,
  ResponseCreatedEvent,
  ResponseFunctionCallArgumentsDeltaEvent,
  ResponseInProgressEvent,
  ResponseReasoningSummaryTextDeltaEvent,
  ResponseStreamEvent,
  ResponseTextDeltaEvent,
} from "openai/resources/responses/responses";
import { HOLE, splitAtHole } from "../../src/fronts/delta_frame.ts";
import { blockDeltaFrame } from "../../src/fronts/anthropic/stream_frame.ts";
import { EventWriter } from "../../src/fronts/responses/stream_writer.ts";
import { counterIds } from "./responses_helpers.ts";

/** Texts that JSON escapes, or that look like the template's own parts. */
const AWKWARD = [
  "",
  "plain",
  'say "hi"',
  "two\nlines\r\nand\ttab",
  "back\\slash",
  "é, 漢字, 😀, and a lone \ud800 surrogate",
  "</script><script>alert(1)</script>",
  "\u2028\u2029",
  HOLE,
  `${HOLE}${HOLE}`,
  '"}}\n\n',
  '\\u0000","index":9',
];

function anthropicFrame(event: RawMessageStreamEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

function responsesFrame(event: ResponseStreamEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

Deno.test("splitAtHole() splits a template so that any string fills the hole as JSON.stringify would", () => {
  const [head, tail] = splitAtHole(
    JSON.stringify({ before: HOLE, at: HOLE, after: [1, null] }),
  );
  for (const text of AWKWARD) {
    assert.equal(
      head + JSON.stringify(text) + tail,
      JSON.stringify({ before: HOLE, at: text, after: [1, null] }),
    );
  }
  assert.throws(() => splitAtHole("{}"), TypeError);
});

Deno.test("blockDeltaFrame() gives the content_block_delta frame of text, thinking and tool-argument deltas", () => {
  for (const index of [0, 7]) {
    for (const text of AWKWARD) {
      const expected: RawContentBlockDeltaEvent[] = [
        {
          type: "content_block_delta",
          index,
          delta: { type: "text_delta", text },
        },
        {
          type: "content_block_delta",
          index,
          delta: { type: "thinking_delta", thinking: text },
        },
        {
          type: "content_block_delta",
          index,
          delta: { type: "input_json_delta", partial_json: text },
        },
      ];
      for (const event of expected) {
        const [head, tail] = blockDeltaFrame(index, event.delta.type as never);
        assert.equal(
          head + JSON.stringify(text) + tail,
          anthropicFrame(event),
          `${event.delta.type} ${JSON.stringify(text)}`,
        );
      }
    }
  }
});

Deno.test("EventWriter.deltas() frames each delta as emit() would, numbered in turn with the other events", () => {
  const out = new EventWriter(counterIds());
  const text = out.deltas({
    type: "response.output_text.delta",
    item_id: "msg_1",
    output_index: 0,
    content_index: 0,
    delta: "ignored",
    logprobs: [],
  });
  const reasoning = out.deltas({
    type: "response.reasoning_summary_text.delta",
    item_id: "rs_\u0000",
    output_index: 1,
    summary_index: 0,
    delta: "",
  });
  const args = out.deltas({
    type: "response.function_call_arguments.delta",
    item_id: 'fc_"2"',
    output_index: 2,
    delta: "",
  });
  let seq = 0;
  for (const delta of AWKWARD) {
    const textEvent: ResponseTextDeltaEvent = {
      type: "response.output_text.delta",
      sequence_number: seq++,
      item_id: "msg_1",
      output_index: 0,
      content_index: 0,
      delta,
      logprobs: [],
    };
    assert.equal(text(delta), responsesFrame(textEvent));
    const reasoningEvent: ResponseReasoningSummaryTextDeltaEvent = {
      type: "response.reasoning_summary_text.delta",
      sequence_number: seq++,
      item_id: "rs_\u0000",
      output_index: 1,
      summary_index: 0,
      delta,
    };
    assert.equal(reasoning(delta), responsesFrame(reasoningEvent));
    const argsEvent: ResponseFunctionCallArgumentsDeltaEvent = {
      type: "response.function_call_arguments.delta",
      sequence_number: seq++,
      item_id: 'fc_"2"',
      output_index: 2,
      delta,
    };
    assert.equal(args(delta), responsesFrame(argsEvent));
  }
  // emit() goes on from the last delta's number.
  assert.match(
    out.emit({ type: "response.output_text.done" } as never),
    new RegExp(`"sequence_number":${seq}[,}]`),
  );
});

Deno.test("EventWriter.opening() gives response.created and response.in_progress as emit() would", () => {
  const response = {
    id: "resp_1",
    object: "response",
    status: "in_progress",
    instructions: 'be "brief"\n</script>',
    output: [],
    tools: [{ type: "function", name: "é", parameters: {}, strict: null }],
  } as unknown as Response;
  const out = new EventWriter(counterIds());
  out.emit({ type: "response.output_text.done" } as never); // number 0
  const created: ResponseCreatedEvent = {
    type: "response.created",
    sequence_number: 1,
    response,
  };
  const inProgress: ResponseInProgressEvent = {
    type: "response.in_progress",
    sequence_number: 2,
    response,
  };
  assert.equal(
    out.opening(response),
    responsesFrame(created) + responsesFrame(inProgress),
  );
});
