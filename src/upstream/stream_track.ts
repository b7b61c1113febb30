/**
 * What a committed stream's guard knows about it: what it forwarded (the
 * text, the events, whether it is still resumable) and, when it breaks, the
 * break handed to resumption.
 *
 * @module
 */
import type { ChatCompletionChunk } from "../types.ts";
import type { UpstreamFailure } from "../core/failure.ts";
import { ForwardedToolCalls, usableDelta, visible } from "../core/answers.ts";

/** Why and where a committed stream broke. */
export interface StreamBreak {
  /** The model whose stream broke. */
  model: string;
  /** What broke, e.g. `no event for 60 s`. */
  error: string;
  code: string | number | null;
  /**
   * The upstream's error event, when it sent one (a mid-stream 429 says the
   * model, or the account, is rate-limited, as a 429 before the stream would).
   */
  failure?: UpstreamFailure;
  /** Data events forwarded before the break (across continuations). */
  events: number;
  /** All assistant text forwarded so far. */
  text: string;
  /** The first stream's chunk `id` and `created`, which continuations reuse. */
  id: string;
  created: number;
  /** The original break, when a continuation broke in turn. */
  origin?: StreamBreak;
  /**
   * Continuations of this text that finished without adding anything to it
   * (see {@link Tracked.answered}).
   */
  nothingAdded?: number;
}

/**
 * How a committed stream ended short of its answer: `broken` (the upstream
 * broke and no model continued it: the client got an error event) or
 * `client_closed` (the client stopped reading).
 */
export interface StreamCut {
  how: "broken" | "client_closed";
  /** The model whose stream it was (the first one's, after a resumption). */
  model: string;
  /** Data events forwarded before the end. */
  events: number;
  /** What broke, for `broken`. */
  error?: string;
}

/** Continues a broken stream: a committed continuation, or undefined when none can be had. */
export type Resume = (broken: StreamBreak) => Promise<
  { model: string; body: ReadableStream<Uint8Array> } | undefined
>;

/** What the guard keeps track of while forwarding. */
export interface Tracked {
  /** A `finish_reason` was seen. */
  finished: boolean;
  /** The attempt asked for the client's own `max_tokens` (core/answers.ts `notAnAnswer`). */
  lengthFinal: boolean;
  /** With `lengthFinal`, the `finish_reason` was `length`: tool calls it cut short are the answer the limit allowed. */
  cut: boolean;
  /**
   * Something the client can use was forwarded: text that is not only
   * whitespace, a tool call, a refusal, or a `length` stop (reasoning alone
   * is no answer). A continuation must add it of its own: one that finishes
   * without (at once, after reasoning, after repeating the forwarded text)
   * may have cut the answer short, so the next model is asked; once a model
   * has found nothing to add, the next one's finish ends the answer as it
   * stands (two models agree it was complete).
   */
  answered: boolean;
  /** The request asks for several choices (`n` > 1), or a chunk named another than the first. */
  manyChoices: boolean;
  /** The continued break's {@link StreamBreak.nothingAdded} (0 for a first stream). */
  nothingAdded: number;
  /** Everything forwarded was assistant text (no tool calls, no refusal, one choice). */
  resumable: boolean;
  /** The assistant text forwarded (only kept while resumable). */
  text: string;
  /** Data events forwarded. */
  events: number;
  id: string | undefined;
  created: number | undefined;
  /** The break this stream continues, if it is a continuation. */
  origin: StreamBreak | undefined;
  /** A continuation's events are rewritten: the first stream's id and created, no role-only chunk. */
  rewrite: ((chunk: ChatCompletionChunk) => string | undefined) | undefined;
  /** The tool calls forwarded, once one was (their arguments are checked at the end). */
  calls: ForwardedToolCalls | undefined;
}

/** Whether the next model answers a break afresh: nothing but reasoning (or whitespace) was forwarded. */
export function startsAfresh(at: StreamBreak): boolean {
  return !visible(at.text);
}

/**
 * Fresh tracking for a stream. A continuation starts from the text, event
 * count and ids of the break it continues, and remembers the original break.
 */
export function tracked(
  continues?: StreamBreak,
  lengthFinal = false,
  manyChoices = false,
): Tracked {
  return {
    finished: false,
    lengthFinal,
    cut: false,
    answered: continues !== undefined && !startsAfresh(continues) &&
      (continues.nothingAdded ?? 0) > 0,
    manyChoices,
    nothingAdded: continues?.nothingAdded ?? 0,
    resumable: true,
    text: continues?.text ?? "",
    events: continues?.events ?? 0,
    id: continues?.id,
    created: continues?.created,
    origin: continues?.origin ?? continues,
    rewrite: undefined,
    calls: undefined,
  };
}

/** Notes one forwarded chunk: its finish, its text, and whether the answer stays resumable. */
export function track(body: ChatCompletionChunk, state: Tracked): void {
  state.events++;
  state.id ??= typeof body.id === "string" ? body.id : undefined;
  state.created ??= typeof body.created === "number" ? body.created : undefined;
  const choices = body.choices;
  if (!Array.isArray(choices)) return;
  let noted = false;
  for (const choice of choices) {
    if (choice?.finish_reason != null) {
      state.finished = true;
      if (choice.finish_reason === "length") {
        state.answered = true;
        state.cut = state.lengthFinal;
      }
    }
    const delta = choice?.delta;
    if (delta?.tool_calls != null && !noted) {
      noted = true; // add() reads every choice of the chunk
      (state.calls ??= new ForwardedToolCalls()).add(body);
    }
    if (!state.answered && usableDelta(delta)) state.answered = true;
    if (choice != null && choice.index !== 0) state.manyChoices = true;
    if (!state.resumable) continue;
    if (choice?.index !== 0 || delta == null) {
      if (choice?.index !== 0) state.resumable = false;
      continue;
    }
    if (
      delta.tool_calls != null || delta.function_call != null || delta.refusal
    ) {
      state.resumable = false;
      state.text = "";
    } else if (typeof delta.content === "string") state.text += delta.content;
  }
}

/**
 * Tracks one data event and says what goes on in its place: the event
 * itself, its rewrite (a continuation's), or nothing (the rewrite drops it).
 */
export function forwardedAs(
  body: ChatCompletionChunk,
  event: Uint8Array,
  state: Tracked,
): Uint8Array | string | undefined {
  track(body, state);
  return state.rewrite ? state.rewrite(body) : event;
}
