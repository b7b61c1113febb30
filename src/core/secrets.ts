/**
 * Keeping keys out of messages. A runtime error about a request can quote the
 * request's headers (Deno's "Invalid header value: \"Bearer sk-or-…\"" for a
 * key holding a control character), and such messages reach logs, the status
 * page and error bodies. Pure.
 *
 * @module
 */

/**
 * Whether `key` can be an OpenRouter key: printable ASCII (so it can be sent
 * as a bearer token), no spaces, and no quote characters (`"`, `'`, `` ` ``),
 * which OpenRouter keys never hold: one there is a stray quote from `.env`.
 */
export function isWellFormedKey(key: string): boolean {
  return /^[\x21-\x7e]+$/.test(key) && !/["'`]/.test(key);
}

/**
 * `url` without the user name and password it may carry, for messages (a
 * base URL can hold credentials for a gateway in front of OpenRouter); in
 * text that does not parse as a URL, whatever stands between `//` and `@`.
 */
export function withoutCredentials(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url.replace(/\/\/[^/?#]*@/, "//");
  }
  if (parsed.username === "" && parsed.password === "") return url;
  parsed.username = "";
  parsed.password = "";
  return parsed.href;
}

/**
 * `text` with `secret` (and anything a `Bearer` prefix introduces) replaced by
 * `[redacted]`.
 */
export function redactSecret(text: string, secret: string | undefined): string {
  let out = text;
  if (secret) out = out.split(secret).join("[redacted]");
  return out.replace(/Bearer\s+[^\s"'\\]+/gi, "Bearer [redacted]");
}

/**
 * An error like `err` (same name) whose message holds no `secret`: for
 * errors of a request that carried the key.
 */
export function redactedError(err: unknown, secret: string | undefined): Error {
  const message = err instanceof Error ? err.message : String(err);
  const out = new Error(redactSecret(message, secret));
  if (err instanceof Error) out.name = err.name;
  return out;
}
