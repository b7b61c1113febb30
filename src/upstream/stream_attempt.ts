/**
 * The streaming attempt: reads until the first data event (only a data event
 * that is not an error commits the stream; a continuation's opening is held
 * until it is known to continue), then hands the stream to its guard
 * (stream_guard.ts), which forwards whole events and resumes or ends a
 * stream that breaks.
 *
 * @module
 */
import { errorInfo, type UpstreamFailure } from "../core/failure.ts";
import type { ChatCompletionChunk } from "../types.ts";
import { ContinuationOpening } from "./continuation.ts";
import {
  guardedStream,
  type Resume,
  type StreamBreak,
  track,
  tracked,
} from "./stream_guard.ts";
import { withParsedEvents } from "./parsed_events.ts";
import { concatBytes, sseData, SseSplitter } from "./sse.ts";
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

/** A streaming attempt's input. */
export interface StreamAttemptInput extends AttemptInput {
  /** Continues the answer after a break, when it may (resumption). */
  resume?: Resume;
  /** The break this attempt continues: its opening is held and rewritten. */
  continues?: StreamBreak;
}

/**
 * Sends one streaming attempt and reads until the first data event. Only a
 * data event that is not an error commits the stream; comments do not. A
 * continuation commits once its text is known to continue the forwarded text
 * (see {@link ContinuationOpening}). Resolves with the committed stream or
 * the failure.
 */
export async function attemptStream(
  options: UpstreamOptions,
  input: StreamAttemptInput,
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
    const state = tracked(input.continues);
    const opening = input.continues
      ? new ContinuationOpening(input.continues)
      : undefined;
    if (opening) state.rewrite = opening.rewrite;
    const fail = (failure: UpstreamFailure) => {
      reader.cancel().catch(() => {});
      return { ok: false as const, failure };
    };
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
            kind: opening?.undecided ? "prefill_rejected" : "empty_stream",
            status: res.status,
            headers: res.headers,
          },
        };
      }
      splitter.push(chunk.value);
      for (let event = splitter.next(); event; event = splitter.next()) {
        const data = sseData(event);
        if (data === undefined) { // a comment: keep waiting
          head.push(event.slice());
          continue;
        }
        const body = data === "[DONE]" ? undefined : parseJson(data);
        const failure = firstEventFailure(res, data, body);
        if (failure) {
          if (opening?.undecided && failure.kind === "empty_stream") {
            failure.kind = "prefill_rejected"; // a restart cut short
          }
          return fail(failure);
        }
        if (opening) {
          const taken = opening.take(
            body as ChatCompletionChunk,
            state,
          );
          if (taken === "hold") continue;
          if (taken === "reject") {
            return fail({
              kind: "prefill_rejected",
              status: res.status,
              headers: res.headers,
            });
          }
          for (const e of taken) head.push(encoder.encode(e));
        } else {
          head.push(event.slice());
          track(body as ChatCompletionChunk, state); // the first event may already carry the finish_reason
        }
        committed = true;
        scope.deadline.clear();
        // A continuation's opening was rewritten: its bytes are read as bytes.
        const first = opening
          ? concatBytes(head)
          : withParsedEvents(concatBytes(head), [body as ChatCompletionChunk]);
        return {
          ok: true,
          value: {
            status: res.status,
            headers: res.headers,
            body: guardedStream(
              first,
              splitter,
              reader,
              scope,
              {
                model: input.model,
                idleMs: options.idleTimeoutMs,
                state,
                resume: input.resume,
              },
            ),
          },
        };
      }
    }
  } finally {
    if (!committed) scope.dispose();
  }
}

const encoder = new TextEncoder();

/** Why a first data event does not commit a stream (`body` is its parsed data). */
function firstEventFailure(
  res: Response,
  data: string,
  body: unknown,
): UpstreamFailure | undefined {
  if (data === "[DONE]") {
    return { kind: "empty_stream", status: res.status, headers: res.headers };
  }
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
