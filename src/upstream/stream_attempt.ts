/**
 * The streaming attempt: reads until the answer's first usable output (the
 * commit rule is core/answers.ts: opening tool calls are held until the
 * finish, with arguments that parse; a continuation's opening until it is
 * known to continue), then hands the stream to its guard (stream_guard.ts), which
 * forwards whole events and resumes or ends a stream that breaks.
 *
 * @module
 */
import { errorIn, type UpstreamFailure } from "../core/failure.ts";
import type { ChatCompletionChunk } from "../types.ts";
import { AnswerOpening, type OpeningVerdict } from "../core/answers.ts";
import { ContinuationOpening, continuationRewrite } from "./continuation.ts";
import {
  guardedStream,
  MAX_EVENT_BYTES,
  startsToolCall,
} from "./stream_guard.ts";
import {
  forwardedAs,
  type Resume,
  startsAfresh,
  type StreamBreak,
  type StreamCut,
  tracked,
} from "./stream_track.ts";
import { withParsedEvents } from "./parsed_events.ts";
import { concatBytes, sseData, SseSplitter } from "./sse.ts";
import {
  type AttemptInput,
  type AttemptResult,
  keepAliveDeadline,
  parseJson,
  reusingReader,
  unusableAnswer,
  type UpstreamOptions,
  upstreamRequest,
} from "./request.ts";
import { AttemptScope } from "./scope.ts";

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
  /** The request asks for several choices (`n` > 1): a stream's end is checked only at its end. */
  manyChoices?: boolean;
  /** The committed stream's bytes carry their parsed events (parsed_events.ts). */
  parsedEvents?: boolean;
  /** Told when the committed stream ends short of its answer. */
  onCut?: (cut: StreamCut) => void;
  /** Told when the upstream breaks after commit (the model failed). */
  onBreak?: (at: StreamBreak) => void;
}

