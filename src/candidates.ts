/**
 * Candidate ordering: which models one request tries, in which order. Pure.
 *
 * @module
 */
import type { CooldownEntry } from "./cooldown.ts";
import type { FreeModel } from "./types.ts";

/** Model names that mean "pick for me". */
const AUTO_NAMES = new Set(["", "auto", "openrouter/auto"]);

/**
 * The models to try for one request, at most `maxAttempts` of them.
 *
 * A requested model that is in the pool goes first, then the pool in priority
 * order; `auto`, empty, paid or unknown names use the pool order. Models that
 * are cooling down move to the end, soonest expiry first.
 */
export function orderCandidates(
  pool: readonly FreeModel[],
  requested: string | undefined,
  cooldowns: ReadonlyMap<string, CooldownEntry>,
  now: number,
  maxAttempts: number,
): FreeModel[] {
  const first = requested === undefined || AUTO_NAMES.has(requested)
    ? undefined
    : pool.find((m) => m.id === requested);
  const ready: FreeModel[] = [];
  let cooling: FreeModel[] | undefined;
  const consider = (model: FreeModel) => {
    const entry = cooldowns.size === 0 ? undefined : cooldowns.get(model.id);
    if (entry !== undefined && entry.until > now) {
      (cooling ??= []).push(model);
    } else {
      ready.push(model);
    }
  };
  if (first) consider(first);
  for (const model of pool) {
    if (ready.length >= maxAttempts) break;
    if (model !== first) consider(model);
  }
  if (ready.length >= maxAttempts || cooling === undefined) {
    return ready.length > maxAttempts ? ready.slice(0, maxAttempts) : ready;
  }
  cooling.sort((a, b) =>
    cooldowns.get(a.id)!.until - cooldowns.get(b.id)!.until
  );
  for (const model of cooling) {
    if (ready.length >= maxAttempts) break;
    ready.push(model);
  }
  return ready;
}
