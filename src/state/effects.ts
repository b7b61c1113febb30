/**
 * A failure's effect on a model, applied to the shared state: a cooldown, a
 * lasting cooldown (until the catalog is fetched again), a capability gap, or
 * the breaker after too many transient failures in a row.
 *
 * @module
 */
import type { ModelEffect } from "../core/failure.ts";
import { BREAKER_THRESHOLD } from "../core/health.ts";
import {
  hasRoom,
  learnMinuteLimit,
  minuteEnd,
  spend,
} from "../core/model_budget.ts";
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
      learnBudget(options, model, effect);
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

/** Learns the model's per-minute limit from a `limit_rpm` 429's effect, when it states one. */
export function learnBudget(
  options: Pick<EffectOptions, "state" | "now">,
  model: string,
  effect: ModelEffect | undefined,
): void {
  if (effect?.kind === "cooldown" && effect.perMinute !== undefined) {
    options.state.budgets.set(
      model,
      learnMinuteLimit(effect.perMinute, options.now(), effect.until),
    );
  }
}

/**
 * Counts an attempt about to be sent against the model's learned per-minute
 * limit, or says it must not be sent (`sent: false`: the minute's limit is
 * spent, a certain 429). When it is the minute's last, the model cools down
 * until the next minute (in memory at once; `saved` is the write through to
 * KV). Check and count are one synchronous step, so concurrent requests
 * never go over the limit.
 */
export function spendBudget(
  options: Pick<EffectOptions, "state" | "now">,
  model: string,
): { sent: false } | { sent: true; saved?: Promise<void> } {
  const { state, now } = options;
  const at = now();
  const current = state.budgets.get(model);
  if (!hasRoom(current, at)) return { sent: false };
  const { budget, last } = spend(current, at);
  if (budget === undefined) return { sent: true };
  state.budgets.set(model, budget);
  if (!last) return { sent: true };
  const saved = state.coolDown({
    model,
    until: minuteEnd(budget, at),
    reason: `${budget.limit} requests this minute (limit_rpm)`,
    kind: "rate_limit",
  }, at);
  return { sent: true, saved };
}
