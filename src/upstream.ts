/**
 * The upstream client: one attempt at one model. It sends the request, applies
 * the timeouts, and tells success from failure, including OpenRouter's errors
 * inside 200s. A thin adapter over an injected `fetch`.
 *
 * @module
 */
import { Deadline } from "./deadline.ts";
import { errorInfo, type UpstreamFailure } from "./failure.ts";
import { FreeRouterError } from "./errors.ts";
import { concatBytes, sseData, sseErrorEvent, SseSplitter } from "./sse.ts";
import type { ChatCompletion } from "./types.ts";

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
}

/** One attempt's input. */
export interface AttemptInput {
  /** The model tried (for messages). */
  model: string;
  /** The serialised request body, `model` already set. */
  body: string;
  /** The OpenRouter key. */
  apiKey: string;
  /** The client's signal: aborting it aborts the attempt. */
  signal?: AbortSignal;
}

/** A validated non-streaming answer. */
export interface CompletionAnswer {
  status: number;
  headers: Headers;
  /**
   * The body as received, leading keep-alive whitespace removed: bytes, or a
   * stream for bodies over {@link LARGE_BODY_BYTES}.
   */
  bytes: Uint8Array | ReadableStream<Uint8Array>;
  /** The parsed chat completion (`undefined` for a streamed large body). */
  json: ChatCompletion | undefined;
}

/** A committed stream: the first data event arrived and was not an error. */
export interface StreamAnswer {
  status: number;
  headers: Headers;
  /** Upstream SSE bytes, whole events only, guarded against silent truncation. */
  body: ReadableStream<Uint8Array>;
}

/** An attempt's result. */
export type AttemptResult<T> =
  | { ok: true; value: T }
  | { ok: false; failure: UpstreamFailure };

const APP_URL = "https://github.com/freerouter/freerouter";
const APP_TITLE = "freerouter";
const decoder = new TextDecoder();

/** One live attempt: its abort controller, deadline and link to the client's signal. */
class AttemptScope {
  readonly controller = new AbortController();
  /** Aborts the attempt when a timeout passes. */
  readonly deadline = new Deadline(() =>
    this.controller.abort(new DOMException("timed out", "TimeoutError"))
  );
  #signal: AbortSignal | undefined;
  #onAbort = () => this.controller.abort(this.#signal?.reason);

  constructor(signal: AbortSignal | undefined) {
    this.#signal = signal;
    if (signal?.aborted) this.controller.abort(signal.reason);
    else signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  get clientAborted(): boolean {
    return this.#signal?.aborted === true;
  }

  /** The failure for an error thrown while fetching or reading. */
  failureOf(status = 0): UpstreamFailure {
    if (this.clientAborted) {
      throw new FreeRouterError("aborted", "The client went away");
    }
    return { kind: this.deadline.fired ? "timeout" : "network", status };
  }

  dispose(): void {
    this.deadline.clear();
    this.#signal?.removeEventListener("abort", this.#onAbort);
  }
}

function upstreamRequest(
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
      "x-title": APP_TITLE,
      "x-openrouter-title": APP_TITLE,
    },
    body: input.body,
    signal: scope.controller.signal,
  });
}

/**
 * A reader that reads into `size`-byte buffers. A fetch body's default reader
 * allocates a fresh 64 KiB buffer for every read, and the forwarded events
 * (views of it) keep it alive: that churn of external memory drives V8 into
 * back-to-back mark-compacts.
 */
function smallChunkReader(
  body: ReadableStream<Uint8Array>,
  size = 16 * 1024,
): ReadableStreamDefaultReader<Uint8Array> {
  const byob = body.getReader({ mode: "byob" });
  return {
    read: () => byob.read(new Uint8Array(size)),
    cancel: (reason?: unknown) => byob.cancel(reason),
    releaseLock: () => byob.releaseLock(),
    closed: byob.closed,
  } as unknown as ReadableStreamDefaultReader<Uint8Array>;
}

/** Reads a whole body in one read on the Rust side, within `idleMs`. */
async function readAll(
  res: Response,
  scope: AttemptScope,
  idleMs: number,
): Promise<Uint8Array> {
  if (res.body === null) return new Uint8Array(0);
  scope.deadline.arm(idleMs);
  try {
    return new Uint8Array(await res.arrayBuffer());
  } finally {
    scope.deadline.clear();
  }
}

