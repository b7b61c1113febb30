/**
 * Chat completion → OpenAI Responses `Response` object, and the pieces the
 * stream translator shares: the response envelope, usage, tool-call items.
 *
 * - Output items, in order: a `reasoning` item (only when the client asked
 *   for reasoning summaries, see {@link wantsReasoningSummary}), a `message`
 *   item when there is text (`content` and `refusal` both become
 *   `output_text`), then one `function_call` or `custom_tool_call` item per
 *   tool call. Items are `completed`, except the one a limit cut.
 * - `finish_reason` `length` → `status: "incomplete"`,
 *   `incomplete_details.reason: "max_output_tokens"`; `content_filter` →
 *   `incomplete`, reason `content_filter`; anything else → `completed`. In an
 *   incomplete response the item the limit cut is `incomplete` too: the
 *   message when no tool call follows it, a function call whose arguments do
 *   not parse (see {@link cutShort}).
 * - Usage: `prompt_tokens` → `input_tokens`, `completion_tokens` →
 *   `output_tokens`, cached and cache-write prompt tokens and reasoning tokens
 *   in the details (0 when not reported).
 * - Request fields the `Response` object echoes (`instructions`, `tools`,
 *   `tool_choice`, `parallel_tool_calls`, `temperature`, `top_p`,
 *   `max_output_tokens`, `metadata`, `text`, `reasoning`, `truncation`,
 *   `user`, `prompt_cache_key`, `safety_identifier`) are copied from the
 *   request, with OpenAI's defaults when absent.
 *
 * @module
 */
import type {
  Response,
  ResponseCustomToolCall,
  ResponseError,
  ResponseFunctionToolCall,
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseReasoningItem,
  ResponseStatus,
  ResponseUsage,
  Tool,
} from "openai/resources/responses/responses";
import { argumentsParse } from "../../core/answers.ts";
import type { ChatCompletion } from "../../types.ts";
import type { ResponsesRequest } from "./schema.ts";
import type { ToolNames } from "./tools.ts";

/** Makes ids: `newId("msg")` → `msg_…`. */
export type NewId = (prefix: string) => string;

/** The default {@link NewId}: the prefix, `_`, and 32 random hex digits. */
export const randomId: NewId = (prefix) =>
  `${prefix}_${crypto.randomUUID().replaceAll("-", "")}`;

/**
 * Whether the client asked for reasoning summaries (`reasoning.summary` or
 * the older `reasoning.generate_summary`): only then do the upstream's
 * reasoning deltas become a `reasoning` item. `include:
 * ["reasoning.encrypted_content"]` alone does not count: it asks for an
 * opaque blob to send back, which freerouter cannot produce (it drops
 * reasoning items from the input anyway).
 */
export function wantsReasoningSummary(request: ResponsesRequest): boolean {
  return request.reasoning?.summary != null ||
    request.reasoning?.generate_summary != null;
}

/** Why a response is incomplete, from a chat `finish_reason`. */
export function incompleteReason(
  finishReason: string | null | undefined,
): "max_output_tokens" | "content_filter" | undefined {
  if (finishReason === "length") return "max_output_tokens";
  if (finishReason === "content_filter") return "content_filter";
  return undefined;
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null
    ? value as Record<string, unknown>
    : {};
}

/** Responses usage from a chat `usage` object. */
export function toResponseUsage(usage: Record<string, unknown>): ResponseUsage {
  const input = count(usage.prompt_tokens);
  const output = count(usage.completion_tokens);
  const prompt = record(usage.prompt_tokens_details);
  const completion = record(usage.completion_tokens_details);
  return {
    input_tokens: input,
    input_tokens_details: {
      cached_tokens: count(prompt.cached_tokens),
      cache_write_tokens: count(prompt.cache_write_tokens),
    },
    output_tokens: output,
    output_tokens_details: {
      reasoning_tokens: count(completion.reasoning_tokens),
    },
    total_tokens: typeof usage.total_tokens === "number"
      ? usage.total_tokens
      : input + output,
  };
}

/** A custom tool's `input` from the chat arguments `{"input": "…"}`. */
export function customInput(args: string): string {
  try {
    const parsed: unknown = JSON.parse(args);
    const input = record(parsed).input;
    if (typeof input === "string") return input;
  } catch {
    // Not JSON: the model wrote the input itself.
  }
  return args;
}

/**
 * A finished function call's arguments: `{}` for none (OpenAI always sends a
 * JSON string, and clients parse it), else the upstream's unchanged.
 */
export function finishedArguments(args: string): string {
  return args.trim() === "" ? "{}" : args;
}

/** One tool call as the Responses item its tool's kind asks for. */
export function toolCallItem(
  names: ToolNames,
  call: { id: string; callId: string; chatName: string; arguments: string },
): ResponseFunctionToolCall | ResponseCustomToolCall {
  const target = names.target(call.chatName);
  const namespace = target.namespace === undefined
    ? {}
    : { namespace: target.namespace };
  if (target.kind === "custom") {
    return {
      type: "custom_tool_call",
      id: call.id,
      call_id: call.callId,
      name: target.name,
      ...namespace,
      input: customInput(call.arguments),
    };
  }
  return {
    type: "function_call",
    id: call.id,
    call_id: call.callId,
    name: target.name,
    ...namespace,
    arguments: call.arguments,
    status: "completed",
  };
}

/**
 * A tool call item of a response the length limit ended: a function call
 * whose arguments do not parse is the one it cut, `incomplete`.
 */
export function cutShort<
  T extends ResponseFunctionToolCall | ResponseCustomToolCall,
>(
  item: T,
  cut: boolean,
): T {
  return cut && item.type === "function_call" &&
      !argumentsParse(item.arguments)
    ? { ...item, status: "incomplete" }
    : item;
}

