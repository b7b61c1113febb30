/**
 * The processes of a bench run: running commands, starting the servers pinned
 * to their CPU and stopping them, the command `deno task start` runs, and what
 * /proc says about a process (memory, CPU time).
 *
 * @module
 */
import { DENO } from "./options.ts";

/** CPU layout: the load generators on one core, the servers on the other. */
export const LOADGEN_CPU = "0";
export const SERVER_CPU = "1";

/** A command pinned to `cpu` with taskset, or as it is without pinning. */
export function pinned(pin: boolean, cpu: string, cmd: string, args: string[]) {
  return pin
    ? { cmd: "taskset", args: ["-c", cpu, cmd, ...args] }
    : { cmd, args };
}

/** Runs a command to its end; its stdout, or an error with its stderr's tail. */
export async function run(
  cmd: string,
  args: string[],
  options: Deno.CommandOptions = {},
): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    ...options,
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (${out.code}): ${
        new TextDecoder().decode(out.stderr).slice(-2000)
      }`,
    );
  }
  return text;
}

/** A server process. */
export interface Server {
  name: string;
  child: Deno.ChildProcess;
  pid: number;
  logFile: string;
}

/** Keeps reading a stream's lines into `log`; resolves `ready` on a match. */
export function follow(
  stream: ReadableStream<Uint8Array>,
  log: string[],
  match: RegExp,
): Promise<RegExpExecArray> {
  const ready = Promise.withResolvers<RegExpExecArray>();
  (async () => {
    let buf = "";
    for await (
      const text of stream.pipeThrough(new TextDecoderStream())
    ) {
      buf += text;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (log.length < 200) log.push(line);
        const m = match.exec(line);
        if (m) ready.resolve(m);
      }
    }
    ready.reject(new Error(`ended before ${match}: ${log.join("\n")}`));
  })().catch((err) => ready.reject(err));
  return ready.promise;
}

/**
 * Starts a server pinned to the server CPU. Its output goes to `logFile`
 * (appended by the shell, so nobody reads a pipe during the measurements),
 * which is polled until `ready` matches a line (or the `ready` probe answers).
 */
export async function startServer(
  name: string,
  pin: boolean,
  args: string[],
  env: Record<string, string>,
  ready: RegExp | (() => Promise<string | undefined>),
  logFile: string,
  cwd?: string,
): Promise<{ server: Server; match: string[] }> {
  const { cmd, args: full } = pinned(pin, SERVER_CPU, "sh", [
    "-c",
    'exec "$0" "$@" >>"$BENCH_LOG" 2>&1',
    DENO,
    ...args,
  ]);
  const child = new Deno.Command(cmd, {
    args: full,
    env: { ...env, BENCH_LOG: logFile },
    clearEnv: true,
    cwd,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const server: Server = { name, child, pid: child.pid, logFile };
  const deadline = Date.now() + 30_000;
  let exited = false;
  child.status.then(() => exited = true);
  for (;;) {
    const text = await Deno.readTextFile(logFile).catch(() => "");
    if (typeof ready === "function") {
      const found = await ready().catch(() => undefined);
      if (found !== undefined) return { server, match: [found] };
    } else {
      for (const line of text.split("\n")) {
        const match = ready.exec(line);
        if (match) return { server, match: [...match] };
      }
    }
    if (exited || Date.now() > deadline) {
      throw new Error(`${name} did not start:\n${text.slice(-3000)}`);
    }
    await sleep(50);
  }
}

/** Stops a server: SIGTERM, then SIGKILL after 5 s; resolves once it exited. */
export async function stop(server: Server): Promise<void> {
  try {
    server.child.kill("SIGTERM");
  } catch {
    // already gone
  }
  const timer = setTimeout(() => {
    try {
      server.child.kill("SIGKILL");
    } catch {
      // gone
    }
  }, 5000);
  await server.child.status;
  clearTimeout(timer);
}

/** How `deno task start` runs freerouter, read from a tree's deno.json. */
export interface StartTask {
  /** The flags between `run` and the entry point (permissions, V8 flags). */
  flags: string[];
  /** The entry point, as the task names it (relative to the tree). */
  entry: string;
  /** Any arguments after the entry point. */
  args: string[];
}

/**
 * The flags and the entry point `deno task start` runs freerouter with, so
 * that the benchmark measures the shipped configuration. The entry point is
 * the first word after `run` that names a module (`….ts`, `….js`, a URL), so
 * a flag's separate value (`--config deno.json`) is not taken for it.
 */
export async function startTask(root: string): Promise<StartTask> {
  const config = JSON.parse(await Deno.readTextFile(`${root}/deno.json`));
  const words = String(config.tasks?.start ?? "").split(/\s+/)
    .filter((w) => w !== "");
  const from = words.indexOf("run");
  const at = words.findIndex((w, i) =>
    i > from && !w.startsWith("-") &&
    (/\.[cm]?[jt]sx?$/.test(w) || /^[a-z]+:/.test(w))
  );
  if (from < 0 || at < 0) {
    throw new Error(`unexpected start task in ${root}/deno.json`);
  }
  return {
    flags: words.slice(from + 1, at),
    entry: words[at]!,
    args: words.slice(at + 1),
  };
}

/** The environment every process gets: PATH, HOME, Deno's caches, no colour. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (
    const key of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR"]
  ) {
    const v = Deno.env.get(key);
    if (v !== undefined) env[key] = v;
  }
  env.NO_COLOR = "1";
  return env;
}

/** A loopback port free at the time of asking. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** VmRSS and VmHWM of a process, in MB. */
export function memory(pid: number): { rss: number; hwm: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (key: string) =>
    Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
}

/** CPU time (user + system) a process has used, in ms. */
export function cpuMs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of stat, in clock ticks (100 Hz).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Busy CPU ms of the whole machine, and of this process and its waited-for children. */
export function cpuSnapshot(): { machine: number; ours: number } {
  const line = Deno.readTextFileSync("/proc/stat").split("\n")[0]!;
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(
    /\s+/,
  ).map(Number);
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
  return {
    machine: (user! + nice! + system! + irq! + softirq! + steal!) * 10,
    // utime, stime, cutime, cstime (fields 14–17), in 100 Hz ticks
    ours: (f[11]! + f[12]! + f[13]! + f[14]!) * 10,
  };
}

/** Samples a process's RSS every 20 ms until stopped; returns the max. */
export function sampleRss(pid: number): { stop: () => number } {
  let max = memory(pid).rss;
  const timer = setInterval(() => {
    max = Math.max(max, memory(pid).rss);
  }, 20);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(max, memory(pid).rss);
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
