/**
 * Anthropic Messages request → chat completions request.
 *
 * - `system` (string or text blocks) and `role: "system"` messages become
 *   system messages, in order; several text blocks are joined with a blank
 *   line.
 * - User text, image and document blocks become content parts (`image_url`
 *   with a `data:` or https URL; PDFs become `file` parts named by their title,
 *   with `.pdf` when the title has no extension, after their `context` as
 *   text; a text or content document becomes text under its title and context,
 *   its images `image_url` parts); a `search_result` becomes text (its title,
 *   source, then its text). One lone text block becomes a plain string.
 * - `tool_result` blocks become `tool` messages placed before the rest of
 *   their user message. Their text is joined with newlines; `is_error: true`
 *   prefixes it with `Error: `. Images and documents inside a tool result move
 *   to the user message that follows the tool messages (tool messages carry
 *   text only), after a line naming the call (see `../tool_media.ts`).
 * - Assistant text blocks are joined with a blank line; `tool_use` blocks
 *   become `tool_calls` (ids kept, `input` serialised as JSON); `thinking` and
 *   `redacted_thinking` blocks are dropped, and so is an assistant message
 *   left with nothing.
 * - Tools with an `input_schema` become function tools; server tools (no
 *   `input_schema`) are dropped and named in `droppedTools`. Without any
 *   function tool, `tool_choice` and `parallel_tool_calls` are left out too.
 *   A `tool_choice` of type `tool` naming a dropped tool becomes `auto`; one
 *   naming no tool of `tools` at all is rejected by
 *   {@link parseMessagesRequest}, as Anthropic's API answers it (400).
 *
 * @module
 */
import type { ChatCompletionRequest, ChatMessage } from "../../types.ts";
import {
  type MessagesRequest,
  type MessagesRequestBlock,
  messagesRequestSchema,
  mostSpecificIssue,
  type ToolResultPart,
} from "./schema.ts";

import { toolMedia, toolText } from "../tool_media.ts";
import {
  type NothingToSend,
  nothingToSend as noMessage,
} from "../translated.ts";

export type { MessagesRequest } from "./schema.ts";

/** The result of {@link parseMessagesRequest}. */
export type ParseMessagesResult =
  | { ok: true; request: MessagesRequest }
  | { ok: false; message: string; param?: string };

/**
 * Validates a Messages request body. A missing `max_tokens` gives Anthropic's
 * own message, `max_tokens: Field required`; a message without content (but
 * a final assistant one) and a `tool_choice` naming a tool that `tools` does
 * not define are rejected too.
 *
 * @example
 * ```ts
 * import { parseMessagesRequest } from "./request.ts";
 * const parsed = parseMessagesRequest({ model: "auto", messages: [] });
 * if (!parsed.ok) console.log(parsed.param, parsed.message);
 * ```
 */
export function parseMessagesRequest(body: unknown): ParseMessagesResult {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, message: "The request body must be a JSON object" };
  }
  const result = messagesRequestSchema.safeParse(body);
  if (result.success) {
    return emptyMessage(result.data) ?? unknownToolChoice(result.data) ?? {
      ok: true,
      request: result.data,
    };
  }
  const issue = mostSpecificIssue(result.error.issues[0]!);
  const param = issue.path.map(String).join(".");
  if (param === "max_tokens" && !("max_tokens" in body)) {
    return { ok: false, message: "max_tokens: Field required", param };
  }
  if (param === "messages" && issue.code === "too_small") {
    return {
      ok: false,
      message: "messages: at least one message is required",
      param,
    };
  }
  return param
    ? { ok: false, message: `${param}: ${issue.message}`, param }
    : { ok: false, message: issue.message };
}

/**
 * The rejection of a message without content, as Anthropic's API answers it:
 * every message needs some, except a final assistant message (a prefill).
 * Sent on, it would cost an attempt that no model can answer.
 */
function emptyMessage(
  request: MessagesRequest,
): ParseMessagesResult | undefined {
  const last = request.messages.length - 1;
  const index = request.messages.findIndex(({ role, content }, i) =>
    content.length === 0 && !(i === last && role === "assistant")
  );
  if (index < 0) return undefined;
  const param = `messages.${index}.content`;
  return {
    ok: false,
    message:
      `${param}: all messages must have non-empty content except for the optional final assistant message`,
    param,
  };
}

