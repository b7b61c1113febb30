/**
 * The quota lines of `freerouter check`: the reset as a countdown, and the
 * projection at the last hour's rate, read from the history a running proxy
 * keeps in its KV store (FREEROUTER_KV_PATH; nothing is created when it does
 * not exist), with what the proxy knows that `/key` may not yet: today's
 * count, and a daily-cap block from a 429.
 *
 * @module
 */
import { parseKeyReport } from "../core/key_report.ts";
import {
  addSample,
  formatDuration,
  quotaView,
  type UsageSample,
} from "../core/quota.ts";
import { currentCounts } from "../core/account_limit.ts";
import { accountIdOf } from "../state/account_id.ts";
import { KvStateStore } from "../state/kv_store.ts";
import { loadSamples } from "../state/quota_book.ts";
import { isKvConnectUrl } from "./config.ts";

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 16);

/** What a running proxy stored of the key's account today. */
interface StoredAccount {
  /** The day's usage samples. */
  samples: UsageSample[];
  /** Attempts the proxy counted today. */
  counted: number;
  /** The reset of a daily-cap block learned from a 429, if one holds. */
  blockedUntil?: number;
}

const NOTHING: StoredAccount = { samples: [], counted: 0 };

/** The key's account as stored in the KV file at `kvPath`, if it exists. */
async function storedAccount(
  kvPath: string,
  apiKey: string,
  now: number,
): Promise<StoredAccount> {
  if (kvPath === ":memory:" || isKvConnectUrl(kvPath)) return NOTHING;
  try {
    await Deno.stat(kvPath);
  } catch {
    return NOTHING;
  }
  try {
    using kv = await Deno.openKv(kvPath);
    const id = await accountIdOf(apiKey);
    const store = new KvStateStore(kv);
    const block = await store.readBlock(id, now);
    return {
      samples: await loadSamples(kv, id),
      counted: currentCounts(await store.readCounts(id), now).dayCount,
      // A block set from /key is /key's own word: the /key just read is newer.
      blockedUntil: block?.scope === "day" && block.source !== "key"
        ? block.until
        : undefined,
    };
  } catch {
    return NOTHING;
  }
}

/** `Resets in:` and `Projection:` for a `GET /key` body, at `now`. */
export async function quotaLines(
  body: unknown,
  apiKey: string,
  kvPath: string,
  now: number,
): Promise<string[]> {
  const daily = parseKeyReport(body)?.freeDaily;
  const stored = await storedAccount(kvPath, apiKey, now);
  // /key's counters lag: what the proxy counted or was told by a 429 wins.
  const used = Math.max(daily?.used ?? 0, stored.counted);
  const samples = daily ? addSample(stored.samples, { t: now, used }) : [];
  const q = quotaView({
    used,
    limit: daily?.limit,
    blocked: (daily !== undefined && daily.remaining <= 0) ||
      stored.blockedUntil !== undefined,
    samples,
    now,
  });
  const lines = [
    `Resets in:         ${formatDuration(q.resetsAt - now)} (00:00 UTC)`,
  ];
  if (stored.blockedUntil !== undefined) {
    lines.push(
      `Blocked:           until ${
        clock(stored.blockedUntil)
      } UTC by a daily-cap 429 the proxy saw (it holds whatever /key says)`,
    );
  }
  if (daily !== undefined && stored.counted > daily.used) {
    // What is left by the proxy's count, which the line above (/key's) lags.
    lines.push(
      `Counted:           ${stored.counted} requests today by the proxy (/key's count lags), ${
        Math.max(0, daily.limit - stored.counted)
      } left`,
    );
  }
  if (!daily) return lines;
  let projection: string;
  if (q.exhausted) projection = "none left until the reset";
  else if (q.ratePerHour === null) {
    projection =
      "not enough history yet (freerouter records it in FREEROUTER_KV_PATH as it routes)";
  } else {
    const rate = `${q.ratePerHour} requests/hour over the last hour`;
    projection = q.runsOutAt !== null
      ? `${rate}: runs out at ${clock(q.runsOutAt)} UTC (in ${
        formatDuration(q.runsOutAt - now)
      })`
      : `${rate}: lasts until the reset`;
  }
  lines.push(`Projection:        ${projection}`);
  return lines;
}
