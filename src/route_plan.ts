/**
 * The plan of one run of the attempt loop: what the request needs, the
 * candidates in the order they will be tried (the strategy's or alias's
 * ranking, capability fit, cooldowns, a continuation's skips, the
 * conversation's model first), and how each attempt's body is written. Read
 * off the routing state; nothing is sent.
 *
 * @module
 */
import type { Affinity } from "./core/affinity.ts";
import {
  conversationKey,
  conversationLabel,
  stickTo,
} from "./core/affinity.ts";
import {
  aliasOf,
  perPoolAndList,
  poolFor,
  type PoolListCache,
} from "./core/aliases.ts";
import {
  budgetFor,
  describeMisfit,
  flexibleNeeds,
  type RequestNeeds,
  requestNeeds,
  withPromptAtLeast,
} from "./core/capabilities.ts";
import { orderCandidates } from "./core/candidates.ts";
import { matchesAny } from "./core/client_keys.ts";
import { bodyForModels } from "./core/request_body.ts";
import { FreeRouterError } from "./errors.ts";
import type { ResolvedRouterOptions } from "./options.ts";
import type { RouteContext, RouteRun } from "./route_types.ts";
import type { ChatCompletionRequest, FreeModel } from "./types.ts";
import type { CooldownEntry } from "./core/cooldown.ts";

/** What {@link planRoute} decided. */
export interface RoutePlan {
  /** The models to try, in order (the loop stops at `maxAttempts`). */
  candidates: FreeModel[];
  /** The first candidate is the model the client named (not an alias): worth a short wait. */
  named: boolean;
  /** The conversation's affinity key, when affinity applies. */
  conversation: string | undefined;
  /** The upstream body of an attempt on `model`. */
  body: (model: FreeModel) => string;
  /**
   * Whether that body asks for the client's own `max_tokens`, not lowered
   * to the model's room: a length stop would cut any model's answer there
   * (core/answers.ts `notAnAnswer`).
   */
  lengthFinal: (model: FreeModel) => boolean;
  /**
   * The plan after `model` said the request is longer than its context:
   * the prompt is at least what the upstream `counted`, or what overflowed
   * `model`'s context next to the budget it was asked for; so every
   * candidate is sized again, none of `tried` included. Throws
   * `context_length_exceeded` when no model takes that prompt.
   */
  tooLong: (
    model: FreeModel,
    counted: number | undefined,
    tried: Iterable<string>,
  ) => RoutePlan;
}

/** The models of a ranked pool on a client's list, in pool order. */
const onLists: PoolListCache<readonly FreeModel[]> = new WeakMap();

function onList(
  pool: readonly FreeModel[],
  list: readonly string[],
): readonly FreeModel[] {
  return perPoolAndList(
    onLists,
    pool,
    list,
    () => pool.filter((m) => matchesAny(m.id, list)),
  );
}

/**
 * Plans a run over `pool`. Throws a `model_not_found` error for an unknown
 * `auto:*` alias, a `context_length_exceeded` one when the request is longer
 * than every model's context, and a `no_capable_model` one when no free model
 * can serve it otherwise (an alias no model serves, or every model misfits).
 */
export function planRoute(
  options: ResolvedRouterOptions,
  affinity: Affinity,
  pool: readonly FreeModel[],
  request: ChatCompletionRequest,
  context: RouteContext,
  run: RouteRun,
  cooldowns: ReadonlyMap<string, CooldownEntry> = options.state.cooldowns,
): RoutePlan {
  const { state, now, maxAttempts, strategy } = options;
  const ranked = poolFor(pool, request.model, {
    strategy,
    aliases: options.aliases,
    health: state.health,
    version: state.healthVersion,
    now: now(),
  });
  if (!ranked.ok) {
    throw new FreeRouterError(
      ranked.unknown ? "model_not_found" : "no_capable_model",
      ranked.message,
      { param: "model" },
    );
  }
  const allowed = context.models;
  const usable = allowed === undefined
    ? ranked.pool
    : onList(ranked.pool, allowed);
  if (usable.length === 0) {
    throw new FreeRouterError(
      "no_capable_model",
      `No free model of the pool is on this client's list (${
        allowed!.join(", ")
      })`,
      { param: "model" },
    );
  }
  const write = bodyForModels(request);
  const asked = requestNeeds(request);
  const flexible = context.clampMaxTokens === true &&
    asked.maxTokens !== undefined;
  let conversation: string | undefined;

  /** The plan for a request of needs `asked`, none of `skip` tried. */
  const planFor = (
    asked: RequestNeeds,
    skip: ReadonlySet<string> | undefined,
    first: boolean,
  ): RoutePlan => {
    const fit = flexible ? flexibleNeeds(asked) : asked;
    // A continuation needs a model that takes a prefill (only learned gaps say no).
    const needs = run.continues
      ? { ...fit, required: [...fit.required, "prefill" as const] }
      : fit;
    const order = orderCandidates({
      pool: usable,
      requested: request.model,
      needs,
      cooldowns,
      gaps: state.gaps,
      now: now(),
      maxAttempts,
    });
    if (order.misfit) {
      throw new FreeRouterError(
        order.misfit.kind === "context"
          ? "context_length_exceeded"
          : "no_capable_model",
        describeMisfit(order.misfit),
      );
    }
    const candidates = skip
      ? order.candidates.filter((m) => !skip.has(m.id))
      : order.candidates;
    const named = candidates[0]?.id === request.model;
    // Keep the conversation on the model of its previous turn. A continuation
    // goes on without it (its broken model is skipped); the model that
    // finishes the turn becomes the conversation's model. A plan made again
    // keeps the first one's conversation (none when a model was named).
    if (first && options.affinity && !named) {
      conversation = conversationKey(
        request,
        context.session,
        aliasOf(request.model, options.aliases),
        context.conversationLabel ?? conversationLabel(request),
      );
    }
    if (conversation !== undefined && !run.continues) {
      stickTo(
        candidates,
        affinity.get(conversation, now()),
        cooldowns,
        now(),
      );
    }
    /** The completion budget an attempt on `model` asks for. */
    const budget = (model: FreeModel) =>
      flexible ? budgetFor(model, asked) : asked.maxTokens;
    return {
      candidates,
      named,
      conversation,
      body: (model) =>
        write(
          model.id,
          flexible ? budget(model) : undefined,
          asked.files === true && !model.input_modalities.includes("file"),
        ),
      lengthFinal: (model) =>
        asked.maxTokens !== undefined && budget(model) === asked.maxTokens,
      tooLong: (model, counted, tried) =>
        planFor(
          withPromptAtLeast(
            asked,
            Math.max(
              counted ?? 0,
              model.context_length - (budget(model) ?? 0) + 1,
            ),
          ),
          new Set([...skip ?? [], ...tried]),
          false,
        ),
    };
  };
  return planFor(asked, run.skip, true);
}
