/**
 * Chat completion chunks → OpenAI Responses stream events, framed
 * `event: <type>\ndata: <json>\n\n`, with `sequence_number` counting from 0.
 *
 * - `start()`: `response.created`, then `response.in_progress` (status
 *   `in_progress`, empty output).
 * - Text: `response.output_item.added` (a `message`, `in_progress`, no
 *   content), `response.content_part.added` (empty `output_text`),
 *   `response.output_text.delta`… and, when the text ends,
 *   `response.output_text.done`, `response.content_part.done`,
 *   `response.output_item.done` (the whole item, `completed`).
 * - Function call: `response.output_item.added` (`function_call`, empty
 *   arguments), `response.function_call_arguments.delta`…,
 *   `response.function_call_arguments.done` (with `name`),
 *   `response.output_item.done`. Custom tool call: `output_item.added`
 *   (`custom_tool_call`, empty input), then at its end
 *   `response.custom_tool_call_input.delta` and `.done`,
 *   `response.output_item.done`. See `stream_tools.ts`.
 * - Reasoning deltas, only when the client asked for summaries (see
 *   `wantsReasoningSummary`; otherwise dropped): a `reasoning` item with one
 *   summary part, `response.reasoning_summary_part.added`,
 *   `response.reasoning_summary_text.delta`…, `…text.done`, `…part.done`,
 *   `response.output_item.done`.
 * - Text, reasoning and tool calls end one another: whatever starts closes
 *   the items of the other kinds first.
 * - `finish()`: closes what is open, then `response.completed` with the whole
 *   response (output in order, usage from the upstream's usage chunk). When
 *   the upstream stopped on `length` or `content_filter`, the event is
 *   `response.incomplete` (status `incomplete`, `incomplete_details.reason`
 *   `max_output_tokens` or `content_filter`), as OpenAI sends it (Codex
 *   treats it as a retryable stream error, as it does with OpenAI).
 * - `fail()`: `response.failed` (status `failed`, `error: {code, message}`,
 *   the output so far with unfinished items `incomplete`), and nothing after.
 *
 * `push()`, `finish()` or `fail()` before `start()` send the start events
 * first; after `finish()` or `fail()` every method returns "".
 * Only the model given to the constructor is reported, also when chunks come
 * from a continuation on another model. Work per chunk is O(1) apart from
 * the text it carries.
 *
 * @module
 */
import type {
  ResponseOutputItem,
  ResponseStatus,
  ResponseUsage,
} from "openai/resources/responses/responses";
import type { ChatCompletionChunk } from "../../types.ts";
import { responsesFailureCode } from "./errors.ts";
import {
  buildResponse,
  incompleteReason,
  type NewId,
  randomId,
  type ResponseInit,
  toResponseUsage,
  wantsReasoningSummary,
} from "./response.ts";
import type { ResponsesRequest } from "./schema.ts";
import { MESSAGE, REASONING, TextTrack } from "./stream_text.ts";
import { ToolTrack } from "./stream_tools.ts";
import { EventWriter } from "./stream_writer.ts";
import type { ToolNames } from "./tools.ts";

/** What {@link ResponsesStream} needs. */
export interface ResponsesStreamInit {
  /** The response id, `resp_…`. */
  id: string;
  /** The model reported in every response snapshot. */
  model: string;
  /** Unix seconds. */
  createdAt: number;
  /** The validated request, for the echoed fields. */
  request: ResponsesRequest;
  /** The tool name map from `toChatRequest`. */
  tools: ToolNames;
  /** Item ids; random by default. */
  newId?: NewId;
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** The keep-alive comment (see {@link ResponsesStream.keepAlive}). */
const KEEPALIVE = ": keep-alive\n\n";

/**
 * Translates one chat completion stream into Responses events; see the
 * module doc.
 *
 * @example
 * ```ts
 * import { ResponsesStream } from "./stream.ts";
 * import { parseResponsesRequest, toChatRequest } from "./request.ts";
 * const parsed = parseResponsesRequest({ input: "hi", stream: true });
 * if (parsed.ok) {
 *   const { tools } = toChatRequest(parsed.request);
 *   const stream = new ResponsesStream({
 *     id: "resp_1", model: "a:free", createdAt: 1, request: parsed.request, tools,
 *   });
 *   let sse = stream.start();
 *   sse += stream.push({
 *     id: "gen-1", object: "chat.completion.chunk", created: 1, model: "a:free",
 *     choices: [{ index: 0, delta: { content: "Hello" }, finish_reason: "stop" }],
 *   });
 *   sse += stream.finish();
 *   console.log(sse.includes("event: response.completed"));
 * }
 * ```
 */
export class ResponsesStream {
  readonly #init: ResponsesStreamInit;
  readonly #summaries: boolean;
  readonly #out: EventWriter;
  readonly #message: TextTrack;
  readonly #reasoning: TextTrack;
  readonly #tools: ToolTrack;
  #started = false;
  #ended = false;
  #finishReason: string | null = null;
  #usage: ResponseUsage | undefined;