/**
 * Sends one streaming attempt and reads until its first usable output (see
 * {@link AnswerOpening}); events before it are held and forwarded with it.
 * An error event, a stream that ends without an answer, or an opening tool
 * call whose arguments never parse fails the attempt before commit. Once data
 * flows, the idle timeout replaces the first-event timeout. A continuation
 * commits once its text is known to continue the forwarded text (see
 * {@link ContinuationOpening}). Resolves with the committed stream or the
 * failure.
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
    scope.watch(reader);
    const splitter = new SseSplitter();
    const head: Uint8Array[] = [];
    const state = tracked(
      input.continues,
      input.lengthFinal,
      input.manyChoices,
    );
    // A continuation of forwarded text is held until it is known to continue
    // it; one that starts afresh (nothing but reasoning was forwarded) opens
    // like any answer. Both are rewritten as part of the first stream.
    const continues = input.continues;
    const opening = continues && !startsAfresh(continues)
      ? new ContinuationOpening(continues)
      : undefined;
    if (continues) {
      state.rewrite = opening?.rewrite ?? continuationRewrite(continues);
    }
    /**
     * The answer's opening (core/answers.ts); for a continuation, once it
     * goes on with tool calls: they are held until the finish like any
     * opening's, so that a break inside them is the continuation's failure,
     * not half a set sent.
     */
    let answer = opening ? undefined : new AnswerOpening(input.lengthFinal);
    /** Data events held before the commit. */
    let held = 0;
    /** The held events that go on, parsed (their bytes are in `head`). */
    const recorded: ChatCompletionChunk[] = [];
    const fail = (failure: UpstreamFailure) => {
      reader.cancel().catch(() => {});
      return { ok: false as const, failure };
    };
    /** Commits the stream with the events read so far. */
    const commit = (): AttemptResult<StreamAnswer> => {
      committed = true;
      scope.deadline.clear();
      // The held events go on parsed with their bytes (parsed_events.ts); a
      // continuation's opening was rewritten: its bytes are read as bytes.
      const first = opening || !input.parsedEvents
        ? concatBytes(head)
        : withParsedEvents(concatBytes(head), recorded);
      return {
        ok: true,
        value: {
          status: res.status,
          headers: res.headers,
          body: guardedStream(first, splitter, reader, scope, {
            model: input.model,
            timeouts: options,
            state,
            resume: input.resume,
            parsedEvents: input.parsedEvents,
            apiKey: input.apiKey,
            onCut: input.onCut,
            onBreak: input.onBreak,
          }),
        },
      };
    };
    /**
     * The stream ended (`[DONE]` or the upstream closing) before a commit:
     * every chunk with a `finish_reason` is decided when it arrives, so this
     * one ended without an answer, or before its answer was complete.
     */
    const endedAs = (): UpstreamFailure["kind"] => {
      if (opening && !answer) {
        return opening.undecided ? "prefill_rejected" : "empty_stream";
      }
      if (held === 0) return "empty_stream";
      const verdict = answer!.end();
      return verdict === "commit" ? "incomplete_stream" : verdict;
    };
    const ended = (): AttemptResult<StreamAnswer> =>
      fail({ kind: endedAs(), status: res.status, headers: res.headers });
    /** When the last data event came (for the keep-alive bound); 0 before the first. */
    let dataAt = 0;
    /** What an opening's verdict on a held event means: commit, fail, or (undefined) read on. */
    const decide = (
      verdict: OpeningVerdict,
    ): AttemptResult<StreamAnswer> | undefined => {
      if (verdict === "commit") return commit();
      if (verdict !== "hold") {
        return fail({
          kind: verdict,
          status: res.status,
          headers: res.headers,
        });
      }
      // The upstream is answering: from here, silence is a stall.
      scope.deadline.arm(options.idleTimeoutMs);
      dataAt = performance.now();
      return undefined;
    };
    for (;;) {
      let chunk: Awaited<
        ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]>
      >;
      try {
        chunk = await scope.read(reader);
      } catch {
        return { ok: false, failure: scope.failureOf(res.status) };
      }
      if (chunk.done) return ended();
      splitter.push(chunk.value);
      for (let event = splitter.next(); event; event = splitter.next()) {
        const data = sseData(event);
        if (data === undefined) { // a comment: keep waiting
          head.push(event.slice());
          // Before the first data event, REQUEST_TIMEOUT runs on. After it,
          // a keep-alive extends the idle deadline, up to keepAliveMs after
          // the last data event (as after the commit).
          if (dataAt > 0) {
            const idle = keepAliveDeadline(options, dataAt);
            if (idle !== undefined) scope.deadline.arm(idle);
          }
          continue;
        }
        if (data === "[DONE]") return ended();
        const body = parseJson(data);
        const failure = firstEventFailure(res, body);
        if (failure) {
          if (opening?.undecided && failure.kind === "empty_stream") {
            failure.kind = "prefill_rejected"; // a restart cut short
          }
          return fail(failure);
        }
        const parsed = body as ChatCompletionChunk;
        if (opening && !answer) {
          const taken = opening.take(parsed, state);
          if (taken === "hold") {
            // A continuation's opening, held while it is compared with the
            // text so far: it is answering, as a fresh attempt's events say.
            scope.deadline.arm(options.idleTimeoutMs);
            dataAt = performance.now();
            continue;
          }
          if (taken === "reject" || taken === "nothing_added") {
            return fail({
              kind: taken === "reject" ? "prefill_rejected" : taken,
              status: res.status,
              headers: res.headers,
            });
          }
          for (const e of taken) head.push(encoder.encode(e));
          if (!startsToolCall(parsed)) return commit();
          answer = new AnswerOpening(input.lengthFinal);
          held++;
          const decided = decide(answer.take(parsed, event.length));
          if (decided) return decided;
          continue;
        }
        const verdict = answer!.take(parsed, event.length);
        // A continuation's events are rewritten (or dropped).
        const out = forwardedAs(parsed, event, state);
        if (out !== undefined) {
          head.push(
            typeof out === "string" ? encoder.encode(out) : out.slice(),
          );
          recorded.push(parsed);
        }
        held++;
        const decided = decide(verdict);
        if (decided) return decided;
      }
      splitter.detach(); // the next read reuses the buffer
      if (splitter.pendingBytes > MAX_EVENT_BYTES) {
        return fail({
          kind: "invalid_body",
          status: res.status,
          headers: res.headers,
        });
      }
    }
  } finally {
    if (!committed) scope.dispose();
  }
}

const encoder = new TextEncoder();

/** Why a data event before the commit fails the attempt (`body` is its parsed data). */
function firstEventFailure(
  res: Response,
  body: unknown,
): UpstreamFailure | undefined {
  if (typeof body !== "object" || body === null) {
    return { kind: "invalid_body", status: res.status, headers: res.headers };
  }
  const error = errorIn(body);
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
