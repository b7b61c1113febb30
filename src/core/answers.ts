/**
 * What counts as an answer (issue 24), before anything is sent to the client.
 *
 * A non-streaming 200 is no answer when its first choice has no content and
 * no tool call (unless it stopped at the length limit) or a tool call whose
 * arguments are not JSON ({@link notAnAnswer}).
 *
 * A stream commits at its first output the client can use: text that is not
 * only whitespace, a refusal, reasoning, or a `finish_reason` of `length`
 * ({@link AnswerOpening}). When its first output is a tool call, the tool
 * calls are held until the stream's `finish_reason`: each call's arguments
 * must parse as JSON (unless the client's own `max_tokens` cut them: the
 * same limit would cut the next model's, see {@link notAnAnswer}), and a
 * parallel set is complete only at its end (a break inside a later call
 * after the first one went out would leave the client with part of the set,
 * which an agent runs as if it were all of it).
 * Arguments that never parse fail the attempt before commit
 * (`invalid_tool_call`), and a stream that ends without content or tool calls
 * fails it too (`empty_answer`). Another model may answer. Holding is bounded
 * by {@link MAX_HELD_BYTES}.
 *
 * Reasoning commits at once rather than being held: a reasoning model can
 * think for minutes, and holding that would buffer the stream. A stream that
 * then finishes without text or a tool call breaks after its commit (the
 * stream guard's end check), and resumption asks the next model afresh.
 *
 * Pure: chunks in, verdicts out.
 *
 * @module
 */
import type { ChatCompletionChunk } from "../types.ts";
import { ToolCallKeys } from "./tool_call_keys.ts";

/** What an opening chunk means: read on, commit, or fail the attempt. */
export type OpeningVerdict =
  | "hold"
  | "commit"
  | "empty_answer"
  | "invalid_tool_call";

interface ToolCallDelta {
  index?: unknown;
  id?: unknown;
  function?: { arguments?: unknown };
}

/** Whether a string has a character other than whitespace. */
export function visible(value: unknown): boolean {
  return typeof value === "string" && value.trim() !== "";
}

/**
 * Whether a stream delta gives the client something it can use: text that
 * is not only whitespace, a refusal, or a tool call (reasoning alone does
 * not).
 */
export function usableDelta(delta: unknown): boolean {
  if (typeof delta !== "object" || delta === null) return false;
  const d = delta as Record<string, unknown>;
  return visible(d.content) || visible(d.refusal) || d.tool_calls != null ||
    d.function_call != null;
}

/** Whether a stream delta carries reasoning. */
function reasons(delta: Record<string, unknown>): boolean {
  return visible(delta.reasoning) || visible(delta.reasoning_content) ||
    (Array.isArray(delta.reasoning_details) &&
      delta.reasoning_details.length > 0);
}

/**
 * Whether tool call arguments are usable: JSON, or empty (a call without
 * arguments). Only text that can end a JSON value is parsed, so a long
 * argument string is not re-parsed at every delta.
 */