function skipWhitespace(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (
    i < bytes.length &&
    (bytes[i] === 32 || bytes[i] === 10 || bytes[i] === 13 || bytes[i] === 9)
  ) i++;
  return i === 0 ? bytes : bytes.subarray(i);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The failure for a non-2xx response whose body has been read. */
function httpFailure(res: Response, bytes: Uint8Array): UpstreamFailure {
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
async function unusableAnswer(
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

/** Whether a parsed 2xx body is an error rather than an answer. */
function bodyFailure(
  res: Response,
  body: unknown,
): UpstreamFailure | undefined {
  const error = errorInfo(body);
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
  for (const choice of choices) {
    const inner = errorInfo(choice);
    if (inner || choice?.finish_reason === "error") {
      return {
        kind: "error_body",
        status: res.status,
        error: inner,
        body,
        headers: res.headers,
      };
    }
  }
  return undefined;
}

/**
 * Sends one non-streaming attempt. Resolves with the validated answer or the
 * failure; throws {@link FreeRouterError} `aborted` when the client went away.
 */
export async function attemptCompletion(
  options: UpstreamOptions,
  input: AttemptInput,
): Promise<AttemptResult<CompletionAnswer>> {
  const scope = new AttemptScope(input.signal);
  let handedOver = false;
  try {
    scope.deadline.arm(options.requestTimeoutMs);
    let res: Response;
    try {
      res = await upstreamRequest(options, input, scope, "application/json");
    } catch {
      return { ok: false, failure: scope.failureOf() };
    }
    if (!res.ok) {
      return { ok: false, failure: await unusableAnswer(res, scope, options) };
    }
    const declared = Number(res.headers.get("content-length") ?? NaN);
    if (declared >= 0 && declared <= LARGE_BODY_BYTES) {
      // Fast path: the whole body in one read, no 64 KiB buffer per chunk.
      let whole: Uint8Array;
      try {
        whole = skipWhitespace(
          await readAll(res, scope, options.idleTimeoutMs),
        );
      } catch {
        return { ok: false, failure: scope.failureOf(res.status) };
      }
      const parsed = parseJson(decoder.decode(whole));
      const bad = parsed === undefined
        ? {
          kind: "invalid_body" as const,
          status: res.status,
          headers: res.headers,
        }
        : bodyFailure(res, parsed);
      if (bad) return { ok: false, failure: bad };
      return {
        ok: true,
        value: {
          status: res.status,
          headers: res.headers,
          bytes: whole,
          json: parsed as ChatCompletion,
        },
      };
    }
    const reader = res.body?.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    let done = reader === undefined;
    try {
      while (!done && size <= LARGE_BODY_BYTES) {
        scope.deadline.arm(options.idleTimeoutMs);
        const read = await reader!.read();
        if (read.done) done = true;
        else {
          chunks.push(read.value);
          size += read.value.length;
        }
      }
    } catch {
      return { ok: false, failure: scope.failureOf(res.status) };
    } finally {
      scope.deadline.clear();
    }
    const bytes = skipWhitespace(concatBytes(chunks));
    if (!done) {
      // Too large to hold: judge by the top-level keys of the first MiB and
      // stream the rest through.
      const keys = topLevelKeys(decoder.decode(bytes));
      if (keys.includes("error") || bytes[0] !== 123 /* { */) {
        reader!.cancel().catch(() => {});
        return {
          ok: false,
          failure: {
            kind: "invalid_body",
            status: res.status,
            headers: res.headers,
          },
        };
      }
      handedOver = true;
      return {
        ok: true,
        value: {
          status: res.status,
          headers: res.headers,
          bytes: passThrough(bytes, reader!, scope, options.idleTimeoutMs),
          json: undefined,
        },
      };
    }
    const json = parseJson(decoder.decode(bytes));
    const failure = json === undefined
      ? {
        kind: "invalid_body" as const,
        status: res.status,
        headers: res.headers,
      }
      : bodyFailure(res, json);
    if (failure) return { ok: false, failure };
    return {
      ok: true,
      value: {
        status: res.status,
        headers: res.headers,
        bytes,
        json: json as ChatCompletion,
      },
    };
  } finally {
    if (!handedOver) scope.dispose();
  }
}

/** The largest SSE event a stream may send (an event that never ends would grow without bound). */
const MAX_EVENT_BYTES = 8 * 1024 * 1024;

/** Non-streaming bodies larger than this are streamed through, not held. */
export const LARGE_BODY_BYTES = 1024 * 1024;

/**
 * The keys of the outermost JSON object in a (possibly truncated) JSON text,
 * as far as the text goes.
 */
export function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(text.slice(i + 1, j));
      expectKey = false;
      i = j;
    } else if (c === "{" || c === "[") {
      depth++;
      expectKey = depth === 1 && c === "{";
    } else if (c === "}" || c === "]") depth--;
    else if (c === "," && depth === 1) expectKey = true;
  }
  return keys;
}

