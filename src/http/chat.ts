/**
 * `POST /v1/chat/completions`, and what every front shares to reach the
 * router: the key a request spends, its routing context, and the routed
 * answer's headers.
 *
 * @module
 */
import { validateChatRequest } from "../core/request_schema.ts";
import { errorResponse } from "../errors.ts";
import type { RouteContext } from "../router.ts";
import type { ChatCompletionRequest } from "../types.ts";
import { readJsonBody } from "./body.ts";
import { completeAnswer, streamAnswer } from "./cached_route.ts";
import {
  type HandlerContext,
  missingKeyMessage,
  routedHeaders,
  type Trace,
  traced,
} from "./context.ts";
import { recordAttempts } from "./record.ts";

/** The OpenRouter key a request may spend, or the 401 to answer. */
export function keyOrRefusal(
  req: Request,
  ctx: HandlerContext,
): string | Response {
  const key = ctx.upstreamKey(req);
  if (key) return key;
  return errorResponse({
    status: 401,
    message: missingKeyMessage(ctx, req),
    code: "missing_api_key",
  });
}

/** The recent request's error code for a stream that ended with an error event. */
const STREAM_BROKEN = "stream_broken";

/**
 * The routing context of a request (its signal is read only when it
 * matters); resumed streams are counted in the metrics.
 */
export function routeContext(
  req: Request,
  key: string,
  ctx: HandlerContext,
  trace: Trace,
  extra: Partial<RouteContext> = {},
): RouteContext {
  return {
    apiKey: key,
    signal: () => req.signal,
    session: req.headers.get("x-freerouter-session"),
    requestId: trace.id,
    onResume: (outcome) => {
      ctx.metrics.resumes.inc({ outcome });
      recordAttempts(ctx, trace);
    },
    // The request's line went out with its headers; this one tells its end.
    onStreamCut: (cut) => {
      ctx.metrics.streamsCut.inc({ how: cut.how });
      if (cut.how === "broken") {
        // The recent request said 200 without an error when its headers went
        // out; it ended with an error event.
        trace.error = STREAM_BROKEN;
        if (trace.entry) trace.entry.error = STREAM_BROKEN;
      }
      ctx.resolved.logger.info("stream cut", {
        request_id: trace.id,
        how: cut.how,
        model: cut.model,
        after_events: cut.events,
        ...(cut.error === undefined ? {} : { break: cut.error }),
      });
    },
    ...extra,
  };
}

/** What a front's parser makes of a body: its request, or why it is invalid. */
export type Parsed<T> =
  | { ok: true; request: T }
  | { ok: false; message: string; param?: string | null };

/** Reads a request body as JSON and parses it with a front's parser; the 400 (or 413) to answer when it fails. */
export async function parsedBody<T>(
  req: Request,
  ctx: HandlerContext,
  parse: (value: unknown) => Parsed<T>,
): Promise<T | Response> {
  const body = await readJsonBody(req, ctx.maxBodyBytes);
  if (!body.ok) return body.response;
  const parsed = parse(body.value);
  if (parsed.ok) return parsed.request;
  return errorResponse({
    status: 400,
    message: parsed.message,
    param: parsed.param ?? null,
    code: "invalid_request",
  });
}

/** The chat completions parser, in the fronts' shape. */
function parseChat(value: unknown): Parsed<ChatCompletionRequest> {
  const checked = validateChatRequest(value);
  return checked.ok
    ? checked
    : { ok: false, message: checked.error.message, param: checked.error.param };
}

/** Answers a chat completion request: the routed upstream bytes, unchanged. */
export async function chatCompletions(
  req: Request,
  ctx: HandlerContext,
  trace: Trace,
): Promise<Response> {
  const key = keyOrRefusal(req, ctx);
  if (typeof key !== "string") return key;
  const request = await parsedBody(req, ctx, parseChat);
  if (request instanceof Response) return request;
  const context = routeContext(req, key, ctx, trace);
  trace.stream = request.stream === true;
  if (trace.stream) {
    const routed = traced(
      trace,
      await streamAnswer(ctx, trace, request, context),
    );
    // Our own content type, not the upstream's: a header the upstream wrote
    // is not passed on (it could quote the request's key).
    const headers = routedHeaders(routed, "text/event-stream", trace.id);
    headers["cache-control"] = "no-cache";
    return new Response(routed.answer.body, { status: 200, headers });
  }
  const routed = traced(
    trace,
    await completeAnswer(ctx, trace, request, context),
  );
  return new Response(
    routed.answer.bytes as
      | Uint8Array<ArrayBuffer>
      | ReadableStream<Uint8Array>,
    {
      status: 200,
      headers: routedHeaders(routed, "application/json", trace.id),
    },
  );
}
