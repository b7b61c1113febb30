/**
 * The freerouter proxy: configuration from the environment (and `.env`), Deno
 * KV for state, and `Deno.serve` around {@link createHandler}.
 *
 * ```sh
 * deno run --allow-net --allow-env --allow-read --allow-write jsr:@freerouter/freerouter/server
 * ```
 *
 * @module
 */
import { ConfigError, parseServerConfig, type ServerConfig } from "./config.ts";
import { loadEnv } from "./env.ts";
import { createHandler } from "./handler.ts";
import type { Logger } from "./options.ts";

/** A logger writing one timestamped line per message to stderr. */
export const consoleLogger: Logger = {
  info: (message) =>
    console.error(`${new Date().toISOString()} INFO ${message}`),
  warn: (message) =>
    console.error(`${new Date().toISOString()} WARN ${message}`),
};

/** Opens the Deno KV store named by FREEROUTER_KV_PATH, creating its directory. */
export async function openKv(path: string): Promise<Deno.Kv> {
  if (path === ":memory:" || /^https?:\/\//.test(path)) {
    return await Deno.openKv(path);
  }
  const slash = path.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  return await Deno.openKv(path);
}

/** A running proxy. */
export interface RunningServer extends AsyncDisposable {
  /** The address it listens on, e.g. `http://127.0.0.1:8000`. */
  url: string;
  /** Stops serving and closes KV. */
  shutdown(): Promise<void>;
}

/** Starts the proxy with a validated configuration. */
export async function serve(
  config: ServerConfig,
  logger: Logger = consoleLogger,
): Promise<RunningServer> {
  let kv: Deno.Kv;
  try {
    kv = await openKv(config.kvPath);
  } catch (err) {
    throw new ConfigError(
      `Cannot open FREEROUTER_KV_PATH ${config.kvPath}: ${
        err instanceof Error ? err.message : err
      }`,
    );
  }
  const handler = createHandler({
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
    kv,
    logger,
  });
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    onListen: (addr) => listening.resolve(addr as Deno.NetAddr),
  }, handler);
  const addr = await listening.promise;
  const host = addr.hostname.includes(":")
    ? `[${addr.hostname}]`
    : addr.hostname;
  const url = `http://${host}:${addr.port}`;
  logger.info(`freerouter listening on ${url} (OpenAI base URL ${url}/v1)`);
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
      await handler.close();
      kv.close();
    })();
  return { url, shutdown, [Symbol.asyncDispose]: shutdown };
}

if (import.meta.main) {
  let config: ServerConfig;
  try {
    config = parseServerConfig(loadEnv());
  } catch (err) {
    console.error(`freerouter: ${err instanceof Error ? err.message : err}`);
    Deno.exit(2);
  }
  let running: RunningServer;
  try {
    running = await serve(config);
  } catch (err) {
    console.error(`freerouter: ${err instanceof Error ? err.message : err}`);
    Deno.exit(err instanceof ConfigError ? 2 : 1);
  }
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      running.shutdown().finally(() => Deno.exit(0));
    });
  }
}
