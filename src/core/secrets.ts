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
    return url.replace(/\/\/[^\s?#]*@/, "//");
  }
  if (parsed.username === "" && parsed.password === "") return url;
  parsed.username = "";
  parsed.password = "";
  return parsed.href;
}

/**
 * `text` with the user name and password of every URL in it left out: for a
 * runtime error that quotes a URL as it normalised it (a lower-cased host,
 * `..` resolved), which the URL as written does not match.
 */
export function withoutUrlCredentials(text: string): string {
  // Only the authority: a `@` in a path or a query is not a password's end.
  return text.replace(/\b([a-z][a-z\d+.-]*:\/\/)[^\s"<>@/?#\\]*@/gi, "$1");
}

/**
 * `text` with `secret` (and anything a `Bearer` prefix introduces) replaced by
 * `[redacted]`. The secret is looked for without surrounding whitespace,
 * which `fetch` strips from a header: an upstream quotes it so.
 */
export function redactSecret(text: string, secret: string | undefined): string {
  let out = text;
  const bare = secret?.trim();
  if (bare) out = out.split(bare).join("[redacted]");
  return out.replace(/Bearer\s+[^\s"'\\]+/gi, "Bearer [redacted]");
}

/**
 * `text` with `secret` redacted also where characters of it are written as
 * JSON's `\uXXXX` escapes (`sk\u002dor\u002d…`): for a body that is not
 * JSON, which no parse would unescape. A regular expression built per call:
 * for failures only.
 */
export function redactEscapedSecret(
  text: string,
  secret: string | undefined,
): string {
  const bare = secret?.trim();
  if (!bare || !text.includes("\\u")) return redactSecret(text, secret);
  const pattern = [...bare].map((c) => {
    const code = c.charCodeAt(0).toString(16).padStart(4, "0");
    return `(?:${c.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&")}|\\\\u${code})`;
  }).join("");
  return redactSecret(
    text.replace(new RegExp(pattern, "gi"), "[redacted]"),
    secret,
  );
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
