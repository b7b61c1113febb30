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
  ConfigError,
  ENV_KEYS,
  parseServerConfig,
  unknownSettings,
} from "./config.ts";
import { printKeyCheck, printModels } from "./cli_commands.ts";
import { loadEnv } from "../env.ts";
import { type RunningServer, serve } from "./serve.ts";
import { VERSION } from "../version.ts";
import { consoleLogger } from "./logger.ts";

/** The `--help` text. */
export const USAGE =
  `freerouter ${VERSION}: OpenRouter's free models behind one OpenAI-compatible endpoint

Usage:
  freerouter [serve] [--host HOST] [--port PORT]   run the proxy (default)
  freerouter models                                print the routable free pool, ranked for auto
  freerouter check                                 show the key's tier, limits, usage and today's free quota
  freerouter --help | --version

Configuration comes from the environment and .env (see README.md); --host and
--port override HOST and PORT. Exit codes: 0 ok, 1 runtime failure (check: the
key was rejected), 2 usage or configuration error, 75 check got no answer from
OpenRouter (try again later).`;

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

/**
 * The server's last line, in the format of its log (LOG_FORMAT=json: one
 * JSON object per line, as a log collector reads them), even when the
 * configuration that would have set it is what failed.
 */
function logLine(
  env: Record<string, string | undefined>,
  level: "warn" | "error",
  message: string,
  write: (line: string) => void,
): void {
  if (env.LOG_FORMAT?.trim() === "json") {
    const log = consoleLogger({ format: "json", write });
    (log[level] ?? log.warn)(message);
  } else write(message);
}

/**
 * How long after the first stop signal the same signal again is the same
 * stop, not a second one: `deno task start` forwards the signal its process
 * group gets (a terminal's Ctrl-C, a service manager's stop), so its child
 * gets it twice at once.
 */
export const SIGNAL_REPEAT_MS = 1000;

/**
 * Runs the command line; resolves with the exit code (serve: when the server
 * stops). `io.now` is the clock `check` reads (tests fix it).
 * `options.dropFileAccess` is for the process's own start only: it revokes
 * the process's read and write permissions once the server has opened what it
 * needs (see file_access.ts).
 */
export async function run(
  args: readonly string[],
  env: Record<string, string | undefined>,
  io: {
    out: (text: string) => void;
    err: (text: string) => void;
    now?: () => number;
  } = {
    out: (t) => console.log(t),
    err: (t) => console.error(t),
  },
  options: { dropFileAccess?: boolean } = {},
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
    if (command.command === "models") {
      return await printModels(config, io.out);
    }
    if (command.command === "check") {
      return await printKeyCheck(
        config,
        io.out,
        io.err,
        (io.now ?? Date.now)(),
      );
    }
    // Once the server runs, the first signal stops taking requests and lets
    // the open ones end (a stream may take minutes); a second one stops at
    // once. A signal while it starts (a KV store or keys file that hangs)
    // stops at once too. Listening for them starts before the server does,
    // and serve() returns without awaiting after its "listening" line, so a
    // signal sent once that line is out finds the server running.
    let running: RunningServer | undefined;
    const forced = Promise.withResolvers<number>();
    let first: { signal: Deno.Signal; at: number } | undefined;
    const listeners = (["SIGINT", "SIGTERM"] as const).map((signal) => {
      const listener = () => {
        const at = performance.now();
        if (first === undefined) {
          first = { signal, at };
          if (running) return void running.shutdown();
        } else if (
          signal === first.signal && at - first.at < SIGNAL_REPEAT_MS
        ) return; // the copy `deno task` forwarded
        forced.resolve(signal === "SIGINT" ? 130 : 143);
      };
      Deno.addSignalListener(signal, listener);
      return { signal, listener };
    });
    try {
      const starting = serve(
        config,
        undefined,
        unknownSettings(env),
        options,
      );
      starting.catch(() => {}); // a stop at once while it starts wins
      const started = await Promise.race([starting, forced.promise]);
      if (typeof started === "number") return started;
      const server = running = started;
      const code = await Promise.race([
        server.finished.then(() => server.shutdown()).then(() => 0),
        forced.promise,
      ]);
      if (code !== 0) {
        logLine(
          env,
          "warn",
          `freerouter: stopped at once by a second ${
            first?.signal ?? "signal"
          }: requests still open were cut`,
          io.err,
        );
      }
      return code;
    } finally {
      for (const { signal, listener } of listeners) {
        Deno.removeSignalListener(signal, listener);
      }
    }
  } catch (err) {
    const message = `freerouter: ${err instanceof Error ? err.message : err}`;
    if (command.command === "serve") logLine(env, "error", message, io.err);
    else io.err(message);
    return err instanceof ConfigError ? 2 : 1;
  }
}

if (import.meta.main) {
  Deno.exit(
    await run(Deno.args, loadEnv(undefined, ENV_KEYS), undefined, {
      dropFileAccess: true,
    }),
  );
}
