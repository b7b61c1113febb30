/**
 * The routing core that the proxy and the library share: pick candidates, try
 * them in order, classify each failure, cool models down, and stop at the
 * first answer.
 *
 * @module
 */
import { accountIdOf, knownAccountId } from "./state/account_id.ts";
import { orderCandidates } from "./core/candidates.ts";
import {
  budgetFor,
  describeMisfit,
  flexibleNeeds,
  requestNeeds,
} from "./core/capabilities.ts";
import { adaptiveOrder } from "./core/health.ts";
import { secondsUntilSoonest } from "./core/cooldown.ts";
import { type Attempt, FreeRouterError, UpstreamHTTPError } from "./errors.ts";
import {
  classifyFailure,
  describeFailure,
  effectiveStatus,
  type UpstreamFailure,
} from "./core/failure.ts";
import { fetchFreePool } from "./upstream/catalog_fetch.ts";
import { accountLimited, Admission } from "./state/admission.ts";
import { applyEffect } from "./state/effects.ts";
import type { ResolvedRouterOptions } from "./options.ts";
import { attemptStream, type StreamAnswer } from "./upstream/stream_attempt.ts";
import {
  attemptCompletion,
  type CompletionAnswer,
} from "./upstream/completion_attempt.ts";
import {
  type AttemptInput,
  type AttemptResult,
  type ClientSignal,
  readSignal,
  type UpstreamOptions,
} from "./upstream/request.ts";
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
  /**
   * Aborted when the caller goes away; a function returning it where reading
   * it has a cost, called only when it matters (see {@link ClientSignal}).
   */
  signal?: ClientSignal;
  /**
   * The request's completion budget is a ceiling, not a need: models whose
   * completion cap or context is smaller still serve it, each attempt asking
   * for what its model allows (the agent fronts: Claude Code asks for
   * 32k–128k tokens). Otherwise such models are left out, as OpenAI clients
   * expect.
   */
  clampMaxTokens?: boolean;
}

/**
 * Serialises a request once; each attempt only splices its model (and, when
 * the budget is clamped, its `max_tokens`) in front. The client's fields are
 * kept as they are, `model` replaced. OpenRouter's own fallback fields
 * (`models`, `route`) are dropped: they could route to a paid model, and
 * freerouter does the fallback itself.
 */
export function bodyForModels(
  request: ChatCompletionRequest,
): (model: string, maxTokens?: number) => string {
  const { model: _model, models: _models, route: _route, ...rest } = request;
  const tail = JSON.stringify(rest).slice(1); // `…}` without the opening brace
  const separator = tail === "}" ? "" : ",";
  let unbudgeted: string | undefined; // the tail without the budget fields
  return (model, maxTokens) => {
    const head = `{"model":${JSON.stringify(model)}`;
    if (maxTokens === undefined) return `${head}${separator}${tail}`;
    if (unbudgeted === undefined) {
      const {
        max_tokens: _max,
        max_completion_tokens: _maxCompletion,
        ...unbudgetedRest
      } = rest;
      unbudgeted = JSON.stringify(unbudgetedRest).slice(1);
    }
    return `${head},"max_tokens":${maxTokens}${
      unbudgeted === "}" ? "" : ","
    }${unbudgeted}`;
  };
}

/** Routes chat completions across the free pool. */
export class Router {
  readonly #options: ResolvedRouterOptions;
  readonly #upstream: UpstreamOptions;
  readonly #admission: Admission;

  /** Creates a router over resolved options. */
  constructor(options: ResolvedRouterOptions) {
    this.#options = options;
    this.#admission = new Admission(options);
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

  /** The free pool when state is loaded and the catalog fresh: the hot path, without waiting. */
  #freshPool(): readonly FreeModel[] | undefined {
    const { state, now, modelRefreshTtlMs } = this.#options;
    const snapshot = state.catalog.snapshot;
    return state.ready && snapshot &&
        now() - snapshot.fetchedAt < modelRefreshTtlMs
      ? snapshot.pool
      : undefined;
  }

