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

/** A continuation before its commit: what to hold, what to commit, what to reject. */
export class ContinuationOpening {
  readonly #text: ContinuationText;
  /** Chunks without content that arrived while the text was held. */
  readonly #pending: ChatCompletionChunk[] = [];

  /** The opening of a continuation of `origin`. */
  constructor(origin: StreamBreak) {
    this.#text = new ContinuationText(origin.text);
    this.rewrite = continuationRewrite(origin);
  }

  /** A committed continuation chunk as the first stream's (undefined: dropped). */
  readonly rewrite: (chunk: ChatCompletionChunk) => string | undefined;

  /**
   * One data event before the commit: `hold` (read on), `reject` (it started
   * over and diverged: it rejects the prefill), or the events to commit
   * with, already rewritten and tracked in `state`.
   */
  take(
    chunk: ChatCompletionChunk,
    state: Tracked,
  ): "hold" | "reject" | string[] {
    if (roleOnly(chunk)) return "hold";
    const choice: Choice | undefined = chunk.choices?.[0];
    const content = choice?.delta?.content;
    if (typeof content === "string" && content !== "") {
      const step = this.#text.feed(content);
      if (step.kind === "reject") return "reject";
      if (step.kind === "hold") return "hold";
      choice!.delta.content = step.text;
      const decided = choice!.finish_reason == null &&
          choice!.delta.tool_calls == null && step.text === ""
        ? [] // the repeated part only: nothing to send yet
        : [chunk];
      return this.#commit(decided, state);
    }
    if (chunk.choices?.length === 0 && this.#text.holding) {
      this.#pending.push(chunk); // usage: after the text
      return "hold";
    }
    const step = this.#text.settle();
    if (step.kind === "reject") return "reject";
    return this.#commit([chunk], state);
  }

  /** Whether nothing was decided yet when the stream ends: a restart cut short. */
  get undecided(): boolean {
    return this.#text.holding;
  }

  #commit(chunks: ChatCompletionChunk[], state: Tracked): string[] {
    const events: string[] = [];
    for (const c of [...chunks, ...this.#pending.splice(0)]) {
      track(c, state);
      const event = this.rewrite(c);
      if (event !== undefined) events.push(event);
    }
    return events;
  }
}
