/**
 * The opening of a continuation stream (resumption): its events are held
 * until it is clear that it continues the forwarded text rather than
 * starting over (see core/continuation.ts), then committed rewritten as part
 * of the first stream: its `id` and `created`, no role-only chunk, the
 * repeated part of a restart dropped. The `model` field still says who wrote
 * each chunk.
 *
 * @module
 */
import { usableDelta, visible } from "../core/answers.ts";
import { ContinuationText } from "../core/continuation.ts";
import type { ChatCompletionChunk } from "../types.ts";
import { type StreamBreak, track, type Tracked } from "./stream_track.ts";

type Choice = ChatCompletionChunk["choices"][number];

/** A chunk that only names the role: the continuation's opening, dropped. */
function roleOnly(chunk: ChatCompletionChunk): boolean {
  const choice = chunk.choices?.[0];
  if (chunk.choices?.length !== 1 || !choice) return false;
  const delta = choice.delta ?? {};
  return choice.finish_reason == null && delta.tool_calls == null &&
    (delta.content === undefined || delta.content === "" ||
      delta.content === null) &&
    Object.keys(delta).every((k) => k === "role" || k === "content");
}

/**
 * A continuation's chunk as the first stream's: the role-only chunk dropped
 * (`undefined`), the first stream's `id` and `created` on every other.
 */
export function continuationRewrite(
  origin: StreamBreak,
): (chunk: ChatCompletionChunk) => string | undefined {
  return (chunk) => {
    if (roleOnly(chunk)) return undefined;
    chunk.id = origin.id;
    chunk.created = origin.created;
    return `data: ${JSON.stringify(chunk)}\n\n`;
  };
}

/** Whether a chunk adds to the answer: something usable, or a `length` stop. */
function adds(chunk: ChatCompletionChunk): boolean {
  const choice = chunk.choices?.[0];
  return choice?.finish_reason === "length" || usableDelta(choice?.delta);
}

/** A chunk of whitespace only (no finish): held until something follows. */
function whitespaceOnly(chunk: ChatCompletionChunk): boolean {
  const choice = chunk.choices?.[0];
  if (chunk.choices?.length !== 1 || !choice) return false;
  const delta = choice.delta ?? {};
  return choice.finish_reason == null &&
    typeof delta.content === "string" && !visible(delta.content) &&
    Object.keys(delta).every((k) => k === "role" || k === "content");
}

/**
 * A continuation before its commit: what to hold, what to commit, what to
 * reject. It commits once it adds to the answer (or reasons: reasoning is
 * not held back); a finish before it added anything is `nothing_added`
 * (the answer may have been cut short), unless another model already found
 * nothing to add, and then the finish ends the answer as it stands.
 */
export class ContinuationOpening {
  readonly #text: ContinuationText;
  /** Chunks without choices (usage) that arrived before the commit: they go after it. */
  readonly #pending: ChatCompletionChunk[] = [];
  /** Whitespace that arrived before the commit: it goes before it. */
  readonly #whitespace: ChatCompletionChunk[] = [];

  /** The opening of a continuation of `origin`. */
  constructor(origin: StreamBreak) {
    this.#text = new ContinuationText(origin.text);
    this.rewrite = continuationRewrite(origin);
  }

  /** A committed continuation chunk as the first stream's (undefined: dropped). */
  readonly rewrite: (chunk: ChatCompletionChunk) => string | undefined;

  /**
   * One data event before the commit: `hold` (read on), `reject` (it started
   * over and diverged: it rejects the prefill), `nothing_added` (it finished
   * without adding anything), or the events to commit with, already
   * rewritten and tracked in `state`.
   */
  take(
    chunk: ChatCompletionChunk,
    state: Tracked,
  ): "hold" | "reject" | "nothing_added" | string[] {
    if (roleOnly(chunk)) return "hold";
    const choice: Choice | undefined = chunk.choices?.[0];
    const content = choice?.delta?.content;
    if (typeof content === "string" && content !== "") {
      const step = this.#text.feed(content);
      if (step.kind === "reject") return "reject";
      if (step.kind === "hold") return "hold";
      choice!.delta.content = step.text;
      // The repeated part only: nothing new yet.
      if (roleOnly(chunk)) return "hold";
    } else if (chunk.choices?.length === 0) {
      this.#pending.push(chunk); // usage: after what it counts
      return "hold";
    } else {
      const step = this.#text.settle();
      if (step.kind === "reject") return "reject";
    }
    if (!adds(chunk)) {
      // Before the commit, `answered` holds only when another model already
      // found nothing to add (see Tracked.answered): then a finish ends it.
      if (choice?.finish_reason != null && !state.answered) {
        return "nothing_added";
      }
      if (whitespaceOnly(chunk)) {
        this.#whitespace.push(chunk);
        return "hold";
      }
    }
    // It adds to the answer, reasons (not held back), or ends it as it stands.
    return this.#commit(chunk, state);
  }

  /** Whether nothing was decided yet when the stream ends: a restart cut short. */
  get undecided(): boolean {
    return this.#text.holding;
  }

  #commit(chunk: ChatCompletionChunk, state: Tracked): string[] {
    const events: string[] = [];
    const chunks = [
      ...this.#whitespace.splice(0),
      chunk,
      ...this.#pending.splice(0),
    ];
    for (const c of chunks) {
      track(c, state);
      const event = this.rewrite(c);
      if (event !== undefined) events.push(event);
    }
    return events;
  }
}
