/**
 * freerouter's errors, and their one mapping to the OpenAI error envelope.
 *
 * @module
 */
import { isRecord } from "./core/records.ts";

/**
 * One upstream attempt of a routed request.
 *
 * @example Print the attempts of a failed request
 * ```ts
 * import type { Attempt } from "@freerouter/freerouter";
 * const attempts: Attempt[] = [{ model: "a:free", outcome: "429", ms: 12 }];
 * console.log(attempts.map((a) => `${a.model} → ${a.outcome}`).join(", "));
 * ```
 */
export interface Attempt {
  /** The model tried. */
  model: string;
  /** `ok`, an HTTP status such as `429`, `timeout`, `network error`, … */
  outcome: string;
  /** How long the attempt took, ms. */
  ms: number;
  /** The attempt continued a broken stream (resumption after commit). */
  continuation?: boolean;
}

/**
 * Machine-readable codes of {@link FreeRouterError}.
 *
 * @example Decide whether to retry later
 * ```ts
 * import type { FreeRouterErrorCode } from "@freerouter/freerouter";
 * const retryLater = (code: FreeRouterErrorCode) =>
 *   code === "rate_limited" || code === "daily_limit_reached";
 * console.log(retryLater("rate_limited"));
 * ```
 */
export type FreeRouterErrorCode =
  | "all_candidates_failed"
  | "no_free_models"
  | "missing_api_key"
  | "aborted"
  | "stream_interrupted"
  | "daily_limit_reached"
  | "rate_limited"
  | "no_capable_model"
  | "context_length_exceeded"
  | "model_not_found";

/**
 * Options of {@link FreeRouterError}.
 *
 * @example Attach the attempts and a retry hint
 * ```ts
 * import { FreeRouterError, type FreeRouterErrorOptions } from "@freerouter/freerouter";
 * const options: FreeRouterErrorOptions = { attempts: [], retryAfterSeconds: 30 };
 * const err = new FreeRouterError("rate_limited", "Try again in 30 s", options);
 * console.log(err.status, err.retryAfterSeconds);
 * ```
 */
export interface FreeRouterErrorOptions extends ErrorOptions {
  /** The attempts made before giving up. */
  attempts?: readonly Attempt[] | undefined;
  /** Seconds after which a retry may succeed, when known. */
  retryAfterSeconds?: number | undefined;
  /** The request parameter at fault (the OpenAI error's `param`), when one is. */
  param?: string | undefined;
}

const STATUS_BY_CODE: Record<FreeRouterErrorCode, number> = {
  all_candidates_failed: 502,
  no_free_models: 503,
  missing_api_key: 401,
  aborted: 499,
  stream_interrupted: 502,
  daily_limit_reached: 429,
  rate_limited: 429,
  no_capable_model: 400,
  context_length_exceeded: 400,
  model_not_found: 400,
};

/**
 * A request freerouter could not route: every candidate failed, there is no
 * free model, or no key. `attempts` lists what was tried.
 *
 * @example Handle a routing failure
 * ```ts
 * import { FreeRouterError } from "@freerouter/freerouter";
 * try {
 *   throw new FreeRouterError("all_candidates_failed", "All 1 attempts failed", {
 *     attempts: [{ model: "a:free", outcome: "503", ms: 4 }],
 *   });
 * } catch (err) {
 *   if (err instanceof FreeRouterError) console.log(err.code, err.attempts.length);
 * }
 * ```
 */
export class FreeRouterError extends Error {
  /** Always `FreeRouterError`. */
  override name = "FreeRouterError";
  /** Why routing failed. */
  readonly code: FreeRouterErrorCode;
  /** The HTTP status the proxy answers with. */
  readonly status: number;
  /** The attempts made, in order. */
  readonly attempts: readonly Attempt[];
  /** Seconds after which a retry may succeed, when known. */
  readonly retryAfterSeconds: number | undefined;
  /** The request parameter at fault, when one is. */
  readonly param: string | undefined;

  /** Creates the error; `message` should say what was tried. */
  constructor(
    code: FreeRouterErrorCode,
    message: string,
    options: FreeRouterErrorOptions = {},
  ) {
    super(message, options);
    this.code = code;
    this.status = STATUS_BY_CODE[code];
    this.attempts = options.attempts ?? [];
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.param = options.param;
  }
}

/**
 * The upstream refused the request itself (400, 401 about the key, 413, 422 …):
 * no other model would do better, so freerouter hands the answer back.
 *
 * @example Show the upstream's answer
 * ```ts
 * import { UpstreamHTTPError } from "@freerouter/freerouter";
 * const err = new UpstreamHTTPError(400, '{"error":{"message":"bad","code":400}}', []);
 * console.log(err.status, err.message);
 * ```
 */
export class UpstreamHTTPError extends Error {
  /** Always `UpstreamHTTPError`. */
  override name = "UpstreamHTTPError";
  /** The upstream's HTTP status. */
  readonly status: number;
  /** The upstream's response body, as text. */
  readonly body: string;
  /** The attempts made, the last one being this refusal. */
  readonly attempts: readonly Attempt[];
  /** The upstream's `Content-Type`. */
  readonly contentType: string;

