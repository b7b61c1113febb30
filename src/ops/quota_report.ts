/**
 * The quota as the reports show it: the account's free-model requests today
 * (used, limit, remaining), the reset at the next 00:00 UTC as a countdown,
 * the projection at the last hour's rate, and what `GET /key` last said; and
 * each client key's usage (by name, never the key). For `GET /health`,
 * `GET /v1/freerouter/status`, the status page and `GET /metrics`.
 *
 * @module
 */
import { type AccountBlock, learnedAt } from "../core/account_limit.ts";
import type { ClientKey } from "../core/client_keys.ts";
import { type QuotaView, quotaView } from "../core/quota.ts";
import type { ClientUsageView } from "../state/client_usage.ts";
import type { RoutingState } from "../state/state.ts";
import type { GaugeSample } from "./metrics.ts";

const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();
const seconds = (ms: number) => Math.max(0, Math.round(ms / 1000));

/** An account's quota view at `now`. */
export function accountQuota(
  state: RoutingState,
  accountId: string | undefined,
  now: number,
): QuotaView {
  const id = accountId ?? "";
  const account = state.accounts.get(id);
  const block = account?.block;
  return quotaView({
    used: state.counts.at(id, now).dayCount,
    limit: learnedAt(account?.learned ?? {}, now).rpd,
    blocked: block !== undefined && block.scope === "day" && block.until > now,
    samples: state.quota.samples(id),
    now,
  });
}

/**
 * An account's block at `now` as the reports show it: the one it holds, or,
 * when its day is spent by freerouter's own count (no 429 said so), a day
 * block until the reset, for the limiter refuses every request all the same.
 * `view`: the account's quota view at `now`, when already computed.
 */
export function reportedBlock(
  state: RoutingState,
  accountId: string,
  now: number,
  view?: QuotaView,
): AccountBlock | undefined {
  const held = state.accounts.get(accountId)?.block;
  if (held !== undefined && held.until > now) return held;
  const q = view ?? accountQuota(state, accountId, now);
  return q.exhausted
    ? {
      scope: "day",
      until: q.resetsAt,
      reason:
        "the day's free-model requests are spent (freerouter's own count)",
    }
    : undefined;
}

/** The `quota` object of the status report and `/health` (`q`: the account's view at `now`, when already computed). */
export function quotaReport(
  state: RoutingState,
  accountId: string | undefined,
  now: number,
  q: QuotaView = accountQuota(state, accountId, now),
): Record<string, unknown> {
  const key = accountId === undefined ? undefined : state.quota.key(accountId);
  const report = key?.report;
  const block = accountId === undefined
    ? undefined
    : state.accounts.get(accountId)?.block;
  const daily = report?.freeDaily;
  return {
    used_today: q.used,
    daily_limit: q.limit,
    remaining_today: q.remaining,
    limit_source: q.limit === null
      ? null
      : daily && daily.limit === q.limit
      ? "key"
      : "rate_limit",
    exhausted: q.exhausted,
    blocked_by: block && block.scope === "day" && block.until > now
      ? block.source === "key" ? "key" : "rate_limit"
      : null,
    resets_at: iso(q.resetsAt),
    resets_in_seconds: seconds(q.resetsAt - now),
    projection: {
      rate_per_hour: q.ratePerHour,
      runs_out_at: iso(q.runsOutAt),
      runs_out_in_seconds: q.runsOutAt === null
        ? null
        : seconds(q.runsOutAt - now),
      lasts_until_reset: q.lastsUntilReset,
    },
    key: {
      checked_at: iso(key?.checkedAt),
      error: key?.error ?? null,
      failed_at: iso(key?.failedAt),
      is_free_tier: report?.isFreeTier ?? null,
      limit: report?.limit ?? null,
      limit_remaining: report?.limitRemaining ?? null,
      usage: report?.usage ?? null,
      usage_daily: report?.usageDaily ?? null,
      free_model_daily_requests: daily ?? null,
    },
  };
}

/** The `clients` list of the status report: each client's usage and limits. */
export function clientsReport(
  clients: readonly ClientKey[],
  usage: ReadonlyMap<string, ClientUsageView>,
): Array<Record<string, unknown>> {
  return clients.map((c) => {
    const u = usage.get(c.name);
    return {
      name: c.name,
      requests_today: u?.today ?? 0,
      requests_this_minute: u?.thisMinute ?? 0,
      last_request_at: iso(u?.last),
      requests_per_day: c.requestsPerDay ?? null,
      requests_per_minute: c.requestsPerMinute ?? null,
      models: c.models ?? null,
    };
  });
}

/** The quota gauges of `GET /metrics` (the server key's account). */
export function quotaGauges(
  state: RoutingState,
  accountId: string | undefined,
  now: number,
): GaugeSample[] {
  if (accountId === undefined) return [];
  const q = accountQuota(state, accountId, now);
  const gauges: GaugeSample[] = [
    {
      name: "freerouter_quota_used_today",
      help:
        "Free-model requests counted today (UTC) for the server key's account.",
      values: [{ value: q.used }],
    },
    {
      name: "freerouter_quota_reset_seconds",
      help: "Seconds until the daily free-model quota resets (00:00 UTC).",
      values: [{ value: seconds(q.resetsAt - now) }],
    },
  ];
  if (q.limit !== null) {
    gauges.push({
      name: "freerouter_quota_daily_limit",
      help: "The account's daily free-model request limit.",
      values: [{ value: q.limit }],
    });
  }
  if (q.remaining !== null) {
    gauges.push({
      name: "freerouter_quota_remaining_today",
      help: "Free-model requests left today.",
      values: [{ value: q.remaining }],
    });
  }
  if (q.ratePerHour !== null) {
    gauges.push({
      name: "freerouter_quota_rate_per_hour",
      help: "Free-model requests in the last hour, per hour.",
      values: [{ value: q.ratePerHour }],
    });
  }
  if (q.runsOutAt !== null) {
    gauges.push({
      name: "freerouter_quota_runs_out_seconds",
      help:
        "Seconds until the day's quota runs out at the last hour's rate (absent when it lasts until the reset).",
      values: [{ value: seconds(q.runsOutAt - now) }],
    });
  }
  return gauges;
}

/** Each client's usage as gauges, labelled by its name. */
export function clientGauges(
  clients: readonly ClientKey[],
  usage: ReadonlyMap<string, ClientUsageView>,
): GaugeSample[] {
  if (clients.length === 0) return [];
  const requests: GaugeSample["values"] = [];
  const last: GaugeSample["values"] = [];
  for (const c of clients) {
    const u = usage.get(c.name);
    requests.push(
      { labels: { client: c.name, window: "day" }, value: u?.today ?? 0 },
      {
        labels: { client: c.name, window: "minute" },
        value: u?.thisMinute ?? 0,
      },
    );
    last.push({
      labels: { client: c.name },
      value: u?.last ? Math.floor(u.last / 1000) : 0,
    });
  }
  return [
    {
      name: "freerouter_client_requests",
      help: "Requests each client key made in the current UTC day and minute.",
      values: requests,
    },
    {
      name: "freerouter_client_last_request_timestamp_seconds",
      help: "When each client key last made a request (0: never).",
      values: last,
    },
  ];
}
