/**
 * What the attempt loop makes of its attempts: each attempt's record, the
 * errors it throws when no model answered.
 *
 * @module
 */
import { type Attempt, FreeRouterError, UpstreamHTTPError } from "./errors.ts";
import type { UpstreamFailure } from "./core/failure.ts";

export function attemptOf(
  model: string,
  outcome: string,
  ms: number,
  continuation: boolean,
): Attempt {
  return continuation
    ? { model, outcome, ms, continuation: true }
    : { model, outcome, ms };
}

/** The upstream's refusal as the client gets it (its failure already redacted). */
export function refusal(
  failure: UpstreamFailure,
  attempts: Attempt[],
): UpstreamHTTPError {
  return new UpstreamHTTPError(
    failure.status,
    failure.text ?? "",
    attempts,
    failure.contentType,
  );
}

export function allFailed(
  attempts: Attempt[],
  retryAfterSeconds: number | undefined,
  spent: readonly string[] = [],
  pauseSeconds?: number,
): FreeRouterError {
  const list = attempts.map((a) => `${a.model} → ${a.outcome}`).join("; ");
  const skipped = spent.length === 0
    ? ""
    : `; not sent, their per-minute limit spent: ${spent.join(", ")}`;
  const paused = pauseSeconds === undefined
    ? ""
    : `. These models are down: freerouter sends them no attempt for ${pauseSeconds} s, and tries other models first`;
  const message = attempts.length === 0
    ? `No free model could be tried${skipped}`
    : `All ${attempts.length} attempts failed: ${list}${skipped}${paused}`;
  // Nothing was sent because every model's minute is spent: a rate limit.
  const code = attempts.length === 0 && spent.length > 0
    ? "rate_limited"
    : "all_candidates_failed";
  return new FreeRouterError(code, message, {
    attempts,
    retryAfterSeconds,
  });
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The 502 of a request that comes while the pool's outage pauses the
 * account's attempts (see core/outage.ts): nothing was sent, no quota spent.
 */
export function outagePause(
  seconds: number,
  attempts: Attempt[],
): FreeRouterError {
  return new FreeRouterError(
    "all_candidates_failed",
    `The free models this request could go to all failed recently (5xx, timeouts or lost connections): freerouter sends them no attempt for ${seconds} s more, so that an outage does not spend the day's quota; nothing was sent`,
    { attempts, retryAfterSeconds: seconds },
  );
}
