/**
 * `POST /v1/messages` (Anthropic Messages, what Claude Code speaks) and
 * `POST /v1/messages/count_tokens`: translated at the edge into a chat
 * completion for the one router, and back. Errors take Anthropic's shape in
 * the route table (`front: "anthropic"`). Every response these handlers give
 * carries the request id in `request-id` too, where Anthropic's SDK reads it
 * (`message._request_id`, `APIError.requestID`); see `front_errors.ts` for
 * the errors' `request_id`.
 *
 * @module
 */
import { requestNeeds } from "../core/capabilities.ts";
import {
  fromChatCompletion,
  MessagesStream,
  nothingToSend,
  parseMessagesRequest,
  toChatRequest,
} from "../fronts/anthropic/mod.ts";
import type { ChatCompletionRequest } from "../types.ts";
import { keyOrRefusal, parsedBody, routeContext } from "./chat.ts";
import { type HandlerContext, json, type Trace } from "./context.ts";
import { answerFront } from "./front.ts";
import { newId } from "./translate.ts";
import { isRecord } from "../core/records.ts";

/**
 * A translated request, or the 400 to answer. A `count_tokens` body has no
 * `max_tokens` (Anthropic's API takes none there): it is not required.
 */
async function translated(
  req: Request,
  ctx: HandlerContext,
  countOnly = false,
) {
  return await parsedBody(req, ctx, (value) => {
    const parsed = parseMessagesRequest(
      // count_tokens takes no max_tokens.
      countOnly && isRecord(value) && value.max_tokens === undefined
        ? { ...value, max_tokens: 1 }
        : value,
    );
    if (!parsed.ok) return parsed;
    const chat = toChatRequest(parsed.request);
    return nothingToSend(chat.request) ??
      { ok: true, request: { parsed: parsed.request, ...chat } };
  });
}

/** The prompt's estimated tokens: the router's context estimate without the completion budget. */
function promptTokens(chat: ChatCompletionRequest): number {
  const needs = requestNeeds(chat);
  return needs.contextTokens - (needs.maxTokens ?? 0);
}

/** The response with the request id in `request-id` as well (`x-request-id` stays). */
function withRequestId(res: Response, trace: Trace): Response {
  res.headers.set("request-id", trace.id);
  return res;
}

/** Answers an Anthropic Messages request, streaming or not. */
export async function messages(
  req: Request,
  ctx: HandlerContext,
  trace: Trace,
): Promise<Response> {
  return withRequestId(await answer(req, ctx, trace), trace);
}

async function answer(
  req: Request,
  ctx: HandlerContext,
  trace: Trace,
): Promise<Response> {
  const key = keyOrRefusal(req, ctx);
  if (typeof key !== "string") return key;
  const t = await translated(req, ctx);
  if (t instanceof Response) return t;
  const { parsed, request: chat, prefersReasoning, droppedTools } = t;
  const translation = {
    id: newId("msg_"),
    thinking: prefersReasoning,
    stopSequences: parsed.stop_sequences ?? null,
  };
  return await answerFront(ctx, trace, {
    chat,
    context: routeContext(req, key, ctx, trace, {
      // Claude Code asks for 32k–128k tokens: each attempt gets what its model allows.
      clampMaxTokens: true,
      // Claude Code's holds its session id (kept by --continue and --resume).
      conversationLabel: parsed.metadata?.user_id || undefined,
    }),
    droppedTools,
    translator: (model) =>
      new MessagesStream({
        ...translation,
        model,
        inputTokens: promptTokens(chat),
      }),
    body: (completion) => fromChatCompletion(completion, translation),
  });
}

/** `POST /v1/messages/count_tokens`: the estimate the router uses for context fit. */
export async function countTokens(
  req: Request,
  ctx: HandlerContext,
  trace: Trace,
): Promise<Response> {
  const t = await translated(req, ctx, true);
  return withRequestId(
    t instanceof Response
      ? t
      : json(JSON.stringify({ input_tokens: promptTokens(t.request) })),
    trace,
  );
}