/**
 * Follows the nesting of a JSON text fed in pieces, to tell a whole document
 * from one cut off midway (strings and escapes are skipped).
 */
export class JsonBalance {
  #depth = 0;
  #opened = false;
  #inString = false;
  #escape = false;

  /** Feeds the next bytes. */
  feed(bytes: Uint8Array): void {
    let depth = this.#depth;
    let inString = this.#inString;
    let escape = this.#escape;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (inString) {
        if (escape) escape = false;
        else if (b === 92) escape = true; // backslash
        else if (b === 34) inString = false; // quote
      } else if (b === 34) inString = true;
      else if (b === 123 || b === 91) {
        depth++;
        this.#opened = true;
      } else if (b === 125 || b === 93) depth--;
    }
    this.#depth = depth;
    this.#inString = inString;
    this.#escape = escape;
  }

  /** Whether what was fed is one whole JSON object or array. */
  get complete(): boolean {
    return this.#opened && this.#depth === 0 && !this.#inString;
  }
}

/**
 * A body that starts with bytes already read and continues with the rest,
 * each read bounded by `idleMs`. A body that ends before its JSON is complete
 * errors instead of ending, so no client takes it for a whole answer.
 */
function passThrough(
  head: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  scope: AttemptScope,
  idleMs: number,
): ReadableStream<Uint8Array> {
  const balance = new JsonBalance();
  balance.feed(head);
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    scope.dispose();
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(head);
    },
    async pull(controller) {
      scope.deadline.arm(idleMs);
      try {
        const { done, value } = await reader.read();
        if (done) {
          finish();
          if (balance.complete) controller.close();
          else {controller.error(
              new Error(
                "The upstream answer ended before its JSON was complete",
              ),
            );}
        } else {
          balance.feed(value);
          controller.enqueue(value);
        }
      } catch (err) {
        finish();
        controller.error(err);
      } finally {
        scope.deadline.clear();
      }
    },
    cancel() {
      scope.controller.abort(
        new DOMException("client went away", "AbortError"),
      );
      finish();
      return reader.cancel().catch(() => {});
    },
  });
}

/**
 * Sends one streaming attempt and reads until the first data event. Only a
 * data event that is not an error commits the stream; comments do not.
 * Resolves with the committed stream or the failure.
 */
export async function attemptStream(
  options: UpstreamOptions,
  input: AttemptInput,
): Promise<AttemptResult<StreamAnswer>> {
  const scope = new AttemptScope(input.signal);
  let committed = false;
  try {
    scope.deadline.arm(options.requestTimeoutMs);
    let res: Response;
    try {
      res = await upstreamRequest(options, input, scope, "text/event-stream");
    } catch {
      return { ok: false, failure: scope.failureOf() };
    }
    const contentType = res.headers.get("content-type") ?? "";
    if (!res.ok || !contentType.includes("text/event-stream")) {
      return { ok: false, failure: await unusableAnswer(res, scope, options) };
    }
    const reader = smallChunkReader(res.body!);
    const splitter = new SseSplitter();
    const head: Uint8Array[] = [];
    for (;;) {
      let chunk: Awaited<
        ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]>
      >;
      try {
        chunk = await reader.read();
      } catch {
        return { ok: false, failure: scope.failureOf(res.status) };
      }
      if (chunk.done) {
        return {
          ok: false,
          failure: {
            kind: "empty_stream",
            status: res.status,
            headers: res.headers,
          },
        };
      }
      splitter.push(chunk.value);
      for (let event = splitter.next(); event; event = splitter.next()) {
        const data = sseData(event);
        head.push(event);
        if (data === undefined) continue; // a comment: keep waiting
        const failure = firstEventFailure(res, data);
        if (failure) {
          reader.cancel().catch(() => {});
          return { ok: false, failure };
        }
        committed = true;
        scope.deadline.clear();
        const state = { finished: false };
        checkEvent(data, state); // the first event may already carry the finish_reason
        return {
          ok: true,
          value: {
            status: res.status,
            headers: res.headers,
            body: guardedStream(
              concatBytes(head),
              splitter,
              reader,
              scope,
              { model: input.model, idleMs: options.idleTimeoutMs, state },
            ),
          },
        };
      }
    }
  } finally {
    if (!committed) scope.dispose();
  }
}

