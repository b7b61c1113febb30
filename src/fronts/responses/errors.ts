/**
 * Errors of the Responses front. Before commit they use the OpenAI error
 * envelope, `{"error": {"message", "type", "param", "code"}}`, as the chat
 * completions API does; after commit a `response.failed` event carries
 * `error: {code, message}` with one of the codes the SDK's `ResponseError`
 * allows.
 *
 * @module
 */
import type { ResponseError } from "openai/resources/responses/responses";

/** An OpenAI error body. */
export interface ResponsesErrorBody {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string | null;
  };
}

const TYPE_BY_STATUS: Readonly<Record<number, string>> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  405: "invalid_request_error",
  413: "invalid_request_error",
  429: "rate_limit_error",
};

/**
 * The error body for an HTTP status: `type` from the status
 * (`invalid_request_error` for 400, …, `server_error` for 5xx, `api_error`
 * otherwise) unless given.
 *
 * @example
 * ```ts
 * import { responsesErrorBody } from "./errors.ts";
 * const body = responsesErrorBody(400, "previous_response_id is not supported", {
 *   param: "previous_response_id",
 * });
 * console.log(body.error.type); // "invalid_request_error"
 * ```
 */
export function responsesErrorBody(
  status: number,
  message: string,
  extra: { param?: string | null; code?: string | null; type?: string } = {},
): ResponsesErrorBody {
  return {
    error: {
      message,
      type: extra.type ?? TYPE_BY_STATUS[status] ??
        (status >= 500 ? "server_error" : "api_error"),
      param: extra.param ?? null,
      code: extra.code ?? null,
    },
  };
}

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
