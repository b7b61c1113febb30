/**
 * Reading and checking the client's credentials.
 *
 * @module
 */

const encoder = new TextEncoder();

/** The token of an `Authorization: Bearer …` header, if any. */
export function bearer(req: Request): string | undefined {
  const value = req.headers.get("authorization");
  if (!value) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(value.trim());
  return match?.[1]?.trim() || undefined;
}

/**
 * The client's key: `Authorization: Bearer …` (OpenAI SDKs, Codex,
 * `ANTHROPIC_AUTH_TOKEN`) or `x-api-key` (Anthropic SDKs, Claude Code's
 * `ANTHROPIC_API_KEY`).
 */
export function clientKey(req: Request): string | undefined {
  return bearer(req) ?? (req.headers.get("x-api-key")?.trim() || undefined);
}

/**
 * Whether `key` is another provider's API key (Anthropic's `sk-ant-…`,
 * OpenAI's `sk-proj-…`, `sk-svcacct-…`, `sk-admin-…`): a coding agent sends
 * the one in its environment, and with bring your own key it must not go to
 * OpenRouter.
 */
export function isForeignKey(key: string): boolean {
  return /^sk-(ant|proj|svcacct|admin)-/.test(key);
}

/** Compares two secrets in time that depends only on their lengths. */
export function timingSafeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) {
    diff |= x[i]! ^ (y[i % (y.length || 1)] ?? 0);
  }
  return diff === 0;
}
