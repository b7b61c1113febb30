/**
 * Server-sent-event builders of the fake OpenRouter's streams.
 *
 * OpenRouter streams `data: <json>\n\n` events ended by `data: [DONE]`, and
 * sends `: OPENROUTER PROCESSING` comments to keep the connection open. Every
 * chunk repeats the generation's `id`, `provider` and `model`; the usage comes
 * last, in a chunk with `choices: []`. Errors after the first byte arrive as
 * a data event with an `error` field
 * (https://openrouter.ai/docs/api/reference/streaming).
 *
 * @module
 */
import {
  generationId,
  nextUtcMidnightMs,
  providerFor,
  rateLimitHeaders,
  unixNow,
  USER_ID,
} from "./common.ts";
import {
  type GenerationMeta,
  type StreamScript,
  usageObject,
} from "./steps.ts";

/** `data: [DONE]` terminator. */
export const DONE = "data: [DONE]\n\n";
/** OpenRouter's SSE keep-alive comment. */
export const PROCESSING = ": OPENROUTER PROCESSING\n\n";

/** Frames a JSON value as one SSE data event. */
export function sseData(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

/**
 * One framed `chat.completion.chunk` event. A string delta means
 * `{content: delta}`; pass an object for role/reasoning/tool_calls deltas.
 */
export function chunk(
  model: string,
  delta: string | Record<string, unknown>,
  finishReason?: string | null,
  meta: GenerationMeta = {},
): string {
  return sseData({
    id: meta.id ?? generationId(),
    provider: meta.provider ?? providerFor(model),
    model,
    object: "chat.completion.chunk",
    created: meta.created ?? unixNow(),
    choices: [
      {
        index: 0,
        delta: typeof delta === "string" ? { content: delta } : delta,
        finish_reason: finishReason ?? null,
        native_finish_reason: finishReason ?? null,
        logprobs: null,
      },
    ],
  });
}

/** The final usage event (`choices: []`) sent before `[DONE]`. */
export function usageChunk(model: string, meta: GenerationMeta = {}): string {
  return sseData({
    id: meta.id ?? generationId(),
    provider: meta.provider ?? providerFor(model),
    model,
    object: "chat.completion.chunk",
    created: meta.created ?? unixNow(),
    choices: [],
    usage: usageObject(),
  });
}

/**
 * A successful stream: role chunk, one chunk per piece, a finish chunk
 * (`finish_reason: "stop"`), the usage chunk, `[DONE]`. All chunks share one
 * generation id.
 */
export function streamOk(model: string, pieces: string[]): StreamScript {
  const meta: Required<GenerationMeta> = {
    id: generationId(),
    created: unixNow(),
    provider: providerFor(model),
  };
  return {
    headers: {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      "x-generation-id": meta.id,
    },
    parts: [
      chunk(model, { role: "assistant", content: "" }, null, meta),
      ...pieces.map((p) => chunk(model, p, null, meta)),
      chunk(model, { content: "" }, "stop", meta),
      usageChunk(model, meta),
      DONE,
    ],
  };
}

/** Options for {@linkcode streamErrorEvent}. */
export interface StreamErrorOptions {
  /** Documented shape (error + terminating choice) vs the older bare `{error, user_id}` event. */
  withChoices: boolean;
  /** Numbers and strings (e.g. `"server_error"`) both occur. */
  code: number | string;
  /** Default: a message matching the code. */
  message?: string;
  /** Default `"openai/gpt-4o"` (the docs' example). */
  model?: string;
  /** The bare 429's `X-RateLimit-Reset` (epoch ms); default next 00:00 UTC. */
  resetMs?: number;
}

/**
 * A framed mid-stream error event. The documented shape carries the error
 * beside a terminating choice (`finish_reason: "error"`); older streams sent
 * a bare `{"error", "user_id"}` event, the daily cap with its
 * `X-RateLimit-*` headers mirrored in `error.metadata.headers`.
 */
export function streamErrorEvent(opts: StreamErrorOptions): string {
  const is429 = opts.code === 429;
  if (opts.withChoices) {
    const model = opts.model ?? "openai/gpt-4o";
    return sseData({
      id: generationId(),
      object: "chat.completion.chunk",
      created: unixNow(),
      model,
      provider: opts.model === undefined ? "OpenAI" : providerFor(model),
      error: {
        code: opts.code,
        message: opts.message ??
          (is429 ? "Rate limit exceeded" : "Provider disconnected mid-stream"),
        metadata: {
          error_type: is429 ? "rate_limit_exceeded" : "provider_unavailable",
        },
      },
      choices: [{ index: 0, delta: { content: "" }, finish_reason: "error" }],
    });
  }
  if (is429) {
    return sseData({
      error: {
        message: opts.message ?? "Rate limit exceeded: free-models-per-day",
        code: 429,
        metadata: {
          headers: rateLimitHeaders(50, opts.resetMs ?? nextUtcMidnightMs()),
          provider_name: "Google AI Studio",
        },
      },
      user_id: USER_ID,
    });
  }
  return sseData({
    error: {
      message: opts.message ?? "Provider disconnected mid-stream",
      code: opts.code,
    },
    user_id: USER_ID,
  });
}
