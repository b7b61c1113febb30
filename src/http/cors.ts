/**
 * CORS, only when origins are configured (`FREEROUTER_CORS_ORIGINS`).
 *
 * @module
 */

const ALLOW_HEADERS =
  "authorization, content-type, x-request-id, openai-organization, openai-project";
const EXPOSE_HEADERS =
  "x-freerouter-model, x-freerouter-attempts, x-request-id, retry-after";

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

/** The answer to a preflight `OPTIONS` request. */
export function preflight(
  req: Request,
  allowed: readonly string[],
  methods: string,
): Response {
  const headers = corsHeaders(req.headers.get("origin"), allowed);
  if (Object.keys(headers).length === 0) {
    return new Response(null, { status: 403 });
  }
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
