/**
 * Errors of the Responses front after commit: a `response.failed` event
 * carries `error: {code, message}` with one of the codes the SDK's
 * `ResponseError` allows. Before commit the front answers in the OpenAI error
 * envelope of `src/errors.ts`, as chat completions do.
 *
 * @module
 */
import type { ResponseError } from "openai/resources/responses/responses";

const RATE_LIMIT_CODES: ReadonlySet<string> = new Set([
  "429",
  "rate_limit_exceeded",
  "rate_limited",
  "daily_limit_reached",
]);

/**
 * The `response.failed` error code for a chat stream's error code:
 * `rate_limit_exceeded` for a rate limit (429, `rate_limited`,
 * `daily_limit_reached`), `server_error` for anything else.
 */
export function responsesFailureCode(
  code: string | number | null | undefined,
): ResponseError["code"] {
  return code != null && RATE_LIMIT_CODES.has(String(code))
    ? "rate_limit_exceeded"
    : "server_error";
}
