/**
 * DNS rebinding: a page on `evil.example` whose name the attacker points at
 * 127.0.0.1 talks to a loopback proxy as its own origin, so neither CORS nor
 * the `Origin` check stops it; its requests still name `evil.example` in
 * `Host`. A proxy without keys (no access key, no client keys) therefore
 * answers only requests addressed to a loopback name. One that is open on
 * purpose (`allowOpen`, the server's `FREEROUTER_ALLOW_OPEN` on a non-loopback
 * address, e.g. in a container published on 127.0.0.1) cannot tell its own
 * names from the attacker's, so it refuses every request a web page sends
 * (one with an `Origin`) unless `corsOrigins` lists that origin; clients that
 * are not pages send no `Origin`. With a key, a page that points its name at
 * the proxy cannot use it anyway, and a tunnel or reverse proxy in front of
 * it (which keeps the public name in `Host`) must work.
 *
 * @module
 */
import type { Logger } from "../options.ts";

/** Whether a listen address or host name is this machine's: `localhost`, 127.0.0.0/8 or `::1`. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

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

/** Why a request is refused: its 403's code and message. */
export interface HostRefusal {
  code: "host_not_allowed" | "origin_not_allowed";
  message: string;
}

/**
 * The DNS-rebinding check of a proxy without keys: the refusal of a request,
 * or `undefined` to serve it. Without `open`, a request whose `Host` names
 * another machine is refused (a request with no `Host`, made in-process, is
 * served), and the first refusal of each host is logged; with `open`, a
 * request with an `Origin` that `corsOrigins` does not list, even when it
 * matches `Host`.
 */
export function rebindingGuard(
  open: boolean,
  corsOrigins: readonly string[],
  logger: Logger,
): (req: Request) => HostRefusal | undefined {
  if (open) {
    if (corsOrigins.includes("*")) return () => undefined;
    return (req) => {
      const origin = req.headers.get("origin");
      if (origin === null || corsOrigins.includes(origin)) return undefined;
      return {
        code: "origin_not_allowed",
        message: `Requests from the page at ${
          JSON.stringify(origin.slice(0, 100))
        } are not allowed: this freerouter has no key, so only the origins FREEROUTER_CORS_ORIGINS (corsOrigins) lists may call it from a browser`,
      };
    };
  }
  /** Hosts refused so far (each is logged once; at most 100 are remembered). */
  const refused = new Set<string>();
  return (req) => {
    const host = req.headers.get("host");
    if (host === null || isLoopbackHost(host)) return undefined;
    const shown = JSON.stringify(host.slice(0, 100));
    if (!refused.has(host) && refused.size < 100) {
      refused.add(host);
      logger.warn(
        `Refused a request for Host ${shown}: without a key (FREEROUTER_API_KEY, or client keys), freerouter answers only requests for localhost (set a key to serve it through a tunnel or a reverse proxy)`,
      );
    }
    return {
      code: "host_not_allowed",
      message:
        `This freerouter has no key and answers requests for localhost, not for ${shown} (a page that points its own name at 127.0.0.1 is refused; with FREEROUTER_API_KEY (accessKey) or client keys set, any name is served)`,
    };
  };
}
