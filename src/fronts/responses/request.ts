/**
 * OpenAI Responses request → chat completions request.
 *
 * Validation ({@link parseResponsesRequest}) refuses what a stateless proxy
 * cannot serve, naming the parameter: `previous_response_id`,
 * `conversation`, `item_reference` items, `prompt` (a stored prompt
 * template), `background: true`, and images or files given only by
 * `file_id`. It also refuses, before any model is tried, a request that
 * would translate to no message (no `instructions`, and every `input` item
 * of a type freerouter drops: see `schema.ts`) and a `tool_choice` naming
 * tools the request does not define (see `tool_choice.ts`). Everything else
 * the issue lists is accepted.
 *
 * Translation ({@link toChatRequest}): messages as in `input.ts`, tools as in
 * `tools.ts`, and
 * - `tool_choice` → chat's, `allowed_tools` keeping only the tools it lists
 *   (see `tool_choice.ts`); `parallel_tool_calls` passes. Both are left out
 *   when no tool is left after dropping the hosted ones.
 * - `max_output_tokens` → `max_tokens`; `temperature`, `top_p`, `user` pass.
 * - `text.format` `json_schema` → `response_format: {type: "json_schema",
 *   json_schema: {name, schema, strict?, description?}}`; `json_object` →
 *   `{type: "json_object"}`; `text` → nothing.
 * - `reasoning` present (effort other than `none`) → `prefersReasoning`;
 *   `reasoning.effort` → `reasoning: {effort}`.
 * - `stream` is `true` exactly when the client asked for a stream.
 * - `store`, `include`, `metadata`, `prompt_cache_key`, `client_metadata`,
 *   `truncation`, `service_tier`, `safety_identifier`, `stream_options` and
 *   unknown fields are accepted and not forwarded.
 *
 * @module
 */
import type { ChatCompletionRequest } from "../../types.ts";
import { toChatMessages } from "./input.ts";
import {
  OTHER_TYPE_ISSUE,
  type ResponsesRequest,
  responsesRequestSchema,
} from "./schema.ts";
import {
  allowedOnly,
  checkToolChoice,
  toChatToolChoice,
} from "./tool_choice.ts";
import { toChatTools, type ToolNames } from "./tools.ts";
import {
  type NothingToSend,
  nothingToSend as noMessage,
} from "../translated.ts";

export type { ResponsesRequest } from "./schema.ts";
export { type ToolNames, type ToolTarget } from "./tools.ts";

/** The result of {@link parseResponsesRequest}. */
export type ParseResponsesResult =
  | { ok: true; request: ResponsesRequest }
  | { ok: false; message: string; param?: string };

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  errors?: Issue[][];
}

/**
 * The issue to report. Under a union (the input, an input item, a tool), the
 * branch whose issue lies deepest wins, the first one on a tie; a catch-all
 * branch's complaint about a known `type` never does.
 */
function specific(issue: Issue): Issue {
  if (issue.code !== "invalid_union") return issue;
  let best: Issue | undefined;
  for (const branch of issue.errors ?? []) {
    const first = branch[0];
    if (!first || first.message === OTHER_TYPE_ISSUE) continue;
    if (!best || first.path.length > best.path.length) best = first;
  }
  return best
    ? specific({ ...best, path: [...issue.path, ...best.path] })
    : issue;
}

/** `input[3].content[0].image_url`, as OpenAI names parameters. */
function paramOf(path: readonly PropertyKey[]): string {
  let param = "";
  for (const key of path) {
    param += typeof key === "number"
      ? `[${key}]`
      : `${param ? "." : ""}${String(key)}`;
  }
  return param;
}

/** Why nothing refers to a stored response or conversation. */
export const STATELESS =
  "freerouter is stateless (like OpenRouter's Responses API) and stores no responses";

/**
 * Validates a Responses request body; see the module doc for what is
 * refused.
 *
 * @example
 * ```ts
 * import { parseResponsesRequest } from "./request.ts";
 * const parsed = parseResponsesRequest({ input: "hi", previous_response_id: "resp_1" });
 * if (!parsed.ok) console.log(parsed.param); // "previous_response_id"
 * ```
 */
