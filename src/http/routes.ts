/**
 * The proxy's routes: which paths exist, the methods they allow, and how a
 * request URL maps onto them (the `/v1` prefix is optional).
 *
 * @module
 */

/** The path of a request URL, without parsing the whole URL. */
export function pathnameOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  let end = url.length;
  for (const c of ["?", "#"]) {
    const i = url.indexOf(c, start);
    if (i !== -1 && i < end) end = i;
  }
  return url.slice(start, end);
}

/** The route: the OpenAI paths without their optional `/v1` prefix and trailing slash. */
export function routeOf(pathname: string): string {
  const path = pathname.length > 1 && pathname.endsWith("/")
    ? pathname.slice(0, -1)
    : pathname;
  return path.startsWith("/v1/") ? path.slice(3) : path;
}

/** A route: the methods it allows, whether it needs the access key, its metrics label. */
export interface Route {
  /** The `Allow` header value. */
  allow: string;
  /** The methods of `allow`. */
  methods: readonly string[];
  /** The `route` label in the metrics. */
  label: string;
  /** Open without the access key. */
  open?: boolean;
}

function defineRoute(allow: string, label: string, open?: boolean): Route {
  return { allow, methods: allow.split(", "), label, open };
}

/** The routes, by path without the `/v1` prefix. */
export const ROUTES: Record<string, Route> = {
  "/chat/completions": defineRoute("POST", "chat"),
  "/models": defineRoute("GET, HEAD", "models"),
  "/freerouter/status": defineRoute("GET, HEAD", "freerouter_status"),
  "/metrics": defineRoute("GET, HEAD", "metrics"),
  "/health": defineRoute("GET, HEAD", "health", true),
  "/": defineRoute("GET, HEAD", "page", true),
};
