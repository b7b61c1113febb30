/**
 * The proxy as a web-standard handler: `(req: Request) => Promise<Response>`.
 * Mount it in `Deno.serve`, Bun, Hono, Cloudflare Workers, or Node through a
 * Request/Response adapter. Each route's handler sits in the route table
 * (`routes.ts`); this module authenticates, dispatches and records.
 *
 * @module
 */
import { SETTINGS } from "../core/settings.ts";
import { clientKey, isForeignKey, timingSafeEqual } from "./auth.ts";
import { corsHeaders, originAllowed, preflight } from "./cors.ts";
import type { HandlerContext, Trace } from "./context.ts";
import { ClientRefusal } from "./clients.ts";
import { inFrontShape } from "./front_errors.ts";
import { rebindingGuard } from "./host_guard.ts";
import { checked, createSharing, type QuotaSharingOptions } from "./sharing.ts";
import { record } from "./record.ts";
import {
  errorFront,
  type Front,
  pathnameOf,
  type Route,
  routeOf,
  ROUTES,
} from "./routes.ts";
import {
  errorResponse,
  FreeRouterError,
  refusalInOpenAIShape,
  toErrorResponse,
  UpstreamHTTPError,
} from "../errors.ts";
import { Metrics } from "../ops/metrics.ts";
import { RecentRequests, requestIdOf } from "../ops/request_log.ts";
import {
  type ResolvedRouterOptions,
  resolveRouterOptions,
  type RouterOptions,
} from "../options.ts";
import { Router } from "../router.ts";
import { accountIdOf } from "../state/account_id.ts";
import type { FreeModel } from "../types.ts";

/**
 * Options of {@link createHandler}.
 *
 * @example Protect the proxy with an access key
 * ```ts
 * import { createHandler } from "@freerouter/freerouter";
 * const handler = createHandler({ apiKey: "sk-or-v1-…", accessKey: "let-me-in" });
 * await handler.close();
 * ```
 */
export interface HandlerOptions extends RouterOptions, QuotaSharingOptions {
  /**
   * The OpenRouter key. When absent, each client's own
   * `Authorization: Bearer …` is forwarded (bring your own key), unless
   * `accessKey` is set.
   */
  apiKey?: string | undefined;
  /**
   * When set, clients must send `Authorization: Bearer <accessKey>` (for
   * everything but `/health` and the status page). It is never forwarded
   * upstream. With `clientKeys`, it is one more key: unnamed, unlimited.
   */
  accessKey?: string | undefined;
  /**
   * Largest request body accepted, bytes (at least 1024, a whole number:
   * `RangeError` otherwise); larger ones get 413 unread.
   * @default {10485760}
   */
  maxBodyBytes?: number | undefined;
  /**
   * Origins allowed to call the proxy from a browser (`*` for any). CORS is
   * off when empty.
   * @default {[]}
   */
  corsOrigins?: readonly string[] | undefined;
  /**
   * Without `accessKey` or `clientKeys`, the proxy answers only requests
   * whose `Host` names this machine (`localhost` and `*.localhost`,
   * 127.0.0.0/8, `[::1]`): a
   * web page that points its own name at 127.0.0.1 (DNS rebinding) gets 403
   * `host_not_allowed` instead of the use of `apiKey`. A request without a
   * `Host` header (made in-process) is served. `allowOpen` serves any `Host`
   * with no key (say, on a private network); then a request from a web page
   * (one with an `Origin`) gets 403 `origin_not_allowed` unless
   * `corsOrigins` lists its origin. Ignored when a key is set.
   * @default {false}
   */
  allowOpen?: boolean | undefined;
}

/**
 * The proxy handler. It is a plain function; `close()` waits for background
 * work (a catalog refresh, KV writes) and is also reachable as
 * `Symbol.asyncDispose`.
 *
 * @example Serve and stop
 * ```ts ignore
 * import { createHandler } from "@freerouter/freerouter";
 * await using handler = createHandler({ apiKey: "sk-or-v1-…" });
 * await using server = Deno.serve({ hostname: "127.0.0.1", port: 8000 }, handler);
 * ```
 */
