/**
 * What the agent fronts (Anthropic Messages, OpenAI Responses) share once a
 * request is translated: the one router's stream or completion, the routed
 * answer's headers, and the translation back. Written once for both.
 *
 * @module
 */
import type { RouteContext } from "../router.ts";
import type { ChatCompletion, ChatCompletionRequest } from "../types.ts";
import { completeAnswer, streamAnswer } from "./cached_route.ts";
import {
  type HandlerContext,
  routedHeaders,
  type Trace,
  traced,
} from "./context.ts";
import {
  completionJson,
  type StreamTranslator,
  translateStream,
} from "./translate.ts";

/** A translated request and how to translate its answer back. */
export interface FrontRequest {
  chat: ChatCompletionRequest;
  context: RouteContext;
  /** Tools the free pool cannot run, dropped (`X-FreeRouter-Dropped-Tools`). */
  droppedTools: readonly string[];
  /** The stream translator, for the model that committed. */
  translator(model: string): StreamTranslator;
  /** The front's body for a whole completion. */
  body(completion: ChatCompletion): unknown;
}

/** Routes a translated request and answers in the front's own shape. */
export async function answerFront(
  ctx: HandlerContext,
  trace: Trace,
  front: FrontRequest,
): Promise<Response> {
  const { chat, context } = front;
  trace.stream = chat.stream === true;
  if (trace.stream) {
    // Usage for the closing event (message_delta, response.completed).
    chat.stream_options = { include_usage: true };
    const routed = traced(
      trace,
      // The translation reads the events the stream guard parsed.
      await streamAnswer(ctx, trace, chat, { ...context, parsedEvents: true }),
    );
    const headers = routedHeaders(routed, "text/event-stream", trace.id);
    headers["cache-control"] = "no-cache";
    withDropped(headers, front.droppedTools);
    const body = translateStream(
      routed.answer.body,
      front.translator(routed.model),
    );
    return new Response(body, { status: 200, headers });
  }
  const routed = traced(
    trace,
    await completeAnswer(ctx, trace, chat, context),
  );
  // Parsed once by the attempt; only a body too large to hold is read here.
  const completion = routed.answer.json ??
    await completionJson<ChatCompletion>(routed.answer.bytes);
  const headers = routedHeaders(routed, "application/json", trace.id);
  withDropped(headers, front.droppedTools);
  return new Response(JSON.stringify(front.body(completion)), {
    status: 200,
    headers,
  });
}

function withDropped(
  headers: Record<string, string>,
  dropped: readonly string[],
): void {
  if (dropped.length > 0) {
    // The names are the client's: a character a header cannot carry (a line
    // break) becomes `?`, rather than failing the answer after its attempt.
    headers["x-freerouter-dropped-tools"] = dropped.join(", ").replace(
      /[^\x20-\x7e]/g,
      "?",
    );
  }
}
