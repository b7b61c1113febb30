/**
 * What the attempt loop makes of its attempts: each attempt's record, the
 * errors it throws when no model answered, and the conversation's model put
 * first (affinity).
 *
 * @module
 */
import { type Attempt, FreeRouterError, UpstreamHTTPError } from "./errors.ts";
import type { UpstreamFailure } from "./core/failure.ts";
import type { ResolvedRouterOptions } from "./options.ts";
import type { FreeModel } from "./types.ts";

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

/**
 * Moves a conversation's previous model to the front of the candidates when
 * it is among them (it fits the request) and is not cooling down.
 */
export function stickTo(
  candidates: FreeModel[],
  model: string | undefined,
  state: ResolvedRouterOptions["state"],
  now: number,
): void {
  if (model === undefined || candidates[0]?.id === model) return;
  const at = candidates.findIndex((m) => m.id === model);
  if (at <= 0) return;
  const cooling = state.cooldowns.get(model);
  if (cooling !== undefined && cooling.until > now) return;
  candidates.unshift(...candidates.splice(at, 1));
}

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
): FreeRouterError {
  const list = attempts.map((a) => `${a.model} → ${a.outcome}`).join("; ");
  const message = attempts.length === 0
    ? "No free model could be tried"
    : `All ${attempts.length} attempts failed: ${list}`;
  return new FreeRouterError("all_candidates_failed", message, {
    attempts,
    retryAfterSeconds,
  });
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
