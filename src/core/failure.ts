/**
 * What an upstream failure means for routing: fall back to the next candidate
 * (and maybe cool the model down), or hand the upstream's answer back to the
 * client unchanged. Pure: the caller passes the clock and the policy.
 *
 * @module
 */
import { type Capability, capabilityFromNotFound } from "./capabilities.ts";
import { errorObject } from "./error_object.ts";
import { resetHint } from "./reset_hint.ts";
import { redactEscapedSecret, redactSecret } from "./secrets.ts";

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
  | "empty_stream" // a stream that ended before any data event
  | "incomplete_stream" // a stream that ended before its opening was complete (no finish_reason)
  | "prefill_rejected" // a continuation that started the answer over instead of continuing it
  | "nothing_added" // a continuation that finished without adding anything to the forwarded text
  | "empty_answer" // a 200 without content or a tool call (not cut by the length limit)
  | "invalid_tool_call"; // a 200 whose tool call arguments are not JSON

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

/** What a failure does to one model's standing. */
export type ModelEffect =
  /**
   * Rate-limited: cool down until `until` (epoch ms). `perMinute`: the
   * model's per-minute limit, when a `limit_rpm` 429 states it (see
   * `model_budget.ts`).
   */
  | { kind: "cooldown"; until: number; perMinute?: number }
  /** Gone for free use (promo ended, 402, data policy): cool down until the next catalog refresh. */
  | { kind: "lasting" }
  /** Lacks a capability this request needs: skip it for such requests only. */
  | { kind: "capability"; capability: Capability }
  /** A transient fault (5xx, timeout, error inside a 200 …): counts toward the circuit breaker. */
  | { kind: "transient" }
  /**
   * The request is longer than this model's context as the upstream counts
   * it (freerouter's estimate said it fit): only a model with a larger
   * context may take it. Says nothing of the model's health.
   */
  | { kind: "too_long" };

/** What to do after a failure. */
export type Verdict =
  /** Try the next candidate, after applying `effect` to the model that failed. */
  | { action: "next"; effect?: ModelEffect }
  /** Stop and give the client the upstream's status and body unchanged. */
  | { action: "return" }
  /**
   * The whole account hit a free-tier cap: no other model would help.
   * `limit` is the upstream's `X-RateLimit-Limit`, when given.
   */
  | {
    action: "account";
    scope: "day" | "minute";
    until: number;
    limit?: number;
  };

/**
 * Other 4xx after which another model may well succeed (402, 404 and 429 are
 * told apart before, each by its own rules).
 */
const FALLBACK_STATUSES = new Set([403, 408, 409]);

/**
 * Reads OpenRouter's `{"error": {...}}` object out of a parsed body, or the
 * error object itself when a body is only that (a per-model `limit_rpm` 429
 * has been seen so: `{"message", "code", "metadata"}` at the top level).
 */
