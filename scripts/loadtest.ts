/**
 * `deno task loadtest`: a bounded load test of the proxy under upstream faults,
 * on loopback only, about a minute.
 *
 * - A purpose-built fake OpenRouter runs in this process on 127.0.0.1: 30 %
 *   of chat attempts answer a per-model 429 (with `X-RateLimit-Reset` a few
 *   seconds ahead), 5 % hang until the caller gives up, the rest succeed;
 *   streaming requests get a paced SSE stream. It counts the attempts for each
 *   client request by a marker the client puts in `messages[0].content`.
 * - freerouter (src/main.ts) runs as a separate process (`FREEROUTER_RPM=0`,
 *   `MAX_ATTEMPTS=4`, `REQUEST_TIMEOUT=2`, KV in a temporary file), so that its
 *   RSS can be read from `/proc/<pid>/status`.
 * - 500 concurrent clients send requests for `--seconds` (default 45): half
 *   streaming, a tenth of those aborting after the first chunk.
 *
 * Pass means: every request answered (a success or an OpenAI-shaped error),
 * no attempt beyond MAX_ATTEMPTS in the fake's log, no unhandled rejection
 * (freerouter alive, nothing uncaught on its stderr, a clean SIGTERM exit), and
 * RSS back within 20 % of its pre-load value after a settle period. Prints a
 * markdown table for the README; exits 1 when a condition fails.
 *
 * ```sh
 * deno run -A scripts/loadtest.ts [--seconds 45] [--clients 500] [--settle 12]
 * ```
 *
 * @module
 */

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const MAX_ATTEMPTS = 4;
const REQUEST_TIMEOUT_S = 2;
/** A request not answered within this is counted as unanswered. */
const CLIENT_TIMEOUT_MS = 30_000;
const MODELS = 30;
const P_429 = 0.30;
const P_HANG = 0.05;
const P_STREAM = 0.5;
const P_ABORT_STREAM = 0.1;

interface Options {
  seconds: number;
  clients: number;
  settle: number;
}

/** Printed for `--help`, and after a usage error. */
export const USAGE =
  "usage: deno task loadtest [--seconds 45] [--clients 500] [--settle 12]";

/**
 * Parses the command line: the options, or `"help"` for `--help`/`-h`. Throws
 * an `Error` naming the problem for anything else it cannot use.
 */
export function parseArgs(args: readonly string[]): Options | "help" {
  const o: Options = { seconds: 45, clients: 500, settle: 12 };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    if (flag === "--help" || flag === "-h") return "help";
    if (flag !== "--seconds" && flag !== "--clients" && flag !== "--settle") {
      throw new Error(`Unknown option: ${flag}`);
    }
    const value = Number(args[++i]);
    if (!Number.isFinite(value) || value <= 0) {
      throw new Error(`${flag} needs a positive number`);
    }
    if (flag === "--seconds") o.seconds = value;
    else if (flag === "--clients") o.clients = Math.ceil(value);
    else o.settle = value;
  }
  return o;
}

// ---------------------------------------------------------------- the fake

const encoder = new TextEncoder();

function catalog(): unknown[] {
  return Array.from({ length: MODELS }, (_, i) => ({
    id: `loadtest/model-${String(i).padStart(2, "0")}:free`,
    canonical_slug: `loadtest/model-${i}`,
    name: `Load test model ${i} (free)`,
    created: 1767225600,
    context_length: 262144 - i * 1024,
    architecture: {
      modality: "text->text",
      input_modalities: ["text"],
      output_modalities: ["text"],
      tokenizer: "Other",
      instruct_type: null,
    },
    pricing: { prompt: "0", completion: "0" },
    top_provider: {
      context_length: 262144,
      max_completion_tokens: 8192,
      is_moderated: false,
    },
    per_request_limits: null,
    supported_parameters: ["max_tokens", "stop", "temperature", "top_p"],
  }));
}

function completion(model: string): string {
  return JSON.stringify({
    id: `gen-${Date.now()}-${Math.random().toString(36).slice(2, 12)}`,
    provider: "LoadTest",
    model,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    choices: [{
      index: 0,
      finish_reason: "stop",
      native_finish_reason: "stop",
      logprobs: null,
      message: { role: "assistant", content: "Hello from the load test." },
    }],
    usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 },
  });
}

