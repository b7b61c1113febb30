/**
 * The `models` and `check` subcommands of the freerouter command.
 *
 * @module
 */
import { supports, supportsReasoning } from "../core/capabilities.ts";
import { quotaLines } from "./check_quota.ts";
import { ConfigError, type ServerConfig } from "./config.ts";
import { handlerFor, openKv } from "./serve.ts";
import type { FreeModel } from "../types.ts";

function capabilityList(model: FreeModel): string {
  const caps: string[] = [];
  if (supports(model, "tools") === "yes") caps.push("tools");
  if (supports(model, "structured_outputs") === "yes") caps.push("json_schema");
  else if (supports(model, "response_format") === "yes") caps.push("json");
  if (supportsReasoning(model)) caps.push("reasoning");
  for (const input of model.input_modalities) {
    if (input !== "text") caps.push(`${input} in`);
  }
  if (model.supported_parameters === null) caps.push("?");
  return caps.join(", ") || "-";
}

/** Renders rows as a left-aligned text table. */
export function textTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) =>
    Math.max(...rows.map((r) => r[i]!.length))
  );
  return rows.map((r) =>
    r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()
  ).join("\n");
}

/** What `freerouter models` reads from the status report. */
interface StatusForModels {
  strategy: string;
  pool: Array<{
    id: string;
    rank: number | null;
    quality_score: number | null;
    quality_source: string | null;
    state: string;
    cooldown_until: string | null;
    cooldown_reason: string | null;
  }>;
  aliases: Array<{ name: string; description: string; models: string[] }>;
}

/** How many of an alias's models `freerouter models` names. */
const ALIAS_MODELS_SHOWN = 3;

/**
 * `freerouter models`: the routable pool as a table, in the order `auto`
 * tries it (rank), with each model's quality score and where it came from,
 * then the aliases and the models each would try first.
 */
export async function printModels(
  config: ServerConfig,
  out: (line: string) => void,
): Promise<number> {
  const kv = await openKv(config.kvPath);
  const handler = handlerFor(config, kv, { info() {}, warn() {} });
  try {
    const pool = await handler.models();
    const headers: Record<string, string> = config.accessKey
      ? { authorization: `Bearer ${config.accessKey}` }
      : {};
    const status = await (await handler(
      new Request("http://cli/v1/freerouter/status", { headers }),
    )).json() as StatusForModels;
    const states = new Map(status.pool.map((m) => [m.id, m]));
    const rank = (m: FreeModel) => states.get(m.id)?.rank ?? Infinity;
    const ranked = [...pool].sort((a, b) => rank(a) - rank(b));
    const rows = [[
      "RANK",
      "MODEL",
      "SCORE",
      "CONTEXT",
      "CAPABILITIES",
      "STATE",
    ]];
    for (const model of ranked) {
      const s = states.get(model.id);
      const state = s?.state === "cooling_down"
        ? `cooling down until ${s.cooldown_until} (${s.cooldown_reason})`
        : "ready";
      rows.push([
        String(s?.rank ?? "-"),
        model.id,
        s?.quality_score == null
          ? "-"
          : `${s.quality_score.toFixed(1)} (${s.quality_source})`,
        model.context_length.toLocaleString("en-US"),
        capabilityList(model),
        state,
      ]);
    }
    const aliasRows = [["ALIAS", "TRIES FIRST", "PICKS"]];
    for (const alias of status.aliases) {
      const first = alias.models.slice(0, ALIAS_MODELS_SHOWN).join(", ");
      const more = alias.models.length - ALIAS_MODELS_SHOWN;
      aliasRows.push([
        alias.name,
        (first || "(no model)") + (more > 0 ? ` (+${more})` : ""),
        alias.description,
      ]);
    }
    out(
      `${pool.length} free models, ranked for auto (strategy ${status.strategy}):\n\n${
        textTable(rows)
      }\n\nAliases (send as "model"):\n\n${textTable(aliasRows)}`,
    );
    return 0;
  } finally {
    await handler.close();
    kv.close();
  }
}

/** `freerouter check`: the key's tier, limits, usage and today's free quota. */
export async function printKeyCheck(
  config: ServerConfig,
  out: (line: string) => void,
  now: number = Date.now(),
): Promise<number> {
  if (!config.openrouterApiKey) {
    throw new ConfigError(
      "OPENROUTER_API_KEY is not set: there is no key to check",
    );
  }
  const res = await fetch(`${config.baseUrl}/key`, {
    headers: { authorization: `Bearer ${config.openrouterApiKey}` },
    signal: AbortSignal.timeout(config.requestTimeout * 1000),
  });
  const body = await res.json().catch(() => undefined) as
    | Record<string, unknown>
    | undefined;
  if (!res.ok) {
    const message =
      (body?.error as { message?: string } | undefined)?.message ??
        res.statusText;
    out(`OpenRouter rejected the key (${res.status}: ${message})`);
    return 1;
  }
  const data = (body?.data ?? {}) as Record<string, unknown>;
  const money = (v: unknown) =>
    typeof v === "number" ? `$${v.toFixed(2)}` : "n/a";
  const quota = data.free_model_daily_requests as {
    used?: number;
    limit?: number;
    remaining?: number;
  } | undefined;
  const lines = [
    `Tier:              ${
      data.is_free_tier === true
        ? "free (never purchased credits)"
        : "paid (credits purchased)"
    }`,
    `Credit limit:      ${
      data.limit == null
        ? "none"
        : `${money(data.limit)} (${money(data.limit_remaining)} left${
          data.limit_reset ? `, resets ${data.limit_reset}` : ""
        })`
    }`,
    `Usage:             ${money(data.usage)} total, ${
      money(data.usage_daily)
    } today`,
    `Free models today: ${
      quota && typeof quota.limit === "number"
        ? `${quota.used ?? 0} of ${quota.limit} used, ${
          quota.remaining ?? 0
        } left (resets 00:00 UTC)`
        : "not reported"
    }`,
    ...await quotaLines(
      body,
      config.openrouterApiKey,
      config.kvPath,
      now,
    ),
  ];
  out(lines.join("\n"));
  return 0;
}
