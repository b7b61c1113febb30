/**
 * Errors in the front's own shape. The handler makes every error in OpenAI's
 * shape (passing upstream refusals through, except on the Responses front,
 * which gets them in OpenAI's full envelope); a route whose clients speak
 * Anthropic's API gets the same status, headers and message in Anthropic's
 * `{type: "error", error: {type, message}, request_id}`, the request id in a
 * `request-id` header as well. Only error responses are read. On every front,
 * an error a client's own retry cannot help says `x-should-retry: false`.
 *
 * @module
 */
import { anthropicErrorBody } from "../fronts/anthropic/mod.ts";
import {
  clientRetryHelps,
  MAX_CLIENT_RETRY_WAIT_SECONDS,
} from "../core/client_retry.ts";
import type { Front } from "./routes.ts";
import type { ModelFront } from "../fronts/model_entries.ts";

/**
 * The front a request on a route every client shares (models, status, an
 * unknown path) speaks: Anthropic's when it carries `anthropic-version`.
 */
export function sharedRouteFront(req: Request): ModelFront {
  return req.headers.has("anthropic-version") ? "anthropic" : "openai";
}

/** The longest `Retry-After` a Responses client is told (seconds). */
export const MAX_RESPONSES_RETRY_AFTER = MAX_CLIENT_RETRY_WAIT_SECONDS;

/**
 * Tells an SDK not to retry (`x-should-retry: false`) an error its retry
 * cannot help (see {@link clientRetryHelps}): freerouter's 502 after its own
 * fallback, a 429 that waits past a minute.
 */
function withRetryAdvice(res: Response): Response {
  // freerouter writes whole seconds; anything else counts as no wait given.
  const wait = Number(res.headers.get("retry-after") ?? undefined);
  if (
    clientRetryHelps(res.status, Number.isFinite(wait) ? wait : undefined) ===
      false
  ) {
    res.headers.set("x-should-retry", "false");
  }
  return res;
}

/**
 * A 429 or a 5xx (a paused outage's 502) for a Responses client with a
 * `Retry-After` longer than
 * {@link MAX_RESPONSES_RETRY_AFTER} gets the wait in OpenAI's
 * `x-ratelimit-reset-requests` instead (`86245s`). Codex honours
 * `Retry-After` whatever its length: on the day's cap it sat silent until
 * 00:00 UTC; without the header it fails at once ("exceeded retry limit, last
 * status: 429"). Shorter waits (the account's minute) stay, and Codex waits
 * them out.
 */
function withoutLongRetryAfter(res: Response): Response {
  const wait = Number(res.headers.get("retry-after"));
  if (
    (res.status !== 429 && res.status < 500) ||
    !(wait > MAX_RESPONSES_RETRY_AFTER)
  ) return res;
  res.headers.delete("retry-after");
  res.headers.set("x-ratelimit-reset-requests", `${wait}s`);
  res.headers.set("x-ratelimit-remaining-requests", "0");
  return res;
}

/**
 * The error response in the route's front's shape. Anthropic's carries
 * `requestId`, when given, as `request_id` and in a `request-id` header.
 */
export async function inFrontShape(
  res: Response,
  front: Front | undefined,
  requestId?: string,
): Promise<Response> {
  withRetryAdvice(res);
  if (front === "responses") return withoutLongRetryAfter(res);
  if (front !== "anthropic" || res.status < 400) return res;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const body = await res.json() as {
      error?: { message?: unknown } | string;
      message?: unknown;
    };
    const given = typeof body.error === "object"
      ? body.error?.message
      : body.error ?? body.message;
    if (typeof given === "string" && given !== "") message = given;
  } catch {
    // not JSON: keep the status text
  }
  const headers = new Headers(res.headers);
  headers.set("content-type", "application/json");
  headers.delete("content-length");
  if (requestId !== undefined) headers.set("request-id", requestId);
  const body = anthropicErrorBody(res.status, message, { requestId });
  return new Response(JSON.stringify(body), { status: res.status, headers });
}
