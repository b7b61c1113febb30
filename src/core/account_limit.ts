/**
 * Account-wide free-tier limits: OpenRouter counts every free-model request of
 * an account (about 20 a minute, 50 or 1000 a day), whichever model it goes
 * to. freerouter counts its own attempts in UTC minute and day windows and
 * holds account blocks learned from 429s. The rules here are pure.
 *
 * @module
 */

/** An account-wide block: no free-model request may go upstream until `until`. */
export interface AccountBlock {
  /** Which cap: the daily or the per-minute one. */
  scope: "day" | "minute";
  /** Epoch ms of the reset. */
  until: number;
  /** Why, e.g. `free-models-per-day`. */
  reason: string;
  /**
   * `key` when OpenRouter's `GET /key` said nothing remains today: a later
   * `/key` that reports room lifts it. A block learned from a 429 has no
   * source and holds until its reset whatever `/key` says (its counters lag).
   */
  source?: "key";
}

/** Attempt counts in the current windows. */
export interface WindowCounts {
  /** `floor(epochMs / 60 000)` of the minute window. */
  minute: number;
  /** Attempts counted in that minute. */
  minuteCount: number;
  /** `floor(epochMs / 86 400 000)`: the UTC day. */
  day: number;
  /**
   * Requests counted that day: freerouter's attempts, raised to what
   * OpenRouter's `GET /key` reported when that is more (see
   * {@link withKeyUsed}).
   */
  dayCount: number;
  /** The day's last `GET /key` count applied, if any. */
  keyUsed?: number;
  /** Epoch ms of that report (a report older than it is not applied). */
  keyAt?: number;
  /** How much of `dayCount` only `/key` reported (not freerouter's attempts); 0 when absent. */
  keyExtra?: number;
}

/** The limits in force; 0 or `undefined` means no limit. */
export interface AccountLimits {
  /** Attempts per minute. */
  rpm: number;
  /** Attempts per UTC day (learned from `X-RateLimit-Limit`). */
  rpd: number | undefined;
}

/**
 * Limits learned from the upstream's `X-RateLimit-Limit`, each valid until an
 * instant: the daily one until the day's reset (credits bought later raise it,
 * so it is learned afresh each day), the per-minute one for an hour.
 */
export interface LearnedLimits {
  rpm?: number;
  rpmUntil?: number;
  rpd?: number;
  rpdUntil?: number;
}

/** The learned limits still valid at `now`. */
export function learnedAt(
  learned: LearnedLimits,
  now: number,
): Partial<AccountLimits> {
  return {
    rpm: learned.rpm !== undefined && (learned.rpmUntil ?? 0) > now
      ? learned.rpm
      : undefined,
    rpd: learned.rpd !== undefined && (learned.rpdUntil ?? 0) > now
      ? learned.rpd
      : undefined,
  };
}

/** How long a learned per-minute limit is trusted. */
export const LEARNED_RPM_MS = 3_600_000;

/** Milliseconds in a minute window. */
export const MINUTE_MS = 60_000;
/** Milliseconds in a UTC day. */
export const DAY_MS = 86_400_000;

/** Counts for `now`, resetting windows that have passed. */
export function currentCounts(
  counts: WindowCounts | undefined,
  now: number,
): WindowCounts {
  const minute = Math.floor(now / MINUTE_MS);
  const day = Math.floor(now / DAY_MS);
  const current: WindowCounts = {
    minute,
    minuteCount: counts?.minute === minute ? counts.minuteCount : 0,
    day,
    dayCount: counts?.day === day ? counts.dayCount : 0,
  };
  if (counts?.day === day && counts.keyUsed !== undefined) {
    current.keyUsed = counts.keyUsed;
    current.keyExtra = counts.keyExtra ?? 0;
    if (counts.keyAt !== undefined) current.keyAt = counts.keyAt;
  }
  return current;
}

/**
 * The counts once OpenRouter's `GET /key` reports `used` free-model requests
 * today. The day's count rises to `used` (OpenRouter also counts what other
 * clients of the key sent) and never falls below freerouter's own attempts.
 * A report below the last one applied today shows that one was stale (a read
 * answered across the reset, or counters that lag across it): the count then
 * falls back to the new report, or to freerouter's attempts when more. A
 * report read before the last one applied (`now`, when it was answered, is
 * earlier: another instance applied a later one first) changes nothing.
 */
export function withKeyUsed(
  counts: WindowCounts | undefined,
  used: number,
  now: number,
): WindowCounts {
  const c = currentCounts(counts, now);
  // Another instance applied a later report first: this one says less.
  if (c.keyAt !== undefined && now < c.keyAt) return c;
  const attempts = c.dayCount - (c.keyExtra ?? 0);
  const stale = c.keyUsed !== undefined && used < c.keyUsed;
  const dayCount = stale
    ? Math.max(attempts, used)
    : Math.max(c.dayCount, used);
  return {
    ...c,
    dayCount,
    keyUsed: used,
    keyExtra: dayCount - attempts,
    keyAt: now,
  };
}

