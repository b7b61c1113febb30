/**
 * The plumbing every upstream attempt shares: the request OpenRouter gets,
 * reading its body, and telling an error answer from a usable one (the
 * attempt's abort controller and deadlines are in scope.ts).
 *
 * @module
 */
import {
  type AttemptScope,
  type ClientSignal,
  settledByAbort,
} from "./scope.ts";
import { errorIn, errorInfo, type UpstreamFailure } from "../core/failure.ts";
import { noAnswerIn } from "../core/answers.ts";

/** How to reach OpenRouter. */
export interface UpstreamOptions {
  /** Base URL, e.g. `https://openrouter.ai/api/v1`, without a trailing slash. */
  baseUrl: string;
  /** The fetch to use. */
  fetch: typeof fetch;
  /** Ms until response headers (streams: until the first data event). */
  requestTimeoutMs: number;
  /** Ms a response body may stay silent (streams: between events). */
  idleTimeoutMs: number;
  /** Ms a response may go on with nothing but keep-alives ({@link keepAliveDeadline}). */
  keepAliveMs: number;
}

/** The timeouts of a response body. */
export type Timeouts = Pick<UpstreamOptions, "idleTimeoutMs" | "keepAliveMs">;

/**
 * How long the idle deadline may run after a keep-alive (a comment, or
 * whitespace before a non-streaming answer), `progressAt` being when the
 * response last made progress (`performance.now()` time): the idle timeout,
 * but never past `keepAliveMs` after that progress. `undefined` once that is
 * spent (the armed deadline then stands).
 */
export function keepAliveDeadline(
  options: Timeouts,
  progressAt: number,
): number | undefined {
  const left = progressAt + options.keepAliveMs - performance.now();
  return left > 0 ? Math.min(options.idleTimeoutMs, left) : undefined;
}

/** One attempt's input. */
export interface AttemptInput {
  /** The model tried (for messages). */
  model: string;
  /** The serialised request body, `model` already set. */
  body: string;
  /** The OpenRouter key. */
  apiKey: string;
  /**
   * The body asks for the client's own `max_tokens`: a length stop would cut
   * the next model too (core/answers.ts `notAnAnswer`).
   */
  lengthFinal?: boolean;
  /** The client's signal: aborting it aborts the attempt. */
  signal?: ClientSignal;
}

/** An attempt's result. */
export type AttemptResult<T> =
  | { ok: true; value: T }
  | { ok: false; failure: UpstreamFailure };

const APP_URL = "https://github.com/freerouter/freerouter";
const APP_TITLE = "freerouter";

const decoder = new TextDecoder();

export function upstreamRequest(
  options: UpstreamOptions,
  input: AttemptInput,
  scope: AttemptScope,
  accept: string,
): Promise<Response> {
  return options.fetch(`${options.baseUrl}/chat/completions`, {
    method: "POST",
    headers: {
      "authorization": `Bearer ${input.apiKey}`,
      "content-type": "application/json",
      "accept": accept,
      "http-referer": APP_URL,
      "x-openrouter-title": APP_TITLE,
    },
    body: input.body,
    signal: scope.controller.signal,
  });
}

/**
 * A reader that reads into one `size`-byte buffer, reused for every read: a
 * chunk it returns is valid only until the next read, so callers copy what
 * they keep (a body that is not a byte stream gets its default reader). A fetch body's default reader allocates a fresh 64 KiB buffer for
 * every read, and whatever is forwarded as a view of it keeps it alive: with
 * hundreds of open streams that is megabytes of buffers per second of
 * garbage, which drives V8 into back-to-back mark-compacts and holds RSS up.
 */
export function reusingReader(
  body: ReadableStream<Uint8Array>,
  size = 8 * 1024,
): ReadableStreamDefaultReader<Uint8Array> {
  let byob: ReadableStreamBYOBReader;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream (a `fetch` option that wraps or makes its bodies,
    // older Node versions): its own reader, a buffer per read.
    return body.getReader();
  }
  let buffer: ArrayBufferLike = new ArrayBuffer(size);
  return {
    async read() {
      const result = await byob.read(new Uint8Array(buffer));
      if (result.value) buffer = result.value.buffer; // transferred back to us
      return result;
    },
    cancel: (reason?: unknown) => byob.cancel(reason),
    releaseLock: () => byob.releaseLock(),
    closed: byob.closed,
  } as unknown as ReadableStreamDefaultReader<Uint8Array>;
}

/** Reads a whole body in one read on the Rust side, within `idleMs`. */
export async function readAll(
  res: Response,
  scope: AttemptScope,
  idleMs: number,
): Promise<Uint8Array> {
  if (res.body === null) return new Uint8Array(0);
  scope.deadline.arm(idleMs);
  try {
    return new Uint8Array(
      await settledByAbort(res.arrayBuffer(), scope.controller.signal),
    );
  } finally {
    scope.deadline.clear();
  }
}

export function skipWhitespace(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (
    i < bytes.length &&
    (bytes[i] === 32 || bytes[i] === 10 || bytes[i] === 13 || bytes[i] === 9)
  ) i++;
  return i === 0 ? bytes : bytes.subarray(i);
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The failure for a non-2xx response whose body has been read. */
export function httpFailure(res: Response, bytes: Uint8Array): UpstreamFailure {
  const text = decoder.decode(bytes);
  const body = parseJson(text);
  return {
    kind: "http",
    status: res.status,
    error: errorInfo(body),
    body,
    headers: res.headers,
    text,
    contentType: res.headers.get("content-type") ?? "application/json",
  };
}

/**
 * The failure for an answer that cannot be used as it stands: a non-2xx
 * status, or (for a stream request) a 2xx that is not an event stream. Reads
 * the whole (small) body to classify it.
 */
export async function unusableAnswer(
  res: Response,
  scope: AttemptScope,
  options: UpstreamOptions,
): Promise<UpstreamFailure> {
  let bytes: Uint8Array;
  try {
    bytes = skipWhitespace(
      await readAll(res, scope, options.idleTimeoutMs),
    );
  } catch {
    return scope.failureOf(res.status);
  }
  if (!res.ok) return httpFailure(res, bytes);
  return bodyFailure(res, parseJson(decoder.decode(bytes))) ??
    { kind: "invalid_body", status: res.status, headers: res.headers };
}

/**
 * Whether a parsed 2xx body is an error rather than an answer
 * (`lengthFinal`: see {@link AttemptInput}).
 */
export function bodyFailure(
  res: Response,
  body: unknown,
  lengthFinal = false,
): UpstreamFailure | undefined {
  const error = errorIn(body);
  if (error) {
    return {
      kind: "error_body",
      status: res.status,
      error,
      body,
      headers: res.headers,
    };
  }
  const choices = (body as { choices?: unknown } | undefined)?.choices;
  if (!Array.isArray(choices) || choices.length === 0) {
    return {
      kind: "invalid_body",
      status: res.status,
      body,
      headers: res.headers,
    };
  }
  const unanswered = noAnswerIn(choices, lengthFinal);
  return unanswered
    ? { kind: unanswered, status: res.status, body, headers: res.headers }
    : undefined;
}
