/**
 * The account's free-tier counter of the fake OpenRouter, off unless asked
 * for: OpenRouter counts every request to a free model against the account's
 * limits (20 a minute; 50 a day, 1,000 with 10 credits bought), failed ones
 * included, and refuses the requests past a limit with its platform 429s
 * (bodies A/B and C of rate_limits.ts) until the window resets at the next UTC
 * minute or 00:00 UTC (https://openrouter.ai/docs/api-reference/limits).
 * A request refused for the day still counts in the day's total, which can
 * pass the limit: `GET /key` has been seen to report
 * `{"used":60,"limit":50,"remaining":0}` in `free_model_daily_requests`.
 *
 * @module
 */
import { nextMinuteMs, nextUtcMidnightMs } from "./common.ts";
import { dailyCap, minuteCap } from "./rate_limits.ts";
import type { ResponseStep } from "./steps.ts";

/** Options of the fake's free-tier counter (`freeTier` of the fake's options). */
export interface FreeTierOptions {
  /** Free-model requests per UTC minute; default unlimited. */
  perMinute?: number;
  /** Free-model requests per UTC day; default unlimited. 1,000 and up refuse with body B. */
  perDay?: number;
  /** Requests already counted today when the fake starts; default 0. */
  usedToday?: number;
  /** The clock the windows are read from; default `Date.now`. */
  now?: () => number;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** Counts free-model requests in UTC minute and day windows, and refuses past the limits. */
export class FreeTier {
  readonly #options: FreeTierOptions;
  #minute = -1;
  #minuteCount = 0;
  #day: number;
  #dayCount: number;
  #refused = 0;

  constructor(options: FreeTierOptions) {
    this.#options = options;
    this.#day = Math.floor(this.#now() / DAY_MS);
    this.#dayCount = options.usedToday ?? 0;
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  #roll(now: number): void {
    const minute = Math.floor(now / MINUTE_MS);
    if (minute !== this.#minute) {
      this.#minute = minute;
      this.#minuteCount = 0;
    }
    const day = Math.floor(now / DAY_MS);
    if (day !== this.#day) {
      this.#day = day;
      this.#dayCount = 0;
    }
  }

  /**
   * Counts one request to a free model, or answers the 429 OpenRouter gives
   * when a limit is spent (the daily one first): `undefined` when counted.
   */
  take(): ResponseStep | undefined {
    const now = this.#now();
    this.#roll(now);
    const { perMinute, perDay } = this.#options;
    if (perDay !== undefined && this.#dayCount >= perDay) {
      this.#refused++;
      this.#dayCount++;
      return dailyCap({
        limit: perDay,
        highBalance: perDay >= 1000,
        withLimitSource: true,
        resetMs: nextUtcMidnightMs(now),
      });
    }
    if (perMinute !== undefined && this.#minuteCount >= perMinute) {
      this.#refused++;
      return minuteCap({ limit: perMinute, resetMs: nextMinuteMs(now) });
    }
    this.#minuteCount++;
    this.#dayCount++;
    return undefined;
  }

  /** Requests counted today (what `/key`'s `used` says). */
  usedToday(): number {
    this.#roll(this.#now());
    return this.#dayCount;
  }

  /** Requests refused by a spent limit so far. */
  get refused(): number {
    return this.#refused;
  }

  /** `GET /key`'s `free_model_daily_requests` for today (when a daily limit is set). */
  report(): Record<string, number> | undefined {
    const limit = this.#options.perDay;
    if (limit === undefined) return undefined;
    const used = this.usedToday();
    return { used, limit, remaining: Math.max(0, limit - used) };
  }
}