export function argumentsParse(args: string): boolean {
  let end = args.length - 1;
  while (end >= 0 && args.charCodeAt(end) <= 32) end--;
  if (end < 0) return true;
  const last = args[end];
  if (last !== "}" && last !== "]") return false;
  try {
    JSON.parse(args);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a non-streaming 200's first choice is no answer: empty content
 * without a tool call or a refusal (unless it stopped at the length limit),
 * or a tool call whose arguments are not JSON. Such a model failed this
 * request; another may not. The same rule as a stream's opening
 * ({@link AnswerOpening}): a refusal is the model's answer.
 *
 * `lengthFinal`: the attempt asked for the client's own `max_tokens`, so a
 * length stop would cut the next model's answer at the same place. Then a
 * choice that stopped at the length limit is an answer whatever it holds, a
 * tool call cut short included, and goes to the client with its
 * `finish_reason` for one attempt of the day's quota. Without it (no
 * `max_tokens`, or one lowered to this model's cap) such a call is this
 * model's failure: another model may have room for it.
 */
export function notAnAnswer(
  choice: unknown,
  lengthFinal = false,
): "empty_answer" | "invalid_tool_call" | undefined {
  const c = choice as {
    message?: {
      content?: unknown;
      tool_calls?: unknown;
      refusal?: unknown;
      function_call?: unknown;
    };
    finish_reason?: unknown;
  } | undefined;
  const message = c?.message;
  if (typeof message !== "object" || message === null) return undefined;
  if (lengthFinal && c?.finish_reason === "length") return undefined;
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  for (const call of calls) {
    const args = (call as { function?: { arguments?: unknown } })?.function
      ?.arguments;
    if (typeof args === "string" && !argumentsParse(args)) {
      return "invalid_tool_call";
    }
  }
  const content = message.content;
  const empty = content == null || (typeof content === "string" &&
    !visible(content)) ||
    (Array.isArray(content) && content.length === 0);
  const other = visible(message.refusal) || message.function_call != null;
  return empty && !other && calls.length === 0 &&
      c?.finish_reason !== "length"
    ? "empty_answer"
    : undefined;
}

/**
 * Whether a non-streaming 200's choices hold no answer: a tool call whose
 * arguments are not JSON in any choice, or no answer in every choice (with
 * `n` > 1, one good choice is an answer). See {@link notAnAnswer}, also for
 * `lengthFinal`.
 */
export function noAnswerIn(
  choices: readonly unknown[],
  lengthFinal = false,
): "empty_answer" | "invalid_tool_call" | undefined {
  let empty = choices.length > 0;
  for (const choice of choices) {
    const verdict = notAnAnswer(choice, lengthFinal);
    if (verdict === "invalid_tool_call") return verdict;
    if (verdict === undefined) empty = false;
  }
  return empty ? "empty_answer" : undefined;
}

/**
 * How much of an opening is held before it goes on anyway: arguments this
 * long are streamed rather than buffered further.
 */
export const MAX_HELD_BYTES = 1024 * 1024;

/** Each tool call's arguments so far, call by call (see {@link ToolCallKeys}). */
class CallArguments {
  readonly #keys = new ToolCallKeys();
  readonly #args = new Map<number, string>();

  /** Adds one tool call delta's arguments; returns its call's key and piece. */
  add(call: ToolCallDelta): { key: number; piece: string } {
    const key = this.#keys.ofDelta(call);
    const raw = call?.function?.arguments;
    const piece = typeof raw === "string" ? raw : "";
    this.#args.set(key, (this.#args.get(key) ?? "") + piece);
    return { key, piece };
  }

  /** How many calls there are. */
  get size(): number {
    return this.#args.size;
  }

  /** Whether every call's arguments parse ({@link argumentsParse}). */
  allParse(): boolean {
    for (const args of this.#args.values()) {
      if (!argumentsParse(args)) return false;
    }
    return true;
  }
}

/**
 * The opening of one streamed answer, chunk by chunk.
 *
 * @example Tool calls commit at the finish, when their arguments parse
 * ```ts
 * import { AnswerOpening } from "./answers.ts";
 * const opening = new AnswerOpening();
 * const call = (args: string) => ({
 *   id: "gen-1",
 *   object: "chat.completion.chunk",
 *   created: 0,
 *   model: "a:free",
 *   choices: [{
 *     index: 0,
 *     delta: { tool_calls: [{ index: 0, function: { arguments: args } }] },
 *     finish_reason: null,
 *   }],
 * });
 * if (opening.take(call('{"cmd": "l')) !== "hold") throw new Error("held");
 * if (opening.take(call('s"}')) !== "hold") throw new Error("held too");
 * const finish = { ...call(""), choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] };
 * if (opening.take(finish) !== "commit") throw new Error("committed");
 * ```
 */
export class AnswerOpening {
  /** Each held tool call's arguments so far. */
  readonly #args = new CallArguments();
  /** Bytes held so far (see {@link MAX_HELD_BYTES}). */
  #bytes = 0;
  /** A length stop is the client's own limit (see {@link notAnAnswer}). */
  readonly #lengthFinal: boolean;

  /** `lengthFinal`: the attempt asked for the client's own `max_tokens` (see {@link notAnAnswer}). */
  constructor(lengthFinal = false) {
    this.#lengthFinal = lengthFinal;
  }

  /**
   * One data chunk before the commit, `bytes` long as it came: past
   * {@link MAX_HELD_BYTES} held, what would be held commits.
   */
  take(chunk: ChatCompletionChunk, bytes = 0): OpeningVerdict {
    this.#bytes += bytes;
    const verdict = this.#take(chunk);
    return verdict === "hold" && this.#bytes > MAX_HELD_BYTES
      ? "commit"
      : verdict;
  }

  #take(chunk: ChatCompletionChunk): OpeningVerdict {
    const choices = Array.isArray(chunk?.choices) ? chunk.choices : [];
    let finish: unknown = null;
    let reasoning = false;
    for (const choice of choices) {
      const delta = choice?.delta as Record<string, unknown> | undefined;
      if (delta != null) {
        if (
          visible(delta.content) || visible(delta.refusal) ||
          delta.function_call != null
        ) return "commit";
        if (reasons(delta)) reasoning = true;
        if (Array.isArray(delta.tool_calls)) {
          for (const call of delta.tool_calls as ToolCallDelta[]) {
            this.#args.add(call);
          }
        }
      }
      if (choice?.finish_reason != null) finish = choice.finish_reason;
    }
    if (finish !== null) {
      // Cut by the length limit: an answer, as without streaming (see
      // notAnAnswer): before any output, or, when the limit is the client's
      // own, whatever the tool calls hold.
      return finish === "length" &&
          (this.#args.size === 0 || this.#lengthFinal)
        ? "commit"
        : this.end();
    }
    // Reasoning commits at once (unless its chunk finishes the stream with
    // nothing else: no answer, and nothing of it sent); tool calls (or
    // nothing yet): only the finish tells the set is whole.
    return reasoning ? "commit" : "hold";
  }

  /**
   * The stream finished before a commit: what it held is an answer when its
   * tool calls' arguments all parse.
   */
  end(): "commit" | "empty_answer" | "invalid_tool_call" {
    if (this.#args.size === 0) return "empty_answer";
    return this.#args.allParse() ? "commit" : "invalid_tool_call";
  }
}

/**
 * The arguments of the tool calls a committed stream forwarded, call by call,
 * so that its end can tell whether every call is usable: calls that come after
 * the commit (after text or reasoning, or past {@link MAX_HELD_BYTES} held)
 * are not held, and one whose arguments never parse must not end the stream
 * as a whole answer.
 * Past {@link MAX_HELD_BYTES} of arguments nothing more is kept, and the
 * calls count as usable (the same bound as holding).
 */
export class ForwardedToolCalls {
  /** Each call's arguments so far, by choice. */
  readonly #choices = new Map<number, CallArguments>();
  #bytes = 0;

  /** Notes the tool call deltas of one forwarded chunk. */
  add(chunk: ChatCompletionChunk): void {
    if (this.#bytes > MAX_HELD_BYTES || !Array.isArray(chunk?.choices)) return;
    for (const choice of chunk.choices) {
      const calls = (choice?.delta as { tool_calls?: unknown } | undefined)
        ?.tool_calls;
      if (!Array.isArray(calls)) continue;
      const index = typeof choice.index === "number" ? choice.index : 0;
      let args = this.#choices.get(index);
      if (args === undefined) {
        this.#choices.set(index, args = new CallArguments());
      }
      for (const call of calls as ToolCallDelta[]) {
        this.#bytes += args.add(call).piece.length;
      }
    }
  }

  /** Whether every call's arguments parse (or too many were forwarded to tell). */
  usable(): boolean {
    if (this.#bytes > MAX_HELD_BYTES) return true;
    for (const args of this.#choices.values()) {
      if (!args.allParse()) return false;
    }
    return true;
  }
}

/**
 * The nesting of JSON text fed piece by piece: whether an object or array has
 * opened and closed again (outside strings). Linear in the text, so a long
 * argument string is scanned once, not re-read at every delta.
 */
export class JsonDepth {
  #depth = 0;
  #opened = false;
  #inString = false;
  #escape = false;

  /** Feeds the next piece of text. */
  feed(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.#inString) {
        if (this.#escape) this.#escape = false;
        else if (c === 92) this.#escape = true; // backslash
        else if (c === 34) this.#inString = false; // quote
      } else if (c === 34) this.#inString = true;
      else if (c === 123 || c === 91) {
        this.#depth++;
        this.#opened = true;
      } else if (c === 125 || c === 93) this.#depth--;
    }
  }

  /** Whether what was fed opened a value and closed it again. */
  get balanced(): boolean {
    return this.#opened && this.#depth <= 0 && !this.#inString;
  }
}
