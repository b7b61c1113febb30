/**
 * The proxy process: Deno KV for state and `Deno.serve` around
 * {@link createHandler}. Deno-only.
 *
 * @module
 */
import {
  checkExposure,
  ConfigError,
  isKvConnectUrl,
  type ServerConfig,
} from "./config.ts";
import { loadClientKeys } from "./client_keys_file.ts";
import { isLoopback } from "../http/host_guard.ts";
import { dropFileAccess, fileAccessLine } from "./file_access.ts";
import {
  createHandler,
  type FreeRouterHandler,
  type HandlerOptions,
} from "../http/handler.ts";
import { consoleLogger, stderrLines } from "./logger.ts";
import type { Logger } from "../options.ts";
import { VERSION } from "../version.ts";
import {
  redactSecret,
  withoutCredentials,
  withoutUrlCredentials,
} from "../core/secrets.ts";

/**
 * Where a `FREEROUTER_KV_PATH` keeps the state, for the log: `in memory`, a
 * KV Connect URL without its credentials, or a file's absolute path (read
 * while the working directory can be: before file access is dropped).
 */
export function kvLocation(path: string): string {
  if (path === ":memory:") return "in memory (not kept, not shared)";
  if (isKvConnectUrl(path)) return withoutCredentials(path);
  // Absolute: `/…`, or on Windows `C:\…`, `C:/…` or `\\server\…`.
  return /^(?:[A-Za-z]:)?[\\/]/.test(path) ? path : `${Deno.cwd()}/${path}`;
}

/** A URL's password as written and decoded (none when it has none or does not parse). */
function passwordOf(url: string): string[] {
  try {
    const { password } = new URL(url);
    return password ? [password, decodeURIComponent(password)] : [];
  } catch {
    return [];
  }
}

/** How long the KV store may take to answer at startup before `openKv` says it waits. */
export const KV_SLOW_MS = 2_000;

/**
 * Opens the Deno KV store named by FREEROUTER_KV_PATH, creating its
 * directory, and checks it is usable. A KV Connect URL takes its access
 * token from `DENO_KV_ACCESS_TOKEN`, which Deno reads from the process
 * environment only: a token from `.env` (`accessToken`) is put there.
 * `onSlow` is told once when the check has waited {@link KV_SLOW_MS} (a
 * file another process holds locked waits for as long as the lock lasts).
 */
export async function openKv(
  path: string,
  accessToken?: string,
  onSlow?: (message: string) => void,
): Promise<Deno.Kv> {
  const remote = isKvConnectUrl(path);
  // A KV Connect URL may carry a user name and password: messages leave them
  // out, also where Deno's own error quotes the path.
  const shown = withoutCredentials(path);
  // Deno's error may quote the URL as it normalised it, and the store's
  // answer, which may quote the token.
  const password = remote ? passwordOf(path) : [];
  const shownError = (err: unknown) => {
    let text = withoutUrlCredentials(redactSecret(
      String(err instanceof Error ? err.message : err).split(path).join(shown),
      accessToken ?? Deno.env.get("DENO_KV_ACCESS_TOKEN"),
    ));
    for (const p of password) text = text.split(p).join("[redacted]");
    return text;
  };
  if (
    remote && accessToken !== undefined &&
    Deno.env.get("DENO_KV_ACCESS_TOKEN") !== accessToken
  ) {
    Deno.env.set("DENO_KV_ACCESS_TOKEN", accessToken);
  }
  let kv: Deno.Kv;
  try {
    if (path !== ":memory:" && !remote) {
      const slash = path.lastIndexOf("/");
      if (slash > 0) {
        await Deno.mkdir(path.slice(0, slash), { recursive: true });
      }
    }
    // Deno takes a KV Connect URL only with its scheme in lower case.
    kv = await Deno.openKv(remote ? new URL(path).href : path);
  } catch (err) {
    throw new ConfigError(
      `Cannot open FREEROUTER_KV_PATH ${shown}: ${shownError(err)}`,
    );
  }
  const slow = setTimeout(
    () =>
      onSlow?.(
        `Waiting for the KV store at FREEROUTER_KV_PATH ${shown}: no answer for ${
          KV_SLOW_MS / 1000
        } s (another process may hold its file locked)`,
      ),
    KV_SLOW_MS,
  );
  try {
    await kv.get(["freerouter", "rev"]);
    await kv.set(["freerouter", "opened"], Date.now());
  } catch (err) {
    kv.close();
    throw new ConfigError(
      `FREEROUTER_KV_PATH ${shown} is not a usable Deno KV store (unwritable or corrupt): ${
        shownError(err)
      }`,
    );
  } finally {
    clearTimeout(slow);
  }
  return kv;
}

