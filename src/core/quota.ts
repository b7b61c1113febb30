/**
 * The account's free-model quota for the UTC day as people want to see it:
 * used and remaining, the reset (the next 00:00 UTC), and a projection of when
 * the day's quota runs out at the rate of the last hour. The rate comes from
 * samples of the day's count taken as it grows. Pure.
 *
 * @module
 */
import { DAY_MS } from "./account_limit.ts";

/** The day's count at an instant. */
export interface UsageSample {
  /** Epoch ms. */
  t: number;
  /** Requests counted that UTC day by then. */
  used: number;
}

/** Samples are kept at least this far apart (the newest one moves). */
export const SAMPLE_SPACING_MS = 60_000;
/** The rate is the last hour's. */
export const RATE_WINDOW_MS = 3_600_000;
/** Less history than this gives no rate. */
export const MIN_RATE_SPAN_MS = 60_000;

/** Epoch ms of the next 00:00 UTC after `now`: when the daily quota resets. */
export function nextUtcMidnight(now: number): number {
  return (Math.floor(now / DAY_MS) + 1) * DAY_MS;
}

/** The UTC day of an instant (days since the epoch). */
export const dayOf = (t: number): number => Math.floor(t / DAY_MS);

/**
 * The samples after one more: other days' samples dropped (the count starts
 * again at midnight), samples older than the window dropped except the
 * newest of them (the base of the rate), samples above the new one dropped
 * (they counted a stale `/key` report), and a sample closer than
 * {@link SAMPLE_SPACING_MS} to the previous one replacing it (the first one
 * stays). At most about 62 samples are kept.
 */
export function addSample(
  samples: readonly UsageSample[],
  sample: UsageSample,
): UsageSample[] {
  const day = dayOf(sample.t);
  const start = sample.t - RATE_WINDOW_MS;
  const kept = samples.filter((s) => dayOf(s.t) === day && s.t <= sample.t);
  // The newest sample before the window stays as the base of the rate.
  let firstInside = kept.findIndex((s) => s.t >= start);
  if (firstInside === -1) firstInside = kept.length;
  let out = kept.slice(Math.max(0, firstInside - 1));
  // The day's count falls only when a stale /key report is set right
  // (`withKeyUsed`): the samples that counted it go.
  if (out.some((s) => s.used > sample.used)) {
    out = out.filter((s) => s.used <= sample.used);
  }
  // The newest sample moves while it is closer than the spacing to the one
  // before it (and the new one to it); then it stays and the new one is
  // pushed. Comparing the new sample with the newest alone would move the
  // newest for ever under steady traffic, and keep no sample in between.
  const last = out.at(-1);
  const before = out.at(-2);
  if (
    last !== undefined && before !== undefined &&
    sample.t - last.t < SAMPLE_SPACING_MS &&
    last.t - before.t < SAMPLE_SPACING_MS
  ) {
    out[out.length - 1] = sample;
  } else out.push(sample);
  return out;
}

/** Two sample lists as one (e.g. this instance's and another's from KV). */
export function mergeSamples(
  a: readonly UsageSample[],
  b: readonly UsageSample[],
): UsageSample[] {
  const all = [...a, ...b].sort((x, y) => x.t - y.t || x.used - y.used);
  let merged: UsageSample[] = [];
  for (const s of all) merged = addSample(merged, s);
  return merged;
}

/** Requests per ms at the last hour's rate, or `undefined` without enough history. */
export function hourlyRate(
  samples: readonly UsageSample[],
  used: number,
  now: number,
): number | undefined {
  const day = dayOf(now);
  const start = now - RATE_WINDOW_MS;
  const ofToday = samples.filter((s) => dayOf(s.t) === day && s.t <= now);
  if (ofToday.length === 0) return undefined;
  // The newest sample at or before the window's start stands for the count
  // at the start (it can only be lower: the rate errs on the high side).
  let base = ofToday[0]!;
  let baseT = base.t;
  for (const s of ofToday) {
    if (s.t <= start) {
      base = s;
      baseT = start;
    }
  }
  const span = now - baseT;
  if (span < MIN_RATE_SPAN_MS) return undefined;
  return Math.max(0, used - base.used) / span;
}

/** The quota as shown. */
export interface QuotaView {
  /** Requests counted today. */
  used: number;
  /** The day's limit, when known (from `/key` or a daily-cap 429). */
  limit: number | null;
  /** What is left today, when the limit is known or a daily block holds (0). */
  remaining: number | null;
  /** Epoch ms of the reset: the next 00:00 UTC. */
  resetsAt: number;
  /** Nothing left today. */
  exhausted: boolean;
  /** Requests per hour at the last hour's rate, `null` without enough history. */
  ratePerHour: number | null;
  /** Epoch ms when the quota runs out at that rate, `null` when it lasts or is unknown. */
  runsOutAt: number | null;
  /** Whether the quota lasts until the reset at that rate (`null`: unknown). */
  lastsUntilReset: boolean | null;
}

/** What the view is computed from. */
export interface QuotaInput {
  used: number;
  limit: number | undefined;
  /** A daily block holds (the cap was hit, or `/key` said nothing remains). */
  blocked: boolean;
  samples: readonly UsageSample[];
  now: number;
}

/** Used, remaining, the reset and the projection at `now`. */
export function quotaView(input: QuotaInput): QuotaView {
  const { used, limit, blocked, samples, now } = input;
  const resetsAt = nextUtcMidnight(now);
  const remaining = blocked
    ? 0
    : limit === undefined
    ? null
    : Math.max(0, limit - used);
  const exhausted = remaining === 0;
  const rate = hourlyRate(samples, used, now);
  let runsOutAt: number | null = null;
  let lastsUntilReset: boolean | null = null;
  if (exhausted) lastsUntilReset = false;
  else if (remaining !== null && rate !== undefined) {
    const at = rate > 0 ? now + Math.ceil(remaining / rate) : Infinity;
    if (at >= resetsAt) lastsUntilReset = true;
    else {
      lastsUntilReset = false;
      runsOutAt = at;
    }
  }
  return {
    used,
    limit: limit ?? null,
    remaining,
    resetsAt,
    exhausted,
    ratePerHour: rate === undefined
      ? null
      : Math.round(rate * RATE_WINDOW_MS * 10) / 10,
    runsOutAt,
    lastsUntilReset,
  };
}

/** `3 h 12 min`, `4 min`, `42 s`: a duration for people. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
}
