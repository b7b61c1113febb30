/**
 * The JSON behind `GET /v1/freerouter/status`: every pool model's state, the
 * account's state as counted here, and the limiter queue.
 *
 * @module
 */
import { learnedAt } from "./account_limit.ts";
import type { ResolvedRouterOptions } from "./options.ts";

const iso = (
  ms: number | undefined | null,
) => (ms ? new Date(ms).toISOString() : null);

/** Builds the status report from the routing state. */
export function statusReport(
  options: ResolvedRouterOptions,
  accountId: string | undefined,
): Record<string, unknown> {
  const { state, now, strategy, rpm: configuredRpm } = options;
  const t = now();
  const snapshot = state.catalog.snapshot;
  const account = accountId === undefined
    ? undefined
    : state.accounts.get(accountId);
  const counts = state.countsAt(accountId ?? "", t);
  const learned = learnedAt(account?.learned ?? {}, t);
  const block = account?.block && account.block.until > t
    ? account.block
    : undefined;
  const pool = (snapshot?.pool ?? []).map((model) => {
    const cooldown = state.cooldowns.get(model.id);
    const cooling = cooldown !== undefined && cooldown.until > t;
    const health = state.health.get(model.id);
    return {
      id: model.id,
      context_length: model.context_length,
      state: cooling ? "cooling_down" : "ready",
      cooldown_until: cooling ? iso(cooldown.until) : null,
      cooldown_reason: cooling ? cooldown.reason : null,
      cooldown_kind: cooling ? cooldown.kind ?? "rate_limit" : null,
      lacks: [...(state.gaps.get(model.id) ?? [])],
      last_error: health?.lastError ?? null,
      consecutive_failures: health?.consecutiveFailures ?? 0,
      success_rate: health && health.attempts > 0
        ? Math.round(health.successRate * 1000) / 1000
        : null,
      latency_ms: health?.latencyMs != null
        ? Math.round(health.latencyMs)
        : null,
      attempts: health?.attempts ?? 0,
      last_attempt_at: iso(health?.lastAttemptAt),
    };
  });
  return {
    strategy,
    catalog: { size: pool.length, fetched_at: iso(snapshot?.fetchedAt) },
    account: {
      blocked: block !== undefined,
      blocked_until: iso(block?.until),
      block_scope: block?.scope ?? null,
      block_reason: block?.reason ?? null,
      requests_this_minute: counts.minuteCount,
      requests_today: counts.dayCount,
      rpm_limit: configuredRpm === 0
        ? null
        : Math.min(configuredRpm, learned.rpm ?? configuredRpm),
      daily_limit: learned.rpd ?? null,
    },
    limiter: { waiting: state.waiting },
    pool,
  };
}