/** The rejection of a `tool_choice` that names a tool `tools` does not define. */
function unknownToolChoice(
  request: MessagesRequest,
): ParseMessagesResult | undefined {
  const choice = request.tool_choice;
  if (choice?.type !== "tool") return undefined;
  if (request.tools?.some((tool) => tool.name === choice.name)) {
    return undefined;
  }
  return {
    ok: false,
    message: `tool_choice.name: no tool named ${
      JSON.stringify(choice.name)
    } in tools`,
    param: "tool_choice.name",
  };
}

/**
 * The rejection of a translation that leaves no message but system ones
 * (see `../translated.ts`).
 */
export function nothingToSend(
  chat: ChatCompletionRequest,
): NothingToSend | undefined {
  return noMessage(
    chat,
    "messages",
    "content block",
    "server tool results, tool references, or a type it does not know",
  );
}

/** The result of {@link toChatRequest}. */
export interface ToChatResult {
  /** The chat completions request; `model` is the client's, unchanged. */
  request: ChatCompletionRequest;
  /** The client asked for extended thinking (`enabled` or `adaptive`). */
  prefersReasoning: boolean;
  /** Names of tools that have no chat equivalent (server tools), dropped. */
  droppedTools: string[];
}

type ContentPart = Record<string, unknown>;

/** An image block as an `image_url` part (a `data:` or https URL). */
function imagePart(
  { source }: Extract<MessagesRequestBlock, { type: "image" }>,
): ContentPart {
  const url = source.type === "base64"
    ? `data:${source.media_type};base64,${source.data}`
    : source.url;
  return { type: "image_url", image_url: { url } };
}

/** A PDF document's file name: its title, ending in `.pdf`. */
function fileName(title: string | null | undefined): string {
  if (!title) return "document.pdf";
  return /\.pdf$/i.test(title) ? title : `${title}.pdf`;
}

/** The content parts of a document: its text (under its title and context), images, or file. */
function documentParts(
  block: Extract<MessagesRequestBlock, { type: "document" }>,
): ContentPart[] {
  const { source, title, context } = block;
  const about = [title, context].filter(Boolean).join("\n");
  const text = (body: string): ContentPart => ({
    type: "text",
    text: about ? `${about}\n\n${body}` : body,
  });
  switch (source.type) {
    case "base64":
    case "url": {
      const file = {
        type: "file",
        file: {
          filename: fileName(title),
          file_data: source.type === "url"
            ? source.url
            : `data:${source.media_type};base64,${source.data}`,
        },
      };
      return context ? [{ type: "text", text: context }, file] : [file];
    }
    case "text":
      return [text(source.data)];
    case "content": {
      if (typeof source.content === "string") return [text(source.content)];
      const texts: string[] = [];
      const images: ContentPart[] = [];
      for (const inner of source.content) {
        if (inner.type === "text") texts.push(inner.text);
        else if (inner.type === "image") images.push(imagePart(inner));
      }
      const body = texts.join("\n");
      return body || about ? [text(body), ...images] : images;
    }
  }
}

/** The content parts of a user-side block (none for a block that has no chat equivalent). */
function partsOf(block: MessagesRequestBlock | ToolResultPart): ContentPart[] {
  switch (block.type) {
    case "text":
      return [{ type: "text", text: block.text }];
    case "image":
      return [imagePart(block)];
    case "document":
      return documentParts(block);
    case "search_result":
      return [{
        type: "text",
        text: `${block.title}\n${block.source}\n\n${
          block.content.map((c) => c.text).join("\n")
        }`,
      }];
  }
  return [];
}

/** Plain string for one lone text part, else the parts. */
function userContent(parts: ContentPart[]): unknown {
  const only = parts.length === 1 ? parts[0] : undefined;
  return only?.type === "text" ? only.text : parts;
}

function joinText(
  blocks: readonly { text: string }[],
  separator: string,
): string {
  if (blocks.length === 1) return blocks[0]!.text;
  return blocks.map((b) => b.text).join(separator);
}

/** Tool messages first, then a user message with the rest (and any media of the results). */
function pushUser(
  out: ChatMessage[],
  blocks: readonly MessagesRequestBlock[],
): void {
  const rest: ContentPart[] = [];
  const media: ContentPart[] = [];
  for (const block of blocks) {
    if (block.type === "tool_result") {
      let text = "";
      const own: ContentPart[] = [];
      if (typeof block.content === "string") text = block.content;
      else if (block.content) {
        const texts: string[] = [];
        for (const inner of block.content) {
          for (const part of partsOf(inner)) {
            if (part.type === "text") texts.push(part.text as string);
            else own.push(part);
          }
        }
        text = texts.join("\n");
      }
      text = toolText(text, own);
      if (block.is_error) text = `Error: ${text}`;
      out.push({
        role: "tool",
        tool_call_id: block.tool_use_id,
        content: text,
      });
      media.push(...toolMedia(block.tool_use_id, own));
    } else {
      rest.push(...partsOf(block)); // none for tool_use, thinking, …
    }
  }
  const parts = media.length ? [...media, ...rest] : rest;
  if (parts.length) out.push({ role: "user", content: userContent(parts) });
}

