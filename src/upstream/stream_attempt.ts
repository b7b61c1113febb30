/**
 * The streaming attempt: reads until the first data event (only a data event
 * that is not an error commits the stream), then forwards whole events
 * unchanged and ends a stream that breaks with an OpenAI-style error event.
 *
 * @module
 */
import { errorInfo, type UpstreamFailure } from "../core/failure.ts";
import {
  concatBytes,
  copyBytes,
  sseData,
  sseErrorEvent,
  SseSplitter,
} from "./sse.ts";
import {
  type AttemptInput,
  type AttemptResult,
  AttemptScope,
  parseJson,
  reusingReader,
  unusableAnswer,
  type UpstreamOptions,
  upstreamRequest,
} from "./request.ts";

/** A committed stream: the first data event arrived and was not an error. */
export interface StreamAnswer {
  status: number;
  headers: Headers;
  /** Upstream SSE bytes, whole events only, guarded against silent truncation. */
  body: ReadableStream<Uint8Array>;
}

/** The largest SSE event a stream may send (an event that never ends would grow without bound). */
const MAX_EVENT_BYTES = 8 * 1024 * 1024;

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
    // Each read reuses the last one's buffer: what is kept is copied out first.
    const reader = reusingReader(res.body!);
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
        head.push(event.slice());
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
      if (ready.length > 0) controller.enqueue(copyBytes(ready));
      close(controller, check === "done" ? undefined : check);
      return true;
    }
    if (ready.length > 0) controller.enqueue(copyBytes(ready));
    splitter.detach(); // the next read reuses the buffer
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
