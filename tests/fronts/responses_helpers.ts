/**
 * Helpers for the Responses front's tests: chat chunk builders, an SSE
 * reader that checks the framing, and a counter-based `newId`.
 */
import assert from "node:assert/strict";
import { accumulateResponse } from "openai/lib/responses/ResponseAccumulator";
import type {
  Response,
  ResponseStreamEvent,
} from "openai/resources/responses/responses";
import type { ChatCompletionChunk } from "../../src/types.ts";
import {
  parseResponsesRequest,
  type ResponsesRequest,
  toChatRequest,
  type ToChatResult,
} from "../../src/fronts/responses/request.ts";
import { ResponsesStream } from "../../src/fronts/responses/stream.ts";

/** A `newId` giving `<prefix>_1`, `<prefix>_2`, … (one counter for all). */
export function counterIds(): (prefix: string) => string {
  let n = 0;
  return (prefix) => `${prefix}_${++n}`;
}

/** A chunk with one choice. */
export function chunk(
  delta: Record<string, unknown>,
  finishReason: string | null = null,
  model = "upstream/model:free",
): ChatCompletionChunk {
  return {
    id: "gen-1",
    object: "chat.completion.chunk",
    created: 1700000000,
    model,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  };
}

/** The usage-only chunk OpenRouter sends last. */
export function usageChunk(
  usage: Record<string, unknown>,
): ChatCompletionChunk {
  return {
    id: "gen-1",
    object: "chat.completion.chunk",
    created: 1700000000,
    model: "upstream/model:free",
    choices: [],
    usage,
  };
}

/** A tool-call delta. */
export function toolDelta(
  index: number,
  fields: { id?: string; name?: string; args?: string },
): Record<string, unknown> {
  const fn: Record<string, unknown> = {};
  if (fields.name !== undefined) fn.name = fields.name;
  if (fields.args !== undefined) fn.arguments = fields.args;
  return {
    tool_calls: [{
      index,
      ...(fields.id === undefined ? {} : { id: fields.id, type: "function" }),
      function: fn,
    }],
  };
}

/**
 * The events of an SSE text. Asserts each frame is exactly `event: <type>\n
 * data: <json>\n\n` with the same type in both places.
 */
export function parseSse(sse: string): ResponseStreamEvent[] {
  if (sse === "") return [];
  assert.ok(sse.endsWith("\n\n"), "the text ends with a blank line");
  const events: ResponseStreamEvent[] = [];
  for (const frame of sse.slice(0, -2).split("\n\n")) {
    const lines = frame.split("\n");
    assert.equal(lines.length, 2, `two lines per frame: ${frame}`);
    const [eventLine, dataLine] = lines as [string, string];
    assert.ok(eventLine.startsWith("event: "), eventLine);
    assert.ok(dataLine.startsWith("data: "), dataLine);
    const event = JSON.parse(dataLine.slice(6)) as ResponseStreamEvent;
    assert.equal(eventLine.slice(7), event.type);
    events.push(event);
  }
  return events;
}

/** Asserts sequence numbers run 0, 1, 2, … over `events`. */
export function assertSequence(events: readonly ResponseStreamEvent[]): void {
  assert.deepEqual(
    events.map((e) => e.sequence_number),
    events.map((_, i) => i),
  );
}

/** A validated request, or a failed assertion. */
export function parsed(body: Record<string, unknown>): ResponsesRequest {
  const result = parseResponsesRequest(body);
  if (!result.ok) assert.fail(`${result.param}: ${result.message}`);
  return result.request;
}

/** A stream over `body` with counter ids, plus the translation. */
export function streamFor(
  body: Record<string, unknown>,
): { stream: ResponsesStream; chat: ToChatResult; request: ResponsesRequest } {
  const request = parsed(body);
  const chat = toChatRequest(request);
  const stream = new ResponsesStream({
    id: "resp_test",
    model: "first/model:free",
    createdAt: 1700000001,
    request,
    tools: chat.tools,
    newId: counterIds(),
  });
  return { stream, chat, request };
}

/** Runs a whole stream: start, every chunk, finish; returns all events. */
export function run(
  stream: ResponsesStream,
  chunks: readonly ChatCompletionChunk[],
): ResponseStreamEvent[] {
  let sse = stream.start();
  for (const c of chunks) sse += stream.push(c);
  sse += stream.finish();
  return parseSse(sse);
}

/** Narrows an event to its type, or fails. */
export function as<T extends ResponseStreamEvent["type"]>(
  event: ResponseStreamEvent | undefined,
  type: T,
): Extract<ResponseStreamEvent, { type: T }> {
  assert.equal(event?.type, type);
  return event as Extract<ResponseStreamEvent, { type: T }>;
}

/** Tools of every kind: function, custom, namespace, hosted. */
export const TOOLS = [
  {
    type: "function",
    name: "exec_command",
    parameters: { type: "object" },
    strict: false,
  },
  { type: "custom", name: "apply_patch", description: "Edit files" },
  {
    type: "namespace",
    name: "crm",
    description: "CRM",
    tools: [{ type: "function", name: "lookup" }],
  },
  { type: "web_search" },
];

/** A chat usage object with cached and reasoning tokens. */
export const USAGE = {
  prompt_tokens: 10,
  completion_tokens: 6,
  total_tokens: 16,
  prompt_tokens_details: { cached_tokens: 2 },
  completion_tokens_details: { reasoning_tokens: 1 },
};

/** The events' types. */
export function types(events: readonly ResponseStreamEvent[]): string[] {
  return events.map((e) => e.type);
}

/** The final event's response. */
export function final(events: readonly ResponseStreamEvent[]): Response {
  const last = events.at(-1);
  assert.ok(
    last?.type === "response.completed" ||
      last?.type === "response.incomplete" ||
      last?.type === "response.failed",
  );
  return last.response;
}

/** Replays `events` through the SDK's own accumulator. */
export function accumulate(events: readonly ResponseStreamEvent[]): Response {
  let snapshot: Response | undefined;
  for (const event of events) snapshot = accumulateResponse(event, snapshot);
  assert.ok(snapshot);
  return snapshot;
}
