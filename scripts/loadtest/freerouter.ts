/**
 * freerouter as a separate process, started as `deno task start` starts it
 * (the command is read from deno.json) with the load test's environment and
 * `--trace-gc`, and its RSS read from `/proc/<pid>/status`.
 *
 * @module
 */

import { GcLog } from "./gc_log.ts";
import { REPO } from "./settings.ts";

/**
 * `deno task start` as argv, from the text of deno.json: `tasks.start` (a
 * string, or an object with `command`) split into words as a shell splits a
 * plain command (quotes allowed; operators, variables and escapes refused),
 * with the leading `deno` replaced by `execPath`. `entry` is the index of the
 * script: the first word after `run` that is not a flag (the task attaches
 * every flag's value with `=`). Throws when the task is not `deno run …`.
 */
export function startCommand(
  denoJson: string,
  execPath: string,
): { args: string[]; entry: number } {
  const config = JSON.parse(denoJson) as {
    tasks?: Record<string, string | { command?: string }>;
  };
  const task = config.tasks?.start;
  const command = typeof task === "string" ? task : task?.command;
  if (command === undefined) throw new Error("deno.json has no start task");
  if (/[;&|<>$`()\\]/.test(command)) {
    throw new Error(`the start task is not a plain command: ${command}`);
  }
  const words = [...command.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)]
    .map((m) => m[1] ?? m[2] ?? m[3]!);
  if (words[0] !== "deno" || words[1] !== "run") {
    throw new Error(`the start task is not \`deno run …\`: ${command}`);
  }
  const entry = words.findIndex((w, i) => i > 1 && !w.startsWith("-"));
  if (entry < 0) throw new Error(`the start task names no script: ${command}`);
  return { args: [execPath, ...words.slice(1)], entry };
}

/**
 * Starts freerouter in `dir` with `env` (and little else from this process's
 * environment), once it says where it listens: its URL, pid and command, the
 * GC log, its stderr, and `stop()`, which sends SIGTERM and waits for its exit.
 */
export async function startFreerouter(
  env: Record<string, string>,
  dir: string,
) {
  const { args, entry } = startCommand(
    await Deno.readTextFile(`${REPO}/deno.json`),
    Deno.execPath(),
  );
  // `deno task start` runs in the repository, with its deno.json. The server
  // runs in a temporary folder instead, so that a `.env` in the repository
  // cannot change the load test's settings: so the config is named and the
  // entry point resolved against the repository.
  args[entry] = `${REPO}/${args[entry]}`;
  // The one runtime flag the measurement adds: V8 prints a line per
  // collection, nothing else changes (RSS 15 s after each round: 134-136 MB
  // with it, 130-133 MB without, within the spread between runs; see GcLog).
  const v8 = args.findIndex((a) => a.startsWith("--v8-flags="));
  if (v8 >= 0) args[v8] += ",--trace-gc";
  else args.splice(2, 0, "--v8-flags=--trace-gc");
  args.splice(2, 0, "--config", `${REPO}/deno.json`);
  // V8 prints through C's stdout, which holds a pipe's lines until 4 KB have
  // gathered: `stdbuf -oL` (GNU coreutils) has them sent line by line, so the
  // reducer's collections are seen when they happen.
  const command = new Deno.Command("stdbuf", {
    args: ["-oL", ...args],
    cwd: dir,
    env: {
      // What Deno itself needs (its cache, the path), and the load test's
      // settings; nothing else from the caller's environment.
      ...Object.fromEntries(
        ["HOME", "DENO_DIR", "PATH", "XDG_CACHE_HOME"].flatMap((k) => {
          const v = Deno.env.get(k);
          return v === undefined ? [] : [[k, v]];
        }),
      ),
      ...env,
    },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
  let child: Deno.ChildProcess;
  try {
    child = command.spawn();
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    throw new Error("loadtest needs stdbuf (GNU coreutils) on the PATH");
  }
  const gc = new GcLog();
  const gcRead = gc.read(child.stdout);
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let stderr = "";
  let url: string | undefined;
  while (url === undefined) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`freerouter did not start:\n${stderr}`);
    stderr += value;
    url = /listening on (http:\/\/\S+) /.exec(stderr)?.[1];
  }
  const uncaughtSeen: string[] = [];
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const drained = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      // Keep the first MB; every chunk is grepped as it comes.
      if (stderr.length < 1_000_000) stderr += value;
      if (/Uncaught|unhandled/i.test(value)) uncaughtSeen.push(value);
    }
  })();
  return {
    url,
    pid: child.pid,
    command: args,
    gc,
    get exited() {
      return exited;
    },
    stderr: () => stderr,
    uncaught: uncaughtSeen,
    async stop(): Promise<Deno.CommandStatus> {
      if (!exited) child.kill("SIGTERM");
      const s = await status;
      await Promise.all([drained, gcRead]);
      return s;
    },
  };
}

/** The resident set of process `pid`, KiB. */
export async function rssKiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]);
}
