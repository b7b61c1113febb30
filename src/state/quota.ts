/**
 * A `GET /key` report applied to an account's state: its
 * `free_model_daily_requests` sets the daily limit (until the next 00:00 UTC)
 * and raises today's count to what OpenRouter counted (lowered only when an
 * earlier report of the day was stale, and never below freerouter's own
 * attempts: see `withKeyUsed`). When nothing remains, the account is blocked
 * until the reset (a block a later report with room lifts); a block learned
 * from a daily-cap 429 is never lifted by a report.
 *
 * @module
 */
import type { KeyReport } from "../core/key_report.ts";
import { nextUtcMidnight } from "../core/quota.ts";
import type { RoutingState } from "./state.ts";

/** The reason of a block set because `/key` reported nothing remaining. */
export const KEY_BLOCK_REASON =
  "OpenRouter's GET /key reports no free-model requests remaining today";

/** Applies a `/key` report to an account (in memory, and in KV when attached). */
export async function applyKeyReport(
  state: RoutingState,
  id: string,
  report: KeyReport,
  now: number,
): Promise<void> {
  state.quota.noteKey(id, report, now);
  const daily = report.freeDaily;
  if (daily === undefined) return;
  const account = state.account(id);
  const reset = nextUtcMidnight(now);
  account.learned = { ...account.learned, rpd: daily.limit, rpdUntil: reset };
  const counts = await state.counts.applyKeyUsed(id, daily.used, now);
  state.quota.sample(id, counts.dayCount, now);
  const held = account.block && account.block.until > now
    ? account.block
    : undefined;
  if (daily.remaining <= 0) {
    if (!held || held.until < reset) {
      account.block = {
        scope: "day",
        until: reset,
        reason: KEY_BLOCK_REASON,
        source: "key",
      };
    }
  } else if (held?.source === "key") {
    account.block = undefined; // the report that blocked it was superseded
  }
  await state.saveAccount(id, now);
}
