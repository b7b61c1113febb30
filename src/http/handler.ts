/**
 * The proxy as a web-standard handler: `(req: Request) => Promise<Response>`.
 * Mount it in `Deno.serve`, Bun, Hono, Cloudflare Workers, or Node through a
 * Request/Response adapter.
 *
 * @module
 */
import { accountIdOf } from "../state/account_id.ts";
import { bearer, timingSafeEqual } from "./auth.ts";
import { corsHeaders, preflight } from "./cors.ts";
import { pathnameOf, routeOf, ROUTES } from "./routes.ts";
import {
  type Attempt,
  errorResponse,
  FreeRouterError,
  toErrorResponse,
  UpstreamHTTPError,
} from "../errors.ts";
import { DEFAULT_MAX_BODY_BYTES, readJsonBody } from "./body.ts";
import { Metrics, outcomeClass } from "../ops/metrics.ts";
import {
  type ResolvedRouterOptions,
  resolveRouterOptions,
  type RouterOptions,
} from "../options.ts";
import {
  logFields,
  RecentRequests,
  type RequestEntry,
  requestIdOf,
} from "../ops/request_log.ts";
import { validateChatRequest } from "../core/request_schema.ts";
import { type Routed, Router } from "../router.ts";
import { healthReport, stateGauges, statusReport } from "../ops/status.ts";
import { STATUS_PAGE_HTML } from "../ops/status_page.ts";
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
export interface HandlerOptions extends RouterOptions {
  /**
   * The OpenRouter key. When absent, each client's own
   * `Authorization: Bearer …` is forwarded (bring your own key), unless
   * `accessKey` is set.
   */
  apiKey?: string;
  /**
   * When set, clients must send `Authorization: Bearer <accessKey>` (for
   * everything but `/health` and the status page). It is never forwarded
   * upstream.
   */
  accessKey?: string;
  /**
   * Largest request body accepted, bytes; larger ones get 413 unread.
   * @default {10485760}
   */
  maxBodyBytes?: number;
  /**
   * Origins allowed to call the proxy from a browser (`*` for any). CORS is
   * off when empty.
   * @default {[]}
   */
  corsOrigins?: readonly string[];
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
 * await using server = Deno.serve({ port: 8000 }, handler);
 * ```
 */
export interface FreeRouterHandler extends AsyncDisposable {
  /** Answers one request. */
  (req: Request): Promise<Response>;
  /** The routable free pool in priority order (loads it when needed). */
  models(): Promise<readonly FreeModel[]>;
  /** Stops syncing (when it owns its state) and waits for background work. The KV handle stays open. */
  close(): Promise<void>;
}

function modelsList(pool: readonly FreeModel[]): string {
  return JSON.stringify({
    object: "list",
    data: pool.map((m) => ({
      id: m.id,
      object: "model",
      created: m.created,
      owned_by: m.owned_by,
      name: m.name,
      context_length: m.context_length,
      max_completion_tokens: m.max_completion_tokens,
      supported_parameters: m.supported_parameters,
      input_modalities: m.input_modalities,
      expiration_date: m.expiration_date,
    })),
  });
}

function json(body: string, status = 200): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** The headers of a routed answer, the request id included. */
function routedHeaders(
  routed: Routed<unknown>,
  contentType: string,
  requestId: string,
): Record<string, string> {
  return {
    "content-type": contentType,
    "x-freerouter-model": routed.model,
    "x-freerouter-attempts": String(routed.attempts.length),
    "x-request-id": requestId,
  };
}

/** What the handler learns about a request while answering it. */
interface Trace {
  /** The request id (`X-Request-Id`). */
  id: string;
  /** The model that answered; its response carries the request id already. */
  model: string | null;
  attempts: Attempt[];
  stream: boolean;
  error: string | null;
}

/**
 * Creates the proxy: `POST /v1/chat/completions` routed across the free pool,
 * `GET /v1/models` (the pool in priority order), `GET /v1/freerouter/status`,
 * `GET /metrics` (Prometheus), `GET /health` and the status page at `GET /`.
 * The `/v1` prefix is optional.
 *
 * @example Serve it with Deno
 * ```ts ignore
 * import { createHandler } from "@freerouter/freerouter";
 * const handler = createHandler({ apiKey: Deno.env.get("OPENROUTER_API_KEY") });
 * Deno.serve({ port: 8000 }, handler);
 * ```
 */
export function createHandler(options: HandlerOptions = {}): FreeRouterHandler {
  const resolved: ResolvedRouterOptions = resolveRouterOptions(options);
  const router = new Router(resolved);
  const { apiKey, accessKey, corsOrigins = [] } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const { logger, state, now } = resolved;
  const listCache = new WeakMap<readonly FreeModel[], string>();
  const metrics = new Metrics();
  const recent = new RecentRequests();

  function upstreamKey(req: Request): string | undefined {
    if (apiKey) return apiKey;
    return accessKey ? undefined : bearer(req);
  }

  async function chat(req: Request, trace: Trace): Promise<Response> {
    const key = upstreamKey(req);
    if (!key) {
      return errorResponse({
        status: 401,
        message: accessKey
          ? "freerouter has no OpenRouter key configured (set OPENROUTER_API_KEY)"
          : "No OpenRouter key: set OPENROUTER_API_KEY on the server or send Authorization: Bearer <your OpenRouter key>",
        code: "missing_api_key",
      });
    }
    const body = await readJsonBody(req, maxBodyBytes);
    if (!body.ok) return body.response;
    const checked = validateChatRequest(body.value);
    if (!checked.ok) {
      return errorResponse({
        status: 400,
        message: checked.error.message,
        param: checked.error.param,
        code: "invalid_request",
      });
    }
    // The request's signal is read only when it matters (see RouteContext).
    const context = { apiKey: key, signal: () => req.signal };
    trace.stream = checked.request.stream === true;
    if (trace.stream) {
      const routed = await router.stream(checked.request, context);
      trace.model = routed.model;
      trace.attempts = routed.attempts;
      const headers = routedHeaders(
        routed,
        routed.answer.headers.get("content-type") ?? "text/event-stream",
        trace.id,
      );
      headers["cache-control"] = "no-cache";
      return new Response(routed.answer.body, { status: 200, headers });
    }
    const routed = await router.complete(checked.request, context);
    trace.model = routed.model;
    trace.attempts = routed.attempts;
    return new Response(
      routed.answer.bytes as
        | Uint8Array<ArrayBuffer>
        | ReadableStream<Uint8Array>,
      {
        status: 200,
        headers: routedHeaders(
          routed,
          routed.answer.headers.get("content-type") ?? "application/json",
          trace.id,
        ),
      },
    );
  }

  async function models(req: Request): Promise<Response> {
    let pool: readonly FreeModel[];
    try {
      pool = await router.models(upstreamKey(req));
    } catch (err) {
      return errorResponse({
        status: 503,
        message: `No free model is available: ${(err as Error).message}`,
        code: "no_free_models",
      });
    }
    let body = listCache.get(pool);
    if (body === undefined) listCache.set(pool, body = modelsList(pool));
    return json(body);
  }

  /** The server key's account fingerprint (undefined with bring-your-own-key). */
  let serverAccount: string | undefined;
  const serverAccountReady = apiKey
    ? accountIdOf(apiKey).then((id) => (serverAccount = id))
    : undefined;

  function health(): Response {
    return json(JSON.stringify(healthReport(state, now(), serverAccount)));
  }

  async function status(req: Request): Promise<Response> {
    const key = upstreamKey(req);
    await router.models(key).catch(() => {});
    const account = key ? await accountIdOf(key) : undefined;
    return json(
      JSON.stringify({
        ...statusReport(resolved, account),
        recent: recent.list(),
      }),
    );
  }

  function metricsText(): Response {
    return new Response(metrics.render(stateGauges(state, now())), {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    });
  }

  async function dispatch(
    req: Request,
    path: string,
    trace: Trace,
  ): Promise<Response> {
    const route = ROUTES[path];
    if (route === undefined) {
      return errorResponse({
        status: 404,
        message: `Unknown path: ${pathnameOf(req.url)}`,
        code: "not_found",
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
    if (path === "/health") return health();
    if (path === "/") {
      return new Response(STATUS_PAGE_HTML, {
        headers: { "content-type": "text/html; charset=utf-8" },
      });
    }
    if (accessKey && !timingSafeEqual(bearer(req) ?? "", accessKey)) {
      return errorResponse({
        status: 401,
        message:
          "Missing or wrong access key (Authorization: Bearer <FREEROUTER_API_KEY>)",
        code: "invalid_api_key",
      });
    }
    try {
      if (path === "/models") return await models(req);
      if (path === "/freerouter/status") return await status(req);
      if (path === "/metrics") return metricsText();
      return await chat(req, trace);
    } catch (err) {
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
        logger.warn(
          `Unexpected error: ${
            err instanceof Error ? err.stack ?? err.message : String(err)
          }`,
        );
      }
      return toErrorResponse(err);
    }
  }

  function record(
    req: Request,
    pathname: string,
    path: string,
    id: string,
    res: Response,
    trace: Trace,
    arrived: number,
    ms: number,
  ): void {
    const routeLabel = ROUTES[path]?.label ?? path.slice(1).replace("/", "_");
    const outcome = res.status < 400
      ? "ok"
      : res.status === 429
      ? "rate_limited"
      : res.status < 500
      ? "client_error"
      : "failed";
    metrics.requests.inc({ route: routeLabel, outcome });
    for (const a of trace.attempts) {
      metrics.attempts.inc({ model: a.model, class: outcomeClass(a.outcome) });
      metrics.upstreamLatency.observe(a.ms / 1000, { model: a.model });
    }
    if (trace.model && trace.attempts.length > 1) metrics.fallbacks.inc();
    if (trace.stream && res.ok) metrics.streamTtfb.observe(ms / 1000);
    if (path === "/chat/completions") {
      const entry: RequestEntry = {
        id,
        arrived,
        method: req.method,
        path: pathname,
        status: res.status,
        model: trace.model,
        attempts: trace.attempts,
        latency_ms: Math.round(ms * 10) / 10,
        stream: trace.stream,
        error: trace.error,
      };
      recent.push(entry);
      logger.info("request", logFields(entry));
    }
  }

  async function handle(req: Request): Promise<Response> {
    const arrived = Date.now();
    const started = performance.now();
    const id = requestIdOf(req);
    const pathname = pathnameOf(req.url);
    const path = routeOf(pathname);
    const trace: Trace = {
      id,
      model: null,
      attempts: [],
      stream: false,
      error: null,
    };
    const res = await dispatch(req, path, trace);
    if (res.status >= 400 && trace.error === null) {
      trace.error = res.headers.get("content-type")?.includes("json")
        ? `http_${res.status}`
        : null;
    }
    if (trace.model === null) res.headers.set("x-request-id", id);
    if (corsOrigins.length > 0) {
      const cors = corsHeaders(req.headers.get("origin"), corsOrigins);
      for (const k in cors) res.headers.set(k, cors[k]!);
    }
    record(
      req,
      pathname,
      path,
      id,
      res,
      trace,
      arrived,
      performance.now() - started,
    );
    return res;
  }

  const close = async () => {
    await serverAccountReady;
    await (resolved.ownsState
      ? resolved.state.close()
      : resolved.state.settle());
  };
  return Object.assign(handle, {
    models: () => router.models(apiKey),
    close,
    [Symbol.asyncDispose]: close,
  });
}
