/**
 * Test helpers that run a script of this repository (src/server/main.ts, scripts/…)
 * as a real Deno process, with a clean environment.
 */
import assert from "node:assert/strict";

const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const ROOT = new URL("../", import.meta.url).pathname;
const decoder = new TextDecoder();

/**
 * `deno task start` as argv: the permissions and flags between `deno run` and
 * the entry point, and the entry point. The proxy's process tests start it
 * exactly so, so a flag that changes how the runtime behaves (a V8 flag, a
 * permission) is under test too.
 */
export function startTask(): { flags: string[]; entry: string } {
  const config = JSON.parse(Deno.readTextFileSync(CONFIG)) as {
    tasks: Record<string, string>;
  };
  const words = config.tasks.start!.trim().split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ["deno", "run"], "start runs deno run");
  const entry = words.at(-1)!;
  assert.ok(entry.endsWith(".ts"), `start ends with its entry point: ${entry}`);
  return { flags: words.slice(2, -1), entry: `${ROOT}${entry}` };
}

/** The proxy's entry point, as `deno task start` names it. */
export const MAIN: string = startTask().entry;

/** The variables Deno itself needs (its cache, the path), nothing else from the test's environment. */
export function passthroughEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ["HOME", "DENO_DIR", "PATH", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(key);
    if (value !== undefined) env[key] = value;
  }
  return env;
}

/**
 * Spawns `deno run` on a script with the repository's config: the proxy's
 * entry point with the start task's flags, any other script with the broad
 * permissions a development script gets.
 */
export function denoProcess(
  script: string,
  options: { args?: string[]; env?: Record<string, string>; cwd?: string } = {},
): Deno.ChildProcess {
  const flags = script === MAIN
    ? startTask().flags
    : ["--allow-net", "--allow-env", "--allow-read", "--allow-write"];
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      CONFIG,
      ...flags,
      script,
      ...(options.args ?? []),
    ],
    env: { ...passthroughEnv(), ...options.env },
    clearEnv: true,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** What a finished process printed. */
export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a script to its exit. */
export async function runScript(
  script: string,
  options: { args?: string[]; env?: Record<string, string>; cwd?: string } = {},
): Promise<ProcessResult> {
  const out = await denoProcess(script, options).output();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/** Runs src/server/main.ts to its exit. */
export function runToEnd(
  env: Record<string, string>,
  cwd?: string,
): Promise<ProcessResult> {
  return runScript(MAIN, { env, cwd });
}

/** A running src/server/main.ts. */
export interface MainProcess {
  /** Its address, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Sends the signal (default SIGTERM) and waits for the exit. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  /** Sends a signal without waiting. */
  kill(signal: Deno.Signal): void;
  /** Resolves once stderr matches `pattern` (an event, not a delay). */
  logged(pattern: RegExp): Promise<void>;
  /** Resolves with the exit status (and all of stderr read). */
  exited: Promise<Deno.CommandStatus>;
}

/**
 * `deno task start` itself, as the README runs it, in a process group of its
 * own (`setsid`): the task runner and its `deno run` child, which a signal to
 * the group reaches both, as a terminal's Ctrl-C does.
 */
function taskProcess(env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command("setsid", {
    args: [Deno.execPath(), "task", "--config", CONFIG, "start"],
    env: { ...passthroughEnv(), ...env },
    clearEnv: true,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/**
 * Starts src/server/main.ts on a free port and waits for its "listening"
 * line: with `deno run` and the start task's flags, or (`via: "task"`) by
 * `deno task start` in its own process group, whose signals go to the group.
 */
export async function startMain(
  env: Record<string, string>,
  cwd?: string,
  via: "run" | "task" = "run",
): Promise<MainProcess> {
  // The fake's catalog has no benchmark data: tests name models by the stored (priority) order.
  const settings = {
    PORT: "0",
    FREEROUTER_STRATEGY: "priority",
    FREEROUTER_AFFINITY: "off",
    FREEROUTER_SAME_MODEL_WAIT: "0",
    ...env,
  };
  const child = via === "task"
    ? taskProcess(settings)
    : denoProcess(MAIN, { env: settings, cwd });
  const signal = (name: Deno.Signal) =>
    via === "task" ? Deno.kill(-child.pid, name) : child.kill(name);
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let url: string | undefined;
  while (url === undefined) {
    const { done, value } = await lines.read();
    if (done) break;
    seen += value;
    url = /listening on (http:\/\/\S+) /.exec(seen)?.[1];
  }
  if (url === undefined) {
    await child.status;
    await child.stdout.cancel();
    assert.fail(`src/server/main.ts did not start:\n${seen}`);
  }
  const waiting = new Set<{ pattern: RegExp; resolve: () => void }>();
  const drained = (async () => {
    for (;;) {
      const { done, value } = await lines.read();
      if (done) return;
      seen += value;
      for (const w of waiting) {
        if (w.pattern.test(seen)) waiting.delete(w), w.resolve();
      }
    }
  })();
  const exited = (async () => {
    const status = await child.status;
    await drained;
    await child.stdout.cancel();
    return status;
  })();
  return {
    url,
    stderr: () => seen,
    stop(name: Deno.Signal = "SIGTERM") {
      signal(name);
      return exited;
    },
    kill: signal,
    logged(pattern) {
      if (pattern.test(seen)) return Promise.resolve();
      return new Promise((resolve) => waiting.add({ pattern, resolve }));
    },
    exited,
  };
}
