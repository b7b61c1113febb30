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
import { type HandlerContext, json } from "./context.ts";

function openAiList(pool: readonly FreeModel[]): string {
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

/** Anthropic's model list (what Claude Code's gateway model discovery reads). */
function anthropicList(pool: readonly FreeModel[]): string {
  return JSON.stringify({
    data: pool.map((m) => ({
      type: "model",
      id: m.id,
      display_name: m.name,
      created_at: new Date(m.created * 1000).toISOString(),
    })),
    has_more: false,
    first_id: pool[0]?.id ?? null,
    last_id: pool.at(-1)?.id ?? null,
  });
}

const anthropicLists = new WeakMap<readonly FreeModel[], string>();

/** `GET /v1/models`: the pool in priority order, built once per pool. */
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
  const anthropic = req.headers.has("anthropic-version");
  const cache = anthropic ? anthropicLists : ctx.listCache;
  let body = cache.get(pool);
  if (body === undefined) {
    cache.set(pool, body = anthropic ? anthropicList(pool) : openAiList(pool));
  }
  return json(body);
}

/** `GET /health`. */
export function health(_req: Request, ctx: HandlerContext): Response {
  const { state, now } = ctx.resolved;
  return json(JSON.stringify(healthReport(state, now(), ctx.serverAccount())));
}

/** `GET /v1/freerouter/status`: the pool, the quota and recent requests. */
export async function status(
  req: Request,
  ctx: HandlerContext,
): Promise<Response> {
  const key = ctx.upstreamKey(req);
  await ctx.router.models(key).catch(() => {});
  const account = key ? await accountIdOf(key) : undefined;
  return json(
    JSON.stringify({
      ...statusReport(ctx.resolved, account),
      recent: ctx.recent.list(),
    }),
  );
}

/** `GET /metrics` (Prometheus text). */
export function metrics(_req: Request, ctx: HandlerContext): Response {
  const { state, now } = ctx.resolved;
  return new Response(ctx.metrics.render(stateGauges(state, now())), {
    headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
  });
}

/** `GET /`: the status page. */
export function page(): Response {
  return new Response(STATUS_PAGE_HTML, {
    headers: { "content-type": "text/html; charset=utf-8" },
  });
}
