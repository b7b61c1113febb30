/**
 * `POST /v1/responses` (OpenAI Responses, what Codex speaks): translated at
 * the edge into a chat completion for the one router, and back. Stateless,
 * like OpenRouter's own Responses API.
 *
 * @module
 */
import {
  fromChatCompletion,
  nothingToSend,
  parseResponsesRequest,
  ResponsesStream,
  toChatRequest,
} from "../fronts/responses/mod.ts";
import { conversationLabel } from "../core/affinity.ts";
import { keyOrRefusal, parsedBody, routeContext } from "./chat.ts";
import type { HandlerContext, Trace } from "./context.ts";
import { answerFront } from "./front.ts";
import { newId } from "./translate.ts";

/** Answers a Responses request, streaming or not. */
export async function responses(
  req: Request,
  ctx: HandlerContext,
  trace: Trace,
): Promise<Response> {
  const key = keyOrRefusal(req, ctx);
  if (typeof key !== "string") return key;
  const t = await parsedBody(req, ctx, (value) => {
    const parsed = parseResponsesRequest(value);
    if (!parsed.ok) return parsed;
    const chat = toChatRequest(parsed.request);
    return nothingToSend(chat.request) ??
      { ok: true, request: { parsed: parsed.request, ...chat } };
  });
  if (t instanceof Response) return t;
  const { parsed: request, request: chat, droppedTools, tools } = t;
  const id = newId("resp_");
  return await answerFront(ctx, trace, {
    chat,
    context: routeContext(req, key, ctx, trace, {
      clampMaxTokens: true,
      conversationLabel: conversationLabel(request),
    }),
    droppedTools,
    translator: (model) =>
      new ResponsesStream({
        id,
        model,
        createdAt: Math.floor(ctx.resolved.now() / 1000),
        request,
        tools,
      }),
    body: (completion) =>
      fromChatCompletion(completion, { id, request, tools }),
  });
}
