/**
 * The proxy as a web-standard handler: `(req: Request) => Promise<Response>`.
 * Mount it in `Deno.serve`, Bun, Hono, Cloudflare Workers, or Node through a
 * Request/Response adapter.
 *
 * @module
 */
import {
  errorResponse,
  FreeRouterError,
  toErrorResponse,
  UpstreamHTTPError,
} from "./errors.ts";
import {
  type ResolvedRouterOptions,
  resolveRouterOptions,
  type RouterOptions,
} from "./options.ts";
import { validateChatRequest } from "./request_schema.ts";
import { type Routed, Router } from "./router.ts";
import { statusReport } from "./status.ts";
import type { FreeModel } from "./types.ts";

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
   * When set, clients must send `Authorization: Bearer <accessKey>`. It is
   * never forwarded upstream.
   */
  accessKey?: string;
}

/**
 * The proxy handler. It is a plain function; `close()` waits for background
 * work (a catalog refresh, KV writes) and is also reachable as
 * `Symbol.asyncDispose`.
 */
export interface FreeRouterHandler extends AsyncDisposable {
  /** Answers one request. */
  (req: Request): Promise<Response>;
  /** The routable free pool in priority order (loads it when needed). */
  models(): Promise<readonly FreeModel[]>;
  /** Waits for background work to settle. The KV handle, if any, stays open. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();

function bearer(req: Request): string | undefined {
  const value = req.headers.get("authorization");
  if (!value) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(value.trim());
  return match?.[1]?.trim() || undefined;
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

/** The OpenAI path without its `/v1` prefix and trailing slash. */
function route(pathname: string): string {
  const path = pathname.length > 1 && pathname.endsWith("/")
    ? pathname.slice(0, -1)
    : pathname;
  return path.startsWith("/v1/") ? path.slice(3) : path;
}

const ALLOW: Record<string, string> = {
  "/chat/completions": "POST",
  "/models": "GET, HEAD",
  "/health": "GET, HEAD",
  "/freerouter/status": "GET, HEAD",
};

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

function json(
  body: string,
  status = 200,
  headers?: Record<string, string>,
): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function routedHeaders(routed: Routed<unknown>, contentType: string): Headers {
  return new Headers({
    "content-type": contentType,
    "x-freerouter-model": routed.model,
    "x-freerouter-attempts": String(routed.attempts.length),
  });
}

/**
 * Creates the proxy: `POST /v1/chat/completions` routed across the free pool,
 * `GET /v1/models` (the pool in priority order), `GET /health`. The `/v1`
 * prefix is optional.
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
  const { apiKey, accessKey } = options;
  const { logger } = resolved;
  const listCache = new WeakMap<readonly FreeModel[], string>();

  function upstreamKey(req: Request): string | undefined {
    if (apiKey) return apiKey;
    return accessKey ? undefined : bearer(req);
  }

  async function chat(req: Request): Promise<Response> {
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
    let body: unknown;
    try {
      body = JSON.parse(await req.text());
    } catch {
      return errorResponse({
        status: 400,
        message: "The request body is not valid JSON",
        code: "invalid_json",
      });
    }
    const checked = validateChatRequest(body);
    if (!checked.ok) {
      return errorResponse({
        status: 400,
        message: checked.error.message,
        param: checked.error.param,
        code: "invalid_request",
      });
    }
    const context = { apiKey: key, signal: req.signal };
    if (checked.request.stream === true) {
      const routed = await router.stream(checked.request, context);
      const headers = routedHeaders(
        routed,
        routed.answer.headers.get("content-type") ?? "text/event-stream",
      );
      headers.set("cache-control", "no-cache");
      return new Response(routed.answer.body, { status: 200, headers });
    }
    const routed = await router.complete(checked.request, context);
    return new Response(routed.answer.bytes as Uint8Array<ArrayBuffer>, {
      status: 200,
      headers: routedHeaders(
        routed,
        routed.answer.headers.get("content-type") ?? "application/json",
      ),
    });
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

  function health(): Response {
    const { state, now } = resolved;
    const snapshot = state.catalog.snapshot;
    const block = state.account && state.account.until > now()
      ? state.account
      : undefined;
    return json(JSON.stringify({
      status: block
        ? "limited"
        : snapshot && snapshot.pool.length > 0
        ? "ok"
        : "degraded",
      pool_size: snapshot?.pool.length ?? 0,
      catalog_age_seconds: snapshot
        ? Math.round((now() - snapshot.fetchedAt) / 1000)
        : null,
      account_blocked_until: block ? new Date(block.until).toISOString() : null,
    }));
  }

  async function status(req: Request): Promise<Response> {
    await router.models(upstreamKey(req)).catch(() => {});
    return json(JSON.stringify(statusReport(resolved, options.rpm ?? 20)));
  }

  async function handle(req: Request): Promise<Response> {
    const path = route(new URL(req.url).pathname);
    const allow = ALLOW[path];
    if (allow === undefined) {
      return errorResponse({
        status: 404,
        message: `Unknown path: ${new URL(req.url).pathname}`,
        code: "not_found",
      });
    }
    if (!allow.split(", ").includes(req.method)) {
      return errorResponse({
        status: 405,
        message: `Method ${req.method} is not allowed on ${path}; use ${allow}`,
        code: "method_not_allowed",
        headers: { allow },
      });
    }
    if (path === "/health") return health();
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
      return await chat(req);
    } catch (err) {
      if (
        !(err instanceof FreeRouterError || err instanceof UpstreamHTTPError)
      ) {
        logger.warn(
          `Unexpected error: ${
            err instanceof Error ? err.stack ?? err.message : String(err)
          }`,
        );
      }
      return toErrorResponse(err);
    }
  }

  const close = () =>
    resolved.ownsState ? resolved.state.close() : resolved.state.settle();
  return Object.assign(handle, {
    models: () => router.models(apiKey),
    close,
    [Symbol.asyncDispose]: close,
  });
}
