/**
 * ISO 8601 timestamps for log lines, formatted once per millisecond: a busy
 * proxy stamps many lines in the same millisecond, and `Date#toISOString()`
 * costs more than the rest of a line's bookkeeping.
 *
 * @module
 */

let cachedMs = NaN;
let cachedText = "";

/**
 * `new Date(ms).toISOString()`, reusing the last result for the same
 * millisecond.
 *
 * @example
 * ```ts
 * import { isoTime } from "./iso_time.ts";
 * if (isoTime(0) !== "1970-01-01T00:00:00.000Z") throw new Error("wrong");
 * ```
 */
export function isoTime(ms: number = Date.now()): string {
  if (ms !== cachedMs) {
    cachedText = new Date(ms).toISOString();
    cachedMs = ms;
  }
  return cachedText;
}
