/**
 * OpenAI wire types used in freerouter's public signatures. They are kept
 * deliberately open (`[key: string]: unknown`): freerouter forwards every field
 * it does not need to understand.
 *
 * @module
 */

/**
 * One chat message, as the OpenAI chat completions API takes it.
 *
 * @example Build a message
 * ```ts
 * import type { ChatMessage } from "@freerouter/freerouter";
 * const message: ChatMessage = { role: "user", content: "Hello" };
 * ```
 */
export interface ChatMessage {
  /** `system`, `user`, `assistant`, `tool` or `developer`. */
  role: string;
  /** Text, or an array of content parts (text, image_url, input_audio, file). */
  content?: unknown;
  /** Any other field (`name`, `tool_calls`, `tool_call_id`, …) passes through. */
  [key: string]: unknown;
}

/**
 * A message as `FreeRouterClient`'s methods take it: a
 * {@link ChatMessage}, or any typed message with a `role`, such as the
 * OpenAI SDK's `ChatCompletionMessageParam` (freerouter reads messages and
 * never changes them, so read-only arrays are fine too).
 *
 * @example Pass a typed, read-only history
 * ```ts
 * import type { ChatMessageInput } from "@freerouter/freerouter";
 * interface UserMessage { role: "user"; content: string }
 * const history: readonly ChatMessageInput[] = [
 *   { role: "user", content: "Hello" } satisfies UserMessage,
 * ];
 * ```
 */
export type ChatMessageInput = ChatMessage | { readonly role: string };

/**
 * A request body as `FreeRouterClient.streamRaw()` takes it: a
 * {@link ChatCompletionRequest}, or a typed one such as the OpenAI SDK's
 * `ChatCompletionCreateParamsStreaming`.
 *
 * @example A typed request body
 * ```ts
 * import type { ChatRequestInput } from "@freerouter/freerouter";
 * const body: ChatRequestInput = {
 *   model: "auto",
 *   messages: [{ role: "user", content: "Hello" }],
 * };
 * ```
 */
export type ChatRequestInput = ChatCompletionRequest | {
  readonly model?: string | null;
  readonly messages: readonly ChatMessageInput[];
  readonly stream?: boolean | null;
};

/**
 * A chat completion request body. `model` may be `"auto"`, a free model id, or
 * left out; every other field is forwarded to OpenRouter unchanged.
 *
 * @example A request body
 * ```ts
 * import type { ChatCompletionRequest } from "@freerouter/freerouter";
 * const body: ChatCompletionRequest = {
 *   model: "auto",
 *   messages: [{ role: "user", content: "Hello" }],
 *   temperature: 0.2,
 * };
 * ```
 */
export interface ChatCompletionRequest {
  /** `"auto"`, a free model id, or absent. */
  model?: string;
  /** The conversation; at least one message. */
  messages: ChatMessage[];
  /** `true` for a server-sent-event stream. */
  stream?: boolean;
  /** Every other OpenAI or OpenRouter field passes through. */
  [key: string]: unknown;
}

/**
 * A non-streaming chat completion, as OpenRouter returns it. `model` names the
 * model that actually answered.
 *
 * @example Read the answer
 * ```ts
 * import type { ChatCompletion } from "@freerouter/freerouter";
 * function answer(completion: ChatCompletion): string {
 *   return String(completion.choices[0]?.message.content ?? "");
 * }
 * ```
 */
export interface ChatCompletion {
  /** Generation id, e.g. `gen-1749786578-C9jjzwQ49OLsqeIAsD6e`. */
  id: string;
  /** Always `chat.completion`. */
  object: string;
  /** Unix seconds. */
  created: number;
  /** The model that answered. */
  model: string;
  /** The answers; usually one. */
  choices: Array<{
    index: number;
    message: { role: string; content: string | null; [key: string]: unknown };
    finish_reason: string | null;
    [key: string]: unknown;
  }>;
  /** Token usage, when the upstream reports it. */
  usage?: Record<string, unknown>;
  /** Any other field (`provider`, `system_fingerprint`, …). */
  [key: string]: unknown;
}

/**
 * One parsed chunk of a streamed chat completion.
 *
 * @example Collect the streamed text
 * ```ts
 * import type { ChatCompletionChunk } from "@freerouter/freerouter";
 * function text(chunks: ChatCompletionChunk[]): string {
 *   return chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
 * }
 * ```
 */
export interface ChatCompletionChunk {
  /** Generation id, repeated on every chunk. */
  id: string;
  /** Always `chat.completion.chunk`. */
  object: string;
  /** Unix seconds. */
  created: number;
  /** The model that is answering. */
  model: string;
  /** Deltas; empty on the final usage chunk. */
  choices: Array<{
    index: number;
    delta: { role?: string; content?: string | null; [key: string]: unknown };
    finish_reason: string | null;
    [key: string]: unknown;
  }>;
  /** Token usage, on the last chunk. */
  usage?: Record<string, unknown>;
  /** Any other field. */
  [key: string]: unknown;
}

/**
 * A routable free model: one entry of OpenRouter's catalog that passed the
 * free-pool rules, reduced to what routing and clients need. The benchmark
 * indices are present only when the catalog carries them (objects built by
 * hand may leave them out); freerouter estimates a score for models without
 * them.
 *
 * @example List ids and context sizes
 * ```ts
 * import type { FreeModel } from "@freerouter/freerouter";
 * function describe(models: readonly FreeModel[]): string[] {
 *   return models.map((m) => `${m.id} (${m.context_length} tokens)`);
 * }
 * ```
 */
export interface FreeModel {
  /** OpenRouter model id, e.g. `qwen/qwen3-coder:free`. */
  id: string;
  /** Display name. */
  name: string;
  /** Unix seconds when OpenRouter added the model (0 when unknown). */
  created: number;
  /** Author part of the id, e.g. `qwen`. */
  owned_by: string;
  /** Context window in tokens. */
  context_length: number;
  /** Most completion tokens the top provider allows, or `null` when unknown. */
  max_completion_tokens: number | null;
  /** Request parameters the model supports, or `null` when the catalog does not say. */
  supported_parameters: readonly string[] | null;
  /** Input modalities, e.g. `["text", "image"]`. */
  input_modalities: readonly string[];
  /** Date the free variant ends (`YYYY-MM-DD`), or `null`. */
  expiration_date: string | null;
  /**
   * Artificial Analysis intelligence index from the catalog's
   * `benchmarks.artificial_analysis`, when the catalog gives one (absent
   * otherwise). freerouter's `auto` ranks by it.
   */
  intelligence_index?: number;
  /** Artificial Analysis coding index, when given (`auto:coding` ranks by it). */
  coding_index?: number;
  /** Artificial Analysis agentic index, when given (`auto:agentic` ranks by it). */
  agentic_index?: number;
}