export interface FreeRouterHandler extends AsyncDisposable {
  /** Answers one request. */
  (req: Request): Promise<Response>;
  /**
   * The routable free pool in the catalog's stored (`priority`) order (loads
   * it when needed); `auto` tries it in the strategy's order. A list kept
   * past `modelRefreshTtl` is returned at once and refreshed in the
   * background, or, with `refresh: true`, fetched again first (the kept one
   * is returned when OpenRouter cannot be reached).
   */
  models(options?: { refresh?: boolean | undefined }): Promise<
    readonly FreeModel[]
  >;
  /**
   * Reads OpenRouter's `GET /key` now and applies the account's daily quota
   * to the state (see `quotaRefresh`); resolves when done. Does nothing
   * without `apiKey` or with `quotaRefresh: 0`.
   */
  refreshQuota(): Promise<void>;
  /** Stops syncing (when it owns its state) and waits for background work. The KV handle stays open. */
  close(): Promise<void>;
}

/**
 * Creates the proxy: `POST /v1/chat/completions` (OpenAI Chat Completions),
 * `POST /v1/messages` and `POST /v1/messages/count_tokens` (Anthropic
 * Messages) and `POST /v1/responses` (OpenAI Responses), all routed across
 * the free pool by one router; `GET /v1/models` (the pool in the order `auto`
 * tries it, then the aliases) and `GET /v1/models/{id}`,
 * `GET /v1/freerouter/status`, `GET /metrics` (Prometheus), `GET /health` and
 * the status page at `GET /`.
 * The `/v1` prefix is optional. Without `accessKey` or `clientKeys` it
 * answers only requests for a loopback name (see `allowOpen`).
 *
 * @example Serve it with Deno
 * ```ts ignore
 * import { createHandler } from "@freerouter/freerouter";
 * const handler = createHandler({ apiKey: Deno.env.get("OPENROUTER_API_KEY") });
 * Deno.serve({ hostname: "127.0.0.1", port: 8000 }, handler);
 * ```
 */
