/**
 * The `models` and `check` subcommands of the freerouter command.
 *
 * @module
 */
import { supports, supportsReasoning } from "../core/capabilities.ts";
import { quotaLines } from "./check_quota.ts";
import { ConfigError, type ServerConfig } from "./config.ts";
import { handlerFor, openKv } from "./serve.ts";
import { redactSecret, withoutCredentials } from "../core/secrets.ts";
import { failedRequestError } from "../upstream/get_text.ts";
import { parseJson } from "../upstream/request.ts";
import type { FreeModel } from "../types.ts";
import { isRecord } from "../core/records.ts";

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
  catalog: { fetched_at: string | null };
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

/**
 * How long ago an age in ms was, for a person: a list kept in KV while
 * OpenRouter cannot be reached is printed all the same, and says how old
 * it is.
 */
export function ago(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  return hours < 48
    ? `${hours} h ${minutes % 60} min ago`
    : `${Math.floor(hours / 24)} days ago`;
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
  const kv = await openKv(config.kvPath, config.kvAccessToken);
  // Its warnings are not shown: the CLI prints the list, and when OpenRouter
  // listed it (a list kept in KV past its TTL is fetched again first; the
  // kept one is printed when OpenRouter cannot be reached).
  const handler = handlerFor(config, kv, { info() {}, warn() {} });
  try {
    const pool = await handler.models({ refresh: true }).catch((err) => {
      throw new Error(
        `Cannot load the free model list from ${
          withoutCredentials(config.baseUrl)
        }: ${err instanceof Error ? err.message : err}`,
        { cause: err },
      );
    });
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
    const aliasRows = [["ALIAS", "RANKED FIRST", "PICKS"]];
    for (const alias of status.aliases) {
      const first = alias.models.slice(0, ALIAS_MODELS_SHOWN).join(", ");
      const more = alias.models.length - ALIAS_MODELS_SHOWN;
      aliasRows.push([
        alias.name,
        (first || "(no model)") + (more > 0 ? ` (+${more})` : ""),
        alias.description,
      ]);
    }
    const fetched = status.catalog.fetched_at;
    const listed = fetched === null
      ? ""
      : `; OpenRouter listed them at ${fetched} (${
        ago(Date.now() - Date.parse(fetched))
      })`;
    out(
      `${pool.length} free models, ranked for auto (strategy ${status.strategy}; one cooling down is tried after the ready ones)${listed}:\n\n${
        textTable(rows)
      }\n\nAliases (send as "model"):\n\n${textTable(aliasRows)}`,
    );
    return 0;
  } finally {
    await handler.close();
    kv.close();
  }
}

/**
 * `freerouter check`'s exit code when OpenRouter could not answer (a 5xx, a
 * 429, no connection, no answer in time): the key was not checked, try again
 * later (`EX_TEMPFAIL` of sysexits.h). A key OpenRouter rejects (401, 403)
 * exits 1.
 */
export const CHECK_NOT_ANSWERED = 75;

/** Whether a `/key` status is OpenRouter's trouble (or a limit), not a verdict on the key. */
function isUnanswered(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/**
 * The `Tier:` of a `/key` answer (its text, `undefined` when it could not be
 * read): unknown unless `is_free_tier` says it.
 */
function tier(text: string | undefined, body: unknown): string {
  const free = isRecord(body) && isRecord(body.data)
    ? body.data.is_free_tier
    : undefined;
  if (free === true) return "free (never purchased credits)";
  if (free === false) return "paid (credits purchased)";
  if (text === undefined) return "unknown (/key's answer could not be read)";
  return body === undefined
    ? "unknown (/key's answer is not JSON)"
    : "unknown (/key did not report is_free_tier)";
}

/**
 * `freerouter check`: the key's tier, limits, usage and today's free quota on
 * `out`; why the key could not be checked, or was rejected, on `err`.
 */
export async function printKeyCheck(
  config: ServerConfig,
  out: (line: string) => void,
  err: (line: string) => void,
  now: number = Date.now(),
): Promise<number> {
  const apiKey = config.openrouterApiKey;
  if (!apiKey) {
    throw new ConfigError(
      "OPENROUTER_API_KEY is not set: there is no key to check",
    );
  }
  const url = `${withoutCredentials(config.baseUrl)}/key`;
  let res: Response;
  try {
    res = await fetch(`${config.baseUrl}/key`, {
      headers: { authorization: `Bearer ${apiKey}` },
      signal: AbortSignal.timeout(config.requestTimeout * 1000),
    });
  } catch (failure) {
    const why =
      failure instanceof DOMException && failure.name === "TimeoutError"
        ? `no answer within ${config.requestTimeout} s`
        : failedRequestError(failure, apiKey).message;
    err(
      `Could not reach OpenRouter: GET ${url} failed (${why}); the key was not checked, try again later`,
    );
    return CHECK_NOT_ANSWERED;
  }
  const text = await res.text().catch(() => undefined);
  const body = text === undefined ? undefined : parseJson(text);
  if (!res.ok) {
    const reported = isRecord(body) && isRecord(body.error)
      ? body.error.message
      : undefined;
    const message = redactSecret(
      typeof reported === "string" && reported !== ""
        ? reported
        : res.statusText || "no message",
      apiKey,
    );
    const status = `${res.status}: ${message}`;
    if (res.status === 401 || res.status === 403) {
      err(`OpenRouter rejected the key (${status})`);
      return 1;
    }
    if (isUnanswered(res.status)) {
      err(
        `OpenRouter could not answer GET ${url} (${status}); the key was not checked, try again later`,
      );
      return CHECK_NOT_ANSWERED;
    }
    err(
      `OpenRouter answered GET ${url} with ${status}; the key was not checked`,
    );
    return 1;
  }
  const data = isRecord(body) && isRecord(body.data) ? body.data : {};
  const money = (v: unknown) =>
    typeof v === "number" ? `$${v.toFixed(2)}` : "n/a";
  const quota = data.free_model_daily_requests as {
    used?: number;
    limit?: number;
    remaining?: number;
  } | undefined;
  const lines = [
    `Tier:              ${tier(text, body)}`,
    `Credit limit:      ${
      data.limit === undefined
        ? "not reported"
        : data.limit === null
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
    ...await quotaLines(body, apiKey, config.kvPath, now),
  ];
  // A 200 without `data` is not OpenRouter's /key (a captive portal, a base
  // URL that serves something else): the key was not checked.
  const checked = isRecord(body) && isRecord(body.data);
  // The report's fields are the upstream's words (`limit_reset` is free text).
  out(redactSecret(lines.join("\n"), apiKey));
  if (!checked) {
    err(
      `GET ${url} answered 200 without OpenRouter's key report (is OPENROUTER_BASE_URL right?); the key was not checked`,
    );
  }
  return checked ? 0 : 1;
}
