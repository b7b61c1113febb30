/**
 * Browsers: CORS, only when origins are configured (`FREEROUTER_CORS_ORIGINS`),
 * and the refusal of a request a page of any other origin sends.
 *
 * @module
 */

const ALLOW_HEADERS =
  "authorization, x-api-key, content-type, x-request-id, openai-organization, openai-project, anthropic-version, x-freerouter-session, x-freerouter-cache";
const EXPOSE_HEADERS =
  "x-freerouter-model, x-freerouter-attempts, x-freerouter-cache, x-freerouter-dropped-tools, x-request-id, request-id, retry-after, x-should-retry, x-ratelimit-reset-requests, x-ratelimit-remaining-requests";

/**
 * Whether a request may be served for the page it comes from: one without
 * `Origin` (not from a browser page, or a same-origin `GET`), one from the
 * proxy's own origin (`own`, e.g. the status page), or from an allowed
 * origin. A page elsewhere could otherwise spend the account's quota with a
 * "simple" request (a `text/plain` POST needs no preflight), CORS or not.
 */
export function originAllowed(
  origin: string | null,
  allowed: readonly string[],
  own: () => string,
): boolean {
  return origin === null || allowed.includes("*") ||
    allowed.includes(origin) || origin === own();
}

/** The CORS headers for a request's `Origin`, or none when it is not allowed. */
export function corsHeaders(
  origin: string | null,
  allowed: readonly string[],
): Record<string, string> {
  if (origin === null || allowed.length === 0) return {};
  if (!allowed.includes("*") && !allowed.includes(origin)) return {};
  return {
    "access-control-allow-origin": allowed.includes("*") ? "*" : origin,
    "access-control-expose-headers": EXPOSE_HEADERS,
    "vary": "origin",
  };
}

/** The answer to a preflight `OPTIONS` request from an allowed origin. */
export function preflight(
  req: Request,
  allowed: readonly string[],
  methods: string,
): Response {
  const headers = corsHeaders(req.headers.get("origin"), allowed);
  return new Response(null, {
    status: 204,
    headers: {
      ...headers,
      "access-control-allow-methods": methods,
      "access-control-allow-headers":
        req.headers.get("access-control-request-headers") ?? ALLOW_HEADERS,
      "access-control-max-age": "600",
    },
  });
}
