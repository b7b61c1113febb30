/**
 * An outage of the pool, as one account sees it: a request whose every
 * attempt, on several models, failed because the model's service is down (a
 * 5xx, a timeout, a lost connection). The per-model circuit breaker cannot
 * stop that: a pool of 27 models takes 81 failures to cool, more than a free
 * account's 50 a day, and each retry of the client's (the SDKs, Claude Code
 * and Codex all resend a 5xx) went to the same failing models. So during an
 * outage the models that failed go after the others (as if cooling), and a
 * request left with none but them gets the 502 at once, without an attempt,
 * until a pause ends: the first is short enough for a client's retry after
 * it to be worth it (its `Retry-After` says so), a second failed round in a
 * row pauses longer and tells clients to stop. Pure.
 *
 * @module
 */
import type { CooldownEntry } from "./cooldown.ts";

/** An account's pool-wide outage: how many rounds failed in a row, and until when no attempt is sent. */
export interface Outage {
  /** Rounds (requests) that failed on every model in a row, no answer between. */
  rounds: number;
  /** No attempt is sent before this instant (epoch ms). */
  until: number;
  /** When the last round was found failed (epoch ms). */
  at: number;
  /** The models its rounds failed on. */
  models: ReadonlySet<string>;
}

/**
 * Whether an outage's pause holds a request whose candidates, in the order
 * they would be tried, are `candidates`: when its first ones (up to
 * {@link OUTAGE_MIN_MODELS}) all failed in the outage. A request for other
 * models (a text one after the image models failed) goes out.
 */
export function outageCovers(
  outage: Outage,
  candidates: readonly string[],
): boolean {
  const first = candidates.slice(0, OUTAGE_MIN_MODELS);
  return first.length > 0 && first.every((id) => outage.models.has(id));
}

/** Distinct models a round must have failed on before it counts as an outage. */
export const OUTAGE_MIN_MODELS = 3;
/** The pause after the first failed round: a client's retry after it is worth it. */
export const FIRST_OUTAGE_PAUSE_MS = 30_000;
/** The pause after the second failed round in a row, doubled after each further one… */
export const REPEATED_OUTAGE_PAUSE_MS = 120_000;
/** …up to this. */
export const MAX_OUTAGE_PAUSE_MS = 10 * 60_000;

/** How long after its pause an outage is still the same one (a new failed round continues it). */
export const OUTAGE_MEMORY_MS = MAX_OUTAGE_PAUSE_MS;

/**
 * Whether a failure says the model's service is down (not that this request
 * was answered badly): a 5xx, inside a 200 too (`status` is the effective
 * one), no answer in time, or a lost connection.
 */
export function isDownFailure(kind: string, status: number): boolean {
  return kind === "network" || kind === "timeout" ||
    ((kind === "http" || kind === "error_body") && status >= 500);
}

/**
 * Whether a request's failed attempts make an outage round: at least
 * {@link OUTAGE_MIN_MODELS} distinct models, every attempt down
 * ({@link isDownFailure}).
 */
export function isOutageRound(
  attempts: readonly { model: string; down: boolean }[],
): boolean {
  return attempts.length > 0 && attempts.every((a) => a.down) &&
    new Set(attempts.map((a) => a.model)).size >= OUTAGE_MIN_MODELS;
}

/**
 * The outage after one more failed round (its failed attempts), found at
 * `now`, of a request that began at `began`, given the one before (if any).
 * A round that began before the last one was found (requests under way
 * together) is the same evidence: the outage's pause stays as it is, and it
 * only learns the models that round failed on.
 */
export function nextOutage(
  prev: Outage | undefined,
  round: readonly { model: string }[],
  began: number,
  now: number,
): Outage {
  const continued = prev !== undefined && outageRemembered(prev, now);
  const models = new Set(continued ? prev.models : []);
  for (const a of round) models.add(a.model);
  if (prev !== undefined && began <= prev.at) return { ...prev, models };
  const rounds = continued ? prev.rounds + 1 : 1;
  const pause = rounds === 1 ? FIRST_OUTAGE_PAUSE_MS : Math.min(
    REPEATED_OUTAGE_PAUSE_MS * 2 ** (rounds - 2),
    MAX_OUTAGE_PAUSE_MS,
  );
  return { rounds, until: now + pause, at: now, models };
}

/** When an outage's pause ends, while it holds at `now`; else `undefined`. */
export function outagePausedUntil(
  outage: Outage | undefined,
  now: number,
): number | undefined {
  return outage !== undefined && now < outage.until ? outage.until : undefined;
}

/** The seconds left of an outage's pause at `now`, or `undefined` when attempts may go out. */
export function outagePauseLeft(
  outage: Outage | undefined,
  now: number,
): number | undefined {
  const until = outagePausedUntil(outage, now);
  return until === undefined ? undefined : Math.ceil((until - now) / 1000);
}

/** Whether a failed round at `now` still continues `outage` (within {@link OUTAGE_MEMORY_MS} of its pause's end). */
export function outageRemembered(outage: Outage, now: number): boolean {
  return now < outage.until + OUTAGE_MEMORY_MS;
}

/**
 * The cooldowns a request is ordered by during an outage: `cooldowns` plus
 * the outage's models, as cooling until twice the pause has passed (after
 * the others, soonest end first), so that a request tries the models that
 * did not fail first, and the pause holds it only once none is left.
 */
export function withOutageModels(
  cooldowns: ReadonlyMap<string, CooldownEntry>,
  outage: Outage,
): ReadonlyMap<string, CooldownEntry> {
  const until = outageOrderEnds(outage);
  const merged = new Map(cooldowns);
  for (const model of outage.models) {
    const own = cooldowns.get(model);
    if (own === undefined || own.until < until) {
      merged.set(model, { model, until, reason: "outage", kind: "breaker" });
    }
  }
  return merged;
}

/** Until when `outage`'s models go after the others: twice the pause. */
export function outageOrderEnds(outage: Outage): number {
  return outage.until + (outage.until - outage.at);
}

/**
 * Whether `outage`'s pause holds at `now` and leaves a request nothing to
 * try: every model of the pool (`ids`) failed in it or is `cooling` down.
 * (An outage of the image models holds image requests only.)
 */
export function outageHoldsPool(
  outage: Outage,
  ids: Iterable<string>,
  cooling: (id: string) => boolean,
  now: number,
): boolean {
  if (now >= outage.until) return false;
  for (const id of ids) {
    if (!outage.models.has(id) && !cooling(id)) return false;
  }
  return true;
}

/** Whether `model` is one of `outage`'s and its pause holds at `now`. */
export function pausedFor(
  outage: Outage | undefined,
  model: string,
  now: number,
): boolean {
  return outage !== undefined && outage.models.has(model) &&
    outagePausedUntil(outage, now) !== undefined;
}