  /** Creates the error from the upstream's status and body. */
  constructor(
    status: number,
    body: string,
    attempts: readonly Attempt[],
    contentType = "application/json",
  ) {
    super(`OpenRouter answered ${status}: ${upstreamError(body).message}`);
    this.status = status;
    this.body = body;
    this.attempts = attempts;
    this.contentType = contentType;
  }
}

/**
 * An upstream body read once: its `error` object when it is OpenRouter's JSON
 * shape, and the message to show (the error's message, a bare string error,
 * or the body itself, shortened).
 */
interface UpstreamError {
  object?: Record<string, unknown>;
  message: string;
}

function upstreamError(body: string): UpstreamError {
  let error: unknown;
  try {
    error = JSON.parse(body)?.error;
  } catch {
    // not JSON: the message is the text
  }
  if (typeof error === "string" && error !== "") return { message: error };
  const object = isRecord(error) ? error : undefined;
  const message = object?.message;
  return {
    object,
    message: typeof message === "string" && message !== ""
      ? message
      : body.length > 200
      ? `${body.slice(0, 200)}…`
      : body || "(empty body)",
  };
}

/**
 * An upstream refusal in OpenAI's full error envelope, for a front that
 * promises it (`/v1/responses`), and for any refusal whose body is not
 * OpenRouter's JSON error (empty, HTML, a bare string): the upstream's
 * status and error fields, with `type` and `param` added where it has none.
 */
export function refusalInOpenAIShape(err: UpstreamHTTPError): Response {
  return envelope(err, upstreamError(err.body));
}

function envelope(err: UpstreamHTTPError, parts: UpstreamError): Response {
  const error = parts.object ?? {};
  return new Response(
    JSON.stringify({
      error: {
        ...error,
        // Not OpenRouter's shape: say who answered what.
        message: parts.object ? parts.message : err.message,
        type: typeof error.type === "string"
          ? error.type
          : openAIErrorType(err.status),
        param: typeof error.param === "string" ? error.param : null,
        code: error.code ?? null,
      },
    }),
    {
      status: err.status,
      headers: {
        "content-type": "application/json",
        ...attemptsHeader(err.attempts),
      },
    },
  );
}

/** `X-FreeRouter-Attempts` for an error that made attempts. */
function attemptsHeader(
  attempts: readonly Attempt[],
): Record<string, string> {
  return attempts.length > 0
    ? { "x-freerouter-attempts": String(attempts.length) }
    : {};
}

/**
 * The OpenAI error envelope: `{"error": {"message", "type", "param", "code"}}`.
 *
 * @example Build an error body
 * ```ts
 * import type { OpenAIErrorBody } from "@freerouter/freerouter";
 * const body: OpenAIErrorBody = {
 *   error: { message: "nope", type: "invalid_request_error", param: null, code: null },
 * };
 * ```
 */
export interface OpenAIErrorBody {
  /** The error. */
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string | number | null;
  };
}

/** Fields of one proxy-made error response. */
export interface ErrorResponseInit {
  status: number;
  message: string;
  type?: string;
  param?: string | null;
  code?: string | number | null;
  headers?: Record<string, string>;
}

const TYPE_BY_STATUS: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  405: "invalid_request_error",
  413: "invalid_request_error",
  415: "invalid_request_error",
  429: "rate_limit_error",
};

/** The OpenAI error `type` for an HTTP status (`api_error` for any other). */
function openAIErrorType(status: number): string {
  return TYPE_BY_STATUS[status] ?? "api_error";
}

/** A JSON `Response` in the OpenAI error shape. */
export function errorResponse(init: ErrorResponseInit): Response {
  const body: OpenAIErrorBody = {
    error: {
      message: init.message,
      type: init.type ?? openAIErrorType(init.status),
      param: init.param ?? null,
      code: init.code ?? null,
    },
  };
  const headers = new Headers(init.headers);
  headers.set("content-type", "application/json");
  return new Response(JSON.stringify(body), { status: init.status, headers });
}

/**
 * Maps any error thrown while routing to a `Response`: upstream refusals in
 * OpenRouter's JSON shape pass through unchanged (others, such as an empty
 * or HTML body, get the OpenAI envelope), freerouter's own errors get the
 * OpenAI shape, anything
 * else becomes a generic 500 (the caller logs the real one).
 */
export function toErrorResponse(err: unknown): Response {
  if (err instanceof UpstreamHTTPError) {
    // OpenRouter's JSON error passes through unchanged; anything else would
    // reach an OpenAI client as no error at all.
    const parts = upstreamError(err.body);
    if (parts.object === undefined) return envelope(err, parts);
    return new Response(err.body, {
      status: err.status,
      headers: {
        // The body is OpenRouter's JSON error; the upstream's own header is
        // not passed on (it could quote the request's key).
        "content-type": "application/json",
        ...attemptsHeader(err.attempts),
      },
    });
  }
  if (err instanceof FreeRouterError) {
    const headers: Record<string, string> = attemptsHeader(err.attempts);
    if (err.retryAfterSeconds !== undefined) {
      headers["retry-after"] = String(err.retryAfterSeconds);
    }
    return errorResponse({
      status: err.status,
      message: err.message,
      type: err.status >= 500 ? "upstream_error" : undefined,
      param: err.param,
      code: err.code,
      headers,
    });
  }
  return errorResponse({
    status: 500,
    message: "Internal error in freerouter",
    type: "server_error",
  });
}
