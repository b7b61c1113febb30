/**
 * The freerouter command: the proxy (configuration from the environment and
 * `.env`, Deno KV for state, `Deno.serve` around {@link createHandler}), plus
 * `models` and `check`.
 *
 * ```sh
 * deno run --allow-net --allow-env --allow-read --allow-write jsr:@freerouter/freerouter/server --help
 * ```
 *
 * @module
 */
import {
  checkExposure,
  ConfigError,
  parseServerConfig,
  type ServerConfig,
} from "./config.ts";
import { loadEnv } from "./env.ts";
import { createHandler, type FreeRouterHandler } from "./handler.ts";
import { consoleLogger } from "./logger.ts";
import { startMemoryTrimmer } from "./memory_trim.ts";
import type { Logger } from "./options.ts";
import { supports, supportsReasoning } from "./capabilities.ts";
import type { FreeModel } from "./types.ts";
import { VERSION } from "./version.ts";

/** The `--help` text. */
export const USAGE =
  `freerouter ${VERSION}: OpenRouter's free models behind one OpenAI-compatible endpoint

Usage:
  freerouter [serve] [--host HOST] [--port PORT]   run the proxy (default)
  freerouter models                                print the routable free pool, in priority order
  freerouter check                                 show the key's tier, limits, usage and today's free quota
  freerouter --help | --version

Configuration comes from the environment and .env (see README.md); --host and
--port override HOST and PORT. Exit codes: 0 ok, 1 runtime failure, 2 usage or
configuration error.`;

/** A parsed command line. */
export type Command =
  | { command: "serve" | "models" | "check"; host?: string; port?: string }
  | { command: "help" }
  | { command: "version" }
  | { command: "usage_error"; message: string };

/** Parses the command line. Pure. */
export function parseCommandLine(args: readonly string[]): Command {
  let command: "serve" | "models" | "check" | undefined;
  const flags: { host?: string; port?: string } = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") continue; // `deno task start -- models` passes it through
    if (arg === "--help" || arg === "-h") return { command: "help" };
    if (arg === "--version" || arg === "-V") return { command: "version" };
    const flag = /^--(host|port)(?:=(.*))?$/.exec(arg);
    if (flag) {
      const value = flag[2] ?? args[++i];
      if (value === undefined || value === "") {
        return {
          command: "usage_error",
          message: `--${flag[1]} needs a value`,
        };
      }
      flags[flag[1] as "host" | "port"] = value;
      continue;
    }
    if (arg.startsWith("-")) {
      return { command: "usage_error", message: `Unknown option: ${arg}` };
    }
    if (command !== undefined) {
      return { command: "usage_error", message: `Unexpected argument: ${arg}` };
    }
    if (arg !== "serve" && arg !== "models" && arg !== "check") {
      return { command: "usage_error", message: `Unknown command: ${arg}` };
    }
    command = arg;
  }
  return { command: command ?? "serve", ...flags };
}

/** Opens the Deno KV store named by FREEROUTER_KV_PATH, creating its directory, and checks it is usable. */
export async function openKv(path: string): Promise<Deno.Kv> {
  let kv: Deno.Kv;
  try {
    if (path !== ":memory:" && !/^https?:\/\//.test(path)) {
      const slash = path.lastIndexOf("/");
      if (slash > 0) {
        await Deno.mkdir(path.slice(0, slash), { recursive: true });
      }
    }
    kv = await Deno.openKv(path);
  } catch (err) {
    throw new ConfigError(
      `Cannot open FREEROUTER_KV_PATH ${path}: ${
        err instanceof Error ? err.message : err
      }`,
    );
  }
  try {
    await kv.get(["freerouter", "rev"]);
    await kv.set(["freerouter", "opened"], Date.now());
  } catch (err) {
    kv.close();
    throw new ConfigError(
      `FREEROUTER_KV_PATH ${path} is not a usable Deno KV store (unwritable or corrupt): ${
        err instanceof Error ? err.message : err
      }`,
    );
  }
  return kv;
}

/** A running proxy. */
export interface RunningServer extends AsyncDisposable {
  /** The address it listens on, e.g. `http://127.0.0.1:8000`. */
  url: string;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
  /** Stops serving and closes KV. */
  shutdown(): Promise<void>;
}