function sseChunk(model: string, delta: unknown, finish: string | null) {
  return `data: ${
    JSON.stringify({
      id: "gen-loadtest",
      provider: "LoadTest",
      model,
      object: "chat.completion.chunk",
      created: Math.floor(Date.now() / 1000),
      choices: [{ index: 0, delta, finish_reason: finish }],
    })
  }\n\n`;
}

function rateLimited(model: string): Response {
  const reset = String(Date.now() + 1000 + Math.floor(Math.random() * 3000));
  const headers = {
    "X-RateLimit-Limit": "8",
    "X-RateLimit-Remaining": "0",
    "X-RateLimit-Reset": reset,
  };
  const slug = model.replace(/:free$/, "");
  return new Response(
    JSON.stringify({
      error: {
        message:
          `Rate limit exceeded: limit_rpm/${slug}/a9bbd882-011f-4606-8f60-85f3cb642586. High demand for ${model} on OpenRouter - limited to 8 requests per minute. Please retry shortly.`,
        code: 429,
        metadata: {
          headers,
          provider_name: null,
          limit_source: "openrouter_shared_capacity",
        },
      },
    }),
    {
      status: 429,
      headers: { "content-type": "application/json", ...headers },
    },
  );
}

/** A paced SSE answer: role, 6 content chunks 20 ms apart, finish, [DONE]. */
function streamed(model: string): Response {
  const parts = [
    sseChunk(model, { role: "assistant", content: "" }, null),
    ...["Hel", "lo", " from", " the", " load", " test"].map((p) =>
      sseChunk(model, { content: p }, null)
    ),
    sseChunk(model, { content: "" }, "stop"),
    "data: [DONE]\n\n",
  ];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let i = 0;
  return new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        const next = () => {
          try {
            if (i >= parts.length) return controller.close();
            controller.enqueue(encoder.encode(parts[i++]!));
          } catch {
            return; // the reader went away
          }
          timer = setTimeout(next, 20);
        };
        next();
      },
      cancel() {
        clearTimeout(timer);
      },
    }),
    { headers: { "content-type": "text/event-stream" } },
  );
}

interface FakeStats {
  attempts: number;
  ok: number;
  rateLimited: number;
  hung: number;
  /** Attempts per client request, by marker. */
  perRequest: Map<string, number>;
  models: number;
}

function startFake() {
  const stats: FakeStats = {
    attempts: 0,
    ok: 0,
    rateLimited: 0,
    hung: 0,
    perRequest: new Map(),
    models: 0,
  };
  const rows = JSON.stringify({ data: catalog() });
  const closing = new AbortController();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    onError: () => new Response(null, { status: 500 }),
  }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/api/v1/models") {
      stats.models++;
      return new Response(rows, {
        headers: { "content-type": "application/json" },
      });
    }
    if (path !== "/api/v1/chat/completions" || req.method !== "POST") {
      return new Response(null, { status: 404 });
    }
    const body = await req.json() as {
      model: string;
      stream?: boolean;
      messages: Array<{ content: string }>;
    };
    stats.attempts++;
    const marker = body.messages[0]!.content;
    stats.perRequest.set(marker, (stats.perRequest.get(marker) ?? 0) + 1);
    const roll = Math.random();
    if (roll < P_429) {
      stats.rateLimited++;
      return rateLimited(body.model);
    }
    if (roll < P_429 + P_HANG) {
      stats.hung++;
      // Until the caller gives up (or the fake closes).
      await new Promise<void>((resolve) => {
        const done = () => resolve();
        if (req.signal.aborted || closing.signal.aborted) return resolve();
        req.signal.addEventListener("abort", done, { once: true });
        closing.signal.addEventListener("abort", done, { once: true });
      });
      return new Response(null, { status: 499 });
    }
    stats.ok++;
    if (body.stream === true) return streamed(body.model);
    return new Response(completion(body.model), {
      headers: { "content-type": "application/json" },
    });
  });
  return {
    stats,
    baseUrl: `http://127.0.0.1:${server.addr.port}/api/v1`,
    async close() {
      closing.abort();
      await server.shutdown();
    },
  };
}

