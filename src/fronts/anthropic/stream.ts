/**
 * Chat completion chunks → Anthropic Messages stream events, each framed as
 * `event: <type>\ndata: <json>\n\n`.
 *
 * One content block per run, in order, indexes from 0: a run of text, a run of
 * reasoning (only when the request asked for thinking), or one tool call. A
 * block is closed (`content_block_stop`) when the next run starts and at the
 * end. Deltas for a tool call whose block was already closed (the upstream
 * went back to an earlier tool call index) are dropped: a closed block cannot
 * be reopened. A new call id under an index already used is a new call (some
 * providers number every call 0). A tool call whose first delta has no name is held until the
 * name arrives, and dropped if it never does. See `response.ts` for the stop
 * reasons.
 *
 * @module
 */
import type { ToolUseBlock } from "@anthropic-ai/sdk/resources/messages";
import type { ChatCompletionChunk } from "../../types.ts";
import { streamErrorType } from "./errors.ts";
import { stopReasonOf, tokens, usageOf } from "./response.ts";
import { blockDeltaFrame, frame, PING } from "./stream_frame.ts";
import { callIdOf, ToolCallKeys } from "../../core/tool_call_keys.ts";

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

/** A tool call whose block is not started yet: its name has not arrived. */
interface PendingTool {
  id: string | undefined;
  args: string;
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
  #open: "text" | "thinking" | "tool" | "pending" | undefined;
  /** The index of the open block. */
  #index = -1;
  /** The open block's delta frame, around the delta text. */
  #head = "";
  #tail = "";
  /** The upstream tool call index of the open tool block. */
  #toolKey: number | undefined;
  #toolId: string | undefined;
  #pending: PendingTool | undefined;
  /** Upstream tool call indexes that have had a block. */
  #seenTools = new Set<number>();
  #keys = new ToolCallKeys();
  #anyTool = false;
  #finish: string | null = null;
  #finishChoice: Record<string, unknown> | undefined;
  #inputTokens: number | null = null;
  #outputTokens = 0;

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
      const { reasoning, content, tool_calls } = delta;
      if (
        typeof reasoning === "string" && reasoning && this.#options.thinking
      ) {
        out += this.#run("thinking");
        out += this.#head + JSON.stringify(reasoning) + this.#tail;
      }
      if (typeof content === "string" && content) {
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
    }
    return out;
  }

  /** Closes the open block, then `message_delta` and `message_stop`. */
  finish(): string {
    if (this.#done) return "";
    let out = this.start() + this.#close();
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
        input_tokens: this.#inputTokens,
        output_tokens: this.#outputTokens,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
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
    if (open === "pending") {
      this.#pending = undefined; // never named: no block to show
      return "";
    }
    return frame({ type: "content_block_stop", index: this.#index });
  }

  #tool(call: ToolCallDelta): string {
    const id = callIdOf(call.id);
    const key = typeof call.index === "number"
      ? this.#keys.of(call.index, id)
      : (this.#open === "tool" || this.#open === "pending") &&
          (id === undefined || id === this.#toolId)
      ? this.#toolKey!
      : this.#keys.fresh();
    const name = call.function?.name;
    const args = typeof call.function?.arguments === "string"
      ? call.function.arguments
      : "";
    if (key === this.#toolKey && this.#open === "tool") {
      return args ? this.#args(args) : "";
    }
    if (key === this.#toolKey && this.#open === "pending") {
      const pending = this.#pending!;
      pending.args += args;
      pending.id ??= id;
      this.#toolId ??= id;
      return typeof name === "string" && name ? this.#startTool(name) : "";
    }
    if (this.#seenTools.has(key)) return ""; // its block is closed
    const out = this.#close();
    this.#seenTools.add(key);
    this.#toolKey = key;
    this.#toolId = id;
    this.#open = "pending";
    this.#pending = { id, args };
    return out +
      (typeof name === "string" && name ? this.#startTool(name) : "");
  }

  /** Starts the pending tool's block, with the arguments held so far. */
  #startTool(name: string): string {
    const { id, args } = this.#pending!;
    this.#pending = undefined;
    this.#open = "tool";
    this.#anyTool = true;
    this.#index++;
    [this.#head, this.#tail] = blockDeltaFrame(this.#index, "input_json_delta");
    const block: ToolUseBlock = {
      type: "tool_use",
      id: id ?? `toolu_${this.#options.id.replace(/^msg_/, "")}_${this.#index}`,
      name,
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
