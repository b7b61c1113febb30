/**
 * Reports read off the routing state: the JSON behind
 * `GET /v1/freerouter/status` (every pool model's state, quality score and
 * rank, the account's state as counted here, the limiter queue, the aliases
 * with the models each routes over), `GET /health`, and the gauges of
 * `GET /metrics`.
 *
 * @module
 */
import { learnedAt } from "../core/account_limit.ts";
import { aliasOrders, poolFor, type PoolForInput } from "../core/aliases.ts";
import {
  type Outage,
  outageHoldsPool,
  outageOrderEnds,
  outagePausedUntil,
} from "../core/outage.ts";
import { isCoolingDown } from "../core/cooldown.ts";
import { qualityScores } from "../core/quality.ts";
import type { QuotaView } from "../core/quota.ts";
import { trusted, usedThisMinute } from "../core/model_budget.ts";
import type { GaugeSample } from "./metrics.ts";
import { accountQuota, reportedBlock } from "./quota_report.ts";
import type { ResolvedRouterOptions } from "../options.ts";
import type { RoutingState } from "../state/state.ts";

const iso = (
  ms: number | undefined | null,
) => (ms ? new Date(ms).toISOString() : null);

/** Builds the status report from the routing state. */
export function statusReport(
  options: ResolvedRouterOptions,
  accountId: string | undefined,
  outage?: Outage,
): Record<string, unknown> {
  const { state, now, strategy, rpm: configuredRpm } = options;
  const t = now();
  const snapshot = state.catalog.at(t);
  const account = accountId === undefined
    ? undefined
    : state.accounts.get(accountId);
  const counts = state.counts.at(accountId ?? "", t);
  const learned = learnedAt(account?.learned ?? {}, t);
  const block = accountId === undefined
    ? undefined
    : reportedBlock(state, accountId, t);
  const stored = snapshot?.pool ?? [];
  const ranking: PoolForInput = {
    strategy,
    aliases: options.aliases,
    health: state.health,
    version: state.healthVersion,
    now: t,
  };
  const auto = poolFor(stored, "auto", ranking);
  const rank = new Map(
    (auto.ok ? auto.pool : []).map((m, i) => [m.id, i + 1]),
  );
  const quality = qualityScores(stored, "intelligence");
  const pool = stored.map((model) => {
    const cooldown = state.cooldowns.get(model.id);
    const cooling = cooldown !== undefined && cooldown.until > t;
    const health = state.health.get(model.id);
    const score = quality.get(model.id);
    const budget = trusted(state.budgets.get(model.id), t);
    return {
      id: model.id,
      rank: rank.get(model.id) ?? null,
      quality_score: score ? Math.round(score.score * 10) / 10 : null,
      quality_source: score?.source ?? null,
      intelligence_index: model.intelligence_index ?? null,
      coding_index: model.coding_index ?? null,
      agentic_index: model.agentic_index ?? null,
      context_length: model.context_length,
      state: cooling ? "cooling_down" : "ready",
      cooldown_until: cooling ? iso(cooldown.until) : null,
      cooldown_reason: cooling ? cooldown.reason : null,
      cooldown_kind: cooling ? cooldown.kind ?? "rate_limit" : null,
      lacks: [...(state.gaps.get(model.id) ?? [])],
      // The per-minute limit a limit_rpm 429 stated, while trusted.
      rpm_limit: budget?.limit ?? null,
      requests_this_minute: budget ? usedThisMinute(budget, t) : null,
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
      outage: outage === undefined ? null : outageView(outage, t),
    },
    limiter: { waiting: state.waiting },
    pool,
    aliases: aliasOrders(stored, ranking),
  };
}

/**
 * An outage as the status report shows it: its rounds, the models that
 * failed, until when they get no attempt (`null` once the pause is over)
 * and until when they go after the others.
 */
function outageView(outage: Outage, now: number): Record<string, unknown> {
  return {
    rounds: outage.rounds,
    models: [...outage.models].sort(),
    paused_until: iso(outagePausedUntil(outage, now)),
    after_others_until: iso(outageOrderEnds(outage)),
    last_round_at: iso(outage.at),
  };
}

/**
 * The JSON behind `GET /health`; `serverAccount` is the server key's account,
 * if any: `limited` while it is blocked, or its day's quota is spent (by a
 * 429, `/key` or the proxy's own count); `degraded` without a free model
 * list, or while the pause of an outage of that account (`outage`) leaves a
 * request no model to try. `quota` is that account's view at `now`, when
 * already computed.
 */
export function healthReport(
  state: RoutingState,
  now: number,
  serverAccount: string | undefined,
  quota: QuotaView | undefined = serverAccount === undefined
    ? undefined
    : accountQuota(state, serverAccount, now),
  outage?: Outage,
): Record<string, unknown> {
  const snapshot = state.catalog.at(now);
  const blocked = serverAccount === undefined
    ? undefined
    : reportedBlock(state, serverAccount, now, quota)?.until;
  const held = outage !== undefined && snapshot !== undefined &&
    outageHoldsPool(
      outage,
      snapshot.pool.map((m) => m.id),
      (id) => isCoolingDown(state.cooldowns.get(id), now),
      now,
    );
  return {
    status: blocked !== undefined
      ? "limited"
      : snapshot && snapshot.pool.length > 0 && !held
      ? "ok"
      : "degraded",
    pool_size: snapshot?.pool.length ?? 0,
    catalog_age_seconds: snapshot
      ? Math.round((now - snapshot.fetchedAt) / 1000)
      : null,
    account_blocked_until: blocked !== undefined
      ? new Date(blocked).toISOString()
      : null,
    outage_paused_until: iso(outagePausedUntil(outage, now)),
  };
}

/**
 * The gauges of `GET /metrics`, sampled from the state at `now`; `paused` is
 * how many accounts an outage's pause holds.
 */
export function stateGauges(
  state: RoutingState,
  now: number,
  paused = 0,
): GaugeSample[] {
  let cooling = 0;
  for (const entry of state.cooldowns.values()) {
    if (entry.until > now) cooling++;
  }
  let blocked = 0;
  let minuteCount = 0;
  let dayCount = 0;
  for (const [id, account] of state.accounts) {
    if (account.block && account.block.until > now) blocked++;
    const counts = state.counts.at(id, now);
    minuteCount += counts.minuteCount;
    dayCount += counts.dayCount;
  }
  return [
    {
      name: "freerouter_pool_size",
      help: "Routable free models.",
      values: [{ value: state.catalog.at(now)?.pool.length ?? 0 }],
    },
    {
      name: "freerouter_cooldowns_active",
      help: "Models cooling down.",
      values: [{ value: cooling }],
    },
    {
      name: "freerouter_account_blocked",
      help: "Accounts held by a free-tier cap (1 with a server key).",
      values: [{ value: blocked }],
    },
    {
      name: "freerouter_account_outage_paused",
      help:
        "Accounts whose free models all failed lately, in the pause when a request left with only them gets a 502 without an attempt (1 with a server key).",
      values: [{ value: paused }],
    },
    {
      name: "freerouter_account_attempts",
      help: "Upstream attempts counted in the current window.",
      values: [{ labels: { window: "minute" }, value: minuteCount }, {
        labels: { window: "day" },
        value: dayCount,
      }],
    },
    {
      name: "freerouter_limiter_waiting",
      help: "Requests waiting for room under the account limits.",
      values: [{ value: state.waiting }],
    },
  ];
}