/**
 * `Deno.serve`'s error (`Address already in use (os error 98)`) naming the
 * address it could not listen on; same name, the original as `cause`.
 */
function listenError(err: unknown, host: string, port: number): Error {
  const address = host.includes(":") && !host.startsWith("[")
    ? `[${host}]:${port}`
    : `${host}:${port}`;
  const message = err instanceof Error ? err.message : String(err);
  const hint = err instanceof Deno.errors.AddrInUse
    ? " (another process listens there: stop it, or set PORT or --port)"
    : "";
  const out = new Error(`Cannot listen on ${address}: ${message}${hint}`, {
    cause: err,
  });
  if (err instanceof Error) out.name = err.name;
  return out;
}

/** How often the proxy reads OpenRouter's `GET /key` (also at start and after a daily-cap 429). */
export const QUOTA_REFRESH_SECONDS = 300;

/** A running proxy. */
export interface RunningServer extends AsyncDisposable {
  /** The address it listens on, e.g. `http://127.0.0.1:8000`. */
  url: string;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
  /** Stops serving and closes KV. */
  shutdown(): Promise<void>;
}

/** The proxy handler for a configuration and an open KV store. */
export function handlerFor(
  config: ServerConfig,
  kv: Deno.Kv,
  logger: Logger,
  extra: Partial<HandlerOptions> = {},
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
    keepAliveTimeout: config.keepAliveTimeout,
    rpm: config.rpm,
    maxWait: config.maxWait,
    strategy: config.strategy,
    aliases: config.aliases,
    streamResume: config.streamResume,
    sameModelWait: config.sameModelWait,
    affinity: config.affinity,
    maxBodyBytes: config.maxBodyBytes,
    corsOrigins: config.corsOrigins,
    // Without keys: on loopback, requests must name this machine; elsewhere
    // (FREEROUTER_ALLOW_OPEN), a web page's origin must be listed.
    allowOpen: !isLoopback(config.host),
    cacheTtl: config.cacheTtl,
    cacheMaxBytes: config.cacheMaxBytes,
    kv,
    logger,
    ...extra,
  });
}

/**
 * Starts the proxy with a validated configuration; `warnings` are logged once
 * it listens. With `dropFileAccess` (the process's own start, never a test
 * that serves in its own process) it revokes read and write once the client
 * keys are loaded and the KV store is open (see file_access.ts).
 */
