/**
 * What every route handler shares: the router, the resolved options, the
 * records, the client's key, and the per-request trace the handler fills in
 * for the log line, the metrics and the status page.
 *
 * @module
 */
import type { Attempt } from "../errors.ts";
import type { Metrics } from "../ops/metrics.ts";
import type { Api, RecentRequests, RequestEntry } from "../ops/request_log.ts";
import type { ResolvedRouterOptions } from "../options.ts";
import type { Routed, Router } from "../router.ts";
import type { FreeModel } from "../types.ts";
import type { ModelFront } from "../fronts/model_entries.ts";
import type { CacheRuntime, CacheStatus } from "./cached_route.ts";
import type { ClientRegistry } from "./clients.ts";
import { clientKey, isForeignKey } from "./auth.ts";

/** What the handler learns about a request while answering it. */
export interface Trace {
  /** The request id (`X-Request-Id`). */
  id: string;
  /** Which API the client spoke. */
  api: Api;
  /** The model that answered; its response carries the request id already. */
  model: string | null;
  attempts: Attempt[];
  stream: boolean;
  error: string | null;
  /** The request being answered (its headers steer the response cache). */
  request?: Request;
  /** The client key's name, when client keys are configured. */
  client?: string;
  /** What the response cache did, when it is on. */
  cache?: CacheStatus;
  /** Its entry in the recent requests, once recorded: a stream that breaks later marks it. */
  entry?: RequestEntry;
  /** How many of its attempts the metrics and the log have (a continuation's come later). */
  recordedAttempts?: number;
}

/** The handler's shared parts, built once by `createHandler`. */
export interface HandlerContext {
  router: Router;
  resolved: ResolvedRouterOptions;
  metrics: Metrics;
  recent: RecentRequests;
  maxBodyBytes: number;
  /** Whether `FREEROUTER_API_KEY` (an access key) is configured. */
  hasAccessKey: boolean;
  /** The OpenRouter key a request spends: the server's, or the client's own. */
  upstreamKey(req: Request): string | undefined;
  /** The server key's account fingerprint (undefined with bring-your-own-key). */
  serverAccount(): string | undefined;
  /** `GET /models` lists (OpenAI's and Anthropic's shapes), built once per pool. */
  listCache: WeakMap<
    readonly FreeModel[],
    Partial<Record<ModelFront, { entries: { id: string }[]; body: string }>>
  >;
  /** The client keys, when configured. */
  clients?: ClientRegistry;
  /** The response cache, when on. */
  cache?: CacheRuntime;
  /** Resolves once no read of OpenRouter's `/key` is under way. */
  quotaSettled?: () => Promise<void>;
}

/** A route's handler. */
export type RouteHandler = (
  req: Request,
  ctx: HandlerContext,
  trace: Trace,
) => Promise<Response> | Response;

/** A JSON response. */
export function json(body: string, status = 200): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** The headers of a routed answer, the request id included. */
export function routedHeaders(
  routed: Routed<unknown>,
  contentType: string,
  requestId: string,
): Record<string, string> {
  return {
    "content-type": contentType,
    "x-freerouter-model": routed.model,
    "x-freerouter-attempts": String(routed.attempts.length),
    "x-request-id": requestId,
    ...("cache" in routed && typeof routed.cache === "string"
      ? { "x-freerouter-cache": routed.cache }
      : {}),
  };
}

/** Notes the routed answer in the trace. */
export function traced<T extends Routed<unknown>>(trace: Trace, routed: T): T {
  trace.model = routed.model;
  trace.attempts = routed.attempts;
  return routed;
}

/** The message when no OpenRouter key can be spent on `req`. */
export function missingKeyMessage(ctx: HandlerContext, req: Request): string {
  if (ctx.hasAccessKey) {
    return "freerouter has no OpenRouter key configured (set OPENROUTER_API_KEY)";
  }
  const key = clientKey(req);
  return key !== undefined && isForeignKey(key)
    ? "The key sent is another provider's API key, which freerouter does not forward to OpenRouter: send your OpenRouter key (Authorization: Bearer or x-api-key; for Claude Code, ANTHROPIC_API_KEY), or set OPENROUTER_API_KEY on the server"
    : "No OpenRouter key: set OPENROUTER_API_KEY on the server or send your OpenRouter key (Authorization: Bearer or x-api-key)";
}
