/**
 * A cache hit's latency: a handler with the response cache on (in memory)
 * answers one stored chat completion again and again, in-process and over a
 * loopback HTTP connection. Its upstream is an in-memory `fetch` (the mock's
 * catalog and completion), used only to fill the cache. Prints one JSON line:
 * `{"inProcess": {p50, p99, n}, "http": {p50, p99, n}}` in ms, or
 * `{"skipped": "…"}` when the freerouter under test has no response cache.
 *
 * ```sh
 * deno run -A bench/cache_hit.ts
 * ```
 *
 * @module
 */
import { createHandler } from "../src/mod.ts";
import { catalogRows, completionJson } from "./mock.ts";

const SAMPLES = 3000;
const WARM_UP = 300;

const catalog = JSON.stringify({ data: catalogRows() });
const completion = completionJson();
const upstream: typeof fetch = (input) => {
  const url = typeof input === "string"
    ? input
    : input instanceof URL
    ? input.href
    : input.url;
  const body = url.endsWith("/models") ? catalog : completion;
  return Promise.resolve(
    new Response(body, { headers: { "content-type": "application/json" } }),
  );
};

const handler = createHandler(
  {
    apiKey: "sk-or-v1-bench-cache-hit",
    fetch: upstream,
    rpm: 0,
    cacheTtl: 3600,
  } as Parameters<typeof createHandler>[0],
);
const body = JSON.stringify({
  model: "auto",
  messages: [
    { role: "system", content: "You are a helpful assistant." },
    { role: "user", content: "Say hello in one short sentence, please." },
  ],
  max_tokens: 256,
  temperature: 0.7,
});
const init = {
  method: "POST",
  headers: { "content-type": "application/json" },
  body,
};

/** p50, p99 (ms) of `n` sequential runs of `once`, after a warm-up. */
async function measure(once: () => Promise<void>) {
  for (let i = 0; i < WARM_UP; i++) await once();
  const ms: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t = performance.now();
    await once();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  const at = (q: number) =>
    ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!;
  return { p50: at(0.5), p99: at(0.99), n: SAMPLES };
}

const first = await handler(
  new Request("http://bench/v1/chat/completions", init),
);
await first.arrayBuffer();
const probe = await handler(
  new Request("http://bench/v1/chat/completions", init),
);
await probe.arrayBuffer();
if (probe.headers.get("x-freerouter-cache") !== "hit") {
  console.log(JSON.stringify({ skipped: "no response cache" }));
} else {
  const inProcess = await measure(async () => {
    const res = await handler(
      new Request("http://bench/v1/chat/completions", init),
    );
    await res.arrayBuffer();
  });
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    handler,
  );
  const url = `http://127.0.0.1:${server.addr.port}/v1/chat/completions`;
  const http = await measure(async () => {
    const res = await fetch(url, init);
    if (res.headers.get("x-freerouter-cache") !== "hit") {
      throw new Error("not a cache hit");
    }
    await res.arrayBuffer();
  });
  await server.shutdown();
  console.log(JSON.stringify({ inProcess, http }));
}
await handler.close();
