/**
 * A committed stream, guarded: forwards whole upstream events and never
 * presents a broken stream as complete. When the upstream breaks (a reset, a
 * stall, an error or malformed event, an end without a `finish_reason`) it
 * hands the break to `resume`, which may continue the answer on another model
 * inside the same client stream; otherwise it ends with an OpenAI-style
 * error event naming the original break, and no `[DONE]`. A stream that sent
 * its `finish_reason` and then closed without `[DONE]` is complete: it gets
 * its `[DONE]`. The events it parses come with the bytes it forwards (see
 * parsed_events.ts), so that the agent fronts need not parse them again.
 *
 * @module
 */
import {
  DONE as DONE_EVENT,
  type ParsedEvent,
  withParsedEvents,
} from "./parsed_events.ts";
import { copyBytes, sseData, sseErrorEvent, type SseSplitter } from "./sse.ts";
import { keepAliveDeadline, parseJson, type Timeouts } from "./request.ts";
import type { AttemptScope } from "./scope.ts";
import { AnswerOpening, visible } from "../core/answers.ts";
import { errorIn, type UpstreamFailure } from "../core/failure.ts";
import { redactSecret } from "../core/secrets.ts";
import type { ChatCompletionChunk } from "../types.ts";
import {
  forwardedAs,
  type Resume,
  type StreamBreak,
  type StreamCut,
  type Tracked,
} from "./stream_track.ts";

/** The largest SSE event a stream may send (an event that never ends would grow without bound). */
export const MAX_EVENT_BYTES = 8 * 1024 * 1024;

const DONE = withParsedEvents(new TextEncoder().encode("data: [DONE]\n\n"), [
  DONE_EVENT,
]);

/** What a stream sends while a continuation is sought, at most this far apart. */
const MAX_KEEPALIVE_MS = 10_000;
/** The keep-alive comment of a stream whose continuation is sought. */
const RESUMING = new TextEncoder().encode(": resuming\n\n");

/** One event to forward: `event` is a string when rewritten from its `body`; no `body` for a comment. */
interface Forward {
  event: Uint8Array | string;
  body?: ChatCompletionChunk;
}

/** What a committed stream's next event means (`body`: its parsed data). */
type EventCheck =
  | ({ kind: "forward" } & Forward)
  /** Held tool calls' events, released at the finish once their arguments parse. */
  | { kind: "release"; events: Forward[] }
  | { kind: "skip" }
  | { kind: "done" }
  | {
    kind: "break";
    error: string;
    code: string | number | null;
    /** The upstream's error event, when that is what broke it. */
    failure?: UpstreamFailure;
  };

/**
 * Tool calls that follow text, held until the finish with arguments that
 * parse (the rule of a stream's opening, core/answers.ts): the answer stays
 * text until then, so a break inside any call of the set can still be resumed.
 */
interface Held {
  opening: AnswerOpening;
  events: Array<{ event: Uint8Array; body: ChatCompletionChunk }>;
}

/** A choice whose delta carries a tool call. */
const callsTool = (c: ChatCompletionChunk["choices"][number] | undefined) =>
  c?.delta?.tool_calls != null || c?.delta?.function_call != null;

/** Whether a chunk carries a tool call (or a legacy function call). */
export function startsToolCall(body: ChatCompletionChunk): boolean {
  return Array.isArray(body.choices) && body.choices.some(callsTool);
}

/** Holds `body` with the tool call it belongs to; what comes of it. */
function hold(
  held: Held,
  event: Uint8Array,
  body: ChatCompletionChunk,
  state: Tracked,
): EventCheck & { kind: "skip" | "release" | "break" } {
  // A copy: the splitter reuses its buffer for the next read.
  held.events.push({ event: event.slice(), body });
  // Past MAX_HELD_BYTES (core/answers.ts) the call goes on unheld.
  const verdict = held.opening.take(body, event.length);
  if (verdict === "hold") return { kind: "skip" };
  if (verdict !== "commit") {
    return {
      kind: "break",
      error: "the upstream sent a tool call whose arguments do not parse",
      code: verdict,
    };
  }
  const events: Forward[] = [];
  for (const h of held.events) {
    const out = forwardedAs(h.body, h.event, state);
    if (out !== undefined) events.push({ event: out, body: h.body });
  }
  return { kind: "release", events };
}