function pushAssistant(
  out: ChatMessage[],
  blocks: readonly MessagesRequestBlock[],
): void {
  const texts: { text: string }[] = [];
  const calls: unknown[] = [];
  for (const block of blocks) {
    if (block.type === "text") texts.push(block);
    else if (block.type === "tool_use") {
      calls.push({
        id: block.id,
        type: "function",
        function: {
          name: block.name,
          arguments: JSON.stringify(block.input ?? {}),
        },
      });
    }
  }
  if (!texts.length && !calls.length) return;
  const message: ChatMessage = {
    role: "assistant",
    content: texts.length ? joinText(texts, "\n\n") : null,
  };
  if (calls.length) message.tool_calls = calls;
  out.push(message);
}

function messagesOf(request: MessagesRequest): ChatMessage[] {
  const out: ChatMessage[] = [];
  const { system } = request;
  if (typeof system === "string") {
    if (system) out.push({ role: "system", content: system });
  } else if (system?.length) {
    out.push({ role: "system", content: joinText(system, "\n\n") });
  }
  for (const message of request.messages) {
    const { role, content } = message;
    if (typeof content === "string") {
      out.push({ role, content });
    } else if (role === "system") {
      const texts = content.filter((b) => b.type === "text");
      if (texts.length) out.push({ role, content: joinText(texts, "\n\n") });
    } else if (role === "user") pushUser(out, content);
    else pushAssistant(out, content);
  }
  return out;
}

/**
 * The chat `tool_choice`; a choice of one tool that is not among the
 * function tools sent (`functions`: a dropped server tool) becomes `auto`.
 */
function toolChoiceOf(
  choice: NonNullable<MessagesRequest["tool_choice"]>,
  functions: ReadonlySet<string>,
): unknown {
  switch (choice.type) {
    case "any":
      return "required";
    case "tool":
      return functions.has(choice.name)
        ? { type: "function", function: { name: choice.name } }
        : "auto";
    default:
      return choice.type;
  }
}

/**
 * Translates a validated Messages request (see the module doc).
 *
 * @example
 * ```ts
 * import { parseMessagesRequest, toChatRequest } from "./request.ts";
 * const parsed = parseMessagesRequest({
 *   model: "auto",
 *   max_tokens: 1024,
 *   system: "Be brief.",
 *   messages: [{ role: "user", content: "Hello" }],
 * });
 * if (parsed.ok) console.log(toChatRequest(parsed.request).request.messages);
 * ```
 */
export function toChatRequest(request: MessagesRequest): ToChatResult {
  const chat: ChatCompletionRequest = { messages: messagesOf(request) };
  if (request.model !== undefined) chat.model = request.model;
  chat.max_tokens = request.max_tokens;
  if (typeof request.stream === "boolean") chat.stream = request.stream;
  if (request.temperature != null) chat.temperature = request.temperature;
  if (request.top_p != null) chat.top_p = request.top_p;
  if (request.top_k != null) chat.top_k = request.top_k;
  if (request.stop_sequences?.length) chat.stop = request.stop_sequences;
  if (request.metadata?.user_id) chat.user = request.metadata.user_id;

  const droppedTools: string[] = [];
  const tools: unknown[] = [];
  const names = new Set<string>();
  for (const tool of request.tools ?? []) {
    if (!tool.input_schema) {
      droppedTools.push(tool.name);
      continue;
    }
    const fn: Record<string, unknown> = {
      name: tool.name,
      parameters: tool.input_schema,
    };
    if (tool.description) fn.description = tool.description;
    tools.push({ type: "function", function: fn });
    names.add(tool.name);
  }
  const choice = request.tool_choice;
  if (tools.length) {
    chat.tools = tools;
    if (choice) {
      chat.tool_choice = toolChoiceOf(choice, names);
      if (choice.type !== "none" && choice.disable_parallel_tool_use) {
        chat.parallel_tool_calls = false;
      }
    }
  }

  const thinking = request.thinking;
  const prefersReasoning = thinking?.type === "enabled" ||
    thinking?.type === "adaptive";
  if (thinking?.type === "enabled" && thinking.budget_tokens) {
    chat.reasoning = { max_tokens: thinking.budget_tokens };
  }
  return { request: chat, prefersReasoning, droppedTools };
}
