/**
 * The routes that read rather than route: `GET /v1/models` (OpenAI's list
 * shape, or Anthropic's when the request carries `anthropic-version`),
 * `/health`, `/v1/freerouter/status`, `/metrics` and the status page.
 *
 * @module
 */
import { errorResponse } from "../errors.ts";
import { accountIdOf } from "../state/account_id.ts";
import { healthReport, stateGauges, statusReport } from "../ops/status.ts";
import { STATUS_PAGE_HTML } from "../ops/status_page.ts";
import type { FreeModel } from "../types.ts";
import { type AliasInfo, listAliases } from "../core/aliases.ts";
import { baseOrder } from "../core/ranking.ts";
import { type HandlerContext, json } from "./context.ts";
import { healthQuota, quotaMetrics, statusQuota } from "./quota_info.ts";

function openAiList(
  pool: readonly FreeModel[],
  aliases: readonly AliasInfo[],
): string {
  return JSON.stringify({
    object: "list",
    data: [
      ...pool.map((m) => ({
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
        intelligence_index: m.intelligence_index ?? null,
        coding_index: m.coding_index ?? null,
        agentic_index: m.agentic_index ?? null,
      })),
      ...aliases.map((a) => ({
        id: a.name,
        object: "model",
        created: 0,
        owned_by: "freerouter",
        name: `freerouter: ${a.description}`,
      })),
    ],
  });
}

/** Anthropic's model list (what Claude Code's gateway model discovery reads). */
function anthropicList(
  pool: readonly FreeModel[],
  aliases: readonly AliasInfo[],
): string {
  const data = [
    ...pool.map((m) => ({
      type: "model",
      id: m.id,
      display_name: m.name,
      created_at: new Date(m.created * 1000).toISOString(),
    })),
    ...aliases.map((a) => ({
      type: "model",
      id: a.name,
      display_name: `freerouter: ${a.description}`,
      created_at: new Date(0).toISOString(),
    })),
  ];
  return JSON.stringify({
    data,
    has_more: false,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
  });
}

/**
 * `GET /v1/models`: the pool in the strategy's order (by quality for
 * `quality`, the stored priority order otherwise; health aside), then the
 * aliases. Built once per pool.
 */
export async function models(
  req: Request,
  ctx: HandlerContext,
): Promise<Response> {
  let pool: readonly FreeModel[];
  try {
    pool = await ctx.router.models(ctx.upstreamKey(req));
  } catch (err) {
    return errorResponse({
      status: 503,
      message: `No free model is available: ${(err as Error).message}`,
      code: "no_free_models",
    });
  }
  const shape = req.headers.has("anthropic-version") ? "anthropic" : "openai";
  const ordered = baseOrder(
    pool,
    ctx.resolved.strategy === "quality" ? "quality" : "priority",
  );
  let bodies = ctx.listCache.get(ordered);
  if (bodies === undefined) ctx.listCache.set(ordered, bodies = {});
  let body = bodies[shape];
  if (body === undefined) {
    const aliases = listAliases(ctx.resolved.aliases);
    body = bodies[shape] = shape === "anthropic"
      ? anthropicList(ordered, aliases)
      : openAiList(ordered, aliases);
  }
  return json(body);
}

/** `GET /health`. */
export async function health(
  _req: Request,
  ctx: HandlerContext,
): Promise<Response> {
  const { state, now } = ctx.resolved;
  const server = ctx.serverAccount();
  if (server !== undefined) await state.refreshCounts([server], now());
  return json(JSON.stringify({
    ...healthReport(state, now(), server),
    quota: healthQuota(ctx),
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
    await ctx.resolved.state.refreshCounts([account], ctx.resolved.now());
  }
  return json(
    JSON.stringify({
      ...statusReport(ctx.resolved, account),
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
  await state.refreshCounts(
    new Set([
      ...state.accounts.keys(),
      ...server === undefined ? [] : [server],
    ]),
    now(),
  );
  const gauges = [...stateGauges(state, now()), ...await quotaMetrics(ctx)];
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
