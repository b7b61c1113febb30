/**
 * The benchmark's Deno clients, one mode per run; each prints one JSON line.
 *
 * - `rate <url> <rps> <seconds>`: an open-loop client at a fixed rate. Each
 *   request is due at `start + i / rps` and is sent then whether or not
 *   earlier ones have answered; latency counts from that due time, so a
 *   stalled server is charged for the wait (coordinated omission corrected).
 *   The schedule is kept by a worker ({@link ./pacer_worker.ts}) because
 *   timers are only ms-precise; its lateness is reported as `late_p50/p99`.
 * - `stream <url> <count> [bodyFile]`: sequential streaming requests; time to
 *   the first body byte and to the end of the body. The body is the chat body
 *   with `stream: true`, or the file's (another front's request).
 * - `big <url>`: one 50 MB stream, read as fast as possible.
 *
 * A stream that sends nothing for 5 s counts as stalled (and as an error).
 * - `hold <url> <count> <mockUrl>`: opens `count` streams that the mock holds
 *   open after their first chunk, prints `{"held": n}`, waits for a line on
 *   stdin, asks the mock to release them, reads them to the end.
 *
 * @module
 */
import type { PacerPlan } from "./pacer_worker.ts";
import { percentile } from "./stats.ts";

/** The chat request every benchmark sends (a realistic small body). */
export function chatBody(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    model: "meta-llama/model-0:free",
    messages: [
      { role: "system", content: "You are a helpful assistant." },
      { role: "user", content: "Say hello in one short sentence, please." },
    ],
    max_tokens: 256,
    temperature: 0.7,
    ...extra,
  });
}

const HEADERS = {
  "content-type": "application/json",
  authorization: "Bearer sk-or-v1-bench",
};

async function rate(url: string, rps: number, seconds: number) {
  const body = chatBody();
  const total = Math.round(rps * seconds);
  const intervalMs = 1000 / rps;
  const latencies: number[] = [];
  const lateness: number[] = [];
  let errors = 0;
  let settled = 0;
  const finished = Promise.withResolvers<void>();
  const start = performance.now() + 50;
  const settle = () => {
    if (++settled === total) finished.resolve();
  };
  const one = async (due: number) => {
    try {
      const res = await fetch(url, { method: "POST", headers: HEADERS, body });
      await res.arrayBuffer();
      if (res.status !== 200) errors++;
      else latencies.push(performance.now() - due);
    } catch {
      errors++;
    }
    settle();
  };
  const pacer = new Worker(new URL("./pacer_worker.ts", import.meta.url), {
    type: "module",
  });
  pacer.onmessage = (e: MessageEvent<number>) => {
    const due = start + e.data * intervalMs;
    lateness.push(performance.now() - due);
    one(due);
  };
  const plan: PacerPlan = {
    startEpochMs: performance.timeOrigin + start,
    intervalMs,
    total,
  };
  pacer.postMessage(plan);
  await finished.promise;
  pacer.terminate();
  const elapsed = performance.now() - start;
  latencies.sort((a, b) => a - b);
  lateness.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    achieved_rps: latencies.length / (elapsed / 1000),
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    max_ms: latencies[latencies.length - 1] ?? NaN,
    late_p50_ms: percentile(lateness, 50),
    late_p99_ms: percentile(lateness, 99),
  };
}

/** Reads a chunk, or `undefined` when none comes within `ms` (a stall). */
async function readWithin(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  ms: number,
): Promise<ReadableStreamReadResult<Uint8Array> | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([reader.read(), stalled]);
  } finally {
    clearTimeout(timer);
  }
}

/** Seconds without a byte after which a stream counts as stalled. */
const STALL_MS = 5_000;