export function createHandler(options: HandlerOptions = {}): FreeRouterHandler {
  const resolved: ResolvedRouterOptions = resolveRouterOptions(options);
  const maxBodyBytes = checked(SETTINGS.maxBodyBytes, options.maxBodyBytes);
  const router = new Router(resolved);
  const { accessKey, corsOrigins = [], allowOpen = false } = options;
  // A key read from a file or the environment may end in a newline: fetch
  // sends it trimmed, and redaction must look for what the upstream saw.
  const apiKey = options.apiKey?.trim() || undefined;
  const { logger, now } = resolved;
  const sharing = createSharing({ ...options, apiKey }, resolved);
  const { clients } = sharing;
  /** Whether clients must present a key (the access key or a client key). */
  const guarded = Boolean(accessKey) || clients !== undefined;
  /** Without a key, the DNS-rebinding check (see host_guard.ts). */
  const rebinding = guarded
    ? undefined
    : rebindingGuard(allowOpen, corsOrigins, logger);
  /** The server key's account fingerprint (undefined with bring-your-own-key). */
  let serverAccount: string | undefined;
  const serverAccountReady = apiKey
    ? accountIdOf(apiKey).then((id) => (serverAccount = id))
    : undefined;
  const ctx: HandlerContext = {
    router,
    resolved,
    metrics: new Metrics(),
    recent: new RecentRequests(),
    maxBodyBytes,
    hasAccessKey: guarded,
    upstreamKey: (req) => {
      if (apiKey || guarded) return apiKey || undefined;
      // Bring your own key: another provider's key is not sent upstream.
      const key = clientKey(req);
      return key === undefined || isForeignKey(key) ? undefined : key;
    },
    serverAccount: () => serverAccount,
    listCache: new WeakMap(),
    clients,
    cache: sharing.cache,
    quotaSettled: sharing.quotaSettled,
  };

  /** What the route answers, before CORS and the request id. */
  async function dispatch(
    req: Request,
    path: string,
    route: Route | undefined,
    trace: Trace,
  ): Promise<Response> {
    const refused = rebinding?.(req);
    if (refused !== undefined) {
      trace.error = refused.code;
      return errorResponse({ status: 403, ...refused });
    }
    if (route === undefined) {
      return errorResponse({
        status: 404,
        message: `Unknown path: ${pathnameOf(req.url)}`,
        code: "not_found",
      });
    }
    const origin = req.headers.get("origin");
    if (!originAllowed(origin, corsOrigins, () => new URL(req.url).origin)) {
      trace.error = "origin_not_allowed";
      return errorResponse({
        status: 403,
        message: `Requests from the page at ${origin} are not allowed${
          corsOrigins.length === 0
            ? " (FREEROUTER_CORS_ORIGINS lists the origins that are)"
            : ""
        }`,
        code: "origin_not_allowed",
      });
    }
    if (req.method === "OPTIONS" && corsOrigins.length > 0) {
      return preflight(req, corsOrigins, route.allow);
    }
    if (!route.methods.includes(req.method)) {
      return errorResponse({
        status: 405,
        message:
          `Method ${req.method} is not allowed on ${path}; use ${route.allow}`,
        code: "method_not_allowed",
        headers: { allow: route.allow },
      });
    }
    if (!route.open && guarded) {
      const who = clients
        ? clients.identify(clientKey(req), accessKey)
        : { ok: timingSafeEqual(clientKey(req) ?? "", accessKey!) };
      if (!who.ok) {
        return errorResponse({
          status: 401,
          message: clients
            ? "Missing or wrong key (Authorization: Bearer <your client key>, or x-api-key)"
            : "Missing or wrong access key (Authorization: Bearer <FREEROUTER_API_KEY>, or x-api-key)",
          code: "invalid_api_key",
        });
      }
      trace.client = who.client?.name;
    }
    try {
      return await route.handle(req, ctx, trace);
    } catch (err) {
      return failed(err, trace, route.front);
    }
  }

  /** The error response for what a handler threw, noted in the trace. */
  function failed(err: unknown, trace: Trace, front?: Front): Response {
    if (err instanceof ClientRefusal) {
      trace.error = err.code;
      return err.response;
    }
    if (err instanceof RangeError && /call stack/i.test(err.message)) {
      // A body nested deeper than the JavaScript stack allows.
      return errorResponse({
        status: 400,
        message: "The request body is nested too deeply",
        code: "invalid_request",
      });
    }
    if (err instanceof FreeRouterError || err instanceof UpstreamHTTPError) {
      trace.attempts = [...err.attempts];
      trace.error = err instanceof FreeRouterError
        ? err.code
        : "upstream_refused";
    } else {
      const message = `Unexpected error: ${
        err instanceof Error ? err.stack ?? err.message : String(err)
      }`;
      if (logger.error) logger.error(message);
      else logger.warn(message);
    }
    // Chat completions pass OpenRouter's refusals through unchanged (issue 2);
    // the Responses front promises OpenAI's envelope.
    if (front === "responses" && err instanceof UpstreamHTTPError) {
      return refusalInOpenAIShape(err);
    }
    return toErrorResponse(err);
  }

  async function handle(req: Request): Promise<Response> {
    // On the configured clock (`now`), like the router's attempt times.
    const arrived = now();
    const id = requestIdOf(req);
    const pathname = pathnameOf(req.url);
    const path = routeOf(pathname);
    const route = ROUTES[path];
    const trace: Trace = {
      id,
      api: route?.api ?? "chat",
      model: null,
      attempts: [],
      stream: false,
      error: null,
      request: req,
    };
    let res = await dispatch(req, path, route, trace);
    if (res.status >= 400) {
      if (trace.error === null) {
        trace.error = res.headers.get("content-type")?.includes("json")
          ? `http_${res.status}`
          : null;
      }
      res = await inFrontShape(res, errorFront(req), id);
    }
    if (trace.model === null) res.headers.set("x-request-id", id);
    if (corsOrigins.length > 0) {
      const cors = corsHeaders(req.headers.get("origin"), corsOrigins);
      for (const k in cors) res.headers.set(k, cors[k]!);
    }
    record(ctx, {
      req,
      pathname,
      route,
      res,
      trace,
      arrived,
      ms: now() - arrived,
    });
    return res;
  }

  const close = async () => {
    if (resolved.ownsState) router.close();
    await sharing.close();
    await serverAccountReady;
    await (resolved.ownsState
      ? resolved.state.close()
      : resolved.state.settle());
  };
  return Object.assign(handle, {
    models: (options?: { refresh?: boolean | undefined }) =>
      router.models(apiKey, options?.refresh === true),
    refreshQuota: sharing.refreshQuota,
    close,
    [Symbol.asyncDispose]: close,
  });
}