// ---------------------------------------------------------------- freerouter

async function startFreerouter(env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      `${REPO}/deno.json`,
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      // The same flags as `deno task start`: --allow-ffi and --expose-gc let
      // the idle trimmer (src/memory_trim.ts) give memory back after the load.
      "--allow-ffi",
      "--v8-flags=--expose-gc",
      `${REPO}/src/main.ts`,
    ],
    env: {
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
    stdout: "null",
    stderr: "piped",
  }).spawn();
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
    get exited() {
      return exited;
    },
    stderr: () => stderr,
    uncaught: uncaughtSeen,
    async stop(): Promise<Deno.CommandStatus> {
      if (!exited) child.kill("SIGTERM");
      const s = await status;
      await drained;
      return s;
    },
  };
}

async function rssKiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- clients

interface ClientStats {
  total: number;
  ok: number;
  okStream: number;
  /** OpenAI-shaped error answers by status (streams: `200 error event`). */
  errors: Map<string, number>;
  aborted: number;
  /** Not answered within CLIENT_TIMEOUT_MS. */
  unanswered: number;
  /** Network errors, malformed answers, truncated streams. */
  bad: number;
  badSamples: string[];
  headerLatency: number[];
  totalLatency: number[];
  /** `X-FreeRouter-Attempts` seen, max. */
  maxAttemptsHeader: number;
}

function newStats(): ClientStats {
  return {
    total: 0,
    ok: 0,
    okStream: 0,
    errors: new Map(),
    aborted: 0,
    unanswered: 0,
    bad: 0,
    badSamples: [],
    headerLatency: [],
    totalLatency: [],
    maxAttemptsHeader: 0,
  };
}

function isOpenAIError(text: string): boolean {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } };
    return typeof body.error?.message === "string";
  } catch {
    return false;
  }
}

function bad(stats: ClientStats, what: string): void {
  stats.bad++;
  if (stats.badSamples.length < 10) stats.badSamples.push(what);
}

async function oneRequest(
  url: string,
  marker: string,
  stats: ClientStats,
  client: Deno.HttpClient,
): Promise<void> {
  const stream = Math.random() < P_STREAM;
  const abortMidStream = stream && Math.random() < P_ABORT_STREAM;
  const controller = new AbortController();
  let timedOut = false;
  let abortedOnPurpose = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, CLIENT_TIMEOUT_MS);
  const started = performance.now();
  stats.total++;
  try {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "auto",
        stream,
        messages: [{ role: "user", content: marker }],
      }),
      signal: controller.signal,
      client,
    });
    stats.headerLatency.push(performance.now() - started);
    stats.maxAttemptsHeader = Math.max(
      stats.maxAttemptsHeader,
      Number(res.headers.get("x-freerouter-attempts") ?? 0),
    );
    if (res.status === 200 && stream) {
      const reader = res.body!.getReader();
      if (abortMidStream) {
        await reader.read();
        abortedOnPurpose = true;
        controller.abort();
        await reader.cancel().catch(() => {});
        stats.aborted++;
        return;
      }
      let text = "";
      const decoder = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      stats.totalLatency.push(performance.now() - started);
      if (text.endsWith("data: [DONE]\n\n")) {
        stats.ok++;
        stats.okStream++;
      } else if (/^data: \{"error":\{/m.test(text)) {
        stats.errors.set(
          "200 error event",
          (stats.errors.get("200 error event") ?? 0) + 1,
        );
      } else bad(stats, `truncated stream: ${text.slice(-120)}`);
      return;
    }
    const text = await res.text();
    stats.totalLatency.push(performance.now() - started);
    if (res.status === 200) {
      let body: { choices?: unknown[] } = {};
      try {
        body = JSON.parse(text);
      } catch { /* judged below */ }
      if (Array.isArray(body.choices) && body.choices.length > 0) stats.ok++;
      else bad(stats, `200 without choices: ${text.slice(0, 120)}`);
    } else if (isOpenAIError(text)) {
      const key = String(res.status);
      stats.errors.set(key, (stats.errors.get(key) ?? 0) + 1);
    } else bad(stats, `${res.status} not OpenAI-shaped: ${text.slice(0, 120)}`);
  } catch (err) {
    if (abortedOnPurpose) return;
    if (timedOut) stats.unanswered++;
    else bad(stats, `network: ${err instanceof Error ? err.message : err}`);
  } finally {
    clearTimeout(timer);
  }
}

