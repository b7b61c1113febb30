/**
 * The routing core that the proxy and the library share: pick candidates, try
 * them in order, classify each failure, cool models down, and stop at the
 * first answer.
 *
 * @module
 */
import { accountIdOf, knownAccountId } from "./state/account_id.ts";
import {
  type AccountLimits,
  isLimited,
  learnedAt,
} from "./core/account_limit.ts";
import { orderCandidates } from "./core/candidates.ts";
import { describeMisfit, requestNeeds } from "./core/capabilities.ts";
import { adaptiveOrder, BREAKER_THRESHOLD } from "./core/health.ts";
import { secondsUntilSoonest } from "./core/cooldown.ts";
import { type Attempt, FreeRouterError, UpstreamHTTPError } from "./errors.ts";
import {
  classifyFailure,
  describeFailure,
  effectiveStatus,
  type ModelEffect,
  type UpstreamFailure,
} from "./core/failure.ts";
import { buildFreePool } from "./core/free_pool.ts";
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
}

/**
 * Serialises a request once; each attempt only splices its model in front.
 * The client's fields are kept as they are, `model` replaced. OpenRouter's own
 * fallback fields (`models`, `route`) are dropped: they could route to a paid
 * model, and freerouter does the fallback itself.
 */
export function bodyForModels(
  request: ChatCompletionRequest,
): (model: string) => string {
  const { model: _model, models: _models, route: _route, ...rest } = request;
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
      () => this.#fetchPool(apiKey),
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

  async #fetchPool(apiKey: string | undefined): Promise<readonly FreeModel[]> {
    const { baseUrl, fetch, requestTimeoutMs } = this.#options;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), requestTimeoutMs);
    try {
      const headers: Record<string, string> = { accept: "application/json" };
      if (apiKey) headers.authorization = `Bearer ${apiKey}`;
      const res = await fetch(`${baseUrl}/models`, {
        headers,
        signal: controller.signal,
      });
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
    } finally {
      clearTimeout(timer);
    }
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

  /** The account limits in force: configured RPM (or a lower learned one) and the learned daily limit. */
  #limits(account: string): AccountLimits {
    const { rpm, state, now } = this.#options;
    const learned = learnedAt(state.account(account).learned, now());
    return {
      rpm: rpm === 0 ? 0 : Math.min(rpm, learned.rpm ?? rpm),
      rpd: rpm === 0 ? undefined : learned.rpd,
    };
  }

  /**
   * Whether one more attempt may go upstream at once: no account block holds
   * and no account limit is in force. Throws a 429 {@link FreeRouterError}
   * when the daily limit is reached (no wait can help).
   */
  #admitsNow(account: string, attempts: Attempt[]): boolean {
    const { state, now } = this.#options;
    const block = state.account(account).block;
    if (block && block.scope === "day" && block.until > now()) {
      // Refuse at once, without queueing behind others.
      throw accountLimited(block.until, now(), "daily_limit_reached", attempts);
    }
    return (!block || block.until <= now()) &&
      !isLimited(this.#limits(account));
  }

  /**
   * Waits until one more attempt may go upstream: no account block holds and
   * the account limits have room. Waits in FIFO order for at most the request's
   * remaining `maxWait`; past that, throws a 429 {@link FreeRouterError}.
   * Call it when {@link #admitsNow} says no.
   */
  async #admit(
    account: string,
    deadline: number,
    context: RouteContext,
    attempts: Attempt[],
  ): Promise<void> {
    const { state, now } = this.#options;
    const gone = (signal: AbortSignal | undefined) => {
      if (signal?.aborted) {
        throw new FreeRouterError("aborted", "The client went away");
      }
    };
    /** The client's signal once read (it is read when a wait begins). */
    let watched = typeof context.signal === "function"
      ? undefined
      : context.signal;
    await state.enqueue(async () => {
      for (;;) {
        gone(watched);
        const t = now();
        const held = state.account(account).block;
        if (held && held.until > t) {
          if (held.scope === "day") {
            throw accountLimited(
              held.until,
              t,
              "daily_limit_reached",
              attempts,
            );
          }
          if (held.until > deadline) {
            throw accountLimited(held.until, t, "rate_limited", attempts);
          }
          // A wait is long: watch the client from now on.
          watched ??= readSignal(context.signal);
          gone(watched);
          await this.#wait(held.until - t, watched);
          continue;
        }
        const slot = await state.takeSlot(account, this.#limits(account), t);
        if (slot.ok) return;
        if (slot.retryAt > deadline) {
          throw accountLimited(slot.retryAt, t, "rate_limited", attempts);
        }
        watched ??= readSignal(context.signal);
        gone(watched);
        await this.#wait(slot.retryAt - t, watched);
      }
    });
  }

  async #wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    try {
      await this.#options.sleep(ms, signal);
    } catch (err) {
      if (signal?.aborted) {
        throw new FreeRouterError("aborted", "The client went away", {
          cause: err,
        });
      }
      throw err;
    }
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
    const needs = requestNeeds(request);
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
      if (!this.#admitsNow(account, attempts)) {
        await this.#admit(account, deadline, context, attempts);
      }
      const started = now();
      // A fallback is slow anyway: from the second attempt on, watch the
      // client from the start.
      const first = attempts.length === 0;
      const result = await attempt(this.#upstream, {
        model: model.id,
        body: body(model.id),
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
      await this.#apply(
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

  /** Applies a failure's effect on a model: cooldown, lasting cooldown, capability gap, breaker. */
  async #apply(
    model: string,
    effect: ModelEffect | undefined,
    reason: string,
    consecutiveFailures: number,
  ): Promise<void> {
    const { state, now, cooldownMs, modelRefreshTtlMs } = this.#options;
    switch (effect?.kind) {
      case "cooldown":
        return await state.coolDown({
          model,
          until: effect.until,
          reason,
          kind: "rate_limit",
        }, now());
      case "lasting": {
        const fetchedAt = state.catalog.snapshot?.fetchedAt ?? now();
        const until = Math.max(fetchedAt + modelRefreshTtlMs, now() + 60_000);
        return await state.coolDown(
          { model, until, reason, kind: "lasting" },
          now(),
        );
      }
      case "capability":
        return await state.addGap(model, effect.capability);
      case "transient":
        if (consecutiveFailures >= BREAKER_THRESHOLD) {
          const until = now() + cooldownMs;
          await state.coolDown(
            {
              model,
              until,
              reason:
                `${consecutiveFailures} failures in a row, last ${reason}`,
              kind: "breaker",
            },
            now(),
          );
        }
    }
  }
}

function accountLimited(
  until: number,
  now: number,
  code: "daily_limit_reached" | "rate_limited",
  attempts: Attempt[],
): FreeRouterError {
  const seconds = Math.max(1, Math.ceil((until - now) / 1000));
  const when = new Date(until).toISOString();
  const message = code === "daily_limit_reached"
    ? `OpenRouter's daily free-model limit for this account is reached; it resets at ${when}`
    : `The account's free-model rate limit is reached; retry after ${seconds} s`;
  return new FreeRouterError(code, message, {
    attempts,
    retryAfterSeconds: seconds,
  });
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