  /** The routable free pool in priority order (cached; see {@link Catalog}). */
  async models(apiKey?: string): Promise<readonly FreeModel[]> {
    const fresh = this.#freshPool();
    if (fresh) return fresh;
    const { state, now, modelRefreshTtlMs } = this.#options;
    await state.load(now, this.#warn);
    return await state.catalog.pool(
      () => fetchFreePool(this.#options, apiKey),
      now,
      modelRefreshTtlMs,
      (fresh) => {
        state.saveCatalog(fresh);
        state.onCatalogRefreshed().catch((err) =>
          this.#warn(`Could not update KV after a refresh: ${err}`)
        );
      },
      (err) =>
        this.#warn(
          `Catalog refresh failed, keeping the last good list: ${
            messageOf(err)
          }`,
        ),
    );
  }

  readonly #warn = (message: string): void =>
    this.#options.logger.warn(message);

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
    const { state, now, maxAttempts, maxWaitMs, strategy, logger } =
      this.#options;
    const deadline = now() + maxWaitMs;
    const pool = this.#freshPool() ??
      await this.models(context.apiKey).catch((err) => {
        throw new FreeRouterError(
          "no_free_models",
          `No free model is available: ${messageOf(err)}`,
          { cause: err },
        );
      });
    const asked = requestNeeds(request);
    const flexible = context.clampMaxTokens === true &&
      asked.maxTokens !== undefined;
    const needs = flexible ? flexibleNeeds(asked) : asked;
    const order = orderCandidates({
      pool: strategy === "adaptive" ? adaptiveOrder(pool, state.health) : pool,
      requested: request.model,
      needs,
      cooldowns: state.cooldowns,
      gaps: state.gaps,
      now: now(),
      maxAttempts,
    });
    if (order.misfit) {
      throw new FreeRouterError(
        "no_capable_model",
        describeMisfit(order.misfit),
      );
    }
    const body = bodyForModels(request);
    const account = knownAccountId(context.apiKey) ??
      await accountIdOf(context.apiKey);
    const attempts: Attempt[] = [];
    let allRateLimited = true;
    let index = 0;
    while (index < order.candidates.length && attempts.length < maxAttempts) {
      const model = order.candidates[index]!;
      if (!this.#admission.admitsNow(account, attempts)) {
        await this.#admission.admit(
          account,
          deadline,
          context.signal,
          attempts,
        );
      }
      const started = now();
      // A fallback is slow anyway: from the second attempt on, watch the
      // client from the start.
      const first = attempts.length === 0;
      const result = await attempt(this.#upstream, {
        model: model.id,
        body: body(
          model.id,
          flexible ? budgetFor(model, asked) : undefined,
        ),
        apiKey: context.apiKey,
        signal: first ? context.signal : readSignal(context.signal),
      });
      const ms = now() - started;
      if (result.ok) {
        attempts.push({ model: model.id, outcome: "ok", ms });
        state.observe(model.id, { ok: true, latencyMs: ms }, now());
        return { model: model.id, attempts, answer: result.value };
      }
      const failure = result.failure;
      const outcome = describeFailure(failure);
      attempts.push({ model: model.id, outcome, ms });
      const verdict = classifyFailure(failure, {
        now: now(),
        defaultCooldownMs: this.#options.cooldownMs,
      });
      if (verdict.action === "return") throw refusal(failure, attempts);
      // Only failures that say something about the model count in its health.
      const transient = verdict.action === "next" &&
        verdict.effect?.kind === "transient";
      const health = verdict.action === "next"
        ? state.observe(
          model.id,
          { ok: false, error: outcome, transient },
          now(),
        )
        : undefined;
      if (verdict.action === "account") {
        await state.blockAccount(
          account,
          {
            scope: verdict.scope,
            until: verdict.until,
            reason: failure.error?.message.trim() || outcome,
          },
          verdict.limit,
          now(),
        ).catch((err) =>
          logger.warn(`Could not save the account block in KV: ${err}`)
        );
        if (verdict.scope === "day") {
          throw accountLimited(
            verdict.until,
            now(),
            "daily_limit_reached",
            attempts,
          );
        }
        continue; // the per-minute cap: wait for its reset (bounded), then try the same model again
      }
      index++;
      if (effectiveStatus(failure) !== 429) allRateLimited = false;
      await applyEffect(
        this.#options,
        model.id,
        verdict.effect,
        outcome,
        health?.consecutiveFailures ?? 0,
      ).catch((err) => logger.warn(`Could not save model state in KV: ${err}`));
    }
    const tried = new Set(attempts.map((a) => a.model));
    const triedCooldowns = [...state.cooldowns.values()].filter((e) =>
      tried.has(e.model)
    );
    throw allFailed(
      attempts,
      allRateLimited && attempts.length > 0
        ? secondsUntilSoonest(triedCooldowns, now())
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
