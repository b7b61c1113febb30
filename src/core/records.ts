/**
 * `isRecord()`: whether a parsed JSON value is an object (not `null`, not an
 * array), the test every reader of upstream and client bodies starts with.
 * Pure.
 *
 * @module
 */

/** Whether `value` is a plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