/** A completed assistant message item holding `text`. */
export function messageItem(id: string, text: string): ResponseOutputMessage {
  return {
    id,
    type: "message",
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text, annotations: [], logprobs: [] }],
  };
}

/** A reasoning item whose one summary part is `text`. */
export function reasoningItem(id: string, text: string): ResponseReasoningItem {
  return { id, type: "reasoning", summary: [{ type: "summary_text", text }] };
}

/** What {@link buildResponse} needs besides the request. */
export interface ResponseInit {
  id: string;
  createdAt: number;
  model: string;
  request: ResponsesRequest;
  status: ResponseStatus;
  output: ResponseOutputItem[];
  usage?: ResponseUsage;
  incomplete?: "max_output_tokens" | "content_filter";
  error?: ResponseError;
}

function outputText(output: readonly ResponseOutputItem[]): string {
  let text = "";
  for (const item of output) {
    if (item.type !== "message") continue;
    for (const part of item.content) {
      if (part.type === "output_text") text += part.text;
    }
  }
  return text;
}

/** The `Response` envelope; see the module doc for the echoed fields. */
export function buildResponse(init: ResponseInit): Response {
  const { request } = init;
  return {
    id: init.id,
    object: "response",
    created_at: init.createdAt,
    status: init.status,
    background: false,
    error: init.error ?? null,
    incomplete_details: init.incomplete ? { reason: init.incomplete } : null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    model: init.model,
    output: init.output,
    output_text: outputText(init.output),
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: null,
    // Validated loosely; these are the client's own objects, echoed.
    reasoning: (request.reasoning ?? null) as Response["reasoning"],
    temperature: request.temperature ?? null,
    text: (request.text ?? { format: { type: "text" } }) as Response["text"],
    tool_choice: (request.tool_choice ?? "auto") as Response["tool_choice"],
    tools: (request.tools ?? []) as Tool[],
    top_p: request.top_p ?? null,
    truncation: request.truncation === "auto" ? "auto" : "disabled",
    metadata: (request.metadata ?? {}) as Record<string, string>,
    ...(init.usage ? { usage: init.usage } : {}),
    ...(typeof request.user === "string" ? { user: request.user } : {}),
    ...(typeof request.prompt_cache_key === "string"
      ? { prompt_cache_key: request.prompt_cache_key }
      : {}),
    ...(typeof request.safety_identifier === "string"
      ? { safety_identifier: request.safety_identifier }
      : {}),
  };
}

/** What {@link fromChatCompletion} needs besides the completion. */
export interface ResponseContext {
  /** The response id, `resp_…`. */
  id: string;
  /** Unix seconds; the completion's `created` when absent. */
  createdAt?: number;
  /** The validated request, for the echoed fields. */
  request: ResponsesRequest;
  /** The tool name map from `toChatRequest`. */
  tools: ToolNames;
  /** Item ids; random by default. */
  newId?: NewId;
}

/**
 * The Responses body of a non-streaming chat completion; see the module doc.
 *
 * @example
 * ```ts
 * import { fromChatCompletion } from "./response.ts";
 * import { parseResponsesRequest, toChatRequest } from "./request.ts";
 * const parsed = parseResponsesRequest({ input: "hi" });
 * if (parsed.ok) {
 *   const { tools } = toChatRequest(parsed.request);
 *   const completion = {
 *     id: "gen-1", object: "chat.completion", created: 1, model: "a:free",
 *     choices: [{ index: 0, message: { role: "assistant", content: "Hello" }, finish_reason: "stop" }],
 *   };
 *   console.log(fromChatCompletion(completion, { id: "resp_1", request: parsed.request, tools }).output_text);
 * }
 * ```
 */
export function fromChatCompletion(
  completion: ChatCompletion,
  ctx: ResponseContext,
): Response {
  const newId = ctx.newId ?? randomId;
  const choice = completion.choices.find((c) => c.index === 0) ??
    completion.choices[0];
  const message = choice?.message;
  const output: ResponseOutputItem[] = [];
  const reasoning = message?.reasoning;
  if (
    typeof reasoning === "string" && reasoning !== "" &&
    wantsReasoningSummary(ctx.request)
  ) {
    output.push(reasoningItem(newId("rs"), reasoning));
  }
  const incomplete = incompleteReason(choice?.finish_reason);
  const refusal = typeof message?.refusal === "string" ? message.refusal : "";
  const text = (message?.content ?? "") + refusal;
  const calls = Array.isArray(message?.tool_calls) ? message.tool_calls : [];
  if (text !== "") {
    const item = messageItem(newId("msg"), text);
    // Cut by a limit with no tool call after it: the text is what was cut.
    output.push(
      incomplete && calls.length === 0
        ? { ...item, status: "incomplete" }
        : item,
    );
  }
  for (const raw of calls) {
    const call = record(raw);
    const fn = record(call.function);
    const id = typeof call.id === "string" && call.id ? call.id : newId("call");
    const chatName = typeof fn.name === "string" ? fn.name : "";
    const args = typeof fn.arguments === "string" ? fn.arguments : "";
    const kind = ctx.tools.target(chatName).kind;
    output.push(cutShort(
      toolCallItem(ctx.tools, {
        id: newId(kind === "custom" ? "ctc" : "fc"),
        callId: id,
        chatName,
        arguments: finishedArguments(args),
      }),
      incomplete !== undefined,
    ));
  }
  return buildResponse({
    id: ctx.id,
    createdAt: ctx.createdAt ?? completion.created,
    model: completion.model,
    request: ctx.request,
    status: incomplete ? "incomplete" : "completed",
    output,
    ...(completion.usage ? { usage: toResponseUsage(completion.usage) } : {}),
    ...(incomplete ? { incomplete } : {}),
  });
}