/**
 * `counts` with the attempts of `extra` added, in the windows of `now` (what
 * `extra` counted in an earlier minute or day is over and adds nothing).
 */
export function addCounts(
  counts: WindowCounts | undefined,
  extra: WindowCounts | undefined,
  now: number,
): WindowCounts {
  const c = currentCounts(counts, now);
  if (extra === undefined) return c;
  const e = currentCounts(extra, now);
  return {
    ...c,
    minuteCount: c.minuteCount + e.minuteCount,
    dayCount: c.dayCount + e.dayCount,
  };
}

/** A refused slot: when the window that is full (`scope`) will have room. */
export interface SlotRefusal {
  ok: false;
  /** Epoch ms of that window's reset. */
  retryAt: number;
  /** The full window: the day's limit or the minute's. */
  scope: "day" | "minute";
}

/**
 * Whether one more attempt fits the limits at `now`: `{ ok: true, next }` with
 * the counts after it, or a {@link SlotRefusal}.
 */
export function admit(
  counts: WindowCounts | undefined,
  limits: AccountLimits,
  now: number,
): { ok: true; next: WindowCounts } | SlotRefusal {
  const c = currentCounts(counts, now);
  if (limits.rpd && c.dayCount >= limits.rpd) {
    return { ok: false, retryAt: (c.day + 1) * DAY_MS, scope: "day" };
  }
  if (limits.rpm && c.minuteCount >= limits.rpm) {
    return { ok: false, retryAt: (c.minute + 1) * MINUTE_MS, scope: "minute" };
  }
  return { ok: true, next: plusOne(c) };
}

/**
 * The earliest instant a request may take a per-minute slot (of `rpm`, 0 for
 * none) when the `ahead` calls queued before it each take one first: `now`
 * when this minute has room for them and it, else the start of the first
 * minute that does. A bound, not a promise: a call ahead may take more
 * slots (a fallback), never fewer unless it gives up its turn.
 */
export function minuteRoomAt(
  counts: WindowCounts | undefined,
  rpm: number,
  now: number,
  ahead: number,
): number {
  if (!rpm) return now;
  const c = currentCounts(counts, now);
  const free = Math.max(0, rpm - c.minuteCount);
  if (ahead < free) return now;
  return (c.minute + 1 + Math.floor((ahead - free) / rpm)) * MINUTE_MS;
}

/** `counts` with one more attempt at `now`, whatever the limits. */
export function oneMore(
  counts: WindowCounts | undefined,
  now: number,
): WindowCounts {
  return plusOne(currentCounts(counts, now));
}

function plusOne(c: WindowCounts): WindowCounts {
  return { ...c, minuteCount: c.minuteCount + 1, dayCount: c.dayCount + 1 };
}

/**
 * The block an account holds when `next` meets `current`: the one that holds
 * longer (on a tie, `current`), except that a daily-cap 429's block is never
 * given up for one set from `/key` (which a later `/key` with room would
 * lift, though OpenRouter's counters lag). The rule of one instance taking a
 * new block, and of two instances' writes meeting in the store.
 */
export function mergeBlock(
  current: AccountBlock | undefined,
  next: AccountBlock,
): AccountBlock {
  if (current === undefined) return next;
  const [longer, shorter] = current.until < next.until
    ? [next, current]
    : [current, next];
  return longer.source === "key" && shorter.source !== "key" &&
      shorter.scope === "day"
    ? shorter
    : longer;
}

/**
 * What the store keeps when an instance writes its view `mine` of an
 * account's block over `stored` (which another instance may have written
 * since this one read it). With a block of its own, {@link mergeBlock}. With
 * none, the stored block stays, unless it was set from `/key`: the instance
 * writes no block only after a `/key` report with room, which lifts those.
 */
export function storedBlock(
  stored: AccountBlock | undefined,
  mine: AccountBlock | undefined,
): AccountBlock | undefined {
  if (mine !== undefined) return mergeBlock(stored, mine);
  return stored?.source === "key" ? undefined : stored;
}

/** Two views of the learned limits, each limit from the view that trusts it longer. */
export function mergeLearned(
  a: LearnedLimits,
  b: LearnedLimits,
): LearnedLimits {
  const rpm = (a.rpmUntil ?? 0) >= (b.rpmUntil ?? 0) ? a : b;
  const rpd = (a.rpdUntil ?? 0) >= (b.rpdUntil ?? 0) ? a : b;
  const merged: LearnedLimits = {};
  if (rpm.rpm !== undefined) {
    merged.rpm = rpm.rpm;
    merged.rpmUntil = rpm.rpmUntil;
  }
  if (rpd.rpd !== undefined) {
    merged.rpd = rpd.rpd;
    merged.rpdUntil = rpd.rpdUntil;
  }
  return merged;
}
