/**
 * DNS rebinding: a page on `evil.example` whose name the attacker points at
 * 127.0.0.1 talks to a loopback-bound proxy as its own origin, so neither
 * CORS nor the `Origin` check stops it; its requests still name
 * `evil.example` in `Host`. A proxy that listens on loopback without keys
 * answers only requests addressed to a loopback name. One that listens on
 * another address without keys (`FREEROUTER_ALLOW_OPEN`, e.g. in a container
 * published on 127.0.0.1) cannot tell its own names from the attacker's, so
 * it refuses every request a web page sends (one with an `Origin`) unless
 * `FREEROUTER_CORS_ORIGINS` lists that origin; clients that are not pages
 * send no `Origin`.
 *
 * @module
 */
import { isLoopback } from "./config.ts";
import { errorResponse } from "../errors.ts";
import { requestIdOf } from "../ops/request_log.ts";
import { inFrontShape } from "../http/front_errors.ts";
import { errorFront } from "../http/routes.ts";
import type { Logger } from "../options.ts";

/** The host name of a `Host` header (`localhost:8000`, `[::1]:8000`). */
function hostName(host: string): string {
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return end < 0 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(":");
  return colon < 0 ? host : host.slice(0, colon);
}

/** Whether a `Host` header names this machine: `localhost` (and `*.localhost`), 127.0.0.0/8 or `[::1]`. */
export function isLoopbackHost(host: string): boolean {
  const name = hostName(host).toLowerCase().replace(/\.$/, "");
  return isLoopback(name) || name.endsWith(".localhost");
}

/**
 * `handler` for a server that listens on loopback only, without keys: a
 * request whose `Host` names another machine gets 403 `host_not_allowed` (in
 * Anthropic's shape for a client that sends `anthropic-version`), and the
 * first refusal of each host is logged.
 */
export function loopbackOnly(
  handler: (req: Request) => Promise<Response>,
  logger: Logger,
): (req: Request) => Promise<Response> {
  /** Hosts refused so far (each is logged once; at most 100 are remembered). */
  const refused = new Set<string>();
  return (req) => {
    const host = req.headers.get("host");
    if (host === null || isLoopbackHost(host)) return handler(req);
    if (!refused.has(host) && refused.size < 100) {
      refused.add(host);
      logger.warn(
        `Refused a request for Host ${
          JSON.stringify(host.slice(0, 100))
        }: without FREEROUTER_API_KEY, a loopback freerouter answers only requests for localhost (set a key to serve it through a tunnel or a reverse proxy)`,
      );
    }
    const message =
      `This freerouter listens on loopback and answers requests for localhost, not for ${
        JSON.stringify(host.slice(0, 100))
      } (a page that points its own name at 127.0.0.1 is refused; with FREEROUTER_API_KEY set, any name is served)`;
    return forbidden(req, message, "host_not_allowed");
  };
}

/**
 * `handler` for a server that listens on a non-loopback address without
 * keys: a request with an `Origin` that `corsOrigins` does not list gets 403
 * `origin_not_allowed` (in Anthropic's shape for a client that sends
 * `anthropic-version`), even when it matches `Host`: under DNS rebinding the
 * page's own name is the one in `Host`.
 */
export function openServerOrigins(
  handler: (req: Request) => Promise<Response>,
  corsOrigins: readonly string[],
): (req: Request) => Promise<Response> {
  if (corsOrigins.includes("*")) return handler;
  return (req) => {
    const origin = req.headers.get("origin");
    if (origin === null || corsOrigins.includes(origin)) return handler(req);
    const message = `Requests from the page at ${
      JSON.stringify(origin.slice(0, 100))
    } are not allowed: this freerouter has no key, so only the origins FREEROUTER_CORS_ORIGINS lists may call it from a browser`;
    return forbidden(req, message, "origin_not_allowed");
  };
}

/** The 403, in the front's shape, with the request's id as every answer has it. */
function forbidden(req: Request, message: string, code: string) {
  const id = requestIdOf(req);
  return inFrontShape(
    errorResponse({
      status: 403,
      message,
      code,
      headers: { "x-request-id": id },
    }),
    errorFront(req),
    id,
  );
}
