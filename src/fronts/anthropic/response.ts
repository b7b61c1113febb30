/**
 * Chat completion → Anthropic `Message`.
 *
 * - `content`: a `thinking` block with the upstream's `message.reasoning`
 *   (only when the request asked for thinking; its `signature` is empty), a
 *   `text` block with the text and the model's `refusal` (left out when both
 *   are empty or null: a refusal is the model's answer, and the next turn
 *   sends it back as the assistant's content), then one
 *   `tool_use` block per tool call, `input` parsed from the arguments' JSON.
 *   Arguments that are empty, not JSON, or not a JSON object give `{}`: the
 *   client's tool then reports the missing parameters to the model.
 * - `stop_reason`: `stop` → `end_turn`, `length` → `max_tokens`, `tool_calls`
 *   → `tool_use`, `content_filter` → `refusal`; anything else → `end_turn`.
 *   A `stop` with tool calls in the answer is `tool_use` (some providers say
 *   `stop` there). A `stop` is `stop_sequence` when the request had stop
 *   sequences and the upstream says which one matched (see
 *   {@link stopReasonOf}).
 * - `usage`: `completion_tokens` → `output_tokens`; the prompt's cached
 *   tokens (`prompt_tokens_details.cached_tokens`) → `cache_read_input_tokens`
 *   and its cache-write tokens → `cache_creation_input_tokens`, and
 *   `input_tokens` the rest of `prompt_tokens`, as Anthropic counts them
 *   (see {@link usageOf}).
 *
 * @module
 */
import type {
  ContentBlock,
  Message,
  StopReason,
  Usage,
} from "@anthropic-ai/sdk/resources/messages";
import type { ChatCompletion } from "../../types.ts";

/** What {@link fromChatCompletion} needs besides the completion. */
export interface FromCompletionContext {
  /** The message id, `msg_…`. */
  id: string;
  /** The request asked for thinking: keep the upstream's reasoning. */
  thinking?: boolean;
  /** The request's `stop_sequences`. */
  stopSequences?: readonly string[] | null;
}

/** A stop reason and the stop sequence that matched, if any. */
export interface StopInfo {
  /** Anthropic's stop reason. */
  stop_reason: StopReason;
  /** The stop sequence that matched, when `stop_reason` is `stop_sequence`. */
  stop_sequence: string | null;
}

/**
 * The Anthropic stop reason of a chat `finish_reason`. `choice` is the
 * choice (or chunk choice) that carried it: a `stop` becomes `stop_sequence`
 * when its `stop_reason` or `native_finish_reason` is one of
 * `stopSequences`, or when `native_finish_reason` is `stop_sequence` and the
 * request had exactly one. `hasToolCalls` turns a `stop` into `tool_use`.
 */
export function stopReasonOf(
  finish: string | null | undefined,
  choice: Readonly<Record<string, unknown>> | undefined,
  stopSequences: readonly string[] | null | undefined,
  hasToolCalls = false,
): StopInfo {
  switch (finish) {
    case "length":
      return { stop_reason: "max_tokens", stop_sequence: null };
    case "tool_calls":
    case "function_call":
      return { stop_reason: "tool_use", stop_sequence: null };
    case "content_filter":
      return { stop_reason: "refusal", stop_sequence: null };
  }
  if (hasToolCalls) return { stop_reason: "tool_use", stop_sequence: null };
  if (finish === "stop" && stopSequences?.length && choice) {
    for (const reported of [choice.stop_reason, choice.native_finish_reason]) {
      if (typeof reported === "string" && stopSequences.includes(reported)) {
        return { stop_reason: "stop_sequence", stop_sequence: reported };
      }
    }
    if (
      choice.native_finish_reason === "stop_sequence" &&
      stopSequences.length === 1
    ) {
      return { stop_reason: "stop_sequence", stop_sequence: stopSequences[0]! };
    }
  }
  return { stop_reason: "end_turn", stop_sequence: null };
}