async function stream(url: string, count: number, bodyFile?: string) {
  const body = bodyFile === undefined
    ? chatBody({ stream: true })
    : await Deno.readTextFile(bodyFile);
  const ttfb: number[] = [];
  const ttlb: number[] = [];
  let bytes = 0;
  let errors = 0;
  let stalls = 0;
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { method: "POST", headers: HEADERS, body });
    const reader = res.body!.getReader();
    let first = true;
    let n = 0;
    let stalled = false;
    for (;;) {
      const chunk = await readWithin(reader, STALL_MS);
      if (chunk === undefined) {
        stalled = true;
        await reader.cancel().catch(() => {});
        break;
      }
      if (chunk.done) break;
      if (first) {
        ttfb.push(performance.now() - t0);
        first = false;
      }
      n += chunk.value.length;
    }
    if (stalled) {
      stalls++;
      errors++;
      continue;
    }
    ttlb.push(performance.now() - t0);
    if (res.status !== 200 || n === 0) errors++;
    bytes = n;
  }
  ttfb.sort((a, b) => a - b);
  ttlb.sort((a, b) => a - b);
  return {
    requests: count,
    errors,
    stalls,
    bytes_per_stream: bytes,
    ttfb_p50_ms: percentile(ttfb, 50),
    ttfb_p99_ms: percentile(ttfb, 99),
    ttlb_p50_ms: percentile(ttlb, 50),
    ttlb_p99_ms: percentile(ttlb, 99),
  };
}

const decoder = new TextDecoder();

async function big(url: string) {
  const body = chatBody({ stream: true, x_bench: "big" });
  const t0 = performance.now();
  const res = await fetch(url, { method: "POST", headers: HEADERS, body });
  const reader = res.body!.getReader();
  let bytes = 0;
  let last: Uint8Array = new Uint8Array(0);
  let stalled = false;
  for (;;) {
    const chunk = await readWithin(reader, STALL_MS);
    if (chunk === undefined) {
      stalled = true;
      await reader.cancel().catch(() => {});
      break;
    }
    if (chunk.done) break;
    bytes += chunk.value.length;
    last = chunk.value;
  }
  const ms = performance.now() - t0 - (stalled ? STALL_MS : 0);
  const tail = decoder.decode(last.subarray(Math.max(0, last.length - 40)));
  return {
    status: res.status,
    bytes,
    ms,
    mb_per_s: bytes / 1e6 / (ms / 1000),
    stalled,
    complete: !stalled && tail.includes("data: [DONE]"),
  };
}

async function hold(url: string, count: number, mockUrl: string) {
  const body = chatBody({ stream: true, x_bench: "hold" });
  const t0 = performance.now();
  const opened = await Promise.all(
    Array.from({ length: count }, async () => {
      const res = await fetch(url, { method: "POST", headers: HEADERS, body });
      const reader = res.body!.getReader();
      const first = await reader.read();
      return { res, reader, ok: res.status === 200 && !first.done };
    }),
  );
  const openMs = performance.now() - t0;
  const held = Number(await (await fetch(`${mockUrl}/bench/held`)).text());
  console.log(
    JSON.stringify({
      held,
      open: opened.filter((o) => o.ok).length,
      open_ms: openMs,
    }),
  );
  // Wait for the orchestrator to sample memory.
  const stdin = Deno.stdin.readable.getReader();
  await stdin.read();
  stdin.releaseLock();
  await (await fetch(`${mockUrl}/bench/release`, { method: "POST" })).text();
  let complete = 0;
  await Promise.all(opened.map(async ({ reader }) => {
    let text = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text = decoder.decode(value);
    }
    if (text.includes("[DONE]")) complete++;
  }));
  return { complete, ms: performance.now() - t0 };
}

if (import.meta.main) {
  const [mode, url, a, b] = Deno.args;
  if (!url) throw new Error("usage: client.ts <mode> <url> …");
  let result: unknown;
  if (mode === "rate") result = await rate(url, Number(a), Number(b));
  else if (mode === "stream") result = await stream(url, Number(a), b);
  else if (mode === "big") result = await big(url);
  else if (mode === "hold") result = await hold(url, Number(a), b!);
  else throw new Error(`unknown mode ${mode}`);
  console.log(JSON.stringify(result));
}
