/**
 * A scriptable fake of OpenRouter's HTTP API (`/api/v1`) for tests.
 *
 * Bodies, headers and stream framing follow the captures collected in
 * `/work/shared/openrouter-api.md` (§1 catalog, §2.3 429 bodies A–H, §3 error
 * bodies, §3.3 errors inside 200s, §4 stream format, §6 `/key`).
 *
 * ```ts
 * await using fake = startFakeOpenRouter();
 * fake.script("qwen/qwen3-coder:free", dailyCap(), ok("qwen/qwen3-coder:free"));
 * // point the code under test at fake.baseUrl
 * ```
 *
 * @module
 */

// ---------------------------------------------------------------------------
// Types

/** An ordinary (non-stream) HTTP response. */
export interface ResponseStep {
  /** HTTP status; default 200. */
  status?: number;
  /** Response headers; `content-type: application/json` is added when a body is sent and none is given. */
  headers?: Record<string, string>;
  /** Objects are sent with `JSON.stringify`; strings and `Uint8Array`s are sent as-is; `undefined` sends no body. */
  body?: unknown;
  /**
   * Sent as a separate first body chunk (right after the status line) before
   * the JSON, like OpenRouter's keep-alive padding for slow non-stream
   * responses. When set, `delayMs` is waited between the padding and the JSON.
   */
  leadingWhitespace?: string;
  /** Milliseconds to wait: before the status line, or (with `leadingWhitespace`) between padding and JSON. */
  delayMs?: number;
  /** Awaited before anything is sent (lets a test hold a response back). */
  gate?: () => Promise<void>;
  hang?: never;
  stream?: never;
  reset?: never;
}

/** Never answers; released when the client aborts (or the fake closes, which resets the connection). */
export interface HangStep {
  hang: true;
}

/** A `200 text/event-stream` (or `stream.status`) response written part by part. */
export interface StreamStep {
  stream: StreamScript;
}

/**
 * The connection dies before the client sees a status: `fetch()` rejects with
 * a `TypeError`. (Implemented by sending an oversized response head that the
 * client's HTTP parser refuses, followed by an errored body.)
 */
export interface ResetStep {
  reset: true;
}

/** One scripted response. */
export type Step = ResponseStep | HangStep | StreamStep | ResetStep;

/** What a stream step writes. */
export interface StreamScript {
  /**
   * Written in order. Strings are written as-is (already framed, e.g.
   * `"data: {...}\n\n"` or {@linkcode PROCESSING}); functions are awaited
   * before continuing (gates).
   */
  parts: Array<string | Uint8Array | (() => Promise<void>)>;
  /**
   * `"close"` (default) ends the body normally; `"reset"` errors the body
   * (the client's read rejects); `"hang"` keeps it open until the client
   * aborts or the fake closes.
   */
  end?: "close" | "reset" | "hang";
  /** Default 200. */
  status?: number;
  /** Default `content-type: text/event-stream`, `cache-control: no-cache`. */
  headers?: Record<string, string>;
}

/** One request the fake received. */
export interface RecordedRequest {
  /** HTTP method. */
  method: string;
  /** Path without query, e.g. `"/api/v1/chat/completions"`. */
  path: string;
  /** Query string including `"?"`, or `""`. */
  search: string;
  /** A copy of the request headers. */
  headers: Headers;
  /** Parsed JSON body, raw text if not JSON, `undefined` if empty. */
  body: unknown;
  /** `body.model` for chat requests. */
  model: string | undefined;
  /** Resolves when the client aborted/disconnected this request before the fake finished responding. */
  aborted: Promise<void>;
  /** Whether {@linkcode RecordedRequest.aborted} has resolved. */
  isAborted(): boolean;
}

/** Options for {@linkcode startFakeOpenRouter}. */
export interface FakeOpenRouterOptions {
  /** Catalog rows served by `GET /models`; default {@linkcode defaultCatalog}(). */
  models?: unknown[];
  /** Fields merged over the default `GET /key` `data` object. */
  key?: Record<string, unknown>;
}

/** A running fake OpenRouter. */
export interface FakeOpenRouter extends AsyncDisposable {
  /** `"http://127.0.0.1:<port>/api/v1"` */
  readonly baseUrl: string;
  /** Every request, in arrival order (recorded once its body has been read). */
  readonly requests: RecordedRequest[];
  /** Only `POST /chat/completions`. */
  chatRequests(): RecordedRequest[];
  /** Only `GET /models`. */
  modelsRequests(): RecordedRequest[];
  /** Only `GET /key` and `GET /auth/key`. */
  keyRequests(): RecordedRequest[];
  /** Mutable catalog served by `GET /models`. */
  models: unknown[];
  /** Mutable `data` object served by `GET /key`. */
  key: Record<string, unknown>;
  /**
   * Queue responses for a model id; each chat request to that model takes the
   * next step; when its queue is empty the model gets the default behaviour
   * (a normal success). Scripted steps win over default validation (unknown
   * id, tool support) but not over the missing-Authorization 401.
   */
  script(model: string, ...steps: Step[]): void;
  /** Steps still queued for a model. */
  pendingSteps(model: string): number;
  /** Queue responses for `GET /models` (default: 200 with `{data, total_count, links: {next: null}}`). */
  scriptModels(...steps: Step[]): void;
  /** Queue responses for `GET /key` (after its auth check). */
  scriptKey(...steps: Step[]): void;
  /** Resolves when the number of chat requests received reaches n (rejects if the fake closes first). */
  waitForChatRequests(n: number): Promise<void>;
  /** Releases hung requests (their connections are reset), then shuts the server down. Idempotent. */
  close(): Promise<void>;
}

/** Architecture block of a catalog row. */
export interface ModelArchitecture {
  modality: string | null;
  input_modalities?: string[];
  output_modalities?: string[];
  tokenizer: string;
  instruct_type: string | null;
}

/** A catalog row in the real `Model` object shape (§1.3). Prices are decimal strings. */
export interface ModelRow {
  id: string;
  canonical_slug: string;
  hugging_face_id?: string | null;
  name: string;
  created: number;
  description?: string;
  context_length: number;
  architecture: ModelArchitecture;
  pricing: Record<string, string | number>;
  top_provider: {
    context_length: number | null;
    max_completion_tokens: number | null;
    is_moderated: boolean;
  };
  per_request_limits:
    | { prompt_tokens: number; completion_tokens: number }
    | null;
  supported_parameters: string[];
  default_parameters: Record<string, unknown>;
  supported_voices: string[] | null;
  knowledge_cutoff?: string | null;
  expiration_date?: string | null;
  links: { details: string };
  [extra: string]: unknown;
}

// ---------------------------------------------------------------------------
// Small utilities

const encoder = new TextEncoder();
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** The redacted `user_id` of the captures, made concrete. */
const USER_ID = "user_2dHFtVWx2n56w6HkM0000000000";
const JSON_HEADERS = { "content-type": "application/json" } as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

/** `gen-<unix>-<20 alphanumerics>`, like OpenRouter's generation ids. */
export function generationId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  let s = "";
  for (const b of bytes) s += ALNUM.charAt(b % ALNUM.length);
  return `gen-${unixNow()}-${s}`;
}

/** Epoch ms of the next 00:00 UTC (the daily caps' `X-RateLimit-Reset`). */
export function nextUtcMidnightMs(now: number = Date.now()): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

/** Epoch ms of the next whole minute (the per-minute caps' `X-RateLimit-Reset`). */
export function nextMinuteMs(now: number = Date.now()): number {
  return (Math.floor(now / 60_000) + 1) * 60_000;
}

function stripFree(model: string): string {
  return model.endsWith(":free") ? model.slice(0, -":free".length) : model;
}

/** A plausible provider display name for a model id. */
export function providerFor(model: string): string {
  if (model.startsWith("google/")) return "Google AI Studio";
  if (model.startsWith("nvidia/")) return "Nvidia";
  if (model.startsWith("openai/")) return "OpenInference";
  if (model.startsWith("cognitivecomputations/")) return "Venice";
  if (model.startsWith("openrouter/")) return "Stealth";
  return "Chutes";
}

function rateLimitHeaders(
  limit: number,
  resetMs: number,
): Record<string, string> {
  return {
    "X-RateLimit-Limit": String(limit),
    "X-RateLimit-Remaining": "0",
    "X-RateLimit-Reset": String(resetMs),
  };
}