function checkEvent(
  event: Uint8Array,
  state: Tracked,
  holding: { held?: Held },
): EventCheck {
  const data = sseData(event);
  if (data === undefined) return { kind: "forward", event }; // a comment
  if (data === "[DONE]") {
    // A tool call still held never finished: the end breaks the stream.
    holding.held = undefined;
    return endCheck(state, "the upstream stream ended");
  }
  const body = parseJson(data) as ChatCompletionChunk | undefined;
  if (typeof body !== "object" || body === null) {
    return {
      kind: "break",
      error: "the upstream sent a malformed event",
      code: "malformed_event",
    };
  }
  const error = errorIn(body);
  if (error) {
    return {
      kind: "break",
      error: `the upstream failed mid-stream: ${
        error.message || "unknown error"
      }`,
      code: error.code ?? null,
      failure: { kind: "error_body", status: 200, error, body },
    };
  }
  if (holding.held || (state.resumable && startsToolCall(body))) {
    holding.held ??= {
      opening: new AnswerOpening(state.lengthFinal),
      events: [],
    };
    const check = hold(holding.held, event, body, state);
    if (check.kind !== "skip") holding.held = undefined;
    return check;
  }
  const before = state.text;
  const out = forwardedAs(body, event, state);
  // A finish that ends no answer is not forwarded: the stream breaks there,
  // so that a client never reads the finish (and the usage after it) of an
  // answer another model then gives or the error event ends.
  if (!state.manyChoices && finishes(body)) {
    const end = endCheck(state, "the upstream stream");
    if (end.kind === "break") {
      // What the client has: without this chunk (a continuation's prefill).
      state.events--;
      state.text = before;
      return end;
    }
  }
  return out === undefined
    ? { kind: "skip" }
    : { kind: "forward", event: out, body };
}

/** Whether a chunk carries a `finish_reason`. */
const finishes = (body: ChatCompletionChunk) =>
  Array.isArray(body.choices) &&
  body.choices.some((c) => c?.finish_reason != null);

const encoder = new TextEncoder();

/** The guard's settings. */
export interface Guard {
  model: string;
  /** The idle timeout, and how long keep-alive comments may extend it. */
  timeouts: Timeouts;
  state: Tracked;
  /** Continues the answer after a break, when it may. */
  resume: Resume | undefined;
  /** Record the parsed events with the bytes forwarded (parsed_events.ts). */
  parsedEvents?: boolean;
  /** The key the stream was asked with: an upstream's error message that quotes it goes no further. */
  apiKey?: string;
  /** Told when the stream ends short of its answer (see {@link StreamCut}). */
  onCut?: (cut: StreamCut) => void;
  /** Told when the upstream breaks after commit (before any resumption): the model failed. */
  onBreak?: (at: StreamBreak) => void;
}

/**
 * What the stream's end means: complete once it sent its `finish_reason`
 * and an answer; a stream that reasoned and then finished without text or a
 * tool call broke (another model may answer: resumption starts it afresh).
 */
function endCheck(state: Tracked, what: string): EventCheck {
  if (!state.finished) {
    return {
      kind: "break",
      error: `${what} without a finish_reason`,
      code: "incomplete_stream",
    };
  }
  if (state.calls !== undefined && !state.cut && !state.calls.usable()) {
    // A call forwarded unheld (past MAX_HELD_BYTES held, or not resumable);
    // one the client's own length limit cut is the answer it allowed.
    return {
      kind: "break",
      error: "the upstream sent a tool call whose arguments do not parse",
      code: "invalid_tool_call",
    };
  }
  if (state.answered) return { kind: "done" };
  // A continuation of forwarded text that added nothing of its own.
  if (state.origin !== undefined && visible(state.text)) {
    return {
      kind: "break",
      error: "the continuation finished without adding to the answer",
      code: "nothing_added",
    };
  }
  return {
    kind: "break",
    error: "the model finished without an answer (reasoning only)",
    code: "empty_answer",
  };
}

/**
 * The committed stream: forwards whole upstream events (a continuation's
 * rewritten) and, on a break, resumes or ends with the error event.
 */
