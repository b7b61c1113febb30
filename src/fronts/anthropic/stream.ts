/**
 * Chat completion chunks → Anthropic Messages stream events, each framed as
 * `event: <type>\ndata: <json>\n\n`.
 *
 * One content block at a time, indexes from 0: a run of text, a run of
 * reasoning (only when the request asked for thinking), or one tool call. A
 * block is closed (`content_block_stop`) when the next one starts and at the
 * end; a closed block cannot be reopened.
 *
 * Tool calls: one streams live, its block opening when its name arrives (the
 * call is held until then, and dropped if no name ever comes) and its
 * argument deltas following as they come. A call that starts while another
 * tool block is open is held (its id, name and arguments kept), since
 * providers may interleave the deltas of parallel calls. The live call's
 * block closes as soon as its arguments are a complete JSON object or array
 * (their nesting is followed piece by piece, see `JsonDepth`); then the
 * earliest held call that has a name starts, its arguments so far in one
 * `input_json_delta`, and streams live from there, and so on (a held call
 * whose arguments are complete already is a whole block: start, one delta,
 * stop). So calls that come one after the other each stream live. The calls
 * still held at {@link MessagesStream.finish} are sent there as whole blocks,
 * after the open block closes, in the order they started. A held call also
 * goes live when it gets a delta while no tool block is open and no earlier
 * held call has a name. Holding is capped: past `MAX_HELD_BYTES` of held
 * arguments, the open block (a tool call whose arguments never complete, or
 * text) is closed as if it were complete and the held calls start as above,
 * each closed at once while the cap is still exceeded, so that a call which
 * never completes cannot keep the rest in memory (a call without a name cannot
 * start: it stays held, and is dropped for good when its delta leaves the held
 * arguments past the cap once the named calls have started). Text and reasoning are never held: they close an
 * open tool block. A delta that arrives for a call whose block was closed (by
 * text, by its arguments completing, or by the cap) is dropped. A new call id
 * under an index already used is a new call (some providers number every call
 * 0). A refusal is text, as in `response.ts`, which also gives the stop
 * reasons and how usage counts cached prompt tokens.
 *
 * @module
 */
import type { ToolUseBlock } from "@anthropic-ai/sdk/resources/messages";
import type { ChatCompletionChunk } from "../../types.ts";
import { streamErrorType } from "./errors.ts";
import {
  type CacheCounts,
  cacheCounts,
  stopReasonOf,
  tokens,
  uncachedInput,
  usageOf,
} from "./response.ts";
import { blockDeltaFrame, frame, PING } from "./stream_frame.ts";
import { callIdOf, ToolCallKeys } from "../../core/tool_call_keys.ts";
import { JsonDepth, MAX_HELD_BYTES } from "../../core/answers.ts";

/** Options of {@link MessagesStream}. */
export interface MessagesStreamOptions {
  /** The message id, `msg_…`. */
  id: string;
  /** The model reported in `message_start` (the first one that answered). */
  model: string;
  /** The prompt's token count for `message_start`, if known. */
  inputTokens?: number;
  /** The request asked for thinking: stream the reasoning as thinking blocks. */
  thinking?: boolean;
  /** The request's `stop_sequences`. */
  stopSequences?: readonly string[] | null;
}

interface ToolCallDelta {
  index?: unknown;
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown };
}

/** A tool call not shown yet, or the live one (its arguments are sent as they come). */
interface ToolCall {
  id: string | undefined;
  name: string | undefined;
  /** The arguments not sent yet. */
  args: string;
  /** The nesting of all its arguments, sent or not. */
  depth: JsonDepth;
}

/**
 * Translates one chat completion stream into Anthropic stream events. Call
 * {@link start} once, {@link push} per chunk, then {@link finish} or
 * {@link fail}; after those every method returns `""`.
 *
 * @example
 * ```ts
 * import { MessagesStream } from "./stream.ts";
 * const stream = new MessagesStream({ id: "msg_1", model: "a:free" });
 * let sse = stream.start();
 * sse += stream.push({
 *   id: "gen-1",
 *   object: "chat.completion.chunk",
 *   created: 0,
 *   model: "a:free",
 *   choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: "stop" }],
 * });
 * sse += stream.finish();
 * console.log(sse);
 * ```
 */
