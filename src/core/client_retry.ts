/**
 * Whether a client's own retry of an error can help: the official OpenAI and
 * Anthropic SDKs (and Claude Code) retry a 408, 409, 429 or 5xx by
 * themselves, twice by default (Claude Code ten times), waiting out any
 * `Retry-After` however long, unless the answer says `x-should-retry: false`.
 * Pure.
 *
 * freerouter is the retry layer already: a 502 `all_candidates_failed` comes
 * after it tried every candidate it could (up to `MAX_ATTEMPTS`), so an
 * immediate retry would spend as many attempts of the account's quota again
 * on the models that just failed. Its `Retry-After`, when it has one, says
 * when a retry is worth it: the soonest cooldown's end after 429s, or the
 * end of an outage's first pause (see outage.ts). A wait of more than a minute (the account's
 * or a client key's day) is better told than slept through: an SDK would
 * hold the call until the reset, up to a day. A wait of a minute or less (the
 * account's minute, a cooldown after 429s) is worth it: after it, the retry
 * can be answered.
 *
 * @module
 */

/** The longest `Retry-After` a client's retry is worth waiting for, seconds. */
export const MAX_CLIENT_RETRY_WAIT_SECONDS = 60;

/**
 * `false` when a client should not retry an error response of `status` whose
 * `Retry-After` is `retryAfterSeconds` (`undefined`: none); `undefined` when
 * it is the client's call (its usual rules apply).
 */
export function clientRetryHelps(
  status: number,
  retryAfterSeconds: number | undefined,
): false | undefined {
  const shortWait = retryAfterSeconds !== undefined &&
    retryAfterSeconds <= MAX_CLIENT_RETRY_WAIT_SECONDS;
  if (status === 502) return shortWait ? undefined : false;
  if (status === 429 && retryAfterSeconds !== undefined) {
    return shortWait ? undefined : false;
  }
  return undefined;
}
