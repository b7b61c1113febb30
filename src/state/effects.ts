/**
 * A failure's effect on a model, applied to the shared state: a cooldown, a
 * lasting cooldown (until the catalog is fetched again), a capability gap, or
 * the breaker after too many transient failures in a row.
 *
 * @module
 */
import type { ModelEffect } from "../core/failure.ts";
import { BREAKER_THRESHOLD } from "../core/health.ts";
import { learnMinuteLimit, nextMinute, spend } from "../core/model_budget.ts";
import type { RoutingState } from "./state.ts";

/** The settings an effect reads. */
export interface EffectOptions {
  state: RoutingState;
  now: () => number;
  /** The breaker's cooldown. */
  cooldownMs: number;
  /** A lasting cooldown holds at least until the catalog's next refresh. */
  modelRefreshTtlMs: number;
}

/** Applies one failure's effect on a model. */
export async function applyEffect(
  options: EffectOptions,
  model: string,
  effect: ModelEffect | undefined,
  reason: string,
  consecutiveFailures: number,
): Promise<void> {
  const { state, now, cooldownMs, modelRefreshTtlMs } = options;
  switch (effect?.kind) {
    case "cooldown":
      if (effect.perMinute !== undefined) {
        state.budgets.set(model, learnMinuteLimit(effect.perMinute, now()));
      }
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
        await state.coolDown(
          {
            model,
            until: now() + cooldownMs,
            reason: `${consecutiveFailures} failures in a row, last ${reason}`,
            kind: "breaker",
          },
          now(),
        );
      }
  }
}

/**
 * Counts an attempt about to be sent against the model's learned per-minute
 * limit; when it is the minute's last, the model cools down until the next
 * minute (in memory at once, written through to KV in the background), so no
 * attempt is spent on a certain 429.
 */
export function spendBudget(
  options: Pick<EffectOptions, "state" | "now">,
  model: string,
): Promise<void> | undefined {
  const { state, now } = options;
  const at = now();
  const { budget, last } = spend(state.budgets.get(model), at);
  if (budget === undefined) return undefined;
  state.budgets.set(model, budget);
  if (!last) return undefined;
  return state.coolDown({
    model,
    until: nextMinute(at),
    reason: `${budget.limit} requests this minute (limit_rpm)`,
    kind: "rate_limit",
  }, at);
}
