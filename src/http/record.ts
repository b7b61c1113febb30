/**
 * What the handler records about each answered request: the metrics, and for
 * the routed APIs the status page's recent requests and one log line.
 *
 * @module
 */
import { outcomeClass } from "../ops/metrics.ts";
import { logFields, type RequestEntry } from "../ops/request_log.ts";
import type { HandlerContext, Trace } from "./context.ts";
import type { Route } from "./routes.ts";

/** One answered request, as the handler saw it. */
export interface Answered {
  req: Request;
  /** The request's path, without the query. */
  pathname: string;
  route: Route | undefined;
  res: Response;
  trace: Trace;
  /** Epoch ms. */
  arrived: number;
  /** Time to the response, ms. */
  ms: number;
}

/** Records an answered request in the metrics, the recent requests and the log. */
export function record(ctx: HandlerContext, answered: Answered): void {
  const { req, pathname, route, res, trace, arrived, ms } = answered;
  const { metrics } = ctx;
  // Unknown paths share one label: a path is the client's text, and each
  // label would be a series kept forever.
  const routeLabel = route?.label ?? "not_found";
  const outcome = res.status < 400
    ? "ok"
    : res.status === 429
    ? "rate_limited"
    : res.status < 500
    ? "client_error"
    : "failed";
  metrics.requests.inc({ route: routeLabel, outcome });
  if (route?.api === undefined) recordAttempts(ctx, trace);
  if (trace.model && trace.attempts.length > 1) metrics.fallbacks.inc();
  if (trace.stream && res.ok) metrics.streamTtfb.observe(ms / 1000);
  if (route?.api === undefined) return;
  const entry: RequestEntry = {
    id: trace.id,
    api: trace.api,
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
  ctx.recent.push(entry);
  trace.entry = entry;
  ctx.resolved.logger.info("request", logFields(entry));
  recordAttempts(ctx, trace);
}

/**
 * Records the trace's attempts not recorded yet in the metrics and (at debug
 * level) one log line each: a request's when it is answered, a stream's
 * continuation's when it was resumed or could not be (they come after the
 * response's headers).
 */
export function recordAttempts(ctx: HandlerContext, trace: Trace): void {
  const from = trace.recordedAttempts ?? 0;
  const attempts = trace.attempts.slice(from);
  trace.recordedAttempts = trace.attempts.length;
  const { metrics } = ctx;
  for (const a of attempts) {
    metrics.attempts.inc({ model: a.model, class: outcomeClass(a.outcome) });
    metrics.upstreamLatency.observe(a.ms / 1000, { model: a.model });
  }
  const { logger } = ctx.resolved;
  if (!logger.debug) return;
  for (const [i, a] of attempts.entries()) {
    logger.debug("attempt", {
      request_id: trace.id,
      n: from + i + 1,
      model: a.model,
      outcome: a.outcome,
      ms: Math.round(a.ms),
      ...(a.continuation ? { continuation: true } : {}),
    });
  }
}
