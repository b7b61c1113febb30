/**
 * DNS rebinding: a page on `evil.example` whose name the attacker points at
 * 127.0.0.1 talks to a loopback-bound proxy as its own origin, so neither
 * CORS nor the `Origin` check stops it; its requests still name
 * `evil.example` in `Host`. A proxy that listens on loopback answers only
 * requests addressed to a loopback name.
 *
 * @module
 */
import { isLoopback } from "./config.ts";
import { errorResponse } from "../errors.ts";
import { anthropicErrorBody } from "../fronts/anthropic/mod.ts";

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
 * `handler` for a server that listens on loopback only: a request whose
 * `Host` names another machine gets 403 `host_not_allowed` (in Anthropic's
 * shape for a client that sends `anthropic-version`).
 */
export function loopbackOnly(
  handler: (req: Request) => Promise<Response>,
): (req: Request) => Promise<Response> {
  return (req) => {
    const host = req.headers.get("host");
    if (host === null || isLoopbackHost(host)) return handler(req);
    const message =
      `This freerouter listens on loopback and answers requests for localhost, not for ${
        JSON.stringify(host.slice(0, 100))
      } (a page that points its own name at 127.0.0.1 is refused)`;
    if (req.headers.has("anthropic-version")) {
      return Promise.resolve(
        Response.json(anthropicErrorBody(403, message), { status: 403 }),
      );
    }
    return Promise.resolve(
      errorResponse({ status: 403, message, code: "host_not_allowed" }),
    );
  };
}