export function errorInfo(body: unknown): UpstreamErrorInfo | undefined {
  const e = errorObject(body);
  if (e === undefined) return undefined;
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

/**
 * The error a 200's body or stream chunk carries: OpenRouter's top-level
 * `error`, or one inside a choice (its `error`, or a `finish_reason` of
 * `error`), as a provider that fails mid-generation reports it.
 */
export function errorIn(body: unknown): UpstreamErrorInfo | undefined {
  const top = errorInfo(body);
  if (top) return top;
  const choices = (body as { choices?: unknown } | null | undefined)?.choices;
  if (!Array.isArray(choices)) return undefined;
  for (const choice of choices) {
    const inner = errorInfo(choice);
    if (inner) return inner;
    if (
      (choice as { finish_reason?: unknown } | null)?.finish_reason === "error"
    ) {
      return { message: "", code: undefined, metadata: undefined };
    }
  }
  return undefined;
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
  /**
   * The attempt continues a broken stream (an assistant prefill): a 400 or
   * another refusal means the model rejects the prefill, so it is skipped
   * for continuations (a capability gap) and the next candidate is tried.
   */
  continuation?: boolean;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

function limitHeader(failure: UpstreamFailure): number | undefined {
  let raw: unknown = failure.headers?.get("x-ratelimit-limit");
  const mirrored = failure.error?.metadata?.headers;
  if (raw == null && typeof mirrored === "object" && mirrored !== null) {
    for (const [key, value] of Object.entries(mirrored)) {
      if (key.toLowerCase() === "x-ratelimit-limit") raw = value;
    }
  }
  const n = Number(raw);
  return raw != null && Number.isInteger(n) && n > 0 ? n : undefined;
}

/** `error.metadata.error_type` values for a request longer than the model's context. */
const TOO_LONG_TYPES = new Set([
  "context_length_exceeded",
  "token_limit_exceeded",
]);

/** How providers word a request longer than the model's context. */
const TOO_LONG =
  /maximum context length|context (length|window) (is |of )?(exceeded|too)|exceeds? the (model's )?(maximum )?context|exceeds the maximum number of tokens|prompt is too long|too many (input )?tokens|context_length_exceeded|tokens \+ `?max_new_tokens`? must be <=/i;

/**
 * Whether a 400 or 413 says the request is longer than the model's context:
 * OpenRouter's `error_type`, its message ("This endpoint's maximum context
 * length is … tokens"), or the provider's error in `metadata.raw`.
 */
function tooLong(failure: UpstreamFailure, status: number): boolean {
  if (status !== 400 && status !== 413) return false;
  const metadata = failure.error?.metadata;
  if (TOO_LONG_TYPES.has(String(metadata?.error_type))) return true;
  const raw = metadata?.raw;
  return TOO_LONG.test(failure.error?.message ?? "") ||
    (typeof raw === "string" && TOO_LONG.test(raw));
}

/**
 * The prompt tokens a too-long failure says the upstream counted:
 * OpenRouter's "(118137 of text input, …)", or a provider's "(118137 in the
 * messages, …)"; `undefined` when it does not say.
 */
export function countedPromptTokens(
  failure: UpstreamFailure,
): number | undefined {
  const raw = failure.error?.metadata?.raw;
  const text = `${failure.error?.message ?? ""} ${
    typeof raw === "string" ? raw : ""
  }`;
  const m = /\((\d+) (?:of text input|in the messages)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * Availability codes saying the model is not served (here, for free) at all:
 * nothing changes that before the catalog does.
 */
const GONE_CODES = new Set([
  "model_not_found",
  "wrong_endpoint",
  "no_endpoints",
  "model_deprecated",
  "model_unavailable_upstream",
  "free_variant_ended",
  "privacy_restricted",
  "region_restricted",
]);

function availabilityCode(failure: UpstreamFailure): string | undefined {
  const availability = errorObject(failure.body)?.availability as
    | { code?: unknown }
    | undefined;
  const code = availability?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Classifies one failed attempt by its scope (see the README's table):
 *
 * - 429 `free-models-per-day…` or `limit_source: openrouter_free_tier_daily`:
 *   the account, until the reset (next UTC midnight without a hint).
 * - 429 `free-models-per-min`: the account, until the reset (next minute).
 * - Any other 429 (`limit_rpm/…`, `limit_rpd/…`, shared capacity, "Provider
 *   returned error"): that model cools down until the reset hint, else for the
 *   default cooldown; next candidate. A `limit_rpm/…` 429 also gives the
 *   model's per-minute limit (`X-RateLimit-Limit`), when it states one.
 * - 404 "No endpoints found that support …": that model lacks a capability
 *   for this kind of request; next candidate.
 * - 404 `free_variant_ended` / "is unavailable for free" / "No endpoints
 *   found for …" / data-policy 404s, a 400 "… is not a valid model ID", an
 *   availability code saying the model is not served (`model_not_found`,
 *   `no_endpoints`, `model_deprecated` …), and a 402 naming a provider: that
 *   model, until the next catalog refresh; next candidate.
 * - A 402 from OpenRouter itself (insufficient credits: the account's), a
 *   403 guardrail block (the key's policy) and a 403 "Key limit exceeded"
 *   (the key's credit limit): every model would answer the same, so it goes
 *   back to the client unchanged.
 * - A 403 moderation flag, a 404 about output modalities or the request's
 *   constraints, a continuation that finished without adding anything (the
 *   model may be right that the answer was complete): next candidate, with no
 *   mark on the model.
 * - A continuation that started the answer over and said something else:
 *   that model takes no prefill; next candidate.
 * - A 503 `temporarily_unavailable` with a retry hint: that model cools down
 *   until then; next candidate.
 * - 400 or 413 saying the request is longer than the model's context
 *   (`context_length_exceeded`, "maximum context length …"): next candidate
 *   with a larger context; the model is not at fault.
 * - 401 naming a `provider_name`, 403, 404, 408, 409, 5xx, network errors,
 *   timeouts, errors inside 200s: transient; next candidate.
 * - Any other 4xx (400, 401 about the key, 413, 422 …): return it unchanged.
 */
export function classifyFailure(
  failure: UpstreamFailure,
  policy: FailurePolicy,
): Verdict {
  const status = effectiveStatus(failure);
  const message = failure.error?.message ?? "";
  if (status === 429) return rateLimited(failure, message, policy);
  if (failure.kind === "prefill_rejected") {
    return {
      action: "next",
      effect: { kind: "capability", capability: "prefill" },
    };
  }
  // The model may be right that the answer was complete: no fault of its own.
  if (failure.kind === "nothing_added") return { action: "next" };
  if (failure.kind !== "http") {
    return { action: "next", effect: { kind: "transient" } };
  }
  if (tooLong(failure, status)) {
    return { action: "next", effect: { kind: "too_long" } };
  }
  const availability = availabilityCode(failure);
  if (
    (availability !== undefined && GONE_CODES.has(availability)) ||
    (status === 400 && /is not a valid model ID/i.test(message))
  ) {
    // The catalog still lists a model OpenRouter no longer serves here.
    return { action: "next", effect: { kind: "lasting" } };
  }
  if (status === 404) {
    const capability = capabilityFromNotFound(message);
    if (capability) {
      return { action: "next", effect: { kind: "capability", capability } };
    }
    if (
      /unavailable for free/i.test(message) ||
      /No endpoints (found|available) (for|matching)/i.test(message)
    ) return { action: "next", effect: { kind: "lasting" } };
    // Output modalities, the request's own constraints: this request only.
    if (
      /No endpoints found that support/i.test(message) ||
      availability === "constraint_filtered"
    ) return { action: "next" };
    return { action: "next", effect: { kind: "transient" } };
  }
  if (status === 402) {
    // OpenRouter's own 402 (no provider named) is the account's: its
    // balance, and every model would answer the same.
    return isProviderError(failure)
      ? { action: "next", effect: { kind: "lasting" } }
      : { action: "return" };
  }
  if (status === 403) {
    const metadata = failure.error?.metadata;
    // A guardrail of the key's policy, or the key's credit limit, refuses
    // the request on every model.
    if (
      !isProviderError(failure) &&
      (metadata?.patterns !== undefined ||
        /^Request blocked|Key limit exceeded/i.test(message))
    ) return { action: "return" };
    // A provider's moderation flagged this request's input: says nothing of
    // the model's health.
    if (
      metadata?.reasons !== undefined || metadata?.flagged_input !== undefined
    ) {
      return { action: "next" };
    }
  }
  if (status >= 500 || FALLBACK_STATUSES.has(status)) {
    const until = availability === "temporarily_unavailable"
      ? resetHint(failure.headers, failure.body, policy.now)
      : undefined;
    // Unavailable for a stated while: no use trying it before then.
    if (until !== undefined) {
      return { action: "next", effect: { kind: "cooldown", until } };
    }
    return { action: "next", effect: { kind: "transient" } };
  }
  if (status === 401 && isProviderError(failure)) {
    return { action: "next", effect: { kind: "transient" } };
  }
  if (policy.continuation && status !== 401) {
    // The request is ours (the client's plus the forwarded text): a refusal
    // is this model's answer to the prefill, not the client's to read.
    return {
      action: "next",
      effect: { kind: "capability", capability: "prefill" },
    };
  }
  return { action: "return" };
}

function rateLimited(
  failure: UpstreamFailure,
  message: string,
  policy: FailurePolicy,
): Verdict {
  const hint = resetHint(failure.headers, failure.body, policy.now);
  const source = failure.error?.metadata?.limit_source;
  if (
    /free-models-per-day/i.test(message) ||
    source === "openrouter_free_tier_daily"
  ) {
    const until = hint ?? (Math.floor(policy.now / DAY_MS) + 1) * DAY_MS;
    return {
      action: "account",
      scope: "day",
      until,
      limit: limitHeader(failure),
    };
  }
  if (/free-models-per-min/i.test(message)) {
    const until = hint ?? (Math.floor(policy.now / MINUTE_MS) + 1) * MINUTE_MS;
    return {
      action: "account",
      scope: "minute",
      until,
      limit: limitHeader(failure),
    };
  }
  const until = hint ?? policy.now + policy.defaultCooldownMs;
  const perMinute = /limit_rpm\//i.test(message)
    ? limitHeader(failure)
    : undefined;
  return {
    action: "next",
    effect: perMinute === undefined
      ? { kind: "cooldown", until }
      : { kind: "cooldown", until, perMinute },
  };
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
    case "incomplete_stream":
      return "stream ended before its answer was complete";
    case "prefill_rejected":
      return "started over instead of continuing";
    case "nothing_added":
      return "finished without adding to the answer";
    case "empty_answer":
      return "200 without an answer";
    case "invalid_tool_call":
      return "200 with unparseable tool arguments";
  }
}

/**
 * Whether a model the client named is worth one more try before moving on,
 * and after how long (ms): a per-model 429 whose reset is at most
 * `maxWaitMs` away (after the reset), or a transient 5xx or connection error
 * before any response (at once). Not after a timeout: a model that stayed
 * silent stays silent. `undefined`: move on. `maxWaitMs` 0 turns both off.
 */
export function sameModelRetry(
  failure: UpstreamFailure,
  verdict: Verdict,
  now: number,
  maxWaitMs: number,
): number | undefined {
  if (maxWaitMs <= 0 || verdict.action !== "next") return undefined;
  const effect = verdict.effect;
  if (effect?.kind === "cooldown") {
    const wait = effect.until - now;
    return wait <= maxWaitMs ? Math.max(0, wait) : undefined;
  }
  if (effect?.kind !== "transient") return undefined;
  if (failure.kind === "network") return 0;
  return failure.kind === "http" && failure.status >= 500 ? 0 : undefined;
}

/**
 * `failure` without `secret` (the key the attempt was sent with) in its text,
 * parsed body and error message: an upstream may quote the request's
 * authorization back, and a failure's text reaches clients (a refusal), the
 * KV store and the status page (an account block's reason). The same object
 * when there is nothing to redact.
 */
export function redactedFailure(
  failure: UpstreamFailure,
  secret: string | undefined,
): UpstreamFailure {
  const text = failure.text ??
    (failure.body === undefined ? undefined : JSON.stringify(failure.body));
  if (text === undefined) return failure;
  let clean = redactEscapedSecret(text, secret);
  let body: unknown = clean;
  try {
    body = JSON.parse(clean);
  } catch {
    // not JSON: the text is the body
  }
  if (typeof body !== "string") {
    // A key quoted JSON-escaped (`sk\u002dor…`) shows only once parsed:
    // then the body is written again from the redacted values.
    const deep = redactedValues(body, secret);
    if (deep !== body) clean = JSON.stringify(body = deep);
  }
  if (clean === text) return failure;
  return {
    ...failure,
    body,
    error: errorInfo(body),
    ...(failure.text === undefined ? {} : { text: clean }),
  };
}

/** `value` with `secret` redacted in every string it holds (see `redactSecret`); the same value when none held it. */
function redactedValues(value: unknown, secret: string | undefined): unknown {
  if (typeof value === "string") return redactSecret(value, secret);
  if (typeof value !== "object" || value === null) return value;
  let changed = false;
  const out: unknown = Array.isArray(value)
    ? value.map((v) => {
      const r = redactedValues(v, secret);
      changed ||= r !== v;
      return r;
    })
    : Object.fromEntries(
      Object.entries(value).map(([k, v]) => {
        const r = redactedValues(v, secret);
        changed ||= r !== v;
        return [k, r];
      }),
    );
  return changed ? out : value;
}