export function parseResponsesRequest(body: unknown): ParseResponsesResult {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, message: "The request body must be a JSON object" };
  }
  const result = responsesRequestSchema.safeParse(body);
  if (!result.success) {
    const issue = specific(result.error.issues[0] as Issue);
    const param = paramOf(issue.path);
    return param
      ? { ok: false, message: `${param}: ${issue.message}`, param }
      : { ok: false, message: issue.message };
  }
  const request = result.data;
  if (request.previous_response_id != null) {
    return {
      ok: false,
      param: "previous_response_id",
      message:
        `previous_response_id is not supported: ${STATELESS}; send the whole conversation in \`input\``,
    };
  }
  if (request.conversation != null) {
    return {
      ok: false,
      param: "conversation",
      message:
        `conversation is not supported: ${STATELESS}; send the whole conversation in \`input\``,
    };
  }
  if (request.prompt != null) {
    return {
      ok: false,
      param: "prompt",
      message:
        `prompt is not supported: ${STATELESS} or prompt templates; send \`instructions\` and \`input\``,
    };
  }
  if (request.background === true) {
    return {
      ok: false,
      param: "background",
      message: `background is not supported: ${STATELESS}; leave it out`,
    };
  }
  if (
    request.input === undefined ||
    (Array.isArray(request.input) && request.input.length === 0)
  ) {
    return { ok: false, param: "input", message: "input: Field required" };
  }
  // The tools are translated again by toChatRequest: only a choice to check
  // costs this one.
  const issue = request.tool_choice == null
    ? undefined
    : checkToolChoice(request, toChatTools(request).names);
  return issue ? { ok: false, ...issue } : { ok: true, request };
}

/**
 * The rejection of a translation that leaves no message but system ones
 * (the instructions alone are not a conversation; see `../translated.ts`).
 */
export function nothingToSend(
  chat: ChatCompletionRequest,
): NothingToSend | undefined {
  return noMessage(
    chat,
    "input",
    "item",
    "reasoning, compaction, hosted tool calls, or a type it does not know",
  );
}

/** The result of {@link toChatRequest}. */
export interface ToChatResult {
  /** The chat completions request; `model` is the client's, unchanged. */
  request: ChatCompletionRequest;
  /** The client sent `reasoning` (with an effort other than `none`). */
  prefersReasoning: boolean;
  /** Types of the hosted tools dropped (for `X-FreeRouter-Dropped-Tools`). */
  droppedTools: string[];
  /** Tool names back and forth, for the response and stream translators. */
  tools: ToolNames;
}

function responseFormat(
  format: NonNullable<NonNullable<ResponsesRequest["text"]>["format"]>,
): Record<string, unknown> | undefined {
  switch (format.type) {
    case "json_schema":
      return {
        type: "json_schema",
        json_schema: {
          name: format.name,
          schema: format.schema,
          ...(format.description == null
            ? {}
            : { description: format.description }),
          ...(format.strict == null ? {} : { strict: format.strict }),
        },
      };
    case "json_object":
      return { type: "json_object" };
    default:
      return undefined;
  }
}

/**
 * Translates a validated request; see the module doc.
 *
 * @example
 * ```ts
 * import { parseResponsesRequest, toChatRequest } from "./request.ts";
 * const parsed = parseResponsesRequest({ model: "auto", input: "Hello" });
 * if (parsed.ok) console.log(toChatRequest(parsed.request).request.messages);
 * ```
 */
export function toChatRequest(request: ResponsesRequest): ToChatResult {
  const { tools, droppedTools, names } = toChatTools(request);
  const chat: ChatCompletionRequest = {
    ...(request.model === undefined ? {} : { model: request.model }),
    messages: toChatMessages(request, names),
    stream: request.stream === true,
  };
  const choice = request.tool_choice == null
    ? undefined
    : toChatToolChoice(request.tool_choice, names, request.tools);
  const sent = allowedOnly(tools, choice?.allowed);
  if (sent.length > 0) {
    chat.tools = sent;
    if (choice) chat.tool_choice = choice.choice;
    if (request.parallel_tool_calls != null) {
      chat.parallel_tool_calls = request.parallel_tool_calls;
    }
  }
  if (request.max_output_tokens != null) {
    chat.max_tokens = request.max_output_tokens;
  }
  if (request.temperature != null) chat.temperature = request.temperature;
  if (request.top_p != null) chat.top_p = request.top_p;
  if (request.user != null) chat.user = request.user;
  const format = request.text?.format;
  const formatted = format ? responseFormat(format) : undefined;
  if (formatted) chat.response_format = formatted;
  const { reasoning } = request;
  if (reasoning?.effort != null) chat.reasoning = { effort: reasoning.effort };
  return {
    request: chat,
    prefersReasoning: reasoning != null && reasoning.effort !== "none",
    droppedTools,
    tools: names,
  };
}
