/**
 * `deno task bench`: freerouter's latency, throughput and memory against the
 * floor (the mock, direct) and a minimal Deno pass-through proxy, side by side
 * in one run, interleaved over several rounds; loopback only, a few minutes.
 * The throughput rounds also measure a minimal validating proxy
 * (bench/validating_proxy.ts): the ceiling for a proxy doing freerouter's work.
 *
 * ```sh
 * deno task bench                 # full run, writes bench/results.md
 * deno task bench --quick         # 1 round, shorter phases, no results.md
 * deno task bench --ref HEAD      # benchmark a commit (git archive) instead of the work tree
 * deno task bench --tree DIR      # benchmark another copy of the project (e.g. a patched one)
 * deno task bench --profile       # only CPU-profile freerouter under load and print the hot spots
 * deno task bench --env LOG_LEVEL=warn   # extra environment for freerouter (repeatable)
 * ```
 *
 * Options: `--rounds N` (default 5), `--seconds S` per load phase (default 3),
 * `--no-pin` (don't pin with taskset), `--out FILE` (default
 * bench/results.md; `--out -` writes none), `--ref REF`, `--tree DIR`,
 * `--env KEY=VALUE`, `--profile`, `--quick`, `--help`.
 *
 * @module
 */
import { chatBody } from "./client.ts";
import { summariseProfile } from "./cpuprofile.ts";
import { median, medianDifference, medianRatio, spread } from "./stats.ts";

const BENCH_DIR = new URL(".", import.meta.url).pathname;
const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const DENO = Deno.execPath();

// ---------------------------------------------------------------- options

interface Options {
  rounds: number;
  seconds: number;
  pin: boolean;
  out: string | undefined;
  ref: string | undefined;
  tree: string | undefined;
  env: Record<string, string>;
  profile: boolean;
  quick: boolean;
}

/** Printed for `--help`, and after a usage error. */
export const USAGE =
  "usage: deno task bench [--quick] [--rounds N] [--seconds S] [--no-pin] [--out FILE | --out -] [--ref REF | --tree DIR] [--env KEY=VALUE]... [--profile]";

/**
 * Parses the command line: the options, or `"help"` for `--help`/`-h`. Throws
 * an `Error` naming the problem for anything else it cannot use.
 */
export function parseArgs(args: readonly string[]): Options | "help" {
  const o: Options = {
    rounds: 5,
    seconds: 3,
    pin: true,
    out: `${BENCH_DIR}results.md`,
    ref: undefined,
    tree: undefined,
    env: {},
    profile: false,
    quick: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const count = () => {
      const n = Number(value());
      if (!Number.isFinite(n) || n < 1) {
        throw new Error(`${a} needs a number of at least 1`);
      }
      return n;
    };
    if (a === "--help" || a === "-h") return "help";
    if (a === "--rounds") o.rounds = Math.round(count());
    else if (a === "--seconds") o.seconds = count();
    else if (a === "--no-pin") o.pin = false;
    else if (a === "--out") o.out = value();
    else if (a === "--ref") o.ref = value();
    else if (a === "--tree") o.tree = value().replace(/\/$/, "");
    else if (a === "--env") {
      const [k, ...v] = value().split("=");
      if (!k || v.length === 0) throw new Error("--env needs KEY=VALUE");
      o.env[k] = v.join("=");
    } else if (a === "--profile") o.profile = true;
    else if (a === "--quick") {
      o.quick = true;
      o.rounds = 1;
      o.seconds = 2;
      o.out = undefined;
    } else throw new Error(`unknown option ${a}`);
  }
  if (o.out === "-") o.out = undefined;
  return o;
}

// ---------------------------------------------------------------- processes

/** CPU layout: the load generators on one core, the servers on the other. */
const LOADGEN_CPU = "0";
const SERVER_CPU = "1";

function pinned(pin: boolean, cpu: string, cmd: string, args: string[]) {
  return pin
    ? { cmd: "taskset", args: ["-c", cpu, cmd, ...args] }
    : { cmd, args };
}