  constructor(init: ResponsesStreamInit) {
    this.#init = init;
    this.#summaries = wantsReasoningSummary(init.request);
    this.#out = new EventWriter(init.newId ?? randomId);
    this.#message = new TextTrack(this.#out, MESSAGE);
    this.#reasoning = new TextTrack(this.#out, REASONING);
    this.#tools = new ToolTrack(this.#out, init.tools);
  }

  /** `response.created` and `response.in_progress`. */
  start(): string {
    if (this.#started || this.#ended) return "";
    this.#started = true;
    return this.#out.opening(this.#response("in_progress", { output: [] }));
  }

  /**
   * A keep-alive while the upstream sends nothing: an SSE comment (the
   * Responses API has no ping event; SSE clients skip comments), none before
   * the opening events or after the end.
   */
  keepAlive(): string {
    return this.#started && !this.#ended ? KEEPALIVE : "";
  }

  /** The events of one upstream chunk (often one delta event, maybe none). */
  push(chunk: ChatCompletionChunk): string {
    if (this.#ended) return "";
    let sse = this.start();
    if (chunk.usage) this.#usage = toResponseUsage(chunk.usage);
    const choice = chunk.choices[0];
    if (!choice) return sse;
    const { delta } = choice;
    const reasoning = text(delta.reasoning);
    if (reasoning !== "" && this.#summaries) {
      sse += this.#message.close() + this.#tools.close();
      sse += this.#reasoning.delta(reasoning);
    }
    const content = text(delta.content) + text(delta.refusal);
    if (content !== "") {
      sse += this.#reasoning.close() + this.#tools.close();
      sse += this.#message.delta(content);
    }
    if (Array.isArray(delta.tool_calls)) {
      sse += this.#reasoning.close() + this.#message.close();
      for (const call of delta.tool_calls) sse += this.#tools.delta(call);
    }
    if (choice.finish_reason) this.#finishReason = choice.finish_reason;
    return sse;
  }

  /** Closes what is open, then `response.completed` (or `.incomplete`). */
  finish(): string {
    if (this.#ended) return "";
    let sse = this.start();
    const incomplete = incompleteReason(this.#finishReason);
    // What is still open when a limit ended the response is what it cut.
    const cut = incomplete !== undefined;
    sse += this.#reasoning.close(cut) + this.#message.close(cut) +
      this.#tools.close(cut);
    this.#ended = true;
    const response = this.#response(incomplete ? "incomplete" : "completed", {
      ...(incomplete ? { incomplete } : {}),
    });
    return sse +
      (incomplete
        ? this.#out.emit({ type: "response.incomplete", response })
        : this.#out.emit({ type: "response.completed", response }));
  }

  /** `response.failed` with `error: {code, message}`; nothing after it. */
  fail(message: string, code?: string | number | null): string {
    if (this.#ended) return "";
    const sse = this.start();
    this.#ended = true;
    const output: ResponseOutputItem[] = this.#out.output.slice();
    this.#reasoning.partial(output);
    this.#message.partial(output);
    this.#tools.partial(output);
    const error = { code: responsesFailureCode(code), message };
    const response = this.#response("failed", { output, error });
    return sse + this.#out.emit({ type: "response.failed", response });
  }

  #response(status: ResponseStatus, extra: Partial<ResponseInit>) {
    const { id, createdAt, model, request } = this.#init;
    return buildResponse({
      id,
      createdAt,
      model,
      request,
      status,
      output: this.#out.output,
      ...(this.#usage ? { usage: this.#usage } : {}),
      ...extra,
    });
  }
}