/** A token count from an upstream usage field, 0 when absent. */
export function tokens(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

/** The prompt tokens an upstream usage says were read from and written to a cache. */
export interface CacheCounts {
  read: number;
  write: number;
}

/** The cache counts of an upstream usage (`prompt_tokens_details`), 0 when absent. */
export function cacheCounts(usage: unknown): CacheCounts {
  const details = (usage as { prompt_tokens_details?: unknown } | undefined)
    ?.prompt_tokens_details as
      | { cached_tokens?: unknown; cache_write_tokens?: unknown }
      | null
      | undefined;
  return {
    read: tokens(details?.cached_tokens),
    write: tokens(details?.cache_write_tokens),
  };
}

/**
 * Anthropic's input tokens for `prompt` upstream prompt tokens: those the
 * cache read or wrote are counted apart, so they are not counted here.
 */
export function uncachedInput(prompt: number, cache: CacheCounts): number {
  return Math.max(0, prompt - cache.read - cache.write);
}

/** Anthropic usage with the given counts (`input` the upstream's prompt tokens). */
export function usageOf(
  input: number,
  output: number,
  cache: CacheCounts = { read: 0, write: 0 },
): Usage {
  return {
    input_tokens: uncachedInput(input, cache),
    output_tokens: output,
    cache_creation_input_tokens: cache.write,
    cache_read_input_tokens: cache.read,
    cache_creation: null,
    inference_geo: null,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: null,
    speed: null,
  };
}

/** A tool call's arguments as an object; `{}` when they are not one. */
export function parseToolInput(args: unknown): Record<string, unknown> {
  if (typeof args === "object" && args !== null && !Array.isArray(args)) {
    return args as Record<string, unknown>;
  }
  if (typeof args !== "string" || args.trim() === "") return {};
  try {
    const value: unknown = JSON.parse(args);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? value as Record<string, unknown>
      : {};
  } catch {
    return {};
  }
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let text = "";
  for (const part of content) {
    if (typeof part?.text === "string") text += part.text;
  }
  return text;
}

interface ChatToolCall {
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown };
}

/**
 * Translates a non-streaming chat completion (see the module doc). `model`
 * is the model that answered.
 *
 * @example
 * ```ts
 * import { fromChatCompletion } from "./response.ts";
 * const message = fromChatCompletion({
 *   id: "gen-1",
 *   object: "chat.completion",
 *   created: 0,
 *   model: "qwen/qwen3-coder:free",
 *   choices: [{
 *     index: 0,
 *     message: { role: "assistant", content: "Hi" },
 *     finish_reason: "stop",
 *   }],
 * }, { id: "msg_1" });
 * console.log(message.content, message.stop_reason);
 * ```
 */
export function fromChatCompletion(
  completion: ChatCompletion,
  ctx: FromCompletionContext,
): Message {
  const choice = completion.choices?.[0];
  const message = choice?.message;
  const content: ContentBlock[] = [];
  if (
    ctx.thinking && typeof message?.reasoning === "string" && message.reasoning
  ) {
    content.push({
      type: "thinking",
      thinking: message.reasoning,
      signature: "",
    });
  }
  const refusal = typeof message?.refusal === "string" ? message.refusal : "";
  const text = textOf(message?.content) + refusal;
  if (text) content.push({ type: "text", text, citations: null });
  const calls = Array.isArray(message?.tool_calls)
    ? message.tool_calls as ChatToolCall[]
    : [];
  calls.forEach((call, i) => {
    content.push({
      type: "tool_use",
      id: typeof call.id === "string" && call.id
        ? call.id
        : `toolu_${ctx.id.replace(/^msg_/, "")}_${i}`,
      name: typeof call.function?.name === "string" ? call.function.name : "",
      input: parseToolInput(call.function?.arguments),
      caller: { type: "direct" },
    });
  });
  const stop = stopReasonOf(
    choice?.finish_reason,
    choice,
    ctx.stopSequences,
    calls.length > 0,
  );
  const usage = completion.usage;
  return {
    id: ctx.id,
    type: "message",
    role: "assistant",
    model: completion.model,
    content,
    stop_reason: stop.stop_reason,
    stop_sequence: stop.stop_sequence,
    usage: usageOf(
      tokens(usage?.prompt_tokens),
      tokens(usage?.completion_tokens),
      cacheCounts(usage),
    ),
    container: null,
    diagnostics: null,
    stop_details: null,
  };
}
