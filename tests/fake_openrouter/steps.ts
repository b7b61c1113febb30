/**
 * Scripted responses ("steps") of the fake OpenRouter, and the builders of the
 * plain ones: a successful completion and a generic error.
 *
 * OpenRouter's errors are `{"error": {"message", "code", "metadata"?}}` with
 * the HTTP status equal to `error.code`
 * (https://openrouter.ai/docs/api/reference/errors-and-debugging).
 *
 * @module
 */
import { generationId, JSON_HEADERS, providerFor, unixNow } from "./common.ts";

/** An ordinary (non-stream) HTTP response. */
export interface ResponseStep {
  /** HTTP status; default 200. */
  status?: number;
  /** Response headers; `content-type: application/json` is added when a body is sent and none is given. */
  headers?: Record<string, string>;
  /** Objects are sent with `JSON.stringify`; strings and `Uint8Array`s are sent as-is; `undefined` sends no body. */
  body?: unknown;
  /**
   * Sent as a separate first body chunk (right after the status line) before
   * the JSON, like OpenRouter's keep-alive padding for slow non-stream
   * responses. When set, `delayMs` is waited between the padding and the JSON.
   */
  leadingWhitespace?: string;
  /** Milliseconds to wait: before the status line, or (with `leadingWhitespace`) between padding and JSON. */
  delayMs?: number;
  /** Awaited before anything is sent (lets a test hold a response back). */
  gate?: () => Promise<void>;
  hang?: never;
  stream?: never;
  reset?: never;
}

/** Never answers; released when the client aborts (or the fake closes, which resets the connection). */
export interface HangStep {
  hang: true;
}

/** A `200 text/event-stream` (or `stream.status`) response written part by part. */
export interface StreamStep {
  stream: StreamScript;
}

/**
 * The connection dies before the client sees a status: `fetch()` rejects with
 * a `TypeError`. (Implemented by sending an oversized response head that the
 * client's HTTP parser refuses, followed by an errored body.)
 */
export interface ResetStep {
  reset: true;
}

/** One scripted response. */
export type Step = ResponseStep | HangStep | StreamStep | ResetStep;

/**
 * A chat step decided when its request arrives: `respond` gets the parsed
 * request body (`undefined` if empty, the text if not JSON) and returns the
 * step to send, so an answer can depend on what the client sent.
 */
export interface DynamicStep {
  respond: (body: unknown) => Step;
}

/** What a stream step writes. */
export interface StreamScript {
  /**
   * Written in order. Strings are written as-is (already framed, e.g.
   * `"data: {...}\n\n"` or `PROCESSING` from stream.ts); functions are awaited
   * before continuing (gates).
   */
  parts: Array<string | Uint8Array | (() => Promise<void>)>;
  /**
   * `"close"` (default) ends the body normally; `"reset"` errors the body
   * (the client's read rejects); `"hang"` keeps it open until the client
   * aborts or the fake closes.
   */
  end?: "close" | "reset" | "hang";
  /** Default 200. */
  status?: number;
  /** Default `content-type: text/event-stream`, `cache-control: no-cache`. */
  headers?: Record<string, string>;
}

/** A JSON error response with that status, body and extra headers. */
export function errorStep(
  status: number,
  body: unknown,
  headers?: Record<string, string>,
): ResponseStep {
  return { status, headers: { ...JSON_HEADERS, ...headers }, body };
}

/**
 * A plain OpenRouter-shaped error response: `{"error": {"message", "code"}}`
 * with that status (and optional extra headers such as `retry-after`).
 */
export function errorStatus(
  status: number,
  message = `error ${status}`,
  headers?: Record<string, string>,
): ResponseStep {
  return errorStep(status, { error: { message, code: status } }, headers);
}

/** The `usage` object OpenRouter sends with every answer (its documented example). */
export function usageObject(): Record<string, unknown> {
  return {
    prompt_tokens: 12,
    completion_tokens: 20,
    total_tokens: 35,
    cost: 0,
    is_byok: false,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    cost_details: {
      upstream_inference_cost: null,
      upstream_inference_prompt_cost: 0,
      upstream_inference_completion_cost: 0,
    },
    completion_tokens_details: { reasoning_tokens: 8, image_tokens: 0 },
  };
}

/** Identity fields repeated on every chunk of one generation. */
export interface GenerationMeta {
  id?: string;
  created?: number;
  provider?: string;
}

/**
 * A non-stream `chat.completion` body: OpenRouter's fields (`provider`,
 * `native_finish_reason`, `message.reasoning`) beside OpenAI's.
 */
export function completionBody(
  model: string,
  content: string | null = "Hello world",
  meta: GenerationMeta = {},
): Record<string, unknown> {
  const created = meta.created ?? unixNow();
  return {
    id: meta.id ?? generationId(),
    provider: meta.provider ?? providerFor(model),
    model,
    object: "chat.completion",
    created,
    choices: [
      {
        logprobs: null,
        finish_reason: "stop",
        native_finish_reason: "stop",
        index: 0,
        message: {
          role: "assistant",
          content,
          refusal: null,
          reasoning: null,
        },
      },
    ],
    usage: usageObject(),
  };
}

/** A 200 step with a realistic non-stream chat completion (default content `"Hello world"`). */
export function ok(model: string, content?: string | null): ResponseStep {
  const body = completionBody(model, content);
  return {
    status: 200,
    headers: { ...JSON_HEADERS, "x-generation-id": String(body.id) },
    body,
  };
}