export class MessagesStream {
  #options: MessagesStreamOptions;
  #started = false;
  #done = false;
  /** The open block, if any. */
  #open: "text" | "thinking" | "tool" | undefined;
  /** The index of the open block. */
  #index = -1;
  /** The open block's delta frame, around the delta text. */
  #head = "";
  #tail = "";
  /** The key of the tool call whose block is open (streaming live). */
  #live: number | undefined;
  /** The live tool call and the held ones, in the order they started. */
  #calls = new Map<number, ToolCall>();
  /** The length of the held calls' arguments. */
  #held = 0;
  /** The key of the tool call that started last. */
  #last: number | undefined;
  /** The keys of every tool call seen, its block closed or not. */
  #seenTools = new Set<number>();
  #keys = new ToolCallKeys();
  #anyTool = false;
  #finish: string | null = null;
  #finishChoice: Record<string, unknown> | undefined;
  #inputTokens: number | null = null;
  #outputTokens = 0;
  #cache: CacheCounts = { read: 0, write: 0 };

  /** A translator for one response; see {@link MessagesStreamOptions}. */
  constructor(options: MessagesStreamOptions) {
    this.#options = options;
  }

  /** `message_start`, with empty content. Returns `""` when already sent. */
  start(): string {
    if (this.#started || this.#done) return "";
    this.#started = true;
    const { id, model, inputTokens } = this.#options;
    return frame({
      type: "message_start",
      message: {
        id,
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: usageOf(inputTokens ?? 0, 0),
        container: null,
        diagnostics: null,
        stop_details: null,
      },
    });
  }

  /** A keep-alive `ping` event (none before the opening events or after the end). */
  keepAlive(): string {
    return this.#done || !this.#started ? "" : PING;
  }

  /** The events for one upstream chunk (a `message_start` first if not sent). */
  push(chunk: ChatCompletionChunk): string {
    if (this.#done) return "";
    let out = this.start();
    const choice = chunk.choices?.[0];
    const delta = choice?.delta;
    if (delta) {
      const { reasoning, tool_calls } = delta;
      // A refusal is the model's answer: text, as without streaming.
      const content = (typeof delta.content === "string" ? delta.content : "") +
        (typeof delta.refusal === "string" ? delta.refusal : "");
      if (
        typeof reasoning === "string" && reasoning && this.#options.thinking
      ) {
        out += this.#run("thinking");
        out += this.#head + JSON.stringify(reasoning) + this.#tail;
      }
      if (content) {
        out += this.#run("text");
        out += this.#head + JSON.stringify(content) + this.#tail;
      }
      if (Array.isArray(tool_calls)) {
        for (const call of tool_calls as ToolCallDelta[]) {
          out += this.#tool(call);
        }
      }
    }
    if (choice?.finish_reason) {
      this.#finish = choice.finish_reason;
      this.#finishChoice = choice;
    }
    const usage = chunk.usage;
    if (usage) {
      if (typeof usage.prompt_tokens === "number") {
        this.#inputTokens = usage.prompt_tokens;
      }
      this.#outputTokens = tokens(usage.completion_tokens);
      this.#cache = cacheCounts(usage);
    }
    return out;
  }

  /**
   * Closes the open block, sends the held tool calls, then `message_delta`
   * and `message_stop`.
   */
  finish(): string {
    if (this.#done) return "";
    let out = this.start() + this.#close() + this.#flushHeld();
    this.#done = true;
    const stop = stopReasonOf(
      this.#finish,
      this.#finishChoice,
      this.#options.stopSequences,
      this.#anyTool,
    );
    out += frame({
      type: "message_delta",
      delta: { ...stop, container: null, stop_details: null },
      usage: {
        input_tokens: this.#inputTokens === null
          ? null
          : uncachedInput(this.#inputTokens, this.#cache),
        output_tokens: this.#outputTokens,
        cache_creation_input_tokens: this.#cache.write,
        cache_read_input_tokens: this.#cache.read,
        output_tokens_details: null,
        server_tool_use: null,
      },
    });
    return out + frame({ type: "message_stop" });
  }

  /**
   * One `event: error` and nothing after it: open blocks stay open and there
   * is no `message_stop`, so the client knows the answer is incomplete.
   */
  fail(message: string, code?: string | number | null): string {
    if (this.#done) return "";
    this.#done = true;
    return frame({
      type: "error",
      error: { type: streamErrorType(code), message },
    });
  }

  /** Makes sure a block of `kind` is open, closing another one first. */
  #run(kind: "text" | "thinking"): string {
    if (this.#open === kind) return "";
    const out = this.#close();
    this.#open = kind;
    this.#index++;
    [this.#head, this.#tail] = blockDeltaFrame(
      this.#index,
      kind === "text" ? "text_delta" : "thinking_delta",
    );
    return out + frame({
      type: "content_block_start",
      index: this.#index,
      content_block: kind === "text"
        ? { type: "text", text: "", citations: null }
        : { type: "thinking", thinking: "", signature: "" },
    });
  }

  #close(): string {
    const open = this.#open;
    if (open === undefined) return "";
    this.#open = undefined;
    if (open === "tool") {
      this.#calls.delete(this.#live!);
      this.#live = undefined;
    }
    return frame({ type: "content_block_stop", index: this.#index });
  }

  /** The key of a tool call delta: by its index, else the last call's when the id fits. */
  #keyOf(delta: ToolCallDelta, id: string | undefined): number {
    if (typeof delta.index === "number") return this.#keys.of(delta.index, id);
    const last = this.#last === undefined
      ? undefined
      : this.#calls.get(this.#last);
    return last && (id === undefined || id === last.id)
      ? this.#last!
      : this.#keys.fresh();
  }

  #tool(delta: ToolCallDelta): string {
    const id = callIdOf(delta.id);
    const key = this.#keyOf(delta, id);
    const name = delta.function?.name;
    const args = typeof delta.function?.arguments === "string"
      ? delta.function.arguments
      : "";
    let call = this.#calls.get(key);
    if (call === undefined) {
      if (this.#seenTools.has(key)) return ""; // its block is closed
      this.#seenTools.add(key);
      this.#last = key;
      call = { id, name: undefined, args: "", depth: new JsonDepth() };
      this.#calls.set(key, call);
    }
    call.depth.feed(args);
    if (key === this.#live) {
      const out = args ? this.#args(args) : "";
      return call.depth.balanced ? out + this.#advance() : out;
    }
    call.id ??= id;
    call.args += args;
    this.#held += args.length;
    if (typeof name === "string" && name) call.name ??= name;
    if (this.#live !== undefined && this.#held <= MAX_HELD_BYTES) return "";
    // No tool block open, or too much held: maybe start the held calls.
    const first = this.#firstNamed();
    const out = first !== undefined &&
        ((first === key && this.#live === undefined) ||
          this.#held > MAX_HELD_BYTES)
      ? this.#advance()
      : "";
    if (call.name === undefined && this.#held > MAX_HELD_BYTES) {
      // Still past the cap once the named calls started: it cannot start
      // without a name, so it is dropped, for good.
      this.#held -= call.args.length;
      this.#calls.delete(key);
    }
    return out;
  }

  /** The key of the earliest held call that has a name. */
  #firstNamed(): number | undefined {
    for (const [key, call] of this.#calls) {
      if (key !== this.#live && call.name !== undefined) return key;
    }
    return undefined;
  }

  /**
   * Closes the open block, then starts the held calls that have a name, in
   * the order they started, closing each again at once while its arguments
   * are complete or more than `MAX_HELD_BYTES` stay held; the first other
   * one stays open, streaming live.
   */
  #advance(): string {
    let out = this.#close();
    for (const [key, call] of this.#calls) {
      if (call.name === undefined) continue;
      this.#open = "tool";
      this.#live = key;
      this.#held -= call.args.length;
      out += this.#startTool(call);
      if (!call.depth.balanced && this.#held <= MAX_HELD_BYTES) break;
      out += this.#close();
    }
    return out;
  }

  /** The held calls that have a name, each as a whole block; the rest are dropped. */
  #flushHeld(): string {
    let out = "";
    for (const call of this.#calls.values()) {
      if (call.name === undefined) continue;
      out += this.#startTool(call) +
        frame({ type: "content_block_stop", index: this.#index });
    }
    this.#calls.clear();
    this.#held = 0;
    return out;
  }

  /** Starts a tool call's block, with the arguments held so far. */
  #startTool(call: ToolCall): string {
    const { id, args } = call;
    call.args = "";
    this.#anyTool = true;
    this.#index++;
    [this.#head, this.#tail] = blockDeltaFrame(this.#index, "input_json_delta");
    const block: ToolUseBlock = {
      type: "tool_use",
      id: id ?? `toolu_${this.#options.id.replace(/^msg_/, "")}_${this.#index}`,
      name: call.name!,
      input: {},
      caller: { type: "direct" },
    };
    const out = frame({
      type: "content_block_start",
      index: this.#index,
      content_block: block,
    });
    return args ? out + this.#args(args) : out;
  }

  #args(partial: string): string {
    return this.#head + JSON.stringify(partial) + this.#tail;
  }
}