async function drive(
  url: string,
  clients: number,
  ms: number,
  stats: ClientStats,
  prefix: string,
): Promise<void> {
  const until = performance.now() + ms;
  // The load's own connection pool: closed when the load ends, so the
  // clients are gone afterwards (keep-alive connections would otherwise stay
  // open, and the proxy would rightly keep their buffers).
  const client = Deno.createHttpClient({});
  try {
    await Promise.all(
      Array.from({ length: clients }, async (_, id) => {
        for (let seq = 0; performance.now() < until; seq++) {
          await oneRequest(url, `${prefix}-${id}-${seq}`, stats, client);
        }
      }),
    );
  } finally {
    client.close();
  }
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

// ---------------------------------------------------------------- main

async function main(options: Options): Promise<number> {
  const ownRejections: string[] = [];
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    ownRejections.push(String(event.reason));
  });

  const dir = await Deno.makeTempDir({ prefix: "freerouter-loadtest-" });
  const fake = startFake();
  let proxy: Awaited<ReturnType<typeof startFreerouter>> | undefined;
  try {
    proxy = await startFreerouter({
      OPENROUTER_API_KEY: "sk-or-v1-loadtest",
      OPENROUTER_BASE_URL: fake.baseUrl,
      HOST: "127.0.0.1",
      PORT: "0",
      FREEROUTER_RPM: "0",
      MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      REQUEST_TIMEOUT: String(REQUEST_TIMEOUT_S),
      FREEROUTER_KV_PATH: `${dir}/kv.sqlite`,
      LOG_LEVEL: "info", // the default: one line per request
    });
    const url = proxy.url;
    console.error(
      `freerouter pid ${proxy.pid} at ${url}, fake at ${fake.baseUrl}`,
    );

    // Warm up (catalog, JIT), then the pre-load RSS.
    const warm = newStats();
    await drive(url, 20, 3000, warm, "warmup");
    await sleep(2000);
    const baseline: number[] = [];
    for (let i = 0; i < 5; i++) {
      baseline.push(await rssKiB(proxy.pid));
      await sleep(400);
    }
    const before = percentile(baseline, 0.5);
    console.error(`pre-load RSS ${(before / 1024).toFixed(1)} MiB; loading…`);

    // The load, with RSS sampled throughout.
    const stats = newStats();
    let peak = before;
    let sampling = true;
    const sampler = (async () => {
      while (sampling && !proxy!.exited) {
        peak = Math.max(peak, await rssKiB(proxy!.pid).catch(() => 0));
        await sleep(250);
      }
    })();
    const loadStarted = performance.now();
    await drive(url, options.clients, options.seconds * 1000, stats, "lt");
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    sampling = false;
    await sampler;

    // Settle, then the post-load RSS.
    const after: number[] = [];
    for (let i = 0; i < options.settle; i++) {
      await sleep(1000);
      if (proxy.exited) break;
      after.push(await rssKiB(proxy.pid));
    }
    console.error(
      `post-load RSS samples (MiB, 1 s apart): ${
        after.map((k) => (k / 1024).toFixed(1)).join(" ")
      }`,
    );
    const alive = !proxy.exited;
    const settled = after.length > 0 ? Math.min(...after) : NaN;
    const exit = await proxy.stop();

    // The fake's log, grouped by request.
    let maxPerRequest = 0;
    let overMax = 0;
    for (const [marker, n] of fake.stats.perRequest) {
      if (!marker.startsWith("lt-")) continue;
      maxPerRequest = Math.max(maxPerRequest, n);
      if (n > MAX_ATTEMPTS) overMax++;
    }
    const answered = stats.ok + [...stats.errors.values()].reduce(
      (a, b) => a + b,
      0,
    ) + stats.aborted;
    const checks: Array<[string, boolean, string]> = [
      [
        "every request answered (success or OpenAI-shaped error)",
        stats.unanswered === 0 && stats.bad === 0 &&
        answered === stats.total,
        `${answered} of ${stats.total}; unanswered ${stats.unanswered}, bad ${stats.bad}`,
      ],
      [
        `no request beyond MAX_ATTEMPTS=${MAX_ATTEMPTS} (fake's log)`,
        overMax === 0 && maxPerRequest <= MAX_ATTEMPTS &&
        stats.maxAttemptsHeader <= MAX_ATTEMPTS,
        `max ${maxPerRequest} per request, ${overMax} over`,
      ],
      [
        "no unhandled rejection, clean exit",
        alive && proxy.uncaught.length === 0 &&
        !/Uncaught|unhandled/i.test(proxy.stderr()) && exit.code === 0 &&
        ownRejections.length === 0,
        `alive ${alive}, exit ${exit.code}${
          exit.signal ? ` (${exit.signal})` : ""
        }, uncaught ${proxy.uncaught.length}, own ${ownRejections.length}`,
      ],
      [
        "RSS back within 20 % of pre-load",
        settled <= before * 1.2,
        `${(settled / 1024).toFixed(1)} MiB vs ${
          (before / 1024).toFixed(1)
        } MiB`,
      ],
    ];

    const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
    const ms = (v: number) => `${Math.round(v)} ms`;
    const errorList = [...stats.errors].sort().map(([k, v]) => `${k}: ${v}`)
      .join(", ") || "none";
    const rows: Array<[string, string]> = [
      [
        "Clients / duration",
        `${options.clients} concurrent, ${loadSeconds.toFixed(1)} s`,
      ],
      [
        "Upstream faults",
        `${P_429 * 100} % 429 (per model, reset hint), ${
          P_HANG * 100
        } % hang; REQUEST_TIMEOUT=${REQUEST_TIMEOUT_S}, MAX_ATTEMPTS=${MAX_ATTEMPTS}`,
      ],
      [
        "Requests",
        `${stats.total} (${
          (stats.total / loadSeconds).toFixed(0)
        }/s), half streaming`,
      ],
      ["Successes", `${stats.ok} (${stats.okStream} streamed)`],
      ["Proper errors", errorList],
      ["Aborted mid-stream by the client", String(stats.aborted)],
      ["Unanswered / malformed", `${stats.unanswered} / ${stats.bad}`],
      [
        "Latency to headers p50 / p99",
        `${ms(percentile(stats.headerLatency, 0.5))} / ${
          ms(percentile(stats.headerLatency, 0.99))
        }`,
      ],
      [
        "Latency to last byte p50 / p99",
        `${ms(percentile(stats.totalLatency, 0.5))} / ${
          ms(percentile(stats.totalLatency, 0.99))
        }`,
      ],
      [
        "Upstream attempts",
        `${fake.stats.attempts} (${fake.stats.ok} ok, ${fake.stats.rateLimited} 429, ${fake.stats.hung} hung)`,
      ],
      [
        "Attempts per request, max (fake's log)",
        `${maxPerRequest} (${overMax} over ${MAX_ATTEMPTS})`,
      ],
      [
        "RSS before / peak / after",
        `${mib(before)} / ${mib(peak)} / ${mib(settled)}`,
      ],
    ];
    const table = [
      "| Load test | Result |",
      "| --- | --- |",
      ...rows.map(([k, v]) => `| ${k} | ${v} |`),
      ...checks.map(([name, pass, detail]) =>
        `| ${pass ? "PASS" : "FAIL"}: ${name} | ${detail} |`
      ),
    ].join("\n");
    console.log(table);
    if (stats.badSamples.length > 0) {
      console.error(`\nMalformed answers (first ${stats.badSamples.length}):`);
      for (const s of stats.badSamples) console.error(`  ${s}`);
    }
    return checks.every(([, pass]) => pass) ? 0 : 1;
  } finally {
    if (proxy && !proxy.exited) await proxy.stop();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  let parsed: Options | "help";
  try {
    parsed = parseArgs(Deno.args);
  } catch (err) {
    console.error(`loadtest: ${(err as Error).message}\n${USAGE}`);
    Deno.exit(2);
  }
  if (parsed === "help") console.log(USAGE);
  else Deno.exit(await main(parsed));
}
