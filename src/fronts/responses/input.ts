/**
 * Responses `instructions` and `input` → chat completion messages.
 *
 * - `instructions` becomes the first system message; `developer` and `system`
 *   input messages become system messages, in order.
 * - `user` and `assistant` messages keep their role. `input_text`,
 *   `output_text` and `refusal` parts become text; `input_image` an
 *   `image_url` part (`detail` kept); `input_file` a `file` part. A message
 *   made of one text part gets a plain string as content.
 * - `function_call` and `custom_tool_call` items become `tool_calls` of an
 *   assistant message (id = `call_id`): consecutive calls share one message,
 *   which is the assistant message just before them when there is one. A
 *   custom call's arguments are `{"input": …}` as JSON.
 * - `function_call_output` and `custom_tool_call_output` items become `tool`
 *   messages. Their text parts are joined with newlines; images and files in
 *   them (tool messages carry text only) go to one user message placed after
 *   the run of tool messages, each result's after a line naming its call
 *   (see `../tool_media.ts`).
 * - Dropped items (`reasoning`, `compaction`, hosted tool calls, …) leave no
 *   trace; they do not end a run of tool calls.
 *
 * @module
 */
import type { ChatMessage } from "../../types.ts";
import type { ContentPart, InputItem, ResponsesRequest } from "./schema.ts";
import type { ToolNames } from "./tools.ts";
import { toolMedia, toolText } from "../tool_media.ts";

type ChatPart = Record<string, unknown>;

/** The chat content part of a Responses content part. */
function chatPart(part: ContentPart): ChatPart {
  switch (part.type) {
    case "input_text":
    case "output_text":
      return { type: "text", text: part.text };
    case "refusal":
      return { type: "text", text: part.refusal };
    case "input_image":
      return {
        type: "image_url",
        image_url: part.detail
          ? { url: part.image_url, detail: part.detail }
          : { url: part.image_url },
      };
    case "input_file": {
      const filename = part.filename ?? "file";
      // The schema guarantees one of them.
      const data = (part.file_data ?? part.file_url)!;
      return { type: "file", file: { filename, file_data: data } };
    }
  }
}

/** Chat content: a plain string for one text part, else the parts. */
function chatContent(content: string | ContentPart[]): string | ChatPart[] {
  if (typeof content === "string") return content;
  const parts = content.map(chatPart);
  const [only] = parts;
  return parts.length === 1 && only?.type === "text"
    ? only.text as string
    : parts;
}

/** A tool output's text (joined with newlines) and its non-text parts. */
function splitToolOutput(
  output: string | ContentPart[],
): { text: string; media: ChatPart[] } {
  if (typeof output === "string") return { text: output, media: [] };
  const texts: string[] = [];
  const media: ChatPart[] = [];
  for (const part of output) {
    const chat = chatPart(part);
    if (chat.type === "text") texts.push(chat.text as string);
    else media.push(chat);
  }
  return { text: texts.join("\n"), media };
}

class MessageList {
  readonly messages: ChatMessage[] = [];
  /** The last assistant message, while tool calls may still join it. */
  #assistant: ChatMessage | undefined;
  /** Non-text parts of the current run of tool outputs. */
  #media: ChatPart[] = [];

  push(message: ChatMessage): void {
    if (message.role !== "tool") this.flushMedia();
    this.messages.push(message);
    this.#assistant = message.role === "assistant" ? message : undefined;
  }

  toolCall(call: ChatPart): void {
    const open = this.#assistant;
    if (open) {
      const calls = open.tool_calls as ChatPart[] | undefined;
      if (calls) calls.push(call);
      else open.tool_calls = [call];
      return;
    }
    this.push({ role: "assistant", content: null, tool_calls: [call] });
  }

  toolOutput(callId: string, output: string | ContentPart[]): void {
    const { text, media } = splitToolOutput(output);
    this.push({
      role: "tool",
      tool_call_id: callId,
      content: toolText(text, media),
    });
    this.#media.push(...toolMedia(callId, media));
  }

  flushMedia(): void {
    if (this.#media.length === 0) return;
    const content = this.#media;
    this.#media = [];
    this.messages.push({ role: "user", content });
  }
}

function addItem(list: MessageList, item: InputItem, names: ToolNames): void {
  switch (item.type) {
    case "message": {
      const role = item.role === "developer" ? "system" : item.role;
      list.push({ role, content: chatContent(item.content) });
      return;
    }
    case "function_call":
      list.toolCall({
        id: item.call_id,
        type: "function",
        function: {
          name: names.chatName(item.name, item.namespace),
          arguments: item.arguments,
        },
      });
      return;
    case "custom_tool_call":
      list.toolCall({
        id: item.call_id,
        type: "function",
        function: {
          name: names.chatName(item.name, item.namespace),
          arguments: JSON.stringify({ input: item.input }),
        },
      });
      return;
    case "function_call_output":
    case "custom_tool_call_output":
      list.toolOutput(item.call_id, item.output);
      return;
      // `item_reference` never passes validation; `dropped` leaves no trace.
  }
}

/** The chat messages of a request; see the module doc. */
export function toChatMessages(
  request: ResponsesRequest,
  names: ToolNames,
): ChatMessage[] {
  const list = new MessageList();
  if (request.instructions) {
    list.push({ role: "system", content: request.instructions });
  }
  const { input } = request;
  if (typeof input === "string") {
    list.push({ role: "user", content: input });
  } else {
    for (const item of input ?? []) addItem(list, item, names);
  }
  list.flushMedia();
  return list.messages;
}
