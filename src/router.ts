/**
 * The routing core that the proxy and the library share: pick candidates, try
 * them in order, classify each failure, cool models down, and stop at the
 * first answer.
 *
 * @module
 */
import { orderCandidates } from "./candidates.ts";
import { secondsUntilSoonest } from "./cooldown.ts";
import { type Attempt, FreeRouterError, UpstreamHTTPError } from "./errors.ts";
import {
  classifyFailure,
  describeFailure,
  effectiveStatus,
  type UpstreamFailure,
} from "./failure.ts";
import { buildFreePool } from "./free_pool.ts";
import type { ResolvedRouterOptions } from "./options.ts";
import {
  attemptCompletion,
  type AttemptInput,
  type AttemptResult,
  attemptStream,
  type CompletionAnswer,
  type StreamAnswer,
  type UpstreamOptions,
} from "./upstream.ts";
import type { ChatCompletionRequest, FreeModel } from "./types.ts";

/** A routed answer: what answered, after which attempts. */
export interface Routed<T> {
  /** The model that answered. */
  model: string;
  /** Every attempt, the last one being the success. */
  attempts: Attempt[];
  /** The answer. */
  answer: T;
}

/** Per-request context. */
export interface RouteContext {
  /** The OpenRouter key for this request. */
  apiKey: string;
  /** Aborted when the caller goes away. */
  signal?: AbortSignal;
}

/**
 * Serialises a request once; each attempt only splices its model in front.
 * The client's fields are kept as they are, `model` replaced.
 */
export function bodyForModels(
  request: ChatCompletionRequest,
): (model: string) => string {
  const { model: _model, ...rest } = request;
  const tail = JSON.stringify(rest).slice(1); // `…}` without the opening brace
  const separator = tail === "}" ? "" : ",";
  return (model) => `{"model":${JSON.stringify(model)}${separator}${tail}`;
}

/** Routes chat completions across the free pool. */
export class Router {
  readonly #options: ResolvedRouterOptions;
  readonly #upstream: UpstreamOptions;

  /** Creates a router over resolved options. */
  constructor(options: ResolvedRouterOptions) {
    this.#options = options;
    this.#upstream = {
      baseUrl: options.baseUrl,
      fetch: options.fetch,
      requestTimeoutMs: options.requestTimeoutMs,
      idleTimeoutMs: options.streamIdleTimeoutMs,
    };
  }

  /** The options in force. */
  get options(): ResolvedRouterOptions {
    return this.#options;
  }

  /** The routable free pool in priority order (cached; see {@link Catalog}). */
  async models(apiKey?: string): Promise<readonly FreeModel[]> {
    const { state, now, modelRefreshTtlMs, logger } = this.#options;
    await state.load(now());
    return await state.catalog.pool(
      () => this.#fetchPool(apiKey),
      now,
      modelRefreshTtlMs,
      (snapshot) =>
        state.saveCatalog(
          snapshot,
          (err) => logger.warn(`Could not save the catalog in KV: ${err}`),
        ),
      (err) =>
        logger.warn(
          `Catalog refresh failed, keeping the last good list: ${
            messageOf(err)
          }`,
        ),
    );
  }

  async #fetchPool(apiKey: string | undefined): Promise<readonly FreeModel[]> {
    const { baseUrl, fetch, requestTimeoutMs } = this.#options;
    const signal = AbortSignal.timeout(requestTimeoutMs);
    const headers: Record<string, string> = { accept: "application/json" };
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    const res = await fetch(`${baseUrl}/models`, { headers, signal });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`GET /models answered ${res.status}`);
    }
    const body = await res.json() as { data?: unknown };
    if (!Array.isArray(body?.data)) {
      throw new Error("GET /models answered without a data array");
    }
    const pool = buildFreePool(body.data);
    if (pool.length === 0) {
      throw new Error("GET /models listed no free chat model");
    }
    return pool;
  }

  /** Routes a non-streaming request. */
  complete(
    request: ChatCompletionRequest,
    context: RouteContext,
  ): Promise<Routed<CompletionAnswer>> {
    return this.#route(request, context, attemptCompletion);
  }

  /** Routes a streaming request; resolves once a stream is committed. */
  stream(
    request: ChatCompletionRequest,
    context: RouteContext,
  ): Promise<Routed<StreamAnswer>> {
    return this.#route(request, context, attemptStream);
  }

  async #route<T>(
    request: ChatCompletionRequest,
    context: RouteContext,
    attempt: (o: UpstreamOptions, i: AttemptInput) => Promise<AttemptResult<T>>,
  ): Promise<Routed<T>> {
    const { state, now, maxAttempts, cooldownMs } = this.#options;
    const pool = await this.models(context.apiKey).catch((err) => {
      throw new FreeRouterError(
        "no_free_models",
        `No free model is available: ${messageOf(err)}`,
        { cause: err },
      );
    });
    const candidates = orderCandidates(
      pool,
      request.model,
      state.cooldowns,
      now(),
      maxAttempts,
    );
    const body = bodyForModels(request);
    const attempts: Attempt[] = [];
    let allRateLimited = true;
    for (const model of candidates) {
      const started = now();
      const result = await attempt(this.#upstream, {
        model: model.id,
        body: body(model.id),
        apiKey: context.apiKey,
        signal: context.signal,
      });
      if (result.ok) {
        attempts.push({ model: model.id, outcome: "ok", ms: now() - started });
        return { model: model.id, attempts, answer: result.value };
      }
      const failure = result.failure;
      attempts.push({
        model: model.id,
        outcome: describeFailure(failure),
        ms: now() - started,
      });
      const verdict = classifyFailure(failure, {
        now: now(),
        defaultCooldownMs: cooldownMs,
      });
      if (verdict.action === "return") throw refusal(failure, attempts);
      if (verdict.cooldownUntil !== undefined) {
        await state.coolDown(
          {
            model: model.id,
            until: verdict.cooldownUntil,
            reason: describeFailure(failure),
          },
          now(),
        ).catch((err) =>
          this.#options.logger.warn(`Could not save a cooldown in KV: ${err}`)
        );
      }
      if (effectiveStatus(failure) !== 429) allRateLimited = false;
    }
    throw allFailed(
      attempts,
      allRateLimited
        ? secondsUntilSoonest(state.cooldowns.values(), now())
        : undefined,
    );
  }
}

function refusal(
  failure: UpstreamFailure,
  attempts: Attempt[],
): UpstreamHTTPError {
  return new UpstreamHTTPError(
    failure.status,
    failure.text ?? "",
    attempts,
    failure.contentType,
  );
}

function allFailed(
  attempts: Attempt[],
  retryAfterSeconds: number | undefined,
): FreeRouterError {
  const list = attempts.map((a) => `${a.model} → ${a.outcome}`).join("; ");
  const message = attempts.length === 0
    ? "No free model could be tried"
    : `All ${attempts.length} attempts failed: ${list}`;
  return new FreeRouterError("all_candidates_failed", message, {
    attempts,
    retryAfterSeconds,
  });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