function firstEventFailure(
  res: Response,
  data: string,
): UpstreamFailure | undefined {
  if (data === "[DONE]") {
    return { kind: "empty_stream", status: res.status, headers: res.headers };
  }
  const body = parseJson(data);
  if (typeof body !== "object" || body === null) {
    return { kind: "invalid_body", status: res.status, headers: res.headers };
  }
  const error = errorInfo(body);
  return error
    ? {
      kind: "error_body",
      status: res.status,
      error,
      body,
      headers: res.headers,
    }
    : undefined;
}

/** What a committed stream's next event means. */
type EventCheck = "forward" | "done" | {
  error: string;
  code: string | number | null;
};

function checkEvent(
  data: string | undefined,
  state: { finished: boolean },
): EventCheck {
  if (data === undefined) return "forward";
  if (data === "[DONE]") {
    return state.finished ? "done" : {
      error: "the upstream stream ended without a finish_reason",
      code: "incomplete_stream",
    };
  }
  const body = parseJson(data) as { choices?: unknown } | undefined;
  if (typeof body !== "object" || body === null) {
    return {
      error: "the upstream sent a malformed event",
      code: "malformed_event",
    };
  }
  const error = errorInfo(body);
  if (error) {
    return {
      error: `the upstream failed mid-stream: ${
        error.message || "unknown error"
      }`,
      code: error.code ?? null,
    };
  }
  if (Array.isArray(body.choices)) {
    for (const choice of body.choices) {
      if (choice?.finish_reason != null) state.finished = true;
    }
  }
  return "forward";
}

/**
 * The committed stream: forwards whole upstream events unchanged and ends with
 * an OpenAI-style error event (and no `[DONE]`) when the upstream breaks,
 * stalls, sends an error or a malformed event, or ends early.
 */
function guardedStream(
  head: Uint8Array,
  splitter: SseSplitter,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  scope: AttemptScope,
  guard: { model: string; idleMs: number; state: { finished: boolean } },
): ReadableStream<Uint8Array> {
  const { model, idleMs, state } = guard;
  let closed = false;
  let waiting = false; // the idle timer runs from one complete event to the next
  const close = (
    controller: ReadableStreamDefaultController<Uint8Array>,
    error?: { error: string; code: string | number | null },
  ) => {
    if (closed) return;
    closed = true;
    scope.dispose();
    if (error) {
      controller.enqueue(
        sseErrorEvent(
          `Stream from ${model} broke off: ${error.error}`,
          error.code,
        ),
      );
    }
    controller.close();
    reader.cancel().catch(() => {});
  };
  /** Forwards every complete buffered event; true when the stream is over. */
  const drain = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    const ready: Uint8Array[] = [];
    for (let event = splitter.next(); event; event = splitter.next()) {
      if (waiting) {
        waiting = false;
        scope.deadline.clear(); // a slow client must not look like a stalled upstream
      }
      const check = checkEvent(sseData(event), state);
      if (check === "forward") {
        ready.push(event);
        continue;
      }
      if (check === "done") ready.push(event);
      if (ready.length > 0) controller.enqueue(concatBytes(ready));
      close(controller, check === "done" ? undefined : check);
      return true;
    }
    if (ready.length > 0) controller.enqueue(concatBytes(ready));
    if (splitter.pendingBytes > MAX_EVENT_BYTES) {
      close(controller, {
        error: "the upstream sent an event larger than 8 MiB",
        code: "malformed_event",
      });
      return true;
    }
    return false;
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(head);
      drain(controller);
    },
    async pull(controller) {
      // A pull that enqueues nothing is not called again, so keep reading
      // until a whole event has been forwarded or the stream is over.
      while (!closed) {
        if (!waiting) {
          waiting = true;
          scope.deadline.arm(idleMs);
        }
        let chunk: Awaited<
          ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]>
        >;
        try {
          chunk = await reader.read();
        } catch {
          scope.deadline.clear();
          if (scope.clientAborted) return close(controller);
          return close(controller, {
            error: scope.deadline.fired
              ? `no event for ${idleMs / 1000} s`
              : "the connection was lost",
            code: scope.deadline.fired ? "stream_stalled" : "connection_lost",
          });
        }
        if (chunk.done) {
          return close(controller, {
            error: "the upstream ended the stream without [DONE]",
            code: "incomplete_stream",
          });
        }
        splitter.push(chunk.value);
        if (drain(controller) || !waiting) return; // closed, or forwarded an event
      }
    },
    cancel() {
      closed = true;
      scope.controller.abort(
        new DOMException("client went away", "AbortError"),
      );
      scope.dispose();
      return reader.cancel().catch(() => {});
    },
  });
}
