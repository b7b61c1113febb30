/**
 * Errors in the front's own shape. The handler makes every error in OpenAI's
 * shape and passes upstream refusals through; the Responses front gets those
 * refusals in OpenAI's full envelope too (`type` and `param` added, the
 * upstream's fields kept), and a route whose clients speak Anthropic's API
 * gets the same status, headers and message in Anthropic's
 * `{type: "error", error: {type, message}}`. Only error responses are read.
 *
 * @module
 */
import { anthropicErrorBody } from "../fronts/anthropic/mod.ts";
import { openAIErrorType } from "../errors.ts";
import type { Front } from "./routes.ts";

/** The error response in the route's front's shape. */
export async function inFrontShape(
  res: Response,
  front: Front | undefined,
): Promise<Response> {
  if (front === undefined || front === "openai" || res.status < 400) {
    return res;
  }
  const text = await res.text();
  let body: { error?: unknown; message?: unknown } | undefined;
  try {
    const parsed = JSON.parse(text);
    if (isRecord(parsed)) body = parsed;
  } catch {
    // not JSON: keep the status text
  }
  const error = isRecord(body?.error) ? body.error : undefined;
  const given = error !== undefined
    ? error.message
    : body?.error ?? body?.message;
  const message = typeof given === "string" && given !== ""
    ? given
    : res.statusText || `HTTP ${res.status}`;
  const headers = new Headers(res.headers);
  headers.set("content-type", "application/json");
  headers.delete("content-length");
  const init = { status: res.status, headers };
  if (front === "anthropic") {
    return new Response(
      JSON.stringify(anthropicErrorBody(res.status, message)),
      init,
    );
  }
  if (typeof error?.type === "string" && "param" in error) {
    return new Response(text, init); // already OpenAI's envelope
  }
  return new Response(
    JSON.stringify({
      error: {
        ...error,
        message,
        type: typeof error?.type === "string"
          ? error.type
          : openAIErrorType(res.status),
        param: typeof error?.param === "string" ? error.param : null,
        code: error?.code ?? null,
      },
    }),
    init,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
