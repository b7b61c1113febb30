/**
 * The routing core that the proxy and the library share: pick candidates, try
 * them in order, classify each failure, cool models down, and stop at the
 * first answer.
 *
 * @module
 */
import { accountIdOf, knownAccountId } from "./state/account_id.ts";
import { secondsUntilSoonest } from "./core/cooldown.ts";
import { type Attempt, FreeRouterError } from "./errors.ts";
import { Affinity } from "./core/affinity.ts";
import {
  classifyFailure,
  countedPromptTokens,
  describeFailure,
  effectiveStatus,
  type ModelEffect,
  redactedFailure,
  sameModelRetry,
  type UpstreamFailure,
  type Verdict,
} from "./core/failure.ts";
import { fetchFreePool } from "./upstream/catalog_fetch.ts";
import { accountLimited, Admission } from "./state/admission.ts";
import { applyEffect, learnBudget, spendBudget } from "./state/effects.ts";
import { hasRoom } from "./core/model_budget.ts";
import type { ResolvedRouterOptions } from "./options.ts";
import { attemptStream, type StreamAnswer } from "./upstream/stream_attempt.ts";
import { resumer } from "./resume.ts";
import type { StreamBreak } from "./upstream/stream_track.ts";
import { planRoute } from "./route_plan.ts";
import type { RouteContext, Routed, RouteRun } from "./route_types.ts";

export type { RouteContext, Routed, RouteRun } from "./route_types.ts";
import {
  allFailed,
  attemptOf,
  messageOf,
  outagePause,
  refusal,
} from "./route_outcome.ts";
import {
  isDownFailure,
  isOutageRound,
  nextOutage,
  type Outage,
  outageCovers,
  outageOrderEnds,
  outagePauseLeft,
  outageRemembered,
  pausedFor,
  withOutageModels,
} from "./core/outage.ts";
import { bodyForModels } from "./core/request_body.ts";
import { unmatchedAliasEntries } from "./core/aliases.ts";

export { bodyForModels };
import {
  attemptCompletion,
  type CompletionAnswer,
} from "./upstream/completion_attempt.ts";
import type {
  AttemptInput,
  AttemptResult,
  UpstreamOptions,
} from "./upstream/request.ts";
import {
  CLIENT_WATCH_DELAY_MS,
  readSignal,
  settledByAbort,
} from "./upstream/scope.ts";
import type { ChatCompletionRequest, FreeModel } from "./types.ts";

/** Routes chat completions across the free pool. */
export class Router {
  readonly #options: ResolvedRouterOptions;
  readonly #upstream: UpstreamOptions;
  readonly #admission: Admission;
  /** Each account's pool-wide outage (see core/outage.ts), in memory. */
  readonly #outages = new Map<string, Outage>();
  /** Which model answered which conversation (in memory, bounded). */
  readonly #affinity = new Affinity();
  /** The pool the aliases were last checked against, and the entries that matched none of it. */
  #aliasCheck: { pool: readonly FreeModel[]; unmatched: string } | undefined;
  /** Aborts the catalog fetch under way when the router closes. */
  #closing = new AbortController();

