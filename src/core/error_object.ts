/**
 * Where OpenRouter's error object sits in a parsed body. Pure.
 *
 * @module
 */

/**
 * The error object of a parsed body: its `error`, or the body itself when it
 * is only that (a per-model `limit_rpm` 429 has been captured with
 * `{message, code, metadata}` at the top level): a message, a code, and no
 * `choices`. `undefined` when there is none.
 */
export function errorObject(
  body: unknown,
): Record<string, unknown> | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.error === "object" && b.error !== null) {
    return b.error as Record<string, unknown>;
  }
  return typeof b.message === "string" &&
      (typeof b.code === "number" || typeof b.code === "string") &&
      !("choices" in b)
    ? b
    : undefined;
}