function errorStep(
  status: number,
  body: unknown,
  headers?: Record<string, string>,
): ResponseStep {
  return { status, headers: { ...JSON_HEADERS, ...headers }, body };
}

/**
 * A plain OpenRouter-shaped error response: `{"error": {"message", "code"}}`
 * with that status (and optional extra headers such as `retry-after`).
 */
export function errorStatus(
  status: number,
  message = `error ${status}`,
  headers?: Record<string, string>,
): ResponseStep {
  return errorStep(status, { error: { message, code: status } }, headers);
}

// ---------------------------------------------------------------------------
// Success bodies and stream helpers

/** The usage object of §4's example. */
export function usageObject(): Record<string, unknown> {
  return {
    prompt_tokens: 12,
    completion_tokens: 20,
    total_tokens: 35,
    cost: 0,
    is_byok: false,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    cost_details: {
      upstream_inference_cost: null,
      upstream_inference_prompt_cost: 0,
      upstream_inference_completion_cost: 0,
    },
    completion_tokens_details: { reasoning_tokens: 8, image_tokens: 0 },
  };
}

/** Identity fields repeated on every chunk of one generation. */
export interface GenerationMeta {
  id?: string;
  created?: number;
  provider?: string;
}

/** A non-stream `chat.completion` body (§5.5). */
export function completionBody(
  model: string,
  content: string | null = "Hello world",
  meta: GenerationMeta = {},
): Record<string, unknown> {
  const created = meta.created ?? unixNow();
  return {
    id: meta.id ?? generationId(),
    provider: meta.provider ?? providerFor(model),
    model,
    object: "chat.completion",
    created,
    choices: [
      {
        logprobs: null,
        finish_reason: "stop",
        native_finish_reason: "stop",
        index: 0,
        message: {
          role: "assistant",
          content,
          refusal: null,
          reasoning: null,
        },
      },
    ],
    usage: usageObject(),
  };
}

/** A 200 step with a realistic non-stream chat completion (default content `"Hello world"`). */
export function ok(model: string, content?: string | null): ResponseStep {
  const body = completionBody(model, content);
  return {
    status: 200,
    headers: { ...JSON_HEADERS, "x-generation-id": String(body.id) },
    body,
  };
}

/** `data: [DONE]` terminator. */
export const DONE = "data: [DONE]\n\n";
/** OpenRouter's SSE keep-alive comment. */
export const PROCESSING = ": OPENROUTER PROCESSING\n\n";

