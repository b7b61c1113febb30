/**
 * The quota parts of the read-only routes: the account's quota in `/health`
 * and `/v1/freerouter/status`, each client's usage in the status, and both
 * as gauges in `/metrics`.
 *
 * @module
 */
import type { QuotaView } from "../core/quota.ts";
import type { GaugeSample } from "../ops/metrics.ts";
import {
  clientGauges,
  clientsReport,
  quotaGauges,
  quotaReport,
} from "../ops/quota_report.ts";
import type { HandlerContext } from "./context.ts";

/** `/health`'s `quota`: the server key's account (null with bring-your-own-key), from its view at `now`. */
export function healthQuota(
  ctx: HandlerContext,
  now: number,
  view: QuotaView | undefined,
): Record<string, unknown> | null {
  const account = ctx.serverAccount();
  if (account === undefined) return null;
  const q = quotaReport(ctx.resolved.state, account, now, view);
  return {
    used_today: q.used_today,
    daily_limit: q.daily_limit,
    remaining_today: q.remaining_today,
    exhausted: q.exhausted,
    resets_at: q.resets_at,
    resets_in_seconds: q.resets_in_seconds,
    projection: q.projection,
  };
}

/** How long the status waits for a `/key` read under way. */
const READ_WAIT_MS = 1_000;

/** Waits (briefly) for a `/key` read under way: one at start or after a 429 shows at once. */
async function quotaRead(ctx: HandlerContext): Promise<void> {
  if (!ctx.quotaSettled) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    ctx.quotaSettled(),
    new Promise((resolve) => (timer = setTimeout(resolve, READ_WAIT_MS))),
  ]);
  clearTimeout(timer);
}

/** The status report's `quota` (of the request's account) and `clients`. */
export async function statusQuota(
  ctx: HandlerContext,
  account: string | undefined,
): Promise<
  { quota: Record<string, unknown>; clients: unknown[]; cache: unknown }
> {
  await quotaRead(ctx);
  const { state, now } = ctx.resolved;
  const t = now();
  const { clients, cache } = ctx;
  return {
    quota: quotaReport(state, account, t),
    clients: clients
      ? clientsReport(clients.clients, await clients.usage(t))
      : [],
    cache: cache
      ? { ttl_seconds: cache.ttlMs / 1000, waiting: cache.waiting }
      : null,
  };
}

/** The quota and client gauges. */
export async function quotaMetrics(
  ctx: HandlerContext,
): Promise<GaugeSample[]> {
  const { state, now } = ctx.resolved;
  const t = now();
  const gauges = quotaGauges(state, ctx.serverAccount(), t);
  const clients = ctx.clients;
  if (clients) {
    gauges.push(...clientGauges(clients.clients, await clients.usage(t)));
  }
  if (ctx.cache) {
    gauges.push({
      name: "freerouter_cache_waiting",
      help: "Requests waiting for an identical request in flight.",
      values: [{ value: ctx.cache.waiting }],
    });
  }
  return gauges;
}