async function run(
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
interface Server {
  name: string;
  child: Deno.ChildProcess;
  pid: number;
  logFile: string;
}

/** Keeps reading a stream's lines into `log`; resolves `ready` on a match. */
function follow(
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
async function startServer(
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

function baseEnv(): Record<string, string> {
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

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** VmRSS and VmHWM of a process, in MB. */
function memory(pid: number): { rss: number; hwm: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (key: string) =>
    Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
}

/** CPU time (user + system) a process has used, in ms. */
function cpuMs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of stat, in clock ticks (100 Hz).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Busy CPU ms of the whole machine, and of this process and its waited-for children. */
function cpuSnapshot(): { machine: number; ours: number } {
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
function sampleRss(pid: number): { stop: () => number } {
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Seconds of unmeasured c=32 load before each measured throughput phase. */
const WARM_SECONDS = 2;
/** The metric of those warm-up seconds: throughput right after an idle gap. */
const COLD_THROUGHPUT =
  `(c=32 throughput, first ${WARM_SECONDS} s after an idle gap)`;

// ---------------------------------------------------------------- load generators

async function ensureWrk(): Promise<string> {
  const found = await new Deno.Command("sh", {
    args: ["-c", "command -v wrk"],
    stdout: "piped",
  }).output();
  if (found.success) return new TextDecoder().decode(found.stdout).trim();
  console.error("bench: installing wrk (apt-get install -y wrk) …");
  const install = () =>
    new Deno.Command("apt-get", {
      args: ["install", "-y", "-q", "wrk"],
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdout: "null",
      stderr: "inherit",
    }).output();
  if (!(await install()).success) {
    await new Deno.Command("apt-get", {
      args: ["update", "-q"],
      stdout: "null",
      stderr: "inherit",
    }).output();
    if (!(await install()).success) {
      throw new Error(
        "Could not install wrk; install Debian's wrk package and rerun",
      );
    }
  }
  return "wrk";
}

function wrkScript(body: string): string {
  return `wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer sk-or-v1-bench"
wrk.body = '${body.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d,"non2xx":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
`;
}

interface WrkResult {
  requests: number;
  duration_us: number;
  p50_us: number;
  p99_us: number;
  errors: number;
  non2xx: number;
}

// ---------------------------------------------------------------- the run

type TargetName = "floor" | "passthrough" | "freerouter";
const TARGETS: TargetName[] = ["floor", "passthrough", "freerouter"];
/**
 * The targets measured in every phase, and the minimal validating proxy
 * (bench/validating_proxy.ts), measured in the throughput phase only: the
 * ceiling for a proxy doing freerouter's work.
 */
type SampleTarget = TargetName | "validating";
const LABEL: Record<SampleTarget, string> = {
  floor: "floor (mock, direct)",
  passthrough: "Deno pass-through",
  validating: "minimal validating proxy",
  freerouter: "freerouter",
};

const ALL_TARGETS: SampleTarget[] = [
  "floor",
  "passthrough",
  "validating",
  "freerouter",
];

interface Target<Name extends SampleTarget = TargetName> {
  name: Name;
  url: string;
  pid: number;
}

/** Metric name → target → one value per round. */
type Samples = Map<string, Record<SampleTarget, number[]>>;

function record(
  samples: Samples,
  metric: string,
  target: SampleTarget,
  v: number,
) {
  let m = samples.get(metric);
  if (!m) {
    samples.set(
      metric,
      m = { floor: [], passthrough: [], validating: [], freerouter: [] },
    );
  }
  m[target].push(v);
}

/** Metric definitions: unit, and whether higher is better. */
const METRICS: Record<string, { unit: string; higher?: boolean }> = {
  "sequential c=1 p50": { unit: "ms" },
  "sequential c=1 p99": { unit: "ms" },
  "500 req/s p50": { unit: "ms" },
  "500 req/s p99": { unit: "ms" },
  "c=32 p50": { unit: "ms" },
  "c=32 p99": { unit: "ms" },
  "max throughput (c=32)": { unit: "req/s", higher: true },
  "CPU per request at c=32": { unit: "µs" },
  "stream TTFB p50": { unit: "ms" },
  "stream TTFB p99": { unit: "ms" },
  "stream TTLB p50": { unit: "ms" },
  "stream TTLB p99": { unit: "ms" },
};

async function main(o: Options) {
  const startedAt = new Date();
  const cpuAtStart = cpuSnapshot();
  const wrk = await ensureWrk();
  const tmp = await Deno.makeTempDir({ prefix: "freerouter-bench-" });
  const servers: Server[] = [];
  try {
    // The freerouter under test: the work tree, or a commit's tree.
    let root = o.tree ?? REPO;
    if (!o.tree && o.ref) {
      root = `${tmp}/tree`;
      await Deno.mkdir(root);
      const tar = `${tmp}/tree.tar`;
      await run("git", ["-C", REPO, "archive", "-o", tar, o.ref]);
      await run("tar", ["-xf", tar, "-C", root]);
    }
    const commit = o.tree ? `tree ${o.tree}` : (await run("git", [
      "-C",
      REPO,
      "rev-parse",
      "--short",
      o.ref ?? "HEAD",
    ])).trim();
    const dirty = o.ref || o.tree ? false : (await run("git", [
      "-C",
      REPO,
      "status",
      "--porcelain",
      "--",
      "src",
      "deno.json",
    ])).trim() !== "";

    // 1. The mock upstream, the pass-through proxy and freerouter.
    const env = baseEnv();
    /** A script of bench/ that prints `{"port": n}` once listening. */
    const startScript = async (
      name: string,
      script: string,
      scriptEnv: Record<string, string>,
    ) => {
      const started = await startServer(
        name,
        o.pin,
        ["run", "--allow-net", "--allow-env", `${BENCH_DIR}${script}`],
        { ...env, ...scriptEnv },
        /^\{"port":(\d+)\}/,
        `${tmp}/${name}.log`,
      );
      servers.push(started.server);
      return started;
    };
    const mock = await startScript("mock", "mock.ts", {
      MOCK_CHUNKS: "20",
      MOCK_RATE_LIMITED: "5",
    });
    const mockOrigin = `http://127.0.0.1:${mock.match[1]}`;
    const upstream = `${mockOrigin}/api/v1`;
    const pt = await startScript("passthrough", "passthrough.ts", {
      UPSTREAM: upstream,
    });
    const vp = await startScript("validating", "validating_proxy.ts", {
      UPSTREAM: upstream,
    });
    const validating: Target<"validating"> = {
      name: "validating",
      url: `http://127.0.0.1:${vp.match[1]}/v1/chat/completions`,
      pid: vp.server.pid,
    };
    const frPort = freePort();
    const profileDir = `${tmp}/profile`;
    const frArgs = [
      "run",
      ...(o.profile ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
      "--config",
      `${root}/deno.json`,
      ...await startTaskFlags(root),
      `${root}/src/server/main.ts`,
    ];
    const fr = await startServer(
      "freerouter",
      o.pin,
      frArgs,
      {
        ...env,
        OPENROUTER_API_KEY: "sk-or-v1-bench",
        OPENROUTER_BASE_URL: upstream,
        HOST: "127.0.0.1",
        PORT: String(frPort),
        FREEROUTER_KV_PATH: `${tmp}/kv/kv.sqlite`,
        // Benchmark the proxy, not the account limiter: with its default of
        // 20 attempts a minute it would queue or refuse nearly every request.
        FREEROUTER_RPM: "0",
        ...o.env,
      },
      // Ready once GET /v1/models lists the free pool (whatever LOG_LEVEL).
      async () => {
        const res = await fetch(`http://127.0.0.1:${frPort}/v1/models`);
        const body = await res.json() as { data?: unknown[] };
        return res.ok && body.data?.length
          ? String(body.data.length)
          : undefined;
      },
      `${tmp}/freerouter.log`,
      tmp,
    );
    servers.push(fr.server);
    const poolSize = Number(fr.match[0]);
    await sleep(1000);
    const idle: Record<TargetName, number> = {
      floor: memory(mock.server.pid).rss,
      passthrough: memory(pt.server.pid).rss,
      freerouter: memory(fr.server.pid).rss,
    };

    const targets: Target[] = [
      {
        name: "floor",
        url: `${upstream}/chat/completions`,
        pid: mock.server.pid,
      },
      {
        name: "passthrough",
        url: `http://127.0.0.1:${pt.match[1]}/v1/chat/completions`,
        pid: pt.server.pid,
      },
      {
        name: "freerouter",
        url: `http://127.0.0.1:${frPort}/v1/chat/completions`,
        pid: fr.server.pid,
      },
    ];

    const script = `${tmp}/post.lua`;
    await Deno.writeTextFile(script, wrkScript(chatBody()));
    const runWrk = async (url: string, c: number, seconds: number) => {
      const { cmd, args } = pinned(o.pin, LOADGEN_CPU, wrk, [
        "-t1",
        `-c${c}`,
        `-d${seconds}s`,
        "--timeout",
        "10s",
        "-s",
        script,
        url,
      ]);
      const out = await run(cmd, args);
      const line = out.trim().split("\n").pop()!;
      return JSON.parse(line) as WrkResult;
    };
    const runClient = async (args: string[]) => {
      const { cmd, args: full } = pinned(o.pin, LOADGEN_CPU, DENO, [
        "run",
        "--allow-net",
        "--allow-read",
        `${BENCH_DIR}client.ts`,
        ...args,
      ]);
      const out = await run(cmd, full, {
        signal: AbortSignal.timeout(120_000),
      });
      return JSON.parse(out.trim().split("\n").pop()!);
    };
    const failures: Record<SampleTarget, string[]> = {
      floor: [],
      passthrough: [],
      validating: [],
      freerouter: [],
    };
    const check = (
      t: Target<SampleTarget>,
      what: string,
      errors: number,
      stalls = 0,
    ) => {
      if (errors > 0) {
        failures[t.name].push(
          `${what}: ${errors} failed${stalls ? ` (${stalls} stalled)` : ""}`,
        );
      }
    };

    // 2. Warm-up: JIT, connection pools, and freerouter's cooldowns (the
    // mock rate-limits the 5 highest-priority free models).
    console.error(
      `bench: warming up (pool ${poolSize} free models of a 300-model catalog) …`,
    );
    for (const t of targets) {
      await runWrk(t.url, 1, 1);
      await runClient(["stream", t.url, "100"]);
    }
    await runWrk(validating.url, 1, 1);

    // 3. Streaming memory, on processes that have only been warmed up (their
    // RSS after the throughput rounds is reported separately): 500
    // concurrent open streams, then one 50 MB stream. Then the warm-up at c=32.
    console.error("bench: 500 concurrent open streams …");
    const held: Record<
      TargetName,
      { rss: number; open: number; complete: number; openMs: number }
    > = {} as never;
    for (const t of targets) {
      await sleep(300);
      const { cmd, args } = pinned(o.pin, LOADGEN_CPU, DENO, [
        "run",
        "--allow-net",
        "--allow-read",
        `${BENCH_DIR}client.ts`,
        "hold",
        t.url,
        "500",
        mockOrigin,
      ]);
      const child = new Deno.Command(cmd, {
        args,
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const lines: string[] = [];
      const first = follow(child.stdout, lines, /^\{"held"/);
      const timeout = setTimeout(() => child.kill(), 60_000);
      await first;
      const opened = JSON.parse(lines[0]!);
      await sleep(200);
      const rss = t.name === "floor"
        ? memory(mock.server.pid).rss
        : memory(t.pid).rss;
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode("release\n"));
      await writer.close();
      const status = await child.status;
      clearTimeout(timeout);
      const done = status.success
        ? JSON.parse(lines[lines.length - 1]!)
        : { complete: 0 };
      if (done.complete !== 500) {
        failures[t.name].push(
          `500 open streams: ${done.complete} of 500 completed`,
        );
      }
      held[t.name] = {
        rss,
        open: opened.open,
        complete: done.complete,
        openMs: opened.open_ms,
      };
    }

    console.error("bench: 50 MB streams …");
    const big: Record<TargetName, BigResult> = {} as never;
    for (const t of targets) {
      // Two 50 MB streams back to back: the first shows the warm-up growth,
      // the second whether memory keeps growing with the bytes (not flat).
      await sleep(300);
      const before = memory(t.pid).rss;
      const passes: { max: number; r: BigRun }[] = [];
      for (let pass = 0; pass < 2; pass++) {
        const sampler = sampleRss(t.pid);
        const r = await runClient(["big", t.url]) as BigRun;
        passes.push({ max: sampler.stop(), r });
      }
      const [one, two] = passes as [typeof passes[0], typeof passes[0]];
      const bad = passes.find(({ r }) =>
        !(r.status === 200 && r.complete && r.bytes > 50e6)
      )?.r;
      big[t.name] = {
        before,
        max: one.max,
        max2: Math.max(one.max, two.max),
        mbps: (one.r.mb_per_s + two.r.mb_per_s) / 2,
        bytes: bad?.bytes ?? one.r.bytes,
        stalled: bad?.stalled ?? false,
        ok: bad === undefined,
      };
      if (bad) {
        failures[t.name].push(
          `50 MB stream: ${bad.stalled ? "stalled" : "incomplete"} after ${
            (bad.bytes / 1e6).toFixed(2)
          } MB`,
        );
      }
    }
    for (const t of [...targets, validating]) {
      await runWrk(t.url, 32, o.quick ? 1 : 2);
    }

    if (o.profile) {
      // Profile only: freerouter runs under --cpu-prof, so its figures would
      // be skewed; measure nothing else.
      console.error("bench: profiling freerouter (c=1, c=32, streams) …");
      const url = targets[2]!.url;
      const seq = await runWrk(url, 1, o.seconds);
      const c32 = await runWrk(url, 32, o.seconds);
      await runClient(["stream", url, "300"]);
      for (const server of servers.splice(0)) await stop(server);
      for (const f of Deno.readDirSync(profileDir)) {
        if (!f.name.endsWith(".cpuprofile")) continue;
        await Deno.mkdir(`${BENCH_DIR}.profiles`, { recursive: true });
        const saved =
          `${BENCH_DIR}.profiles/freerouter-${Date.now()}.cpuprofile`;
        await Deno.copyFile(`${profileDir}/${f.name}`, saved);
        console.log(
          `Under --cpu-prof: c=1 p50 ${seq.p50_us} µs, c=32 ${
            Math.round(c32.requests / (c32.duration_us / 1e6))
          } req/s\n`,
        );
        console.log(
          summariseProfile(JSON.parse(await Deno.readTextFile(saved)), 30),
        );
        console.log(
          `profile saved to ${
            saved.replace(`${REPO}/`, "")
          } (open it in Chrome DevTools)`,
        );
      }
      return;
    }

    // 4. Interleaved rounds; the order of the targets rotates each round.
    const samples: Samples = new Map();
    const s = o.seconds;
    for (let round = 0; round < o.rounds; round++) {
      const order = targets.map((_, i) =>
        targets[(i + round) % targets.length]!
      );
      const throughputOrder = [...targets, validating].map((_, i, all) =>
        all[(i + round) % all.length]!
      );
      console.error(
        `bench: round ${round + 1}/${o.rounds} (${
          order.map((t) => t.name).join(", ")
        })`,
      );
      for (const t of order) {
        const seq = await runWrk(t.url, 1, s);
        check(t, `sequential round ${round + 1}`, seq.errors + seq.non2xx);
        record(samples, "sequential c=1 p50", t.name, seq.p50_us / 1000);
        record(samples, "sequential c=1 p99", t.name, seq.p99_us / 1000);
      }
      for (const t of order) {
        const r = await runClient(["rate", t.url, "500", String(s)]);
        check(t, `500 req/s round ${round + 1}`, r.errors);
        record(samples, "500 req/s p50", t.name, r.p50_ms);
        record(samples, "500 req/s p99", t.name, r.p99_ms);
        record(samples, "(pacer lateness p99)", t.name, r.late_p99_ms);
      }
      for (const t of throughputOrder) {
        // Each target has sat idle while the others ran. Max throughput is a
        // steady-state figure, so the same load runs first, unmeasured but
        // recorded apart: after an idle gap V8 may have shrunk the heap and
        // dropped optimised code, and the first seconds of load run cold.
        const warm = await runWrk(t.url, 32, WARM_SECONDS);
        check(t, `c=32 warm-up round ${round + 1}`, warm.errors + warm.non2xx);
        record(
          samples,
          COLD_THROUGHPUT,
          t.name,
          warm.requests / (warm.duration_us / 1e6),
        );
        const cpu0 = cpuMs(t.pid);
        const mock0 = cpuMs(mock.server.pid);
        const c = await runWrk(t.url, 32, s);
        const used = cpuMs(t.pid) - cpu0;
        // For the proxies, the CPU of the proxy process alone; for the floor,
        // the mock's.
        record(
          samples,
          "CPU per request at c=32",
          t.name,
          1000 * used / c.requests,
        );
        if (t.name !== "floor") {
          record(
            samples,
            "(mock CPU per request at c=32)",
            t.name,
            1000 * (cpuMs(mock.server.pid) - mock0) / c.requests,
          );
        }
        check(t, `c=32 round ${round + 1}`, c.errors + c.non2xx);
        record(samples, "c=32 p50", t.name, c.p50_us / 1000);
        record(samples, "c=32 p99", t.name, c.p99_us / 1000);
        record(
          samples,
          "max throughput (c=32)",
          t.name,
          c.requests / (c.duration_us / 1e6),
        );
      }
      for (const t of order) {
        const st = await runClient(["stream", t.url, o.quick ? "100" : "300"]);
        check(t, `stream round ${round + 1}`, st.errors, st.stalls);
        record(samples, "stream TTFB p50", t.name, st.ttfb_p50_ms);
        record(samples, "stream TTFB p99", t.name, st.ttfb_p99_ms);
        record(samples, "stream TTLB p50", t.name, st.ttlb_p50_ms);
        record(samples, "stream TTLB p99", t.name, st.ttlb_p99_ms);
      }
    }

    // 5. Memory after the load.
    const peakAfterRounds: Record<TargetName, number> = {
      floor: memory(mock.server.pid).hwm,
      passthrough: memory(pt.server.pid).hwm,
      freerouter: memory(fr.server.pid).hwm,
    };
    await sleep(1500);
    const idleAfter: Record<TargetName, number> = {
      floor: memory(mock.server.pid).rss,
      passthrough: memory(pt.server.pid).rss,
      freerouter: memory(fr.server.pid).rss,
    };
    const peak: Record<TargetName, number> = {
      floor: memory(mock.server.pid).hwm,
      passthrough: memory(pt.server.pid).hwm,
      freerouter: memory(fr.server.pid).hwm,
    };

    // 6. Micro-benchmarks of the hot path.
    console.error("bench: Deno.bench micro-benchmarks …");
    const micro = await microBenchmarks(root, o.pin, tmp);

    for (const server of servers.splice(0)) await stop(server);
    // CPU that other processes used meanwhile: the machine's busy time less
    // ours and our children's (all waited for by now).
    const cpuAtEnd = cpuSnapshot();
    const wallMs = Date.now() - startedAt.getTime();
    const otherLoad = Math.max(
      0,
      (cpuAtEnd.machine - cpuAtStart.machine -
        (cpuAtEnd.ours - cpuAtStart.ours)) / wallMs,
    );
    const report = await renderReport({
      otherLoad,
      wallMs,
      o,
      startedAt,
      commit: commit + (dirty ? " + uncommitted src changes" : ""),
      flags: frArgs.slice(frArgs.indexOf("--config") + 2, -1),
      poolSize,
      samples,
      idle,
      idleAfter,
      peakAfterRounds,
      peak,
      big,
      held,
      micro,
      failures,
    });
    console.log(report);
    if (o.out) {
      await Deno.writeTextFile(o.out, report);
      // Keep it as `deno fmt` (and so CI's `deno fmt --check`) wants it.
      await run(DENO, ["fmt", "--quiet", o.out]);
      console.error(`bench: wrote ${o.out.replace(`${REPO}/`, "")}`);
    }
  } finally {
    for (const server of servers) await stop(server);
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

async function stop(server: Server): Promise<void> {
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

// ---------------------------------------------------------------- micro-benchmarks

interface MicroResult {
  name: string;
  avgNs: number;
  p99Ns: number;
}

/**
 * The flags `deno task start` runs freerouter with (permissions, V8 flags), so
 * that the benchmark measures the shipped configuration.
 */
async function startTaskFlags(root: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${root}/deno.json`));
  const words = String(config.tasks?.start ?? "").split(/\s+/);
  const from = words.indexOf("run");
  const to = words.indexOf("src/server/main.ts");
  if (from < 0 || to < from) {
    throw new Error(`unexpected start task in ${root}/deno.json`);
  }
  return words.slice(from + 1, to);
}

/** Runs bench/hot_path_bench.ts against `root`'s src/ (a copy with its imports pointed there). */
async function microBenchmarks(
  root: string,
  pin: boolean,
  tmp: string,
): Promise<MicroResult[]> {
  const source = (await Deno.readTextFile(`${BENCH_DIR}hot_path_bench.ts`))
    .replaceAll('from "../src/', `from "file://${root}/src/`)
    .replaceAll('from "./', `from "file://${BENCH_DIR}`);
  const file = `${tmp}/hot_path_bench.ts`;
  await Deno.writeTextFile(file, source);
  const { cmd, args } = pinned(pin, SERVER_CPU, DENO, [
    "bench",
    "--json",
    "--no-check",
    "--config",
    `${root}/deno.json`,
    file,
  ]);
  const out = await run(cmd, args, { cwd: root });
  const json = JSON.parse(out) as {
    benches: {
      name: string;
      results: { ok?: { avg: number; p99: number } }[];
    }[];
  };
  return json.benches.flatMap((b) => {
    const ok = b.results[0]?.ok;
    return ok ? [{ name: b.name, avgNs: ok.avg, p99Ns: ok.p99 }] : [];
  });
}

// ---------------------------------------------------------------- report

interface BigRun {
  status: number;
  bytes: number;
  mb_per_s: number;
  stalled: boolean;
  complete: boolean;
}

interface BigResult {
  before: number;
  /** Max RSS during the first stream. */
  max: number;
  /** Max RSS over both streams. */
  max2: number;
  mbps: number;
  bytes: number;
  stalled: boolean;
  ok: boolean;
}

interface ReportInput {
  otherLoad: number;
  wallMs: number;
  o: Options;
  startedAt: Date;
  commit: string;
  /** The flags freerouter ran with (those of `deno task start`). */
  flags: string[];
  poolSize: number;
  samples: Samples;
  idle: Record<TargetName, number>;
  idleAfter: Record<TargetName, number>;
  peakAfterRounds: Record<TargetName, number>;
  peak: Record<TargetName, number>;
  big: Record<TargetName, BigResult>;
  failures: Record<SampleTarget, string[]>;
  held: Record<
    TargetName,
    { rss: number; open: number; complete: number; openMs: number }
  >;
  micro: MicroResult[];
}

function fmt(v: number, unit = "ms"): string {
  if (!Number.isFinite(v)) return "—";
  if (unit === "req/s" || unit === "µs") {
    return Math.round(v).toLocaleString("en-US");
  }
  if (unit === "MB") return v.toFixed(1);
  return v < 1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : v.toFixed(1);
}

async function machine(): Promise<string> {
  const cpu = /model name\s*:\s*(.*)/.exec(
    await Deno.readTextFile("/proc/cpuinfo"),
  )?.[1] ?? "unknown CPU";
  const load = (await Deno.readTextFile("/proc/loadavg")).split(" ")
    .slice(0, 3).join(" ");
  return `${navigator.hardwareConcurrency} cores (${cpu}), load average at the end ${load}`;
}

async function renderReport(r: ReportInput): Promise<string> {
  /** One target's values of a metric, one per round. */
  const series = (metric: string, t: SampleTarget) =>
    r.samples.get(metric)?.[t] ?? [];
  const med = (metric: string, t: SampleTarget) => median(series(metric, t));
  const lines: string[] = [];
  const wrkVersion = (await run("sh", ["-c", "wrk -v 2>&1 | head -1"]))
    .trim().split(" ").slice(0, 2).join(" ");
  lines.push(
    "# freerouter benchmark",
    "",
    "Written by `deno task bench` (bench/run.ts); numbers from one run. Loopback only.",
    "",
    `- Date: ${r.startedAt.toISOString()}`,
    `- Machine: ${await machine()}; other processes used ${
      (r.otherLoad * 100).toFixed(0)
    } % of a core on average during the ${
      (r.wallMs / 1000).toFixed(0)
    } s run (their noise lands in the p99s)`,
    `- Runtime: Deno ${Deno.version.deno}, V8 ${Deno.version.v8}; load generator ${wrkVersion} and Deno clients (bench/client.ts)`,
    `- freerouter: ${r.commit}${
      Object.keys(r.o.env).length
        ? ` with ${
          Object.entries(r.o.env).map(([k, v]) => `${k}=${v}`).join(" ")
        }`
        : ""
    }, run as \`deno task start\` runs it (\`${
      r.flags.join(" ")
    }\`); FREEROUTER_RPM=0 (the account limiter off, else it would hold requests to 20 a minute); catalog of 300 models, ${r.poolSize} in the free pool, 5 of them rate-limited by the mock so routing skips cooldowns; KV on disk`,
    `- Layout: ${
      r.o.pin
        ? "taskset: load generators (wrk -t1, Deno clients) on CPU 0; the mock and the process under test share CPU 1 (2 cores: a proxy's CPU time competes with the upstream's, as on a small VM)"
        : "no pinning (--no-pin)"
    }`,
    `- Rounds: ${r.o.rounds}, interleaved (target order rotates each round), ${r.o.seconds} s per load phase; figures are medians across rounds, per-round values below`,
    `- Workload: POST /v1/chat/completions, ${chatBody().length}-byte body; answers pre-serialised (${"non-stream"} ~700 B; streams of 20 content chunks + role, finish, usage, [DONE] ≈ 6.5 KB)`,
    "",
    "## Results",
    "",
    "| metric | floor (mock, direct) | Deno pass-through | freerouter | freerouter − floor | freerouter / floor | freerouter / pass-through |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const [metric, def] of Object.entries(METRICS)) {
    const f = med(metric, "floor");
    const p = med(metric, "passthrough");
    const x = med(metric, "freerouter");
    lines.push(
      `| ${metric} (${def.unit}) | ${fmt(f, def.unit)} | ${
        fmt(p, def.unit)
      } | ${fmt(x, def.unit)} | ${def.higher ? "" : fmt(x - f, def.unit)} | ${
        (x / f).toFixed(2)
      } | ${(x / p).toFixed(2)} |`,
    );
  }
  const tputOf = (t: SampleTarget) => med("max throughput (c=32)", t);
  /** A throughput over the pass-through's, paired by round (drift cancels). */
  const pairedShare = (t: SampleTarget, metric = "max throughput (c=32)") =>
    medianRatio(series(metric, t), series(metric, "passthrough"));
  const percent = (x: number) => `${(x * 100).toFixed(0)} %`;
  const shareOfPassthrough = (t: SampleTarget) =>
    percent(tputOf(t) / tputOf("passthrough"));
  const ceiling: SampleTarget[] = ["passthrough", "validating", "freerouter"];
  lines.push(
    "",
    "## The ceiling for freerouter's work (c=32)",
    "",
    `The minimal validating proxy (bench/validating_proxy.ts) does only what freerouter cannot skip for a non-streaming request: parse the body, set the model and serialise it again, send it under a timeout (an abort controller per attempt, checked by one shared timer), read and parse the whole answer to catch errors inside 200s, answer with the model used, and write one batched access-log line. No routing, cooldowns, metrics or request records. Its share of the pass-through's throughput is the most a proxy doing freerouter's job reaches here; it runs in the throughput phase only, in the same rotation. Shares are given two ways: the ratio of the medians, and the median of the ratios within each round, which the target uses (a round measures every target within seconds, so the machine's drift between rounds cancels). Each measured phase follows ${WARM_SECONDS} s of the same load, reported apart: every target sits idle while the others run, and freerouter's idle trimmer gives its memory back after a second without requests, so its first seconds of load after a gap run cold.`,
    "",
    `| measure | ${ceiling.map((t) => LABEL[t]).join(" | ")} |`,
    `| --- | ${ceiling.map(() => "---:").join(" | ")} |`,
    `| max throughput (req/s) | ${
      ceiling.map((t) => fmt(tputOf(t), "req/s")).join(" | ")
    } |`,
    `| CPU per request (µs) | ${
      ceiling.map((t) => fmt(med("CPU per request at c=32", t), "µs")).join(
        " | ",
      )
    } |`,
    `| share of the pass-through's throughput (ratio of the medians) | ${
      ceiling.map(shareOfPassthrough).join(" | ")
    } |`,
    `| share, median of the per-round ratios | ${
      ceiling.map((t) => percent(pairedShare(t))).join(" | ")
    } |`,
    `| first ${WARM_SECONDS} s after an idle gap, unmeasured above (req/s) | ${
      ceiling.map((t) => fmt(med(COLD_THROUGHPUT, t), "req/s")).join(" | ")
    } |`,
    `| its share, median of the per-round ratios | ${
      ceiling.map((t) => percent(pairedShare(t, COLD_THROUGHPUT))).join(" | ")
    } |`,
  );
  const big = r.big;
  const held = r.held;
  const memRow = (label: string, get: (t: TargetName) => number) =>
    `| ${label} | ${fmt(get("floor"), "MB")} | ${
      fmt(get("passthrough"), "MB")
    } | ${fmt(get("freerouter"), "MB")} |`;
  lines.push(
    "",
    "## Memory (RSS of each process, MB; the floor column is the mock itself)",
    "",
    "| measure | mock | Deno pass-through | freerouter |",
    "| --- | ---: | ---: | ---: |",
    memRow("idle after start (catalog loaded)", (t) => r.idle[t]),
    memRow(
      "500 concurrent open streams (after a light warm-up)",
      (t) => held[t].rss,
    ),
    memRow("50 MB stream: RSS before", (t) => big[t].before),
    memRow("50 MB stream: RSS max during the first", (t) => big[t].max),
    memRow("50 MB stream: RSS max during a second one", (t) => big[t].max2),
    `| 50 MB stream: throughput (MB/s) | ${fmt(big.floor.mbps, "MB")} | ${
      fmt(big.passthrough.mbps, "MB")
    } | ${fmt(big.freerouter.mbps, "MB")} |`,
    memRow(
      "peak (VmHWM) after the latency rounds",
      (t) => r.peakAfterRounds[t],
    ),
    memRow("idle after all load", (t) => r.idleAfter[t]),
    memRow("peak (VmHWM) over the whole run", (t) => r.peak[t]),
    "",
    `500 open streams: ${
      TARGETS.map((t) =>
        `${t} ${held[t].open}/500 opened in ${fmt(held[t].openMs)} ms, ${
          held[t].complete
        } completed`
      ).join("; ")
    }. 50 MB streams: ${
      TARGETS.map((t) =>
        `${t} ${
          big[t].ok
            ? "complete"
            : `**${big[t].stalled ? "stalled" : "incomplete"} after ${
              (big[t].bytes / 1e6).toFixed(2)
            } MB**`
        }`
      ).join(", ")
    }.`,
    "",
    "Failed or stalled requests: " +
      (ALL_TARGETS.every((t) => r.failures[t].length === 0)
        ? "none."
        : ALL_TARGETS.filter((t) => r.failures[t].length > 0).map((t) =>
          `${t}: ${r.failures[t].join("; ")}`
        ).join(". ") + "."),
  );

  // Micro-benchmarks.
  lines.push(
    "",
    "## Hot path micro-benchmarks (bench/hot_path_bench.ts, `deno bench`)",
    "",
    "| benchmark | avg | p99 |",
    "| --- | ---: | ---: |",
  );
  const us = (ns: number) => `${(ns / 1000).toFixed(2)} µs`;
  for (const m of r.micro) {
    lines.push(`| ${m.name} | ${us(m.avgNs)} | ${us(m.p99Ns)} |`);
  }

  // Targets.
  // Differences and ratios are paired by round: each round measures every
  // target within seconds, so the machine's drift between rounds cancels.
  const overhead = (metric: string, base: SampleTarget) =>
    medianDifference(series(metric, "freerouter"), series(metric, base));
  const seqP50 = overhead("sequential c=1 p50", "floor");
  const seqP99 = overhead("sequential c=1 p99", "floor");
  const tput = pairedShare("freerouter");
  const rateP99 = overhead("500 req/s p99", "passthrough");
  const ttfb = overhead("stream TTFB p50", "passthrough");
  const bigGrowth = big.freerouter.max2 - big.freerouter.max;
  const ordering = r.micro.filter((m) => m.name.startsWith("orderCandidates"))
    .filter((m) => !m.name.includes("worst case"));
  const orderingMax = Math.max(...ordering.map((m) => m.avgNs)) / 1000;
  const targets: [string, string, string, boolean][] = [
    [
      "sequential overhead over the floor, p50",
      `${fmt(seqP50)} ms`,
      "≤ 0.3 ms",
      seqP50 <= 0.3,
    ],
    [
      "sequential overhead over the floor, p99",
      `${fmt(seqP99)} ms`,
      "≤ 1 ms",
      seqP99 <= 1,
    ],
    [
      "throughput vs pass-through (c=32), median of per-round ratios",
      `${percent(tput)} (ratio of the medians: ${
        shareOfPassthrough("freerouter")
      }; minimal validating proxy: ${percent(pairedShare("validating"))})`,
      "≥ 85 %",
      tput >= 0.85,
    ],
    [
      "p99 at 500 req/s vs pass-through",
      `${rateP99 >= 0 ? "+" : ""}${fmt(rateP99)} ms`,
      "≤ +1 ms",
      rateP99 <= 1,
    ],
    [
      "stream TTFB p50 vs pass-through",
      `${ttfb >= 0 ? "+" : ""}${fmt(ttfb)} ms`,
      "≤ +1 ms",
      ttfb <= 1,
    ],
    [
      "50 MB stream, flat RSS: growth during a second 50 MB stream",
      big.freerouter.ok
        ? `${fmt(bigGrowth, "MB")} MB (first: ${
          fmt(big.freerouter.max - big.freerouter.before, "MB")
        } MB)`
        : `stalled after ${(big.freerouter.bytes / 1e6).toFixed(2)} MB`,
      "≤ 5 MB",
      bigGrowth <= 5 && big.freerouter.ok,
    ],
    [
      "RSS idle",
      `${fmt(r.idle.freerouter, "MB")} MB (after load: ${
        fmt(r.idleAfter.freerouter, "MB")
      } MB)`,
      "< 80 MB",
      r.idle.freerouter < 80,
    ],
    [
      "RSS with 500 open streams",
      `${fmt(held.freerouter.rss, "MB")} MB`,
      "< 150 MB",
      held.freerouter.rss < 150 && held.freerouter.complete === 500,
    ],
    [
      "candidate ordering, 300-model pool",
      `${orderingMax.toFixed(2)} µs`,
      "< 20 µs",
      orderingMax < 20,
    ],
  ];
  lines.push(
    "",
    "## Targets (issue 4)",
    "",
    "Overheads and the throughput share here are medians of the per-round differences and ratios (each round measures every target within seconds, so drift between rounds cancels); the results table above compares each target's own medians.",
    "",
    "| target | measured | limit | met |",
    "| --- | ---: | ---: | :---: |",
    ...targets.map(([name, v, limit, ok]) =>
      `| ${name} | ${v} | ${limit} | ${ok ? "yes" : "**no**"} |`
    ),
  );

  // Per-round values.
  lines.push(
    "",
    "## Per-round values (drift and spread)",
    "",
    "| metric | target | rounds | min–max |",
    "| --- | --- | --- | --- |",
  );
  for (const [metric, byTarget] of r.samples) {
    const unit = METRICS[metric]?.unit ??
      (metric.includes("CPU")
        ? "µs"
        : metric.includes("throughput")
        ? "req/s"
        : "ms");
    for (const t of ALL_TARGETS) {
      const v = byTarget[t];
      if (v.length === 0) continue;
      const [lo, hi] = spread(v);
      lines.push(
        `| ${metric} | ${LABEL[t]} | ${
          v.map((x) => fmt(x, unit)).join(", ")
        } | ${fmt(lo, unit)}–${fmt(hi, unit)} |`,
      );
    }
  }
  lines.push(
    "",
    "Notes: wrk measures sequential (one connection) and c=32 (closed loop, also the throughput figure: more connections did not raise it on this machine). The fixed-rate client is open-loop: a worker thread keeps the schedule and latency counts from each request's due time (coordinated omission corrected); `(pacer lateness p99)` is the client's own scheduling delay, part of every figure in that row. TTFB/TTLB: sequential streaming requests, time to the first body byte and to the end. Memory: the 500 open streams (the mock holds each after its first event) and the 50 MB streams (1 KiB events, read as fast as the client can) run after a light warm-up, before the throughput rounds; the flat-RSS check streams 50 MB twice and takes the growth during the second, where memory that scales with the bytes would show. CPU per request: the process's user + system time (/proc/<pid>/stat) over the c=32 phase divided by the requests served; it is the least sensitive figure to other load on the machine. All targets run the same clients against the same mock in the same run.",
    "",
  );
  return lines.join("\n");
}

if (import.meta.main) {
  let parsed: Options | "help";
  try {
    parsed = parseArgs(Deno.args);
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\n${USAGE}`);
    Deno.exit(2);
  }
  if (parsed === "help") console.log(USAGE);
  else await main(parsed);
}