export async function serve(
  config: ServerConfig,
  customLogger?: Logger,
  warnings: readonly string[] = [],
  options: { dropFileAccess?: boolean } = {},
): Promise<RunningServer> {
  // Log lines go to stderr in batches: flushed on shutdown and at exit.
  const stderr = customLogger ? undefined : stderrLines();
  const logger = customLogger ?? consoleLogger({
    format: config.logFormat,
    level: config.logLevel,
    write: stderr!.write,
  });
  // The lines that say where it listens and that it stops are written
  // whatever LOG_LEVEL is: people and scripts wait for them.
  const lifecycle = customLogger ?? consoleLogger({
    format: config.logFormat,
    level: "info",
    write: stderr!.write,
  });
  checkExposure(config);
  const clientKeys = config.clientKeysPath
    ? await loadClientKeys(config.clientKeysPath, config.accessKey)
    : undefined;
  const kv = await openKv(
    config.kvPath,
    config.kvAccessToken,
    (message) => lifecycle.warn(message),
  );
  // Where the state is, for the log (while the working directory can still
  // be read): instances share state only when they name the same store.
  const stateLocation = kvLocation(config.kvPath);
  if (options.dropFileAccess) {
    const { level, message } = fileAccessLine(await dropFileAccess());
    // A failure to drop is said whatever LOG_LEVEL is.
    (level === "warn" ? lifecycle : logger)[level](message);
  }
  const handler = handlerFor(config, kv, logger, {
    clientKeys,
    quotaRefresh: QUOTA_REFRESH_SECONDS,
  });
  const listening = Promise.withResolvers<Deno.NetAddr>();
  let server: Deno.HttpServer;
  try {
    server = Deno.serve(
      {
        hostname: config.host,
        port: config.port,
        onListen: (addr) => listening.resolve(addr as Deno.NetAddr),
      },
      handler,
    );
  } catch (err) {
    await handler.close();
    kv.close();
    stderr?.[Symbol.dispose]();
    throw listenError(err, config.host, config.port);
  }
  const addr = await listening.promise;
  const host = addr.hostname.includes(":")
    ? `[${addr.hostname}]`
    : addr.hostname;
  const url = `http://${host}:${addr.port}`;
  lifecycle.info(
    `freerouter ${VERSION} listening on ${url} (OpenAI base URL ${url}/v1)`,
  );
  logger.info(`State (FREEROUTER_KV_PATH): ${stateLocation}`);
  if (/^[~$]/.test(config.kvPath)) {
    // No shell expands .env's values (nor deno.json's): `~/fr/kv.sqlite`
    // is a directory named `~` here.
    logger.warn(
      `FREEROUTER_KV_PATH ${config.kvPath} is taken literally (no shell expands ~ or $ in it): the store is ${stateLocation}`,
    );
  }
  for (const warning of warnings) logger.warn(warning);
  stderr?.flush(); // at once: people and scripts wait for this line
  // From here to the return nothing awaits: main.ts relies on it, so that a
  // signal sent once the line is out finds the server returned.
  if (!config.openrouterApiKey && (config.accessKey || clientKeys)) {
    // Clients then present freerouter's keys, which are never sent upstream.
    logger.warn(
      "OPENROUTER_API_KEY is not set, and clients present freerouter's own keys (FREEROUTER_API_KEY or FREEROUTER_CLIENT_KEYS), which never go upstream: every routed request will get 401 missing_api_key until OPENROUTER_API_KEY is set",
    );
  } else if (!config.openrouterApiKey) {
    logger.info(
      "OPENROUTER_API_KEY is not set: each client's own OpenRouter key (Authorization: Bearer sk-or-…, or x-api-key) is forwarded upstream (bring your own key)",
    );
  }
  // Warm the free pool; startup succeeds even when OpenRouter is unreachable.
  handler.models().then(
    // (The router warns of alias entries that match no free model.)
    (pool) => logger.info(`${pool.length} free models in the pool`),
    (err) =>
      logger.warn(
        `Could not load the free model list from ${
          withoutCredentials(config.baseUrl)
        } yet (will retry on demand): ${
          err instanceof Error ? err.message : err
        }`,
      ),
  );
  let stopped: Promise<void> | undefined;
  const shutdown = () =>
    stopped ??= (async () => {
      lifecycle.info(
        "Shutting down once the open requests end (SIGINT or SIGTERM again, a second later, stops at once)",
      );
      await server.shutdown();
      await handler.close();
      kv.close();
      lifecycle.info("Stopped: every open request ended");
      stderr?.[Symbol.dispose]();
    })();
  return {
    url,
    finished: server.finished,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}
