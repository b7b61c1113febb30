/**
 * The routes that read rather than route: `GET /v1/models` (OpenAI's list
 * shape, or Anthropic's when the request carries `anthropic-version`) and
 * `GET /v1/models/{id}` (one entry of that list, in the same shape),
 * `/health`, `/v1/freerouter/status`, `/metrics` and the status page.
 *
 * @module
 */
import { errorResponse } from "../errors.ts";
import { accountIdOf } from "../state/account_id.ts";
import { healthReport, stateGauges, statusReport } from "../ops/status.ts";
import { accountQuota } from "../ops/quota_report.ts";
import { STATUS_PAGE_HTML } from "../ops/status_page.ts";
import type { FreeModel } from "../types.ts";
import {
  type AliasInfo,
  type CustomAliases,
  isAutoSynonym,
  listAliases,
} from "../core/aliases.ts";
import { baseOrder } from "../core/ranking.ts";
import {
  anthropicPage,
  MODEL_SHAPES,
  type ModelShape,
} from "../fronts/model_entries.ts";
import { type HandlerContext, json } from "./context.ts";
import { sharedRouteFront } from "./front_errors.ts";
import { healthQuota, quotaMetrics, statusQuota } from "./quota_info.ts";

/** The list entries: the pool's models, then the aliases. */
function listEntries<Entry>(
  shape: ModelShape<Entry>,
  pool: readonly FreeModel[],
  aliases: readonly AliasInfo[],
): Entry[] {
  return [...pool.map(shape.model), ...aliases.map(shape.alias)];
}

/**
 * The entry the list shows under `id`: a pool model first, then an alias; a
 * synonym of `auto` that routes as it does (`openrouter/auto`, not listed)
 * as `auto`'s entry under its own name.
 */
function entryOf<Entry>(
  shape: ModelShape<Entry>,
  pool: readonly FreeModel[],
  aliases: CustomAliases,
  id: string,
): Entry | undefined {
  const m = pool.find((m) => m.id === id);
  if (m !== undefined) return shape.model(m);
  const name = isAutoSynonym(id) ? "auto" : id;
  const alias = listAliases(aliases).find((a) => a.name === name);
  return alias === undefined ? undefined : shape.alias({ ...alias, name: id });
}

/** The pool the request may see, or the 503 when none can be loaded. */
async function poolOf(
  req: Request,
  ctx: HandlerContext,
): Promise<readonly FreeModel[] | Response> {
  try {
    return await ctx.router.models(ctx.upstreamKey(req));
  } catch (err) {
    return errorResponse({
      status: 503,
      message: `No free model is available: ${(err as Error).message}`,
      code: "no_free_models",
    });
  }
}

/**
 * `GET /v1/models`: the pool in the strategy's order (by quality for
 * `quality`, the stored priority order otherwise; health aside), then the
 * aliases; in Anthropic's shape one page of it when the query asks for one
 * (`limit`, `after_id`, `before_id`). Built once per pool.
 */
export async function models(
  req: Request,
  ctx: HandlerContext,
): Promise<Response> {
  const pool = await poolOf(req, ctx);
  if (pool instanceof Response) return pool;
  const front = sharedRouteFront(req);
  const ordered = baseOrder(
    pool,
    ctx.resolved.strategy === "quality" ? "quality" : "priority",
  );
  let lists = ctx.listCache.get(ordered);
  if (lists === undefined) ctx.listCache.set(ordered, lists = {});
  const shape = MODEL_SHAPES[front];
  const list = lists[front] ??= (() => {
    const entries = listEntries(
      shape,
      ordered,
      listAliases(ctx.resolved.aliases),
    );
    return { entries, body: JSON.stringify(shape.list(entries, false)) };
  })();
  const query = new URL(req.url).searchParams;
  if (front !== "anthropic" || !PAGE_PARAMS.some((p) => query.has(p))) {
    return json(list.body);
  }
  const page = anthropicPage(list.entries, query);
  if (typeof page === "string") {
    return errorResponse({ status: 400, message: page });
  }
  return json(JSON.stringify(shape.list(page.data, page.hasMore)));
}

/** The query parameters of Anthropic's paginated list. */
const PAGE_PARAMS = ["limit", "after_id", "before_id"];

/**
 * `GET /v1/models/{id}`: the one entry `GET /v1/models` lists under `id` (a
 * pool model or an alias), in the same shape; an unknown id answers 404 in
 * the front's error shape (OpenAI's `model_not_found`, or Anthropic's
 * `not_found_error`). Errors answer in Anthropic's shape when the request
 * carries `anthropic-version`.
 */
export async function model(
  req: Request,
  ctx: HandlerContext,
  id: string,
): Promise<Response> {
  const front = sharedRouteFront(req);
  const pool = await poolOf(req, ctx);
  if (pool instanceof Response) return pool;
  const entry = entryOf(MODEL_SHAPES[front], pool, ctx.resolved.aliases, id);
  if (entry !== undefined) return json(JSON.stringify(entry));
  // In the front's shape: the handler converts the errors of shared routes.
  return errorResponse({
    status: 404,
    message:
      `The model '${id}' does not exist: it is neither a free model of the pool nor an alias (GET /v1/models lists them)`,
    type: "invalid_request_error",
    param: "model",
    code: "model_not_found",
  });
}

/** `GET /health`. */
export async function health(
  _req: Request,
  ctx: HandlerContext,
): Promise<Response> {
  const { state, now } = ctx.resolved;
  const server = ctx.serverAccount();
  if (server !== undefined) await state.counts.refreshCounts([server], now());
  // One instant and one quota view for the status and the quota it reports.
  const t = now();
  const view = server === undefined
    ? undefined
    : accountQuota(state, server, t);
  return json(JSON.stringify({
    ...healthReport(
      state,
      t,
      server,
      view,
      server === undefined ? undefined : ctx.router.outage(server),
    ),
    quota: healthQuota(ctx, t, view),
  }));
}

/** `GET /v1/freerouter/status`: the pool, the quota and recent requests. */
export async function status(
  req: Request,
  ctx: HandlerContext,
): Promise<Response> {
  const key = ctx.upstreamKey(req);
  await ctx.router.models(key).catch(() => {});
  const account = key ? await accountIdOf(key) : undefined;
  if (account !== undefined) {
    await ctx.resolved.state.counts.refreshCounts(
      [account],
      ctx.resolved.now(),
    );
  }
  return json(
    JSON.stringify({
      ...statusReport(
        ctx.resolved,
        account,
        account === undefined ? undefined : ctx.router.outage(account),
      ),
      ...await statusQuota(ctx, account),
      recent: ctx.recent.list(),
    }),
  );
}

/** `GET /metrics` (Prometheus text). */
export async function metrics(
  _req: Request,
  ctx: HandlerContext,
): Promise<Response> {
  const { state, now } = ctx.resolved;
  const server = ctx.serverAccount();
  await state.counts.refreshCounts(
    new Set([
      ...state.accounts.keys(),
      ...server === undefined ? [] : [server],
    ]),
    now(),
  );
  const gauges = [
    ...stateGauges(state, now(), ctx.router.outagesPaused()),
    ...await quotaMetrics(ctx),
  ];
  return new Response(ctx.metrics.render(gauges), {
    headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
  });
}

/** `GET /`: the status page. */
export function page(): Response {
  return new Response(STATUS_PAGE_HTML, {
    headers: { "content-type": "text/html; charset=utf-8" },
  });
}
