/**
 * Errors in the shape of Anthropic's Messages API:
 * `{"type": "error", "error": {"type": …, "message": …}}`.
 *
 * @module
 */

/**
 * The `error.type` values this front answers with: the SDK's `ErrorType`
 * values for these statuses, and `request_too_large`, which Anthropic's API
 * sends with a 413 but the SDK does not list.
 */
export type AnthropicErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "billing_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error"
  | "overloaded_error";

/** An Anthropic error body. */
export interface AnthropicErrorBody {
  /** Always `error`. */
  type: "error";
  /** The error's type and a human-readable message. */
  error: { type: AnthropicErrorType; message: string };
  /** Present when the caller passes a request id. */
  request_id?: string;
}

/**
 * The `error.type` Anthropic uses for an HTTP status: 400
 * `invalid_request_error`, 401 `authentication_error`, 402 `billing_error`
 * (OpenRouter's own 402: the account's credits), 403 `permission_error`,
 * 404 `not_found_error`, 413 `request_too_large`, 429 `rate_limit_error`,
 * 503 and 529 `overloaded_error`, any other status `api_error` (other 4xx
 * included).
 *
 * @example
 * ```ts
 * import { anthropicErrorType } from "./errors.ts";
 * console.log(anthropicErrorType(429)); // "rate_limit_error"
 * ```
 */
export function anthropicErrorType(status: number): AnthropicErrorType {
  switch (status) {
    case 400:
    case 405:
    case 415:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 402:
      return "billing_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    default:
      return "api_error";
  }
}

/**
 * The error body for an HTTP status. `extra.requestId` adds `request_id`, as
 * Anthropic's API does.
 *
 * @example
 * ```ts
 * import { anthropicErrorBody } from "./errors.ts";
 * const body = anthropicErrorBody(400, "max_tokens: Field required");
 * console.log(JSON.stringify(body));
 * ```
 */
export function anthropicErrorBody(
  status: number,
  message: string,
  extra?: { requestId?: string },
): AnthropicErrorBody {
  const body: AnthropicErrorBody = {
    type: "error",
    error: { type: anthropicErrorType(status), message },
  };
  if (extra?.requestId !== undefined) body.request_id = extra.requestId;
  return body;
}

/**
 * The error type of an `event: error` sent after the stream was committed,
 * from the router's error code: Anthropic only sends `overloaded_error` or
 * `api_error` there. 429, 503 and 529 (numbers or numeric strings) and codes
 * naming an overload or a rate limit count as overloaded.
 */
export function streamErrorType(
  code: string | number | null | undefined,
): "overloaded_error" | "api_error" {
  if (code === null || code === undefined) return "api_error";
  const text = String(code);
  if (text === "429" || text === "503" || text === "529") {
    return "overloaded_error";
  }
  return /overload|rate.?limit/i.test(text) ? "overloaded_error" : "api_error";
}
