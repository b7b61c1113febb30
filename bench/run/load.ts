/**
 * The load generators: wrk (installed from Debian when missing) for the
 * closed-loop phases, and the Deno clients of bench/client.ts for the
 * fixed-rate, streaming and held-stream phases. All run pinned to the load
 * generators' CPU.
 *
 * @module
 */
import { BENCH_DIR, DENO } from "./options.ts";
import { follow, LOADGEN_CPU, pinned, run, sleep } from "./processes.ts";

/** The path of wrk, installing Debian's package when it is missing. */
export async function ensureWrk(): Promise<string> {
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

/** wrk's Lua script: POST `body`, and print the summary as one JSON line. */
export function wrkScript(body: string): string {
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

/** The summary wrkScript's `done` prints. */
export interface WrkResult {
  requests: number;
  duration_us: number;
  p50_us: number;
  p99_us: number;
  errors: number;
  non2xx: number;
}

/** What bench/client.ts `hold` reports: once the streams are open, and at the end. */
export interface Held<T> {
  opened: { open: number; open_ms: number };
  done: { complete: number };
  /** What `whileHeld` measured while the streams were open. */
  measured: T;
}

/** The load generators of one run. */
export interface Load {
  /**
   * `wrk -t1 -c<c> -d<seconds>s` posting the chat body to `url`, or the body
   * of another Lua `script` (see {@link wrkScript}).
   */
  wrk(
    url: string,
    c: number,
    seconds: number,
    script?: string,
  ): Promise<WrkResult>;
  /** bench/client.ts with `args`; its last line of output, parsed. */
  // deno-lint-ignore no-explicit-any
  client(args: string[]): Promise<any>;
  /**
   * bench/client.ts `hold`: opens `count` streams through `url` (the mock at
   * `mockOrigin` holds each after its first event), calls `whileHeld` while
   * they are open, then releases them and waits for the client's end.
   */
  hold<T>(
    url: string,
    count: number,
    mockOrigin: string,
    whileHeld: () => T,
  ): Promise<Held<T>>;
}

/** The load generators, pinned unless `pin` is false; `script` is wrk's Lua file. */
export function loadGenerators(
  pin: boolean,
  wrk: string,
  script: string,
): Load {
  const clientArgs = (args: string[]) =>
    pinned(pin, LOADGEN_CPU, DENO, [
      "run",
      "--allow-net",
      "--allow-read",
      `${BENCH_DIR}client.ts`,
      ...args,
    ]);
  return {
    async wrk(url, c, seconds, other) {
      const { cmd, args } = pinned(pin, LOADGEN_CPU, wrk, [
        "-t1",
        `-c${c}`,
        `-d${seconds}s`,
        "--timeout",
        "10s",
        "-s",
        other ?? script,
        url,
      ]);
      const out = await run(cmd, args);
      const line = out.trim().split("\n").pop()!;
      return JSON.parse(line) as WrkResult;
    },
    async client(args) {
      const { cmd, args: full } = clientArgs(args);
      const out = await run(cmd, full, {
        signal: AbortSignal.timeout(120_000),
      });
      return JSON.parse(out.trim().split("\n").pop()!);
    },
    async hold(url, count, mockOrigin, whileHeld) {
      const { cmd, args } = clientArgs([
        "hold",
        url,
        String(count),
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
      const measured = whileHeld();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode("release\n"));
      await writer.close();
      const status = await child.status;
      clearTimeout(timeout);
      const done = status.success
        ? JSON.parse(lines[lines.length - 1]!)
        : { complete: 0 };
      return { opened, done, measured };
    },
  };
}