function handlerFor(
  config: ServerConfig,
  kv: Deno.Kv,
  logger: Logger,
): FreeRouterHandler {
  return createHandler({
    apiKey: config.openrouterApiKey,
    accessKey: config.accessKey,
    baseUrl: config.baseUrl,
    maxAttempts: config.maxAttempts,
    cooldownSeconds: config.cooldownSeconds,
    modelRefreshTtl: config.modelRefreshTtl,
    requestTimeout: config.requestTimeout,
    streamIdleTimeout: config.streamIdleTimeout,
    rpm: config.rpm,
    maxWait: config.maxWait,
    strategy: config.strategy,
    maxBodyBytes: config.maxBodyBytes,
    corsOrigins: config.corsOrigins,
    kv,
    logger,
  });
}

/** Starts the proxy with a validated configuration. */
export async function serve(
  config: ServerConfig,
  logger: Logger = consoleLogger({
    format: config.logFormat,
    level: config.logLevel,
  }),
): Promise<RunningServer> {
  checkExposure(config);
  const kv = await openKv(config.kvPath);
  const handler = handlerFor(config, kv, logger);
  const trimmer = startMemoryTrimmer();
  const listening = Promise.withResolvers<Deno.NetAddr>();
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      hostname: config.host,
      port: config.port,
      onListen: (addr) => listening.resolve(addr as Deno.NetAddr),
    }, (req) => {
      trimmer.touch();
      return handler(req);
    });
  } catch (err) {
    trimmer.close();
    await handler.close();
    kv.close();
    throw err;
  }
  const addr = await listening.promise;
  const host = addr.hostname.includes(":")
    ? `[${addr.hostname}]`
    : addr.hostname;
  const url = `http://${host}:${addr.port}`;
  logger.info(
    `freerouter ${VERSION} listening on ${url} (OpenAI base URL ${url}/v1)`,
  );
  // Warm the free pool; startup succeeds even when OpenRouter is unreachable.
  handler.models().then(
    (pool) => logger.info(`${pool.length} free models in the pool`),
    (err) =>
      logger.warn(
        `Could not load the free model list yet (will retry on demand): ${
          err instanceof Error ? err.message : err
        }`,
      ),
  );
  let stopped: Promise<void> | undefined;
  const shutdown = () =>
    stopped ??= (async () => {
      await server.shutdown();
      trimmer.close();
      await handler.close();
      kv.close();
    })();
  return {
    url,
    finished: server.finished,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}

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

async function printModels(
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
    )).json() as {
      pool: Array<
        {
          id: string;
          state: string;
          cooldown_until: string | null;
          cooldown_reason: string | null;
        }
      >;
    };
    const states = new Map(status.pool.map((m) => [m.id, m]));
    const rows = [["MODEL", "CONTEXT", "CAPABILITIES", "STATE"]];
    for (const model of pool) {
      const s = states.get(model.id);
      const state = s?.state === "cooling_down"
        ? `cooling down until ${s.cooldown_until} (${s.cooldown_reason})`
        : "ready";
      rows.push([
        model.id,
        model.context_length.toLocaleString("en-US"),
        capabilityList(model),
        state,
      ]);
    }
    out(`${pool.length} free models, in priority order:\n\n${textTable(rows)}`);
    return 0;
  } finally {
    await handler.close();
    kv.close();
  }
}

async function printKeyCheck(
  config: ServerConfig,
  out: (line: string) => void,
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
  ];
  out(lines.join("\n"));
  return 0;
}

/** Runs the command line; resolves with the exit code (serve: when the server stops). */
export async function run(
  args: readonly string[],
  env: Record<string, string | undefined>,
  io: { out: (text: string) => void; err: (text: string) => void } = {
    out: (t) => console.log(t),
    err: (t) => console.error(t),
  },
): Promise<number> {
  const command = parseCommandLine(args);
  if (command.command === "help") return io.out(USAGE), 0;
  if (command.command === "version") return io.out(`freerouter ${VERSION}`), 0;
  if (command.command === "usage_error") {
    return io.err(`freerouter: ${command.message}\n\n${USAGE}`), 2;
  }
  try {
    const config = parseServerConfig({
      ...env,
      ...(command.host !== undefined ? { HOST: command.host } : {}),
      ...(command.port !== undefined ? { PORT: command.port } : {}),
    });
    if (command.command === "models") return await printModels(config, io.out);
    if (command.command === "check") return await printKeyCheck(config, io.out);
    const running = await serve(config);
    const stop = () => void running.shutdown();
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(signal, stop);
    }
    await running.finished;
    await running.shutdown();
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      Deno.removeSignalListener(signal, stop);
    }
    return 0;
  } catch (err) {
    io.err(`freerouter: ${err instanceof Error ? err.message : err}`);
    return err instanceof ConfigError ? 2 : 1;
  }
}

if (import.meta.main) {
  Deno.exit(await run(Deno.args, loadEnv()));
}