export function guardedStream(
  head: Uint8Array,
  splitter: SseSplitter,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  scope: AttemptScope,
  guard: Guard,
): ReadableStream<Uint8Array> {
  const { model, timeouts, state } = guard;
  const idleMs = timeouts.idleTimeoutMs;
  /** When the upstream last sent a data event (`performance.now()` time). */
  let progressAt = performance.now();
  /** Whether keep-alive comments extended the idle deadline since then. */
  let keptAlive = false;
  // Only a front that reads them pays for the records (a chat stream does not).
  const keep = guard.parsedEvents === true;
  let closed = false;
  let waiting = false; // the idle timer runs from one complete event to the next
  /** Tool calls that follow text, held until the finish (see {@link Held}). */
  const holding: { held?: Held } = {};
  /** Chunks enqueued so far: a read whose events were all held or dropped enqueued none. */
  let enqueued = 0;
  /** A continuation being piped through, after a break. */
  let continued: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const stopUpstream = () => {
    scope.dispose();
    reader.cancel().catch(() => {});
  };
  const end = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    closed = true;
    stopUpstream();
    controller.close();
  };
  /** The upstream broke: resume when it may, else the error event naming the original break. */
  const broke = async (
    controller: ReadableStreamDefaultController<Uint8Array>,
    error: string,
    code: string | number | null,
    failure?: UpstreamFailure,
  ) => {
    stopUpstream();
    if (closed) return; // the client went away: nothing to resume for
    const broken: StreamBreak = {
      model,
      error: redactSecret(error, guard.apiKey),
      code: typeof code === "string" ? redactSecret(code, guard.apiKey) : code,
      events: state.events,
      text: state.text,
      id: state.id ?? "",
      created: state.created ?? 0,
      origin: state.origin,
      ...(failure === undefined ? {} : { failure }),
      ...(code === "nothing_added"
        ? { nothingAdded: state.nothingAdded + 1 }
        : {}),
    };
    guard.onBreak?.(broken);
    let next: Awaited<ReturnType<NonNullable<Guard["resume"]>>> | undefined;
    if (state.resumable && guard.resume) {
      // The search may take a few attempts: keep-alive comments tell the
      // client (and the fronts, which turn them into their own keep-alives)
      // that the stream goes on, so that its own idle timeout does not end it.
      // The first at once: a stall has already been silent for idleMs.
      controller.enqueue(RESUMING);
      const keepAlive = setInterval(() => {
        try {
          if (!closed) controller.enqueue(RESUMING);
        } catch {
          // The stream is gone: the resumption finds out on its own.
        }
      }, Math.min(MAX_KEEPALIVE_MS, idleMs / 2)); // cleared below, whatever happens
      try {
        next = await guard.resume(broken).catch(() => undefined);
      } finally {
        clearInterval(keepAlive);
      }
    }
    if (closed) { // the client went away while the continuation was sought
      next?.body.cancel().catch(() => {});
      return;
    }
    if (next) {
      controller.enqueue(encoder.encode(`: resumed on ${next.model}\n\n`));
      continued = next.body.getReader();
      return;
    }
    const original = broken.origin ?? broken;
    closed = true;
    guard.onCut?.({
      how: "broken",
      model: original.model,
      events: state.events,
      error: original.error,
    });
    controller.enqueue(
      sseErrorEvent(
        `Stream from ${original.model} broke off after ${original.events} events: ${original.error}`,
        original.code,
      ),
    );
    controller.close();
  };
  /** Forwards every complete buffered event; the check that ended the stream, if any. */
  const drain = (
    controller: ReadableStreamDefaultController<Uint8Array>,
  ): EventCheck | undefined => {
    const ready: Array<Uint8Array> = [];
    let parsed: ParsedEvent[] = []; // the data events of `ready`, when kept
    const flush = () => {
      if (ready.length === 0) return;
      const bytes = copyBytes(ready);
      controller.enqueue(keep ? withParsedEvents(bytes, parsed) : bytes);
      enqueued++;
      ready.length = 0;
      if (keep) parsed = [];
    };
    const emit = (out: Forward) => {
      if (typeof out.event === "string") { // rewritten from its body
        flush();
        const bytes = encoder.encode(out.event);
        controller.enqueue(keep ? withParsedEvents(bytes, [out.body!]) : bytes);
        enqueued++;
      } else {
        ready.push(out.event);
        if (keep && out.body) parsed.push(out.body); // not for a comment
      }
    };
    for (let event = splitter.next(); event; event = splitter.next()) {
      const check = checkEvent(event, state, holding);
      // A comment (OpenRouter's keep-alive) is forwarded; it extends the
      // idle deadline, but never past keepAliveMs after the last data event.
      const comment = check.kind === "forward" && check.body === undefined;
      if (comment) {
        const idle = waiting
          ? keepAliveDeadline(timeouts, progressAt)
          : undefined;
        if (idle !== undefined) {
          scope.deadline.arm(idle);
          keptAlive = true;
        }
      } else {
        progressAt = performance.now();
        keptAlive = false;
        if (waiting) {
          waiting = false;
          scope.deadline.clear(); // a slow client must not look like a stalled upstream
        }
      }
      if (check.kind === "skip") continue;
      if (check.kind === "forward") {
        emit(check);
        continue;
      }
      if (check.kind === "release") {
        for (const out of check.events) emit(out);
        continue;
      }
      if (check.kind === "done") {
        ready.push(event);
        if (keep) parsed.push(DONE_EVENT);
      }
      flush();
      return check;
    }
    flush();
    splitter.detach(); // the next read reuses the buffer
    if (splitter.pendingBytes > MAX_EVENT_BYTES) {
      return {
        kind: "break",
        error: "the upstream sent an event larger than 8 MiB",
        code: "malformed_event",
      };
    }
    return undefined;
  };
  const settle = async (
    controller: ReadableStreamDefaultController<Uint8Array>,
    check: EventCheck | undefined,
  ): Promise<boolean> => {
    if (check === undefined) return false;
    if (check.kind === "done") end(controller);
    else if (check.kind === "break") {
      await broke(controller, check.error, check.code, check.failure);
    }
    return true;
  };
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(head);
      await settle(controller, drain(controller));
    },
    async pull(controller) {
      if (continued) {
        const { done, value } = await continued.read();
        if (done) {
          closed = true;
          controller.close();
        } else controller.enqueue(value);
        return;
      }
      // A pull that enqueues nothing is not called again, so keep reading
      // until a whole event has been forwarded or the stream is over.
      while (!closed && !continued) {
        if (!waiting) {
          waiting = true;
          scope.deadline.arm(idleMs);
        }
        let chunk:
          | Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]>>
          | undefined;
        try {
          chunk = await scope.read(reader);
        } catch {
          chunk = undefined;
        }
        // A read that failed, or that ended because the attempt was aborted
        // (see AttemptScope.read).
        if (chunk === undefined) {
          scope.deadline.clear();
          if (closed) return;
          if (scope.clientAborted) return end(controller);
          return await broke(
            controller,
            scope.deadline.fired
              ? keptAlive
                ? `only keep-alive comments for ${
                  Math.round((performance.now() - progressAt) / 1000)
                } s`
                : `no event for ${idleMs / 1000} s`
              : "the connection was lost",
            scope.deadline.fired ? "stream_stalled" : "connection_lost",
          );
        }
        if (chunk.done) {
          scope.deadline.clear();
          const check = endCheck(state, "the upstream ended the stream");
          // When the answer is complete, only the terminator was missing.
          if (check.kind === "done") controller.enqueue(DONE);
          return void await settle(controller, check);
        }
        splitter.push(chunk.value);
        const before = enqueued;
        if (await settle(controller, drain(controller))) return;
        // Nothing forwarded (events held or dropped, or no whole event yet): read on.
        if (!waiting && enqueued > before) return;
      }
    },
    cancel(reason) {
      if (!closed) {
        guard.onCut?.({ how: "client_closed", model, events: state.events });
      }
      closed = true;
      scope.controller.abort(
        new DOMException("client went away", "AbortError"),
      );
      scope.dispose();
      continued?.cancel(reason).catch(() => {});
      return reader.cancel().catch(() => {});
    },
  });
}