/** Frames a JSON value as one SSE data event. */
export function sseData(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

/**
 * One framed `chat.completion.chunk` event. A string delta means
 * `{content: delta}`; pass an object for role/reasoning/tool_calls deltas.
 */
export function chunk(
  model: string,
  delta: string | Record<string, unknown>,
  finishReason?: string | null,
  meta: GenerationMeta = {},
): string {
  return sseData({
    id: meta.id ?? generationId(),
    provider: meta.provider ?? providerFor(model),
    model,
    object: "chat.completion.chunk",
    created: meta.created ?? unixNow(),
    choices: [
      {
        index: 0,
        delta: typeof delta === "string" ? { content: delta } : delta,
        finish_reason: finishReason ?? null,
        native_finish_reason: finishReason ?? null,
        logprobs: null,
      },
    ],
  });
}

/** The final usage event (`choices: []`) sent before `[DONE]`. */
export function usageChunk(model: string, meta: GenerationMeta = {}): string {
  return sseData({
    id: meta.id ?? generationId(),
    provider: meta.provider ?? providerFor(model),
    model,
    object: "chat.completion.chunk",
    created: meta.created ?? unixNow(),
    choices: [],
    usage: usageObject(),
  });
}

/**
 * A successful stream: role chunk, one chunk per piece, a finish chunk
 * (`finish_reason: "stop"`), the usage chunk, `[DONE]`. All chunks share one
 * generation id.
 */
export function streamOk(model: string, pieces: string[]): StreamScript {
  const meta: Required<GenerationMeta> = {
    id: generationId(),
    created: unixNow(),
    provider: providerFor(model),
  };
  return {
    headers: {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      "x-generation-id": meta.id,
    },
    parts: [
      chunk(model, { role: "assistant", content: "" }, null, meta),
      ...pieces.map((p) => chunk(model, p, null, meta)),
      chunk(model, { content: "" }, "stop", meta),
      usageChunk(model, meta),
      DONE,
    ],
  };
}

/** Options for {@linkcode streamErrorEvent}. */
export interface StreamErrorOptions {
  /** Documented shape (error + terminating choice) vs the older bare `{error, user_id}` event. */
  withChoices: boolean;
  /** Numbers and strings (e.g. `"server_error"`) both occur. */
  code: number | string;
  /** Default: a message matching the code. */
  message?: string;
  /** Default `"openai/gpt-4o"` (the docs' example). */
  model?: string;
}

/** A framed mid-stream error event (§4). */
export function streamErrorEvent(opts: StreamErrorOptions): string {
  const is429 = opts.code === 429;
  if (opts.withChoices) {
    const model = opts.model ?? "openai/gpt-4o";
    return sseData({
      id: generationId(),
      object: "chat.completion.chunk",
      created: unixNow(),
      model,
      provider: opts.model === undefined ? "OpenAI" : providerFor(model),
      error: {
        code: opts.code,
        message: opts.message ??
          (is429 ? "Rate limit exceeded" : "Provider disconnected mid-stream"),
        metadata: {
          error_type: is429 ? "rate_limit_exceeded" : "provider_unavailable",
        },
      },
      choices: [{ index: 0, delta: { content: "" }, finish_reason: "error" }],
    });
  }
  if (is429) {
    return sseData({
      error: {
        message: opts.message ?? "Rate limit exceeded: free-models-per-day",
        code: 429,
        metadata: {
          headers: rateLimitHeaders(50, nextUtcMidnightMs()),
          provider_name: "Google AI Studio",
        },
      },
      user_id: USER_ID,
    });
  }
  return sseData({
    error: {
      message: opts.message ?? "Provider disconnected mid-stream",
      code: opts.code,
    },
    user_id: USER_ID,
  });
}

// ---------------------------------------------------------------------------
// 429 steps (§2.3)

/** Options for {@linkcode dailyCap}. */
export interface DailyCapOptions {
  /** Epoch ms; default next 00:00 UTC. */
  resetMs?: number;
  /** Body B (≥ 10 credits, `free-models-per-day-high-balance`) instead of A. */
  highBalance?: boolean;
  /** Body A only: add the newer `limit_source` + `remedy_hint` (B always has them). */
  withLimitSource?: boolean;
  /** `X-RateLimit-Limit`; default 50 (A) / 1000 (B). */
  limit?: number;
}

/** Account-wide free daily cap: bodies A (default) and B. */
export function dailyCap(opts: DailyCapOptions = {}): ResponseStep {
  const resetMs = opts.resetMs ?? nextUtcMidnightMs();
  if (opts.highBalance) {
    const headers = rateLimitHeaders(opts.limit ?? 1000, resetMs);
    return errorStep(429, {
      error: {
        message: "Rate limit exceeded: free-models-per-day-high-balance. ",
        code: 429,
        metadata: {
          headers,
          limit_source: "openrouter_free_tier_daily",
          remedy_hint: "Wait for the daily reset",
        },
      },
    }, headers);
  }
  const headers = rateLimitHeaders(opts.limit ?? 50, resetMs);
  const metadata: Record<string, unknown> = { headers, provider_name: null };
  if (opts.withLimitSource) {
    metadata.limit_source = "openrouter_free_tier_daily";
    metadata.remedy_hint =
      "Wait for the daily reset (see X-RateLimit-Reset), or purchase credits...";
  }
  return errorStep(429, {
    error: {
      message:
        "Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 free model requests per day",
      code: 429,
      metadata,
    },
    user_id: USER_ID,
  }, headers);
}

/** Options for {@linkcode minuteCap}. */
export interface MinuteCapOptions {
  /** Epoch ms; default the next minute boundary. */
  resetMs?: number;
  /** Default 16 (also seen: 20). */
  limit?: number;
}

/** Account-wide free per-minute cap (body C). */
export function minuteCap(opts: MinuteCapOptions = {}): ResponseStep {
  const headers = rateLimitHeaders(
    opts.limit ?? 16,
    opts.resetMs ?? nextMinuteMs(),
  );
  return errorStep(429, {
    error: {
      message: "Rate limit exceeded: free-models-per-min. ",
      code: 429,
      metadata: { headers, provider_name: null },
    },
    user_id: USER_ID,
  }, headers);
}

/** Options for {@linkcode modelRpm}. */
export interface ModelRpmOptions {
  /** Epoch ms; default the next minute boundary. */
  resetMs?: number;
  /** Default 8. */
  limit?: number;
  /** The 2026-07 form without `limit_source`/`remedy_hint`. */
  legacy?: boolean;
}

/** Per-model shared-capacity per-minute cap (body D, wrapped in `{error}`). */
export function modelRpm(
  model: string,
  opts: ModelRpmOptions = {},
): ResponseStep {
  const limit = opts.limit ?? 8;
  const headers = rateLimitHeaders(limit, opts.resetMs ?? nextMinuteMs());
  const metadata: Record<string, unknown> = { headers, provider_name: null };
  if (!opts.legacy) {
    metadata.limit_source = "openrouter_shared_capacity";
    // The capture is truncated after "use your own l…".
    metadata.remedy_hint =
      "Retry shortly, or add your own provider key to use your own limits";
  }
  return errorStep(429, {
    error: {
      message: `Rate limit exceeded: limit_rpm/${
        stripFree(model)
      }/a9bbd882-011f-4606-8f60-85f3cb642586. High demand for ${model} on OpenRouter - limited to ${limit} requests per minute. Please retry shortly.`,
      code: 429,
      metadata,
    },
  }, headers);
}

/** Options for {@linkcode modelRpd}. */
export interface ModelRpdOptions {
  /** Epoch ms; default next 00:00 UTC. */
  resetMs?: number;
  /** Default 1000. */
  limit?: number;
  /** Default `"GMICloud"`. */
  provider?: string;
}

/** Per-model shared-capacity daily cap (body E). */
export function modelRpd(
  model: string,
  opts: ModelRpdOptions = {},
): ResponseStep {
  const provider = opts.provider ?? "GMICloud";
  const headers = rateLimitHeaders(
    opts.limit ?? 1000,
    opts.resetMs ?? nextUtcMidnightMs(),
  );
  return errorStep(429, {
    error: {
      message: `Rate limit exceeded: limit_rpd/${
        stripFree(model)
      }. Daily limit reached for ${model} via ${provider}.`,
      code: 429,
      metadata: {
        headers,
        provider_name: provider,
        limit_source: "openrouter_shared_capacity",
      },
    },
  }, headers);
}

/** Options for {@linkcode providerThrottled}. */
export interface ProviderThrottledOptions {
  /** Default: {@linkcode providerFor}(model). */
  provider?: string;
  /** Default: the captured "temporarily rate-limited upstream" text. */
  raw?: string;
  /** The 2025-07 form without `limit_source`/`remedy_hint`/`is_byok`. */
  legacy?: boolean;
  /** Adds `Retry-After` (seconds), as when every provider gave a retry hint. */
  retryAfterS?: number;
}

/**
 * Upstream provider throttling (body F). Not a platform cap, so no
 * `X-RateLimit-*` headers (the real body has no `metadata.headers`).
 */
export function providerThrottled(
  model: string,
  opts: ProviderThrottledOptions = {},
): ResponseStep {
  const metadata: Record<string, unknown> = {
    raw: opts.raw ??
      `${model} is temporarily rate-limited upstream. Please retry shortly, or add your own key to accumulate your rate limits: https://openrouter.ai/settings/integrations`,
    provider_name: opts.provider ?? providerFor(model),
  };
  if (!opts.legacy) {
    metadata.limit_source = "upstream_provider_shared_pool";
    metadata.remedy_hint =
      "Retry shortly, add your own provider key, or route to another provider";
    metadata.is_byok = false;
  }
  return errorStep(
    429,
    {
      error: { message: "Provider returned error", code: 429, metadata },
      user_id: USER_ID,
    },
    opts.retryAfterS === undefined
      ? undefined
      : { "Retry-After": String(opts.retryAfterS) },
  );
}

/** All providers at capacity (G, documented availability error; carries `Retry-After`). */
export function capacityExhausted429(
  model: string,
  retryAfterS = 40,
): ResponseStep {
  return errorStep(429, {
    error: {
      message:
        `All providers for ${model} are at capacity. Retry after ${retryAfterS} seconds.`,
      code: 429,
      error_type: "rate_limit_exceeded",
      http_status: 429,
      availability: {
        code: "capacity_exhausted",
        retryable: true,
        retry_after: retryAfterS,
        requested_models: [model],
        docs_url: "https://openrouter.ai/docs/errors#capacity_exhausted",
      },
      metadata: {
        previous_errors: [{
          provider: providerFor(model),
          code: "capacity_exhausted",
          status: 429,
        }],
      },
    },
  }, { "Retry-After": String(retryAfterS) });
}

/** The exact 54-byte Cloudflare 429 body (H); no metadata, no rate-limit headers. */
export const CLOUDFLARE_429_BODY =
  '{"error":{"message":"Rate limit exceeded","code":429}}';

/** Cloudflare/DDoS 429 (H). */
export function cloudflare429(): ResponseStep {
  return errorStep(429, CLOUDFLARE_429_BODY);
}

// ---------------------------------------------------------------------------
// Other errors (§3)

/** 400 with a plain message. */
export function badRequest400(message: string): ResponseStep {
  return errorStep(400, { error: { message, code: 400 } });
}

/** 400 `"<id> is not a valid model ID"`. */
export function invalidModel400(model: string): ResponseStep {
  return badRequest400(`${model} is not a valid model ID`);
}

/** 400 for a `models` array longer than 3. */
export function modelsArrayTooLong400(): ResponseStep {
  return badRequest400("'models' array must have 3 items or fewer.");
}

/** 401 for a bad/revoked key. */
export function userNotFound401(): ResponseStep {
  return errorStep(401, { error: { message: "User not found.", code: 401 } });
}

/** 401 for a missing key. */
export function noAuth401(): ResponseStep {
  return errorStep(401, {
    error: { message: "No auth credentials found", code: 401 },
  });
}

/** Provider-side 401 ("Provider returned error" with `raw` authentication_error). */
export function provider401(model: string, provider?: string): ResponseStep {
  return errorStep(401, {
    error: {
      message: "Provider returned error",
      code: 401,
      metadata: {
        raw: JSON.stringify({
          type: "error",
          error: {
            type: "authentication_error",
            message: "invalid x-api-key",
          },
        }),
        provider_name: provider ?? providerFor(model),
        is_byok: false,
      },
    },
    user_id: USER_ID,
  });
}

/** 402 for an account that never purchased credits. */
export function insufficientCredits402(): ResponseStep {
  return errorStep(402, {
    error: {
      message:
        "Insufficient credits. This account never purchased credits. Make sure your key is on the correct account or org, and if so, purchase more at https://openrouter.ai/settings/credits",
      code: 402,
    },
  });
}

/** 404 "No endpoints found that support tool use". */
export function noToolEndpoints404(): ResponseStep {
  return errorStep(404, {
    error: { message: "No endpoints found that support tool use", code: 404 },
  });
}

/** 404 "No endpoints found for <model>." */
export function noEndpoints404(model: string): ResponseStep {
  return errorStep(404, {
    error: {
      message: `No endpoints found for ${stripFree(model)}.`,
      code: 404,
    },
  });
}

/** 404 from the account's privacy settings. */
export function dataPolicy404(): ResponseStep {
  return errorStep(404, {
    error: {
      message:
        "No endpoints found matching your data policy. Check your settings: https://openrouter.ai/settings/privacy",
      code: 404,
    },
  });
}

/** 404 when a free promo ended (`free_variant_ended`; `fallback_models` holds the paid slug). */
export function freeVariantEnded404(model: string): ResponseStep {
  const paid = stripFree(model);
  return errorStep(404, {
    error: {
      message:
        `${model} is unavailable for free. The paid version is available now - use this slug instead: ${paid}`,
      code: 404,
      availability: {
        code: "free_variant_ended",
        retryable: false,
        requested_models: [model],
        fallback_models: [paid],
        docs_url: "https://openrouter.ai/docs/errors#free_variant_ended",
      },
    },
  });
}

/** 502 "Provider returned error" with the captured Google-style `raw`. */
export function providerError502(
  model: string,
  provider?: string,
): ResponseStep {
  return errorStep(502, {
    error: {
      message: "Provider returned error",
      code: 502,
      metadata: {
        raw:
          '{\n  "error": {\n    "code": 500,\n    "message": "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",\n    "status": "INTERNAL"\n  }\n}\n',
        provider_name: provider ?? providerFor(model),
        is_byok: false,
        provider_error_code: "500",
      },
    },
  });
}

/** HTTP 200 whose body is only a top-level error (no `choices`), §3.2 last row. */
export function overloadedIn200(): ResponseStep {
  return errorStep(200, {
    id: "gen-1",
    error: {
      message: "Upstream error from Nvidia: Service temporarily overloaded",
      code: 503,
      metadata: { error_type: "provider_overloaded" },
    },
  });
}

/** HTTP 200 with partial content and `finish_reason: "error"` (§3.3 documented variant). */
export function errorIn200WithChoices(): ResponseStep {
  return errorStep(200, {
    choices: [{
      message: { role: "assistant", content: "partial output..." },
      finish_reason: "error",
      error: {
        code: 502,
        message: "Provider disconnected mid-stream",
        metadata: { error_type: "provider_unavailable" },
      },
    }],
  });
}

// ---------------------------------------------------------------------------
// Catalog (§1)

const P_BASE = [
  "frequency_penalty",
  "max_tokens",
  "presence_penalty",
  "repetition_penalty",
  "seed",
  "stop",
  "temperature",
  "top_k",
  "top_p",
];
const P_TOOLS = [
  "response_format",
  "structured_outputs",
  "tool_choice",
  "tools",
];
const P_REASONING = ["include_reasoning", "reasoning"];

function params(...groups: string[][]): string[] {
  return [...new Set(groups.flat())].sort();
}

const TEXT_ARCH: ModelArchitecture = {
  modality: "text->text",
  input_modalities: ["text"],
  output_modalities: ["text"],
  tokenizer: "Other",
  instruct_type: null,
};

function arch(
  tokenizer: string,
  inputs: string[] = ["text"],
  outputs: string[] = ["text"],
  instructType: string | null = null,
): ModelArchitecture {
  return {
    modality: `${inputs.join("+")}->${outputs.join("+")}`,
    input_modalities: inputs,
    output_modalities: outputs,
    tokenizer,
    instruct_type: instructType,
  };
}

/** The real captured `:free` classifier row (openrouter-api.md §1.3): text->decisions, context 0. */
export const RESPAN_CLASSIFIER_ROW: ModelRow = {
  id: "respan/span-01-lite:free",
  canonical_slug: "respan/span-01-lite-20260925",
  hugging_face_id: null,
  name: "Respan: Span-01 Lite (free)",
  created: 1790387542,
  description: "...",
  context_length: 0,
  architecture: {
    modality: "text->decisions",
    input_modalities: ["text"],
    output_modalities: ["decisions"],
    tokenizer: "Other",
    instruct_type: null,
  },
  pricing: { prompt: "0", completion: "0" },
  top_provider: {
    context_length: 0,
    max_completion_tokens: 0,
    is_moderated: false,
  },
  per_request_limits: null,
  supported_parameters: [],
  default_parameters: {},
  supported_voices: null,
  knowledge_cutoff: null,
  expiration_date: null,
  links: { details: "/api/v1/models/respan/span-01-lite-20260925/endpoints" },
};

/**
 * Builds a valid catalog row from a partial. Defaults: a free text->text
 * model with context 131072, canonical slug = id without `:free`, basic
 * sampling parameters (no tools).
 */
export function catalogRow(
  partial: Partial<ModelRow> & { id: string },
): ModelRow {
  const { id, ...rest } = partial;
  const canonical = partial.canonical_slug ?? stripFree(id);
  const context = partial.context_length ?? 131072;
  const [author = id, slug = id] = stripFree(id).split("/");
  const name = partial.name ??
    `${author}: ${slug}${id.endsWith(":free") ? " (free)" : ""}`;
  return {
    id,
    canonical_slug: canonical,
    hugging_face_id: null,
    name,
    created: 1767225600,
    description: `${name}: a model row served by the fake OpenRouter.`,
    context_length: context,
    architecture: structuredClone(TEXT_ARCH),
    pricing: { prompt: "0", completion: "0" },
    top_provider: {
      context_length: context,
      max_completion_tokens: null,
      is_moderated: false,
    },
    per_request_limits: null,
    supported_parameters: params(P_BASE),
    default_parameters: {},
    supported_voices: null,
    knowledge_cutoff: null,
    expiration_date: null,
    links: { details: `/api/v1/models/${canonical}/endpoints` },
    ...rest,
  };
}

interface FreeSpec {
  id: string;
  name: string;
  canonical: string;
  created: number;
  context: number;
  arch: ModelArchitecture;
  params: string[];
  maxCompletion?: number | null;
  pricing?: Record<string, string>;
  expiration?: string;
}

function specRow(s: FreeSpec): ModelRow {
  return catalogRow({
    id: s.id,
    canonical_slug: s.canonical,
    name: s.name,
    created: s.created,
    description: `${s.name.replace(/ \(free\)$/, "")}.`,
    context_length: s.context,
    architecture: s.arch,
    pricing: s.pricing ?? { prompt: "0", completion: "0" },
    top_provider: {
      context_length: s.context,
      max_completion_tokens: s.maxCompletion ?? null,
      is_moderated: false,
    },
    supported_parameters: s.params,
    expiration_date: s.expiration ?? null,
  });
}

const FREE_SPECS: FreeSpec[] = [
  {
    id: "qwen/qwen3-coder:free",
    name: "Qwen: Qwen3 Coder 480B A35B (free)",
    canonical: "qwen/qwen3-coder-480b-a35b-07-25",
    created: 1753230546,
    context: 1048576,
    arch: arch("Qwen3"),
    params: params(P_BASE, P_TOOLS),
    maxCompletion: 65536,
  },
  {
    id: "nvidia/nemotron-3-ultra-550b-a55b:free",
    name: "NVIDIA: Nemotron 3 Ultra 550B A55B (free)",
    canonical: "nvidia/nemotron-3-ultra-550b-a55b-20260610",
    created: 1781049600,
    context: 1000000,
    arch: arch("Other"),
    params: params(P_BASE, P_TOOLS, P_REASONING),
    maxCompletion: 131072,
  },
  {
    id: "nvidia/nemotron-3-super-120b-a12b:free",
    name: "NVIDIA: Nemotron 3 Super 120B A12B (free)",
    canonical: "nvidia/nemotron-3-super-120b-a12b-20260311",
    created: 1773187200,
    context: 1000000,
    arch: arch("Other"),
    params: params(P_BASE, P_TOOLS, P_REASONING),
    maxCompletion: 131072,
  },
  {
    id: "poolside/laguna-xs.2:free",
    name: "Poolside: Laguna XS.2 (free)",
    canonical: "poolside/laguna-xs.2-20260702",
    created: 1782950400,
    context: 262144,
    arch: arch("Other"),
    params: params(P_BASE, P_TOOLS),
    maxCompletion: 32768,
  },
  {
    id: "poolside/laguna-m.1:free",
    name: "Poolside: Laguna M.1 (free)",
    canonical: "poolside/laguna-m.1-20260702",
    created: 1782950400,
    context: 262144,
    arch: arch("Other"),
    params: params(P_BASE, P_TOOLS),
    maxCompletion: 32768,
  },
  {
    id: "google/gemma-4-26b-a4b-it:free",
    name: "Google: Gemma 4 26B A4B (free)",
    canonical: "google/gemma-4-26b-a4b-it-20260402",
    created: 1775088000,
    context: 262144,
    arch: arch("Gemma", ["text", "image"], ["text"], "gemma"),
    params: params(P_BASE),
    maxCompletion: 8192,
  },
  {
    id: "google/gemma-4-31b-it:free",
    name: "Google: Gemma 4 31B (free)",
    canonical: "google/gemma-4-31b-it-20260402",
    created: 1775088000,
    context: 262144,
    arch: arch("Gemma", ["text", "image"], ["text"], "gemma"),
    params: params(P_BASE, P_TOOLS),
    maxCompletion: 8192,
  },
  {
    id: "qwen/qwen3-next-80b-a3b-instruct:free",
    name: "Qwen: Qwen3 Next 80B A3B Instruct (free)",
    canonical: "qwen/qwen3-next-80b-a3b-instruct-2509",
    created: 1757612213,
    context: 262144,
    arch: arch("Qwen3"),
    params: params(P_BASE, P_TOOLS),
    maxCompletion: 32768,
  },
  {
    id: "cohere/north-mini-code:free",
    name: "Cohere: North Mini Code (free)",
    canonical: "cohere/north-mini-code-20260805",
    created: 1785888000,
    context: 256000,
    arch: arch("Cohere"),
    params: params(P_BASE, P_TOOLS),
    maxCompletion: 32000,
  },
  {
    id: "nvidia/nemotron-3-nano-omni-30b-a3b-reasoning:free",
    name: "NVIDIA: Nemotron 3 Nano Omni 30B A3B Reasoning (free)",
    canonical: "nvidia/nemotron-3-nano-omni-30b-a3b-reasoning-20260428",
    created: 1777334400,
    context: 256000,
    arch: arch("Other", ["text", "image", "audio", "video"]),
    params: params(P_BASE, P_TOOLS, P_REASONING),
    maxCompletion: 65536,
  },
  {
    id: "nvidia/nemotron-3-nano-30b-a3b:free",
    name: "NVIDIA: Nemotron 3 Nano 30B A3B (free)",
    canonical: "nvidia/nemotron-3-nano-30b-a3b-20251215",
    created: 1765756800,
    context: 256000,
    arch: arch("Other"),
    params: params(P_BASE, P_TOOLS, P_REASONING),
    maxCompletion: 65536,
  },
  {
    id: "openai/gpt-oss-120b:free",
    name: "OpenAI: gpt-oss-120b (free)",
    canonical: "openai/gpt-oss-120b",
    created: 1754414231,
    context: 131072,
    arch: arch("GPT"),
    params: params(P_BASE, P_TOOLS, P_REASONING),
    maxCompletion: 32768,
  },
  {
    id: "openai/gpt-oss-20b:free",
    name: "OpenAI: gpt-oss-20b (free)",
    canonical: "openai/gpt-oss-20b",
    created: 1754414229,
    context: 131072,
    arch: arch("GPT"),
    params: params(P_BASE, P_TOOLS, P_REASONING),
    maxCompletion: 32768,
  },
  {
    id: "meta-llama/llama-3.3-70b-instruct:free",
    name: "Meta: Llama 3.3 70B Instruct (free)",
    canonical: "meta-llama/llama-3.3-70b-instruct",
    created: 1733506137,
    context: 131072,
    arch: arch("Llama3", ["text"], ["text"], "llama3"),
    params: params(P_BASE, P_TOOLS),
    maxCompletion: 16384,
  },
  {
    id: "meta-llama/llama-3.2-3b-instruct:free",
    name: "Meta: Llama 3.2 3B Instruct (free)",
    canonical: "meta-llama/llama-3.2-3b-instruct",
    created: 1727222400,
    context: 131072,
    arch: arch("Llama3", ["text"], ["text"], "llama3"),
    params: params(P_BASE),
    maxCompletion: null,
  },
  {
    id: "nousresearch/hermes-3-llama-3.1-405b:free",
    name: "Nous: Hermes 3 405B Instruct (free)",
    canonical: "nousresearch/hermes-3-llama-3.1-405b",
    created: 1723766400,
    context: 131072,
    arch: arch("Llama3", ["text"], ["text"], "chatml"),
    params: params(P_BASE),
    maxCompletion: null,
  },
  {
    id: "nvidia/nemotron-3.5-content-safety:free",
    name: "NVIDIA: Nemotron 3.5 Content Safety (free)",
    canonical: "nvidia/nemotron-3.5-content-safety-20260520",
    created: 1779235200,
    context: 128000,
    arch: arch("Other"),
    params: params(["max_tokens", "temperature", "top_p"]),
    maxCompletion: 4096,
  },
  {
    id: "nvidia/nemotron-nano-12b-v2-vl:free",
    name: "NVIDIA: Nemotron Nano 12B 2 VL (free)",
    canonical: "nvidia/nemotron-nano-12b-v2-vl",
    created: 1761675565,
    context: 128000,
    arch: arch("Other", ["image", "text", "video"]),
    params: params(P_BASE, P_REASONING),
    maxCompletion: 128000,
  },
  {
    id: "nvidia/nemotron-nano-9b-v2:free",
    name: "NVIDIA: Nemotron Nano 9B V2 (free)",
    canonical: "nvidia/nemotron-nano-9b-v2",
    created: 1757106807,
    context: 128000,
    arch: arch("Other"),
    params: params(P_BASE, P_TOOLS, P_REASONING),
    pricing: { prompt: "0", completion: "0", input_cache_read: "0" },
  },
  {
    id: "liquid/lfm-2.5-1.2b-thinking:free",
    name: "LiquidAI: LFM2.5-1.2B-Thinking (free)",
    canonical: "liquid/lfm-2.5-1.2b-thinking-20260120",
    created: 1768867200,
    context: 32768,
    arch: arch("Other", ["text"], ["text"], "chatml"),
    params: params(P_BASE, P_REASONING),
  },
  {
    id: "liquid/lfm-2.5-1.2b-instruct:free",
    name: "LiquidAI: LFM2.5-1.2B-Instruct (free)",
    canonical: "liquid/lfm-2.5-1.2b-instruct-20260120",
    created: 1768867200,
    context: 32768,
    arch: arch("Other", ["text"], ["text"], "chatml"),
    params: params(P_BASE),
  },
  {
    id: "cognitivecomputations/dolphin-mistral-24b-venice-edition:free",
    name: "Venice: Uncensored (free)",
    canonical: "venice/uncensored",
    created: 1752094966,
    context: 32768,
    arch: arch("Mistral"),
    params: params(P_BASE, ["response_format", "structured_outputs"]),
  },
  {
    id: "nex-agi/nex-n2.5-mini:free",
    name: "Nex AGI: Nex N2.5 Mini (free)",
    canonical: "nex-agi/nex-n2.5-mini-20260812",
    created: 1786492800,
    context: 131072,
    arch: arch("Qwen3"),
    params: params(P_BASE, P_TOOLS),
    expiration: "2026-09-25",
  },
];

/**
 * ~40 realistic catalog rows (plus malformed ones) in the real `Model` shape.
 * Fresh objects on every call. See {@linkcode FREE_CHAT_IDS_IN_PRIORITY_ORDER}.
 */
export function defaultCatalog(): unknown[] {
  const rows: unknown[] = FREE_SPECS.map(specRow);

  // An older-style row: no input/output_modalities arrays beyond input; chat is
  // decided from `modality` ("text->text").
  rows.push(catalogRow({
    id: "mistralai/mistral-7b-instruct:free",
    canonical_slug: "mistralai/mistral-7b-instruct",
    name: "Mistral: Mistral 7B Instruct (free)",
    created: 1716768000,
    context_length: 32768,
    architecture: {
      modality: "text->text",
      input_modalities: ["text"],
      tokenizer: "Mistral",
      instruct_type: "mistral",
    },
    supported_parameters: params(P_BASE),
  }));

  // Zero-priced models without `:free` (stealth, router, promo).
  rows.push(catalogRow({
    id: "openrouter/owl-alpha",
    name: "Owl Alpha",
    created: 1788307200,
    description:
      "This is a cloaked model provided to the community to gather feedback. Prompts and completions may be logged by the provider.",
    context_length: 1048756,
    architecture: arch("Other", ["text", "image"]),
    top_provider: {
      context_length: 1048756,
      max_completion_tokens: 65536,
      is_moderated: false,
    },
    supported_parameters: params(P_BASE, P_TOOLS, P_REASONING),
  }));
  rows.push(catalogRow({
    id: "openrouter/free",
    name: "Free Models Router",
    created: 1769904000,
    description:
      "Automatically selects a free model at random from the available free models, filtering for models that support the features your request needs.",
    context_length: 200000,
    architecture: arch("Router", ["text", "image"]),
    top_provider: {
      context_length: null,
      max_completion_tokens: null,
      is_moderated: false,
    },
    supported_parameters: params(P_BASE, P_TOOLS, P_REASONING),
  }));
  rows.push(catalogRow({
    id: "inclusionai/ling-3.1-flash",
    canonical_slug: "inclusionai/ling-3.1-flash-20260901",
    name: "inclusionAI: Ling-3.1-Flash",
    created: 1788220800,
    context_length: 131072,
    architecture: arch("Other"),
    supported_parameters: params(P_BASE, P_TOOLS),
  }));

  // Zero-priced music models: audio-only (hidden by default) and text+audio.
  rows.push(catalogRow({
    id: "google/lyria-3-pro-preview",
    name: "Google: Lyria 3 Pro Preview",
    created: 1784246400,
    context_length: 1048576,
    architecture: arch("Gemini", ["text", "image"], ["audio"]),
    supported_parameters: params(["max_tokens", "seed", "temperature"]),
  }));
  rows.push(catalogRow({
    id: "google/lyria-3-clip-preview",
    name: "Google: Lyria 3 Clip Preview",
    created: 1784246400,
    context_length: 1048576,
    architecture: arch("Gemini", ["text"], ["text", "audio"]),
    supported_parameters: params(["max_tokens", "seed", "temperature"]),
  }));

  // Paid twins of free models (same canonical_slug).
  rows.push(catalogRow({
    id: "qwen/qwen3-coder",
    canonical_slug: "qwen/qwen3-coder-480b-a35b-07-25",
    name: "Qwen: Qwen3 Coder 480B A35B",
    created: 1753230546,
    context_length: 262144,
    architecture: arch("Qwen3"),
    pricing: {
      prompt: "0.00000022",
      completion: "0.00000095",
      input_cache_read: "0.000000022",
    },
    top_provider: {
      context_length: 262144,
      max_completion_tokens: 262144,
      is_moderated: false,
    },
    supported_parameters: params(P_BASE, P_TOOLS),
  }));
  rows.push(catalogRow({
    id: "meta-llama/llama-3.3-70b-instruct",
    name: "Meta: Llama 3.3 70B Instruct",
    created: 1733506137,
    context_length: 131072,
    architecture: arch("Llama3", ["text"], ["text"], "llama3"),
    pricing: { prompt: "0.0000001", completion: "0.00000032" },
    top_provider: {
      context_length: 131072,
      max_completion_tokens: 16384,
      is_moderated: false,
    },
    supported_parameters: params(P_BASE, P_TOOLS),
  }));
  rows.push(catalogRow({
    id: "openai/gpt-oss-120b",
    name: "OpenAI: gpt-oss-120b",
    created: 1754414231,
    context_length: 131072,
    architecture: arch("GPT"),
    pricing: { prompt: "0.00000004", completion: "0.0000004" },
    supported_parameters: params(P_BASE, P_TOOLS, P_REASONING),
  }));

  // Router priced "-1".
  rows.push(catalogRow({
    id: "openrouter/auto",
    name: "Auto Router",
    created: 1699401600,
    context_length: 2000000,
    architecture: arch("Router", ["text", "image"]),
    pricing: { prompt: "-1", completion: "-1" },
    top_provider: {
      context_length: null,
      max_completion_tokens: null,
      is_moderated: false,
    },
    supported_parameters: params(P_BASE, P_TOOLS, P_REASONING),
  }));

  // Image models: zero token prices but paid image output; a `:free` image model.
  rows.push(catalogRow({
    id: "recraft/recraft-v4",
    name: "Recraft: Recraft V4",
    created: 1785283200,
    context_length: 4096,
    architecture: arch("Other", ["text"], ["image"]),
    pricing: { prompt: "0", completion: "0", image_output: "0.00000838" },
    supported_parameters: params(["seed"]),
  }));
  rows.push(catalogRow({
    id: "sourceful/riverflow-v2.5-pro:free",
    canonical_slug: "sourceful/riverflow-v2.5-pro",
    name: "Sourceful: Riverflow V2.5 Pro (free)",
    created: 1786060800,
    context_length: 8192,
    architecture: arch("Other", ["text", "image"], ["image"]),
    supported_parameters: params(["seed"]),
  }));

  rows.push(structuredClone(RESPAN_CLASSIFIER_ROW));

  // Per-request price with zero token prices.
  rows.push(catalogRow({
    id: "perplexity/sonar-mini",
    name: "Perplexity: Sonar Mini",
    created: 1785024000,
    context_length: 127072,
    architecture: arch("Other"),
    pricing: {
      prompt: "0",
      completion: "0",
      request: "0.001",
      web_search: "0",
    },
    supported_parameters: params(P_BASE),
  }));

  // Malformed rows.
  const noPricing: Record<string, unknown> = {
    ...catalogRow({ id: "broken/no-pricing:free", context_length: 65536 }),
  };
  delete noPricing.pricing;
  rows.push(noPricing);
  rows.push({
    ...catalogRow({ id: "broken/null-pricing:free", context_length: 65536 }),
    pricing: null,
  });
  rows.push({
    ...catalogRow({ id: "broken/string-context:free" }),
    context_length: "131072",
  });
  rows.push("broken/not-an-object:free");

  return rows;
}

/**
 * Free chat ids of {@linkcode defaultCatalog} in pool priority order, written
 * out by hand. Rules: free = prompt and completion parse to 0, no other price
 * positive, none negative; chat = input includes text and output exactly
 * `["text"]` (else `modality` ends with "->text"); `:free` ids first, then
 * larger context, then id ascending; malformed rows skipped.
 */
export const FREE_CHAT_IDS_IN_PRIORITY_ORDER: string[] = [
  // :free, by context
  "qwen/qwen3-coder:free", // 1048576
  "nvidia/nemotron-3-super-120b-a12b:free", // 1000000
  "nvidia/nemotron-3-ultra-550b-a55b:free", // 1000000
  "google/gemma-4-26b-a4b-it:free", // 262144
  "google/gemma-4-31b-it:free", // 262144
  "poolside/laguna-m.1:free", // 262144
  "poolside/laguna-xs.2:free", // 262144
  "qwen/qwen3-next-80b-a3b-instruct:free", // 262144
  "cohere/north-mini-code:free", // 256000
  "nvidia/nemotron-3-nano-30b-a3b:free", // 256000
  "nvidia/nemotron-3-nano-omni-30b-a3b-reasoning:free", // 256000
  "meta-llama/llama-3.2-3b-instruct:free", // 131072
  "meta-llama/llama-3.3-70b-instruct:free", // 131072
  "nex-agi/nex-n2.5-mini:free", // 131072
  "nousresearch/hermes-3-llama-3.1-405b:free", // 131072
  "openai/gpt-oss-120b:free", // 131072
  "openai/gpt-oss-20b:free", // 131072
  "nvidia/nemotron-3.5-content-safety:free", // 128000
  "nvidia/nemotron-nano-12b-v2-vl:free", // 128000
  "nvidia/nemotron-nano-9b-v2:free", // 128000
  "cognitivecomputations/dolphin-mistral-24b-venice-edition:free", // 32768
  "liquid/lfm-2.5-1.2b-instruct:free", // 32768
  "liquid/lfm-2.5-1.2b-thinking:free", // 32768
  "mistralai/mistral-7b-instruct:free", // 32768
  // zero-priced without :free, by context
  "openrouter/owl-alpha", // 1048756
  "openrouter/free", // 200000
  "inclusionai/ling-3.1-flash", // 131072
];

/** The model `openrouter/free` reports as its pick in default responses. */
export const FREE_ROUTER_PICK = "meta-llama/llama-3.3-70b-instruct:free";

/** The default `GET /key` `data` object (§6), for a never-paid account. */
export function defaultKeyData(): Record<string, unknown> {
  return {
    label: "sk-or-v1-0a1...f00",
    limit: null,
    limit_remaining: null,
    limit_reset: null,
    include_byok_in_limit: false,
    usage: 0,
    usage_daily: 0,
    usage_weekly: 0,
    usage_monthly: 0,
    byok_usage: 0,
    byok_usage_daily: 0,
    byok_usage_weekly: 0,
    byok_usage_monthly: 0,
    is_free_tier: true,
    is_management_key: false,
    is_provisioning_key: false,
    creator_user_id: USER_ID,
    expires_at: null,
    rate_limit: {
      requests: -1,
      interval: "10s",
      note: "This field is deprecated and safe to ignore.",
    },
    free_model_daily_requests: { used: 0, limit: 50, remaining: 50 },
  };
}

// ---------------------------------------------------------------------------
// Catalog filtering (GET /models)

function rowOutputs(row: unknown): string[] | undefined {
  if (!isRecord(row) || !isRecord(row.architecture)) return undefined;
  const a = row.architecture;
  if (Array.isArray(a.output_modalities)) {
    return a.output_modalities.filter((m): m is string =>
      typeof m === "string"
    );
  }
  if (typeof a.modality === "string" && a.modality.includes("->")) {
    return a.modality.slice(a.modality.indexOf("->") + 2).split("+");
  }
  return undefined;
}

function filterCatalog(rows: unknown[], query: URLSearchParams): unknown[] {
  const list = (name: string) =>
    (query.get(name) ?? "").split(",").map((s) => s.trim().toLowerCase())
      .filter((s) => s !== "");
  const wanted = query.has("output_modalities")
    ? list("output_modalities")
    : ["text"];
  const params = list("supported_parameters");
  return rows.filter((row) => {
    if (!wanted.includes("all")) {
      const outputs = rowOutputs(row);
      // Rows whose modalities cannot be read are served as-is (clients must cope).
      if (outputs !== undefined && !outputs.some((o) => wanted.includes(o))) {
        return false;
      }
    }
    if (params.length > 0) {
      if (!isRecord(row) || !Array.isArray(row.supported_parameters)) {
        return false;
      }
      const supported = row.supported_parameters;
      return params.every((p) => supported.includes(p));
    }
    return true;
  });
}

// ---------------------------------------------------------------------------
// Server

/** Error used to break connections on purpose (kept out of the error log). */
class FakeReset extends Error {
  constructor() {
    super("fake_openrouter: connection reset");
    this.name = "FakeReset";
  }
}

/** Bigger than the response head Deno's (hyper) fetch client accepts (~400 KiB). */
const RESET_HEAD_PADDING = "x".repeat(1 << 20);

function resetResponse(): Response {
  return new Response(
    new ReadableStream<Uint8Array>({
      start(c) {
        c.error(new FakeReset());
      },
    }),
    { headers: { "x-fake-openrouter-reset": RESET_HEAD_PADDING } },
  );
}

function toBytes(body: unknown): Uint8Array<ArrayBuffer> | undefined {
  if (body === undefined) return undefined;
  if (body instanceof Uint8Array) return new Uint8Array(body);
  if (typeof body === "string") return encoder.encode(body);
  return encoder.encode(JSON.stringify(body));
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((k) => k.toLowerCase() === name);
}

type StopReason = "client" | "close";

/** Per-request state: abort detection and cancellation. */
class Exchange {
  finished = false;
  stopReason: StopReason | undefined;
  readonly stopped: Promise<void>;
  #resolveStopped!: () => void;
  #resolveAborted!: () => void;
  #aborted = false;
  readonly aborted: Promise<void>;
  #closing: AbortSignal;
  #onClosing = () => this.stop("close");

  constructor(closing: AbortSignal) {
    this.stopped = new Promise((r) => (this.#resolveStopped = r));
    this.aborted = new Promise((r) => (this.#resolveAborted = r));
    this.#closing = closing;
    if (closing.aborted) this.stop("close");
    else closing.addEventListener("abort", this.#onClosing, { once: true });
  }

  isAborted(): boolean {
    return this.#aborted;
  }

  /** The client went away before we finished. */
  clientGone(): void {
    if (this.finished || this.#aborted) return;
    this.#aborted = true;
    this.#resolveAborted();
    this.stop("client");
  }

  stop(reason: StopReason): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = reason;
    this.#resolveStopped();
    this.#release();
  }

  finish(): void {
    this.finished = true;
    this.#release();
  }

  #release(): void {
    this.#closing.removeEventListener("abort", this.#onClosing);
  }

  /** Waits for `p` unless stopped first; returns whether `p` won. */
  async race(p: Promise<unknown>): Promise<boolean> {
    if (this.stopReason !== undefined) return false;
    const winner = await Promise.race([
      p.then(() => "done" as const),
      this.stopped.then(() => "stopped" as const),
    ]);
    return winner === "done" && this.stopReason === undefined;
  }

  /** Sleeps unless stopped first (the timer is cleared on stop). */
  async sleep(ms: number): Promise<boolean> {
    if (ms <= 0) return this.stopReason === undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const slept = new Promise<void>((r) => (timer = setTimeout(r, ms)));
    try {
      return await this.race(slept);
    } finally {
      clearTimeout(timer);
    }
  }
}

interface Waiter {
  n: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

const CHAT_PATH = "/api/v1/chat/completions";
const MODELS_PATH = "/api/v1/models";

class FakeOpenRouterServer implements FakeOpenRouter {
  readonly baseUrl: string;
  readonly requests: RecordedRequest[] = [];
  models: unknown[];
  key: Record<string, unknown>;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #scripts = new Map<string, Step[]>();
  #modelsSteps: Step[] = [];
  #keySteps: Step[] = [];
  #waiters: Waiter[] = [];
  #closing = new AbortController();
  #closed: Promise<void> | undefined;

  constructor(opts: FakeOpenRouterOptions) {
    this.models = opts.models ?? defaultCatalog();
    this.key = { ...defaultKeyData(), ...opts.key };
    this.#server = Deno.serve(
      {
        port: 0,
        hostname: "127.0.0.1",
        onListen() {},
        onError(err) {
          if (!(err instanceof FakeReset)) {
            console.error("fake_openrouter: handler error", err);
          }
          return new Response(
            JSON.stringify({
              error: { message: "Internal Server Error", code: 500 },
            }),
            { status: 500, headers: JSON_HEADERS },
          );
        },
      },
      (req) => this.#handle(req),
    );
    this.baseUrl = `http://127.0.0.1:${this.#server.addr.port}/api/v1`;
  }

  chatRequests(): RecordedRequest[] {
    return this.requests.filter((r) =>
      r.method === "POST" && r.path === CHAT_PATH
    );
  }

  modelsRequests(): RecordedRequest[] {
    return this.requests.filter((r) =>
      r.method === "GET" && r.path === MODELS_PATH
    );
  }

  keyRequests(): RecordedRequest[] {
    return this.requests.filter((r) =>
      r.method === "GET" &&
      (r.path === "/api/v1/key" || r.path === "/api/v1/auth/key")
    );
  }

  script(model: string, ...steps: Step[]): void {
    const queue = this.#scripts.get(model) ?? [];
    queue.push(...steps);
    this.#scripts.set(model, queue);
  }

  pendingSteps(model: string): number {
    return this.#scripts.get(model)?.length ?? 0;
  }

  scriptModels(...steps: Step[]): void {
    this.#modelsSteps.push(...steps);
  }

  scriptKey(...steps: Step[]): void {
    this.#keySteps.push(...steps);
  }

  waitForChatRequests(n: number): Promise<void> {
    if (this.chatRequests().length >= n) return Promise.resolve();
    const waiting = this.#closed
      ? Promise.reject(new Error("fake_openrouter: closed"))
      : new Promise<void>((resolve, reject) =>
        this.#waiters.push({ n, resolve, reject })
      );
    // Rejection on close() is for whoever awaits; never an unhandled rejection.
    waiting.catch(() => {});
    return waiting;
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort();
      for (const w of this.#waiters.splice(0)) {
        w.reject(
          new Error(
            `fake_openrouter: closed before ${w.n} chat requests arrived`,
          ),
        );
      }
      await this.#server.shutdown();
      await this.#server.finished;
    })();
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const ex = new Exchange(this.#closing.signal);
    const onAbort = () => ex.clientGone();
    // Only listened to while the handler runs: Deno (legacy behaviour) also
    // aborts req.signal after a *successful* response.
    req.signal.addEventListener("abort", onAbort);
    try {
      let text = "";
      try {
        text = await req.text();
      } catch {
        ex.clientGone();
      }
      let body: unknown = undefined;
      if (text !== "") {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      const isChat = url.pathname === CHAT_PATH;
      const model = isChat && isRecord(body) && typeof body.model === "string"
        ? body.model
        : undefined;
      const rec: RecordedRequest = {
        method: req.method,
        path: url.pathname,
        search: url.search,
        headers: new Headers(req.headers),
        body,
        model,
        aborted: ex.aborted,
        isAborted: () => ex.isAborted(),
      };
      this.requests.push(rec);
      if (isChat && req.method === "POST") this.#notifyWaiters();
      if (ex.stopReason !== undefined) return this.#stoppedResponse(ex);
      return await this.#render(this.#route(req, url, rec), ex);
    } finally {
      req.signal.removeEventListener("abort", onAbort);
    }
  }

  #notifyWaiters(): void {
    const count = this.chatRequests().length;
    this.#waiters = this.#waiters.filter((w) => {
      if (count < w.n) return true;
      w.resolve();
      return false;
    });
  }

  #route(req: Request, url: URL, rec: RecordedRequest): Step {
    const path = url.pathname;
    if (path === CHAT_PATH) {
      if (req.method !== "POST") return methodNotAllowed();
      return this.#chatStep(req, rec);
    }
    if (path === MODELS_PATH || path === `${MODELS_PATH}/count`) {
      if (req.method !== "GET") return methodNotAllowed();
      if (path === MODELS_PATH) {
        const scripted = this.#modelsSteps.shift();
        if (scripted) return scripted;
      }
      const data = filterCatalog(this.models, url.searchParams);
      if (path !== MODELS_PATH) {
        return {
          headers: { ...JSON_HEADERS },
          body: { data: { count: data.length } },
        };
      }
      return {
        headers: { ...JSON_HEADERS },
        body: { data, total_count: data.length, links: { next: null } },
      };
    }
    if (path === "/api/v1/key" || path === "/api/v1/auth/key") {
      if (req.method !== "GET") return methodNotAllowed();
      const auth = req.headers.get("authorization") ?? "";
      if (!auth.startsWith("Bearer sk-or-v1-")) return userNotFound401();
      const scripted = this.#keySteps.shift();
      if (scripted) return scripted;
      const apiKey = auth.slice("Bearer ".length);
      return {
        headers: { ...JSON_HEADERS },
        body: {
          data: {
            ...this.key,
            label: `${apiKey.slice(0, 11)}...${apiKey.slice(-3)}`,
          },
        },
      };
    }
    if (path === "/api/v1/credits" && req.method === "GET") {
      return {
        headers: { ...JSON_HEADERS },
        body: { data: { total_credits: 0, total_usage: 0 } },
      };
    }
    return errorStep(404, { error: { message: "Not Found", code: 404 } });
  }

  #chatStep(req: Request, rec: RecordedRequest): Step {
    const auth = req.headers.get("authorization")?.trim() ?? "";
    if (auth === "" || auth === "Bearer") return noAuth401();
    const body = rec.body;
    if (!isRecord(body)) return badRequest400("Invalid JSON body");
    const model = rec.model;
    if (model !== undefined) {
      const scripted = this.#scripts.get(model)?.shift();
      if (scripted) return scripted;
    }
    if (Array.isArray(body.models) && body.models.length > 3) {
      return modelsArrayTooLong400();
    }
    if (model === undefined) return badRequest400("No models provided");
    const row = this.models.find((r) => isRecord(r) && r.id === model);
    if (!isRecord(row)) return invalidModel400(model);
    const wantsTools = Array.isArray(body.tools) && body.tools.length > 0;
    const supported = Array.isArray(row.supported_parameters)
      ? row.supported_parameters
      : [];
    if (model.endsWith(":free") && wantsTools && !supported.includes("tools")) {
      return noToolEndpoints404();
    }
    const served = model === "openrouter/free" ? FREE_ROUTER_PICK : model;
    return body.stream === true
      ? { stream: streamOk(served, ["Hello", " world"]) }
      : ok(served);
  }

  #stoppedResponse(ex: Exchange): Response {
    ex.finish();
    // If the client is gone, nobody reads this; if the fake is closing, break
    // the connection so a still-waiting client sees a network error.
    return ex.stopReason === "close"
      ? resetResponse()
      : new Response(null, { status: 499 });
  }

  async #render(step: Step, ex: Exchange): Promise<Response> {
    if (isHang(step)) {
      await ex.stopped;
      return this.#stoppedResponse(ex);
    }
    if (isReset(step)) {
      ex.finish();
      return resetResponse();
    }
    if (isStream(step)) return this.#renderStream(step.stream, ex);

    if (step.gate) {
      let passed = false;
      try {
        passed = await ex.race(callGate(step.gate));
      } catch {
        // A failing gate breaks the connection.
        ex.finish();
        return resetResponse();
      }
      if (!passed) return this.#stoppedResponse(ex);
    }
    const headers: Record<string, string> = { ...step.headers };
    const bytes = toBytes(step.body);
    if (bytes !== undefined && !hasHeader(headers, "content-type")) {
      headers["content-type"] = "application/json";
    }
    const status = step.status ?? 200;
    const delay = step.delayMs ?? 0;
    if (step.leadingWhitespace === undefined) {
      if (!(await ex.sleep(delay))) return this.#stoppedResponse(ex);
      ex.finish();
      return new Response(bytes ?? null, { status, headers });
    }
    const padding = encoder.encode(step.leadingWhitespace);
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        controller.enqueue(padding);
        (async () => {
          const slept = await ex.sleep(delay);
          if (!slept) {
            if (ex.stopReason === "close") {
              ex.finish();
              controller.error(new FakeReset());
            }
            return;
          }
          ex.finish();
          if (bytes !== undefined) controller.enqueue(bytes);
          controller.close();
        })().catch((e) => console.error("fake_openrouter: padded body", e));
      },
      cancel: () => ex.clientGone(),
    });
    return new Response(body, { status, headers });
  }

  #renderStream(script: StreamScript, ex: Exchange): Response {
    const headers: Record<string, string> = {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      ...script.headers,
    };
    const pump = async (c: ReadableStreamDefaultController<Uint8Array>) => {
      const breakOff = () => {
        ex.finish();
        c.error(new FakeReset());
      };
      for (const part of script.parts) {
        if (ex.stopReason !== undefined) break;
        if (typeof part === "function") {
          let passed = false;
          try {
            passed = await ex.race(callGate(part));
          } catch {
            // A failing gate breaks the connection.
            if (ex.stopReason === undefined) return breakOff();
          }
          if (!passed) break;
        } else {
          c.enqueue(typeof part === "string" ? encoder.encode(part) : part);
        }
      }
      if (ex.stopReason === undefined) {
        const end = script.end ?? "close";
        if (end === "close") {
          ex.finish();
          c.close();
          return;
        }
        if (end === "reset") return breakOff();
        await ex.stopped;
      }
      if (ex.stopReason === "close") breakOff();
    };
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        pump(c).catch((e) => console.error("fake_openrouter: stream pump", e));
      },
      cancel: () => ex.clientGone(),
    });
    return new Response(body, { status: script.status ?? 200, headers });
  }
}

function callGate(gate: () => Promise<void>): Promise<void> {
  try {
    return Promise.resolve(gate());
  } catch (e) {
    return Promise.reject(e);
  }
}

function methodNotAllowed(): ResponseStep {
  return errorStep(405, {
    error: { message: "Method Not Allowed", code: 405 },
  });
}

function isHang(step: Step): step is HangStep {
  return (step as HangStep).hang === true;
}

function isReset(step: Step): step is ResetStep {
  return (step as ResetStep).reset === true;
}

function isStream(step: Step): step is StreamStep {
  return (step as StreamStep).stream !== undefined;
}

/**
 * Starts a fake OpenRouter on `127.0.0.1:<random port>`. Close it with
 * `await using fake = startFakeOpenRouter()` or `await fake.close()`.
 */
export function startFakeOpenRouter(
  opts: FakeOpenRouterOptions = {},
): FakeOpenRouter {
  return new FakeOpenRouterServer(opts);
}
