/**
 * Shared by the agent-front tests (`/v1/messages`, `/v1/responses`) and the
 * end-to-end runs of Claude Code and Codex: upstream answers that call tools,
 * in the fake OpenRouter's chat-completions shape, and a `fetch` that calls
 * an in-process handler.
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import type { FreeRouterHandler } from "../src/mod.ts";
import {
  chunk,
  completionBody,
  DONE,
  errorStatus,
  type FakeOpenRouter,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  generationId,
  type GenerationMeta,
  providerFor,
  type ResponseStep,
  type StreamScript,
  usageChunk,
} from "./fake_openrouter/mod.ts";

/** One tool call an upstream answer makes. */
export interface ToolCall {
  id: string;
  name: string;
  /** The arguments, as the JSON text the model writes. */
  arguments: string;
}

/** A `fetch` that hands every request to the handler (no socket). */
export function handlerFetch(
  handler: FreeRouterHandler,
): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
  return (input, init) => handler(new Request(input, init));
}

/** A 200 chat completion whose message calls `calls` (`finish_reason: "tool_calls"`). */
export function toolCallAnswer(
  model: string,
  calls: readonly ToolCall[],
  content: string | null = null,
): ResponseStep {
  const body = completionBody(model, content);
  const choice = (body.choices as Array<Record<string, unknown>>)[0]!;
  choice.finish_reason = "tool_calls";
  choice.native_finish_reason = "tool_calls";
  (choice.message as Record<string, unknown>).tool_calls = calls.map((c) => ({
    id: c.id,
    type: "function",
    function: { name: c.name, arguments: c.arguments },
  }));
  return { status: 200, headers: { "content-type": "application/json" }, body };
}

/**
 * A stream that writes `text` (if any), then each call's arguments in
 * `pieces` argument deltas, then `finish_reason: "tool_calls"`, usage and
 * `[DONE]`.
 */
export function toolCallStream(
  model: string,
  calls: readonly ToolCall[],
  options: { text?: string; pieces?: number } = {},
): StreamScript {
  const meta: Required<GenerationMeta> = {
    id: generationId(),
    created: Math.floor(Date.now() / 1000),
    provider: providerFor(model),
  };
  const parts: string[] = [
    chunk(model, { role: "assistant", content: "" }, null, meta),
  ];
  if (options.text) parts.push(chunk(model, options.text, null, meta));
  calls.forEach((call, index) => {
    const pieces = splitInto(call.arguments, options.pieces ?? 2);
    pieces.forEach((args, i) => {
      const fn = i === 0 ? { name: call.name, arguments: args } : {
        arguments: args,
      };
      const delta = i === 0
        ? { index, id: call.id, type: "function", function: fn }
        : { index, function: fn };
      parts.push(chunk(model, { tool_calls: [delta] }, null, meta));
    });
  });
  parts.push(chunk(model, { content: "" }, "tool_calls", meta));
  parts.push(usageChunk(model, meta), DONE);
  return { parts };
}

/** `text` in `n` pieces of about equal length (at least one, none empty unless `text` is). */
export function splitInto(text: string, n: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / Math.max(1, n)));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [""];
}

/**
 * Queues `copies` 503s on every free model of the fake's catalog, after
 * whatever is queued already: no later attempt (a fallback, or a resumption
 * of a broken stream) can succeed.
 */
export function failEveryModel(fake: FakeOpenRouter, copies = 3): void {
  for (const id of FREE_CHAT_IDS_IN_PRIORITY_ORDER) {
    for (let i = 0; i < copies; i++) {
      fake.script(id, errorStatus(503, "no resumption in this test"));
    }
  }
}

/** The chat messages of a request the fake received. */
export function chatMessagesOf(body: unknown): Array<Record<string, unknown>> {
  const messages = (body as { messages?: unknown } | undefined)?.messages;
  return Array.isArray(messages) ? messages : [];
}

/** All the text of a chat message's content (a string or text parts). */
export function textOf(message: Record<string, unknown> | undefined): string {
  const content = message?.content;
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((p) => (p as { text?: unknown }).text)
    .filter((t): t is string => typeof t === "string")
    .join("");
}

/** Parses an SSE text into `{event, data}` pairs (`event` undefined without an `event:` line). */
export function parseSse(
  text: string,
): Array<{ event: string | undefined; data: unknown }> {
  const out: Array<{ event: string | undefined; data: unknown }> = [];
  for (const block of text.split(/\n\n+/)) {
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    if (data.length === 0) continue;
    const raw = data.join("\n");
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // not JSON: keep the text
    }
    out.push({ event, data: value });
  }
  return out;
}

/** The official Anthropic SDK pointed at an in-process handler, without retries. */
export function anthropicSdk(
  handler: FreeRouterHandler,
  auth: { apiKey?: string | null; authToken?: string | null } = {},
): Anthropic {
  return new Anthropic({
    apiKey: "apiKey" in auth ? auth.apiKey : "client-key",
    authToken: auth.authToken ?? null,
    baseURL: "http://freerouter.test",
    maxRetries: 0,
    fetch: handlerFetch(handler),
  });
}

/** The official OpenAI SDK pointed at an in-process handler, without retries. */
export function openaiSdk(
  handler: FreeRouterHandler,
  apiKey = "client-key",
): OpenAI {
  return new OpenAI({
    apiKey,
    baseURL: "http://freerouter.test/v1",
    maxRetries: 0,
    fetch: handlerFetch(handler),
  });
}
