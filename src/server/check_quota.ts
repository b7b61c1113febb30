/**
 * The quota lines of `freerouter check`: the reset as a countdown, and the
 * projection at the last hour's rate, read from the history a running proxy
 * keeps in its KV store (FREEROUTER_KV_PATH; nothing is created when it does
 * not exist).
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
import { accountIdOf } from "../state/account_id.ts";
import { loadSamples } from "../state/quota_book.ts";

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 16);

/** The day's samples of the key's account in the KV file at `kvPath`, if it exists. */
async function storedSamples(
  kvPath: string,
  apiKey: string,
): Promise<UsageSample[]> {
  if (kvPath === ":memory:" || /^https?:\/\//.test(kvPath)) return [];
  try {
    await Deno.stat(kvPath);
  } catch {
    return [];
  }
  try {
    using kv = await Deno.openKv(kvPath);
    return await loadSamples(kv, await accountIdOf(apiKey));
  } catch {
    return [];
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
  const samples = daily
    ? addSample(await storedSamples(kvPath, apiKey), {
      t: now,
      used: daily.used,
    })
    : [];
  const q = quotaView({
    used: daily?.used ?? 0,
    limit: daily?.limit,
    blocked: daily !== undefined && daily.remaining <= 0,
    samples,
    now,
  });
  const lines = [
    `Resets in:         ${formatDuration(q.resetsAt - now)} (00:00 UTC)`,
  ];
  if (!daily) return lines;
  let projection: string;
  if (q.exhausted) projection = "none left until the reset";
  else if (q.ratePerHour === null) {
    projection =
      "not enough history yet (a running freerouter records it in FREEROUTER_KV_PATH)";
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
