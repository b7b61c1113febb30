/**
 * A failure's effect on a model, applied to the shared state: a cooldown, a
 * lasting cooldown (until the catalog is fetched again), a capability gap, or
 * the breaker after too many transient failures in a row.
 *
 * @module
 */
import type { ModelEffect } from "../core/failure.ts";
import { BREAKER_THRESHOLD } from "../core/health.ts";
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
