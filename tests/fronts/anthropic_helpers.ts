/** Helpers shared by the Anthropic front's tests. */
import assert from "node:assert/strict";
import type { ChatCompletionChunk } from "../../src/types.ts";
import {
  type MessagesRequest,
  parseMessagesRequest,
  toChatRequest,
  type ToChatResult,
} from "../../src/fronts/anthropic/request.ts";

/** Parses a Messages request body that must be valid. */
export function valid(body: unknown): MessagesRequest {
  const parsed = parseMessagesRequest(body);
  if (!parsed.ok) assert.fail(`unexpected rejection: ${parsed.message}`);
  return parsed.request;
}

/** Translates a body (with `model: "auto"` and `max_tokens: 100`) that must be valid. */
export function translate(body: Record<string, unknown>): ToChatResult {
  return toChatRequest(valid({ model: "auto", max_tokens: 100, ...body }));
}

/** The rejection of a body that must be invalid. */
export function rejection(body: unknown): { message: string; param?: string } {
  const parsed = parseMessagesRequest(body);
  if (parsed.ok) assert.fail("expected a rejection");
  return { message: parsed.message, param: parsed.param };
}

/** One parsed SSE event: its `event:` name and its `data:` JSON. */
export interface SseEvent {
  event: string;
  // deno-lint-ignore no-explicit-any
  data: any;
}

/**
 * Parses SSE text that must be a sequence of `event: <type>\ndata: <json>\n\n`
 * frames, each `type` equal to the data's `type`.
 */
export function parseSse(text: string): SseEvent[] {
  if (text === "") return [];
  assert.ok(text.endsWith("\n\n"), `SSE text must end with a blank line`);
  return text.slice(0, -2).split("\n\n").map((frame) => {
    const match = /^event: ([a-z_]+)\ndata: (.*)$/.exec(frame);
    assert.ok(match, `malformed frame: ${JSON.stringify(frame)}`);
    const data = JSON.parse(match[2]!);
    assert.equal(data.type, match[1], "event name and data type differ");
    return { event: match[1]!, data };
  });
}

/** The event names of SSE text, in order. */
export function names(text: string): string[] {
  return parseSse(text).map((e) => e.event);
}

/** A chat completion chunk with one choice (or none when `delta` is null). */
export function chunk(
  delta: Record<string, unknown> | null,
  finish: string | null = null,
  extra: Record<string, unknown> = {},
): ChatCompletionChunk {
  return {
    id: "gen-1",
    object: "chat.completion.chunk",
    created: 1,
    model: "up/model:free",
    choices: delta === null
      ? []
      : [{ index: 0, delta, finish_reason: finish, ...extra }],
  };
}

/** A usage-only chunk, as OpenRouter sends last. */
export function usageChunk(
  prompt: number,
  completion: number,
): ChatCompletionChunk {
  return {
    ...chunk(null),
    usage: {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
    },
  };
}

/** A tool call delta. */
export function toolDelta(
  index: number,
  fields: { id?: string; name?: string; args?: string },
): Record<string, unknown> {
  const fn: Record<string, unknown> = {};
  if (fields.name !== undefined) fn.name = fields.name;
  if (fields.args !== undefined) fn.arguments = fields.args;
  const call: Record<string, unknown> = { index, function: fn };
  if (fields.id !== undefined) {
    call.id = fields.id;
    call.type = "function";
  }
  return call;
}