  /** Creates a router over resolved options. */
  constructor(options: ResolvedRouterOptions) {
    this.#options = options;
    this.#admission = new Admission(options);
    this.#upstream = {
      baseUrl: options.baseUrl,
      fetch: options.fetch,
      requestTimeoutMs: options.requestTimeoutMs,
      idleTimeoutMs: options.streamIdleTimeoutMs,
      keepAliveMs: options.keepAliveTimeoutMs,
    };
  }

  /** The options in force. */
  get options(): ResolvedRouterOptions {
    return this.#options;
  }

  /** The free pool when state is loaded and the catalog fresh: the hot path, without waiting. */
  #freshPool(): readonly FreeModel[] | undefined {
    const { state, now, modelRefreshTtlMs } = this.#options;
    const t = now();
    const snapshot = state.catalog.at(t);
    return state.ready && snapshot && t - snapshot.fetchedAt < modelRefreshTtlMs
      ? snapshot.pool
      : undefined;
  }

  /**
   * The account's outage (see core/outage.ts) while it changes the routing
   * (its pause, then its models going after the others), for the status
   * report; `undefined` without one.
   */
  outage(account: string): Outage | undefined {
    const outage = this.#outages.get(account);
    return outage !== undefined &&
        this.#options.now() < outageOrderEnds(outage)
      ? outage
      : undefined;
  }

  /** How many accounts an outage's pause holds now (for `/metrics`). */
  outagesPaused(): number {
    const t = this.#options.now();
    let paused = 0;
    for (const outage of this.#outages.values()) {
      if (outagePauseLeft(outage, t) !== undefined) paused++;
    }
    return paused;
  }

  /**
   * Warns of alias entries that match no model of `pool`, when they are not
   * those it last warned of: at the first pool, and after a refresh in
   * which a model an alias names left the free pool. Once per pool (the
   * catalog's list is one object until it changes).
   */
  #checkAliases(pool: readonly FreeModel[]): void {
    const { aliases } = this.#options;
    if (aliases.size === 0 || this.#aliasCheck?.pool === pool) return;
    const unmatched = unmatchedAliasEntries(aliases, pool).join("; ");
    if (unmatched !== "" && unmatched !== this.#aliasCheck?.unmatched) {
      this.#warn(
        `FREEROUTER_ALIASES (or the aliases option) names models that are not in the free pool (a typo, or a model that left it; GET /v1/models lists the pool): ${unmatched}`,
      );
    }
    this.#aliasCheck = { pool, unmatched };
  }

  /**
   * The routable free pool in priority order (cached; see {@link Catalog}).
   * With `refresh`, a list kept past its TTL is fetched again and the new
   * one returned (the kept one when the fetch fails) rather than refreshed
   * in the background.
   */
  async models(
    apiKey?: string,
    refresh = false,
  ): Promise<readonly FreeModel[]> {
    let pool = await this.#models(apiKey);
    const inflight = refresh ? this.#options.state.catalog.inflight : undefined;
    if (inflight !== undefined) {
      await inflight.catch(() => {}); // logged; the kept list stays
      pool = await this.#models(apiKey);
    }
    this.#checkAliases(pool);
    return pool;
  }

  async #models(apiKey?: string): Promise<readonly FreeModel[]> {
    const fresh = this.#freshPool();
    if (fresh) return fresh;
    const { state, now, modelRefreshTtlMs } = this.#options;
    await state.load(now, this.#warn);
    /** Aborted when the router or its state closes: a refresh ends then. */
    const closing = AbortSignal.any([this.#closing.signal, state.closing]);
    return await state.catalog.pool(
      () => fetchFreePool(this.#options, apiKey, now(), closing),
      now,
      modelRefreshTtlMs,
      (fresh) => {
        state.saveCatalog(fresh);
        state.onCatalogRefreshed().catch((err) =>
          this.#warn(`Could not update KV after a refresh: ${err}`)
        );
      },
      (err) => {
        // A refresh that closing ended failed for no fault to tell of (a
        // caller that joined it closes with the same reason).
        if (closing.aborted && err === closing.reason) return;
        this.#warn(
          `Catalog refresh failed, keeping the last good list: ${
            messageOf(err)
          }`,
        );
      },
    );
  }

  /** {@link Router.models}, failing with {@link FreeRouterError} `no_free_models`. */
  pool(apiKey?: string): Promise<readonly FreeModel[]> {
    return this.models(apiKey).catch((err) => {
      throw new FreeRouterError(
        "no_free_models",
        `No free model is available: ${messageOf(err)}`,
        { cause: err },
      );
    });
  }

  /**
   * Aborts the catalog fetch under way (its waiters get `no_free_models`),
   * for the owner of the state when it closes: no request waits for it then.
   * `final` (a closed client) aborts every later fetch too; otherwise a
   * later request fetches again (a handler still used after `close()`).
   */
  close(final = false): void {
    this.#closing.abort(new Error("The router is closed"));
    if (!final) this.#closing = new AbortController();
  }

  /**
   * {@link Router.pool}, or `aborted` as soon as the client goes away while
   * it loads. The client's signal is read only once the wait has lasted
   * {@link CLIENT_WATCH_DELAY_MS} (see `ClientSignal`).
   */
  async #poolFor(context: RouteContext): Promise<readonly FreeModel[]> {
    const pool = this.pool(context.apiKey);
    /** A failure of a client that has gone is its abort. */
    const gone = (err: unknown): never => {
      const signal = readSignal(context.signal);
      if (!signal?.aborted) throw err;
      pool.catch(() => {}); // shared with other requests; not this one's
      throw new FreeRouterError("aborted", "The request was aborted", {
        cause: signal.reason,
      });
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const long = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), CLIENT_WATCH_DELAY_MS);
    });
    const quick = await Promise.race([pool, long]).catch(gone).finally(() =>
      clearTimeout(timer)
    );
    if (quick !== undefined) return quick;
    const signal = readSignal(context.signal);
    if (signal === undefined) return await pool;
    return await settledByAbort(pool, signal).catch(gone);
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

  /**
   * Routes a streaming request; resolves once a stream is committed. A
   * committed stream that breaks is resumed on the next candidate when it
   * may be (see `resume.ts`).
   */
  stream(
    request: ChatCompletionRequest,
    asked: RouteContext,
  ): Promise<Routed<StreamAnswer>> {
    const attempts: Attempt[] = [];
    const context = onceCut(asked);
    const { state, now } = this.#options;
    // A stream that breaks after its commit is a failure of its model: it
    // counts in the model's health after the success its commit counted (a
    // break in the stream's first bytes is seen before that is recorded).
    const counted = new Set<string>();
    const held: StreamBreak[] = [];
    /** Breaks that were a rate limit's error event: not a fault of the model's. */
    const rateLimited = new WeakSet<StreamBreak>();
    const failed = (at: StreamBreak) =>
      state.observe(at.model, {
        ok: false,
        error: `stream broke after ${at.events} events: ${at.error}`,
        transient: !rateLimited.has(at),
      }, now());
    // The account's id: known long before a committed stream can break (the
    // route computed it first), without a lookup that may have forgotten it.
    let account: string | undefined;
    void accountIdOf(context.apiKey).then((id) => (account = id));
    const onBreak = (at: StreamBreak) => {
      // A continuation that found nothing to add may be right: no fault.
      if (at.code === "nothing_added") return;
      if (
        at.failure &&
        this.#brokeWith(at.model, at.failure, context.apiKey, account)
      ) rateLimited.add(at);
      if (counted.has(at.model)) failed(at);
      else held.push(at);
    };
    const onCommitted = (model: string) => {
      counted.add(model);
      for (const at of held.splice(0)) failed(at);
    };
    const resume = this.#options.streamResume
      ? resumer(
        request,
        context,
        attempts,
        this.#options.logger,
        (prefilled, attempt, run) =>
          this.#route(prefilled, context, attempt, { ...run, onCommitted }),
        onBreak,
      )
      : undefined;
    return this.#route(
      request,
      context,
      (o, i) =>
        attemptStream(o, {
          ...i,
          resume,
          manyChoices: typeof request.n === "number" && request.n > 1,
          parsedEvents: context.parsedEvents,
          onCut: context.onStreamCut,
          onBreak,
        }),
      { attempts, onCommitted },
    );
  }

  /**
   * A committed stream broke with the upstream's error event: what it says
   * of the model or the account holds as it would before a commit (a
   * mid-stream 429 cools the model down, the daily cap blocks the account),
   * in memory at once, so that the resumption sees it. Returns whether it
   * was a rate limit (which says nothing of the model's health).
   */
  #brokeWith(
    model: string,
    raw: UpstreamFailure,
    apiKey: string,
    knownAccount: string | undefined,
  ): boolean {
    const { now } = this.#options;
    const failure = redactedFailure(raw, apiKey);
    const verdict = classifyFailure(failure, {
      now: now(),
      defaultCooldownMs: this.#options.cooldownMs,
    });
    const outcome = describeFailure(failure);
    if (verdict.action === "account") {
      const account = knownAccount ?? knownAccountId(apiKey);
      // Set in memory at once; the KV write goes on in the background.
      if (account !== undefined) {
        void this.#blockAccount(account, verdict, failure, outcome);
      }
      return true;
    }
    const effect = verdict.action === "next" ? verdict.effect : undefined;
    if (
      effect !== undefined && effect.kind !== "transient" &&
      effect.kind !== "too_long"
    ) {
      // Transient faults count through the stream's health (`failed`).
      void this.#markModel(model, effect, outcome, 0);
    }
    return effect?.kind === "cooldown";
  }

  /**
   * The 502 of a request an outage's pause holds (nothing sent), or the
   * day's 429 first when the account's day is spent: the pause ends long
   * before the day.
   */
  #held(
    account: string,
    seconds: number,
    attempts: Attempt[],
  ): FreeRouterError {
    this.#admission.refuseSpentDay(account, attempts);
    return outagePause(seconds, attempts);
  }

  /** Blocks the account as an account-wide verdict says; a KV write that fails is logged (memory holds the block). */
  #blockAccount(
    account: string,
    verdict: Extract<Verdict, { action: "account" }>,
    failure: UpstreamFailure,
    outcome: string,
  ): Promise<void> {
    const { state, now, logger } = this.#options;
    return state.blockAccount(
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
  }

  /** Applies a failure's effect on a model; a KV write that fails is logged. */
  #markModel(
    model: string,
    effect: ModelEffect | undefined,
    outcome: string,
    consecutiveFailures: number,
  ): Promise<void> {
    return applyEffect(
      this.#options,
      model,
      effect,
      outcome,
      consecutiveFailures,
    ).catch((err) =>
      this.#options.logger.warn(`Could not save model state in KV: ${err}`)
    );
  }

  async #route<T>(
    request: ChatCompletionRequest,
    context: RouteContext,
    attempt: (o: UpstreamOptions, i: AttemptInput) => Promise<AttemptResult<T>>,
    run: RouteRun = {},
  ): Promise<Routed<T>> {
    const { state, now, maxAttempts, maxWaitMs, logger } = this.#options;
    const deadline = now() + maxWaitMs;
    const pool = this.#freshPool() ?? await this.#poolFor(context);
    this.#checkAliases(pool);
    const account = knownAccountId(context.apiKey) ??
      await accountIdOf(context.apiKey);
    const attempts = run.attempts ?? [];
    const continuation = run.continues !== undefined;
    const began = now();
    let outage = this.#outages.get(account);
    if (outage !== undefined && !outageRemembered(outage, began)) {
      this.#outages.delete(account); // kept no longer than it counts
      outage = undefined;
    }
    // In an outage the models that failed go after the others, and a
    // request with no other model left waits out the pause (a continuation
    // of a stream already answered is reordered, never held).
    let plan = planRoute(
      this.#options,
      this.#affinity,
      pool,
      request,
      context,
      run,
      outage === undefined
        ? undefined
        : withOutageModels(state.cooldowns, outage),
    );
    const paused = continuation || outage === undefined ||
        !outageCovers(outage, plan.candidates.map((m) => m.id))
      ? undefined
      : outagePauseLeft(outage, began);
    if (paused !== undefined) throw this.#held(account, paused, attempts);
    /** This round's failed attempts, for {@link isOutageRound}. */
    const failed: Array<{ model: string; down: boolean }> = [];
    let retriedNamed = false;
    let allRateLimited = true;
    /**
     * The last too-long failure, handed back when no model could take the
     * prompt and nothing else failed or was left untried.
     */
    let tooLong: UpstreamFailure | undefined;
    let noLarger = false;
    /** Why planning again for a larger context found no model. */
    let tooLongForAll: FreeRouterError | undefined;
    let otherFailure = false;
    /** Models skipped because their learned per-minute limit was spent. */
    let spent: string[] | undefined;
    let index = 0;
    /** The same model again after a wait (the account's minute, a named model's reset): its minute may be new. */
    let again = false;
    /** An account slot taken for a model found spent once admitted: the next attempt is sent on it. */
    let admitted = false;
    /** Outage models left untried because their pause holds (see core/outage.ts). */
    let held = false;
    /** Whether an outage's pause holds `model` now (a continuation is never held). */
    const pauseHolds = (model: string) =>
      !continuation && pausedFor(this.#outages.get(account), model, now());
    while (index < plan.candidates.length && attempts.length < maxAttempts) {
      const model = plan.candidates[index]!;
      // A model of an outage whose pause holds gets no attempt (the plan
      // put it after the others), also when an outage began meanwhile.
      if (pauseHolds(model.id)) {
        held = true;
        index++;
        continue;
      }
      // A model whose learned per-minute limit is spent gets no attempt (a
      // certain 429): checked before the admission wait, and for good with
      // the count right after it.
      if (!again && !hasRoom(state.budgets.get(model.id), now())) {
        (spent ??= []).push(model.id);
        index++;
        continue;
      }
      again = false;
      // A day's block refuses at once (throws), without queueing behind others.
      const blocked = this.#admission.blocked(account, attempts);
      if (!admitted || blocked) {
        admitted = false; // a slot taken before a block is not sent on
        // An outage found while this request waited for the account holds
        // the model too, before a slot is taken for it.
        const sent = await this.#admission.admit(
          account,
          deadline,
          context.signal,
          attempts,
          () => !pauseHolds(model.id),
        );
        if (!sent) {
          held = true;
          index++;
          continue;
        }
      }
      admitted = false;
      const budget = spendBudget(this.#options, model.id);
      if (!budget.sent) {
        (spent ??= []).push(model.id);
        index++;
        admitted = true;
        continue;
      }
      budget.saved?.catch((err) =>
        logger.warn(`Could not save model state in KV: ${err}`)
      );
      const started = now();
      // A fallback is slow anyway: from the second attempt on, watch the
      // client from the start.
      const first = attempts.length === 0;
      let result: AttemptResult<T>;
      try {
        result = await attempt(this.#upstream, {
          model: model.id,
          body: plan.body(model),
          lengthFinal: plan.lengthFinal(model),
          apiKey: context.apiKey,
          signal: first ? context.signal : readSignal(context.signal),
        });
      } catch (err) {
        // The client went away during the attempt: it was sent all the same.
        if (err instanceof FreeRouterError && err.code === "aborted") {
          attempts.push(
            attemptOf(model.id, "aborted", now() - started, continuation),
          );
          throw new FreeRouterError("aborted", err.message, {
            attempts,
            cause: err.cause,
          });
        }
        throw err;
      }
      const ms = now() - started;
      if (result.ok) {
        attempts.push(attemptOf(model.id, "ok", ms, continuation));
        // A model of the outage answers again: it is over. (An answer from
        // another model says nothing of those.)
        if (this.#outages.get(account)?.models.has(model.id)) {
          this.#outages.delete(account);
        }
        state.observe(model.id, { ok: true, latencyMs: ms }, now());
        run.onCommitted?.(model.id);
        if (plan.conversation !== undefined) {
          this.#affinity.set(plan.conversation, model.id, now());
        }
        return { model: model.id, attempts, answer: result.value };
      }
      const failure = redactedFailure(result.failure, context.apiKey);
      const outcome = describeFailure(failure);
      attempts.push(attemptOf(model.id, outcome, ms, continuation));
      const verdict = classifyFailure(failure, {
        now: now(),
        defaultCooldownMs: this.#options.cooldownMs,
        continuation,
      });
      if (verdict.action === "return") {
        throw refusal(failure, attempts);
      }
      if (verdict.action === "next" && verdict.effect?.kind === "too_long") {
        // The model is not at fault (no health, no cooldown): the estimate
        // fell short. Plan again for models with a larger context only,
        // none of them tried yet.
        tooLong = failure;
        allRateLimited = false;
        failed.push({ model: model.id, down: false });
        try {
          plan = plan.tooLong(model, countedPromptTokens(failure), [
            ...attempts.map((a) => a.model),
            ...spent ?? [],
          ]);
        } catch (err) {
          if (!(err instanceof FreeRouterError)) throw err;
          noLarger = true; // no model takes a prompt that long
          tooLongForAll = err;
          break;
        }
        index = 0;
        continue;
      }
      otherFailure = true;
      // Only failures that say something about the model count in its
      // health: not one of this request alone (no effect).
      const transient = verdict.action === "next" &&
        verdict.effect?.kind === "transient";
      failed.push({
        model: model.id,
        down: transient &&
          isDownFailure(failure.kind, effectiveStatus(failure)),
      });
      const health = verdict.action === "next" && verdict.effect !== undefined
        ? state.observe(
          model.id,
          { ok: false, error: outcome, transient },
          now(),
        )
        : undefined;
      if (verdict.action === "account") {
        await this.#blockAccount(account, verdict, failure, outcome);
        if (verdict.scope === "day") {
          throw accountLimited(
            verdict.until,
            now(),
            "daily_limit_reached",
            attempts,
          );
        }
        again = true;
        continue; // the per-minute cap: wait for its reset (bounded), then try the same model again
      }
      if (plan.named && index === 0 && !retriedNamed) {
        const wait = sameModelRetry(
          failure,
          verdict,
          now(),
          this.#options.sameModelWaitMs,
        );
        if (wait !== undefined) {
          retriedNamed = true;
          learnBudget(this.#options, model.id, verdict.effect);
          again = true;
          if (wait > 0) {
            await this.#admission.pause(
              wait,
              readSignal(context.signal),
              attempts,
            );
          }
          continue; // the same model once more
        }
      }
      index++;
      if (effectiveStatus(failure) !== 429) allRateLimited = false;
      await this.#markModel(
        model.id,
        verdict.effect,
        outcome,
        health?.consecutiveFailures ?? 0,
      );
    }
    // Too long for every model that could take it: said as a request longer
    // than every context always is (sized by the prompt the upstream
    // counted), else in the upstream's own words.
    if (noLarger && !otherFailure && spent === undefined) {
      if (tooLongForAll?.code === "context_length_exceeded") {
        throw new FreeRouterError(tooLongForAll.code, tooLongForAll.message, {
          attempts,
        });
      }
      throw refusal(tooLong!, attempts);
    }
    const tried = new Set([...attempts.map((a) => a.model), ...spent ?? []]);
    const triedCooldowns = [...state.cooldowns.values()].filter((e) =>
      tried.has(e.model)
    );
    if (!continuation && spent === undefined && isOutageRound(failed)) {
      const prev = this.#outages.get(account);
      const next = nextOutage(prev, failed, began, now());
      this.#outages.set(account, next);
      // Rare (an outage round): forget the outages no round can continue,
      // of accounts that sent nothing since (bring-your-own-key clients).
      for (const [id, o] of this.#outages) {
        if (!outageRemembered(o, now())) this.#outages.delete(id);
      }
      const left = outagePauseLeft(next, now());
      if (next.at !== prev?.at) { // a new round, not one under way with it
        logger.warn(
          `Every model tried failed (round ${next.rounds} of an outage, ${next.models.size} models): requests that only they could take get a 502 without an attempt for ${left} s`,
        );
      }
      throw allFailed(attempts, left, spent, left);
    }
    if (held) {
      // The rest are the outage's models: the client may come back after
      // the pause.
      const left = outagePauseLeft(this.#outages.get(account), now());
      if (attempts.length === 0 && left !== undefined) {
        throw this.#held(account, left, attempts);
      }
      throw allFailed(attempts, left, spent, left);
    }
    throw allFailed(
      attempts,
      allRateLimited && tried.size > 0
        ? secondsUntilSoonest(triedCooldowns, now())
        : undefined,
      spent,
    );
  }
}

/**
 * The context with its stream-cut callback told once: a continuation's guard
 * and the first one's both see a stream's end.
 */
function onceCut(context: RouteContext): RouteContext {
  const cut = context.onStreamCut;
  if (cut === undefined) return context;
  let told = false;
  return {
    ...context,
    onStreamCut: (end) => {
      if (!told) {
        told = true;
        cut(end);
      }
    },
  };
}
