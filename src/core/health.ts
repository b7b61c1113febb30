/**
 * Per-model health: exponentially weighted success rate and latency, and the
 * adaptive order built from them. Pure.
 *
 * @module
 */

/** One model's recent health. */
export interface ModelHealth {
  /** Exponentially weighted success rate, 0..1. */
  successRate: number;
  /** Exponentially weighted latency of successful attempts, ms (`null` before the first success). */
  latencyMs: number | null;
  /** Attempts seen. */
  attempts: number;
  /** Consecutive transient failures (the circuit breaker's count). */
  consecutiveFailures: number;
  /** The last failure, e.g. `429` or `timeout`, or `null`. */
  lastError: string | null;
  /** Epoch ms of the last attempt. */
  lastAttemptAt: number;
}

/** Weight of the newest observation. */
export const EWMA_ALPHA = 0.2;

/** Health before any observation: optimistic, so new models get tried. */
export const UNKNOWN_HEALTH: ModelHealth = {
  successRate: 1,
  latencyMs: null,
  attempts: 0,
  consecutiveFailures: 0,
  lastError: null,
  lastAttemptAt: 0,
};

/** Health after one attempt. `transient` failures count toward the breaker. */
export function observe(
  health: ModelHealth | undefined,
  outcome: { ok: true; latencyMs: number } | {
    ok: false;
    error: string;
    transient: boolean;
  },
  now: number,
): ModelHealth {
  const h = health ?? UNKNOWN_HEALTH;
  const success = outcome.ok ? 1 : 0;
  const successRate = h.attempts === 0
    ? success
    : h.successRate + EWMA_ALPHA * (success - h.successRate);
  if (outcome.ok) {
    return {
      successRate,
      latencyMs: h.latencyMs === null
        ? outcome.latencyMs
        : h.latencyMs + EWMA_ALPHA * (outcome.latencyMs - h.latencyMs),
      attempts: h.attempts + 1,
      consecutiveFailures: 0,
      lastError: h.lastError,
      lastAttemptAt: now,
    };
  }
  return {
    successRate,
    latencyMs: h.latencyMs,
    attempts: h.attempts + 1,
    consecutiveFailures: outcome.transient
      ? h.consecutiveFailures + 1
      : h.consecutiveFailures,
    lastError: outcome.error,
    lastAttemptAt: now,
  };
}

/** Consecutive transient failures that open the circuit breaker. */
export const BREAKER_THRESHOLD = 3;

/**
 * A model's adaptive score: its success rate, less a latency penalty of 0.1
 * per 6 s of typical latency. Higher is better.
 */
export function healthScore(health: ModelHealth | undefined): number {
  const h = health ?? UNKNOWN_HEALTH;
  return h.successRate - (h.latencyMs ?? 0) / 60_000;
}

/**
 * The pool reordered by health score, best first; equal scores keep the pool
 * order. Models never tried score as healthy, so they keep getting a chance.
 */
export function adaptiveOrder<T extends { id: string }>(
  pool: readonly T[],
  health: ReadonlyMap<string, ModelHealth>,
): T[] {
  return pool
    .map((model, index) => ({
      model,
      index,
      score: healthScore(health.get(model.id)),
    }))
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .map((entry) => entry.model);
}
