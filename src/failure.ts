/**
 * What an upstream failure means for routing: fall back to the next candidate
 * (and maybe cool the model down), or hand the upstream's answer back to the
 * client unchanged. Pure: the caller passes the clock and the policy.
 *
 * @module
 */
import { resetHint } from "./reset_hint.ts";

/** The error object OpenRouter puts in error bodies and SSE error events. */
export interface UpstreamErrorInfo {
  /** Human-readable message, e.g. `Rate limit exceeded: free-models-per-min. `. */
  message: string;
  /** Numeric status, or a string code such as `server_error`. */
  code: number | string | undefined;
  /** `error.metadata`: `provider_name`, `raw`, `headers`, `limit_source`, … */
  metadata: Record<string, unknown> | undefined;
}

/** How an attempt failed before anything was sent to the client. */
export type FailureKind =
  | "http" // a non-2xx status
  | "network" // connection refused, reset, DNS …
  | "timeout" // no response (or no first event) within the request timeout
  | "invalid_body" // 2xx whose body is not a chat completion
  | "error_body" // 2xx whose body or first event carries an `error` object
  | "empty_stream"; // a stream that ended before any data event

/** One failed attempt, as the upstream client observed it. */
export interface UpstreamFailure {
  kind: FailureKind;
  /** HTTP status; 0 when no response arrived. */
  status: number;
  /** The parsed error object, when there was one. */
  error?: UpstreamErrorInfo;
  /** The parsed JSON body, when there was one. */
  body?: unknown;
  /** Response headers, when a response arrived. */
  headers?: Headers;
  /** The response body as text, when one was read. */
  text?: string;
  /** The response's `Content-Type`, when a response arrived. */
  contentType?: string;
}

/** What to do after a failure. */
export type Verdict =
  | {
    /** Try the next candidate. */
    action: "next";
    /** Cool the model down until this epoch ms, when set. */
    cooldownUntil?: number;
  }
  | {
    /** Stop and give the client the upstream's status and body unchanged. */
    action: "return";
  };

/** Statuses after which another model may well succeed. */
const FALLBACK_STATUSES = new Set([402, 403, 404, 408, 409, 429]);

/** Reads OpenRouter's `{"error": {...}}` object out of a parsed body. */
export function errorInfo(body: unknown): UpstreamErrorInfo | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== "object" || error === null) return undefined;
  const e = error as Record<string, unknown>;
  const metadata = typeof e.metadata === "object" && e.metadata !== null
    ? e.metadata as Record<string, unknown>
    : undefined;
  return {
    message: typeof e.message === "string" ? e.message : "",
    code: typeof e.code === "number" || typeof e.code === "string"
      ? e.code
      : undefined,
    metadata,
  };
}

/** The status a failure stands for: the HTTP status, or a numeric `error.code` inside a 200. */
export function effectiveStatus(failure: UpstreamFailure): number {
  if (failure.status >= 200 && failure.status < 300) {
    const code = failure.error?.code;
    const n = typeof code === "number" ? code : Number(code);
    return Number.isInteger(n) && n >= 400 && n < 600 ? n : 502;
  }
  return failure.status;
}

/** Whether a 401 is about a provider behind OpenRouter rather than the key. */
function isProviderError(failure: UpstreamFailure): boolean {
  const provider = failure.error?.metadata?.provider_name;
  return typeof provider === "string" && provider !== "";
}

/** Policy inputs for {@link classifyFailure}. */
export interface FailurePolicy {
  /** The current time, epoch ms. */
  now: number;
  /** Cooldown after a 429 that carries no reset hint, ms. */
  defaultCooldownMs: number;
}

/**
 * Classifies one failed attempt.
 *
 * - 429: next candidate; the model cools down until the reset hint, else for
 *   the default cooldown.
 * - 402, 403, 404, 408, 409, any 5xx, network errors, timeouts and 200s that
 *   are not a chat completion: next candidate.
 * - 401 naming a `provider_name`: that provider's problem, next candidate.
 * - Any other 4xx (400, 401 about the key, 413, 422 …): return it unchanged.
 */
export function classifyFailure(
  failure: UpstreamFailure,
  policy: FailurePolicy,
): Verdict {
  if (failure.kind !== "http") {
    if (effectiveStatus(failure) === 429) return rateLimited(failure, policy);
    return { action: "next" };
  }
  const status = failure.status;
  if (status === 429) return rateLimited(failure, policy);
  if (status >= 500 || FALLBACK_STATUSES.has(status)) return { action: "next" };
  if (status === 401 && isProviderError(failure)) return { action: "next" };
  return { action: "return" };
}

function rateLimited(failure: UpstreamFailure, policy: FailurePolicy): Verdict {
  const until = resetHint(failure.headers, failure.body, policy.now) ??
    policy.now + policy.defaultCooldownMs;
  return { action: "next", cooldownUntil: until };
}

/** A short description of a failure for attempt lists, e.g. `429`, `timeout`, `200 with error 503`. */
export function describeFailure(failure: UpstreamFailure): string {
  switch (failure.kind) {
    case "http":
      return String(failure.status);
    case "network":
      return "network error";
    case "timeout":
      return "timeout";
    case "invalid_body":
      return `${failure.status} with an invalid body`;
    case "error_body":
      return `${failure.status} with error ${failure.error?.code ?? "?"}`;
    case "empty_stream":
      return "stream ended before any data";
  }
}
