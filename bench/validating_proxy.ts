/**
 * The ceiling for freerouter's job: a minimal Deno proxy that does only the
 * per-request work freerouter cannot skip for a non-streaming chat
 * completion, and nothing else (no routing, no cooldowns, no metrics):
 *
 * 1. read the request body and parse it as JSON (to pick a model, the body
 *    has to be understood);
 * 2. set the model and serialise the body again;
 * 3. send it with OpenRouter's headers (key, attribution), under a timeout:
 *    an abort controller per attempt, checked by one shared timer (cheaper
 *    than a timer per attempt);
 * 4. read the whole answer and parse it, to tell an answer from an error
 *    inside a 200 (OpenRouter sends those) before the client sees a byte;
 * 5. answer with the bytes and the model used (`X-FreeRouter-Model`);
 * 6. write one access-log line per request, in batches (one write per
 *    20 ms, as freerouter does).
 *
 * `deno task bench` measures its throughput next to the pass-through's: the
 * ratio is the most any proxy doing freerouter's work can reach on this
 * runtime and machine. Streams (given the same body work, then piped) and
 * other paths are passed through.
 *
 * ```sh
 * UPSTREAM=http://127.0.0.1:9000/api/v1 deno run --allow-net --allow-env bench/validating_proxy.ts
 * ```
 *
 * Prints `{"port": n}` on stdout once listening.
 *
 * @module
 */
const upstream = Deno.env.get("UPSTREAM") ?? "http://127.0.0.1:9000/api/v1";
/** The model it "picks": one the bench's mock answers (bench/mock.ts). */
const MODEL = "meta-llama/model-0:free";
const TIMEOUT_MS = 60_000;

/** Attempts in flight and when each one times out. */
const deadlines = new Map<AbortController, number>();
Deno.unrefTimer(setInterval(() => {
  const now = performance.now();
  for (const [controller, at] of deadlines) {
    if (at <= now) {
      deadlines.delete(controller);
      controller.abort();
    }
  }
}, 1_000));

const decoder = new TextDecoder();
const encoder = new TextEncoder();

let pendingLines = "";
let flushTimer: ReturnType<typeof setTimeout> | undefined;
function flushLog(): void {
  clearTimeout(flushTimer);
  flushTimer = undefined;
  const bytes = encoder.encode(pendingLines);
  pendingLines = "";
  let written = 0;
  while (written < bytes.length) {
    written += Deno.stderr.writeSync(bytes.subarray(written));
  }
}
function log(line: string): void {
  pendingLines += `${line}\n`;
  if (pendingLines.length >= 16 * 1024) flushLog();
  else flushTimer ??= setTimeout(flushLog, 20);
}

function error(status: number, message: string): Response {
  return Response.json({ error: { message, type: "invalid_request_error" } }, {
    status,
  });
}

async function chat(req: Request): Promise<Response> {
  const started = performance.now();
  let request: Record<string, unknown>;
  try {
    request = JSON.parse(decoder.decode(await req.arrayBuffer()));
  } catch {
    return error(400, "The body is not JSON");
  }
  if (typeof request !== "object" || request === null) {
    return error(400, "The body is not a JSON object");
  }
  request.model = MODEL;
  if (request.stream === true) {
    return await forward(req, JSON.stringify(request));
  }
  const controller = new AbortController();
  deadlines.set(controller, started + TIMEOUT_MS);
  let bytes: Uint8Array<ArrayBuffer>;
  let status: number;
  try {
    const res = await fetch(`${upstream}/chat/completions`, {
      method: "POST",
      headers: {
        "authorization": req.headers.get("authorization") ?? "",
        "content-type": "application/json",
        "accept": "application/json",
        "http-referer": "https://github.com/freerouter/freerouter",
        "x-openrouter-title": "freerouter",
      },
      body: JSON.stringify(request),
      signal: controller.signal,
    });
    status = res.status;
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch {
    return error(502, "The upstream failed");
  } finally {
    deadlines.delete(controller);
  }
  let answer;
  try {
    answer = JSON.parse(decoder.decode(bytes));
  } catch {
    answer = undefined;
  }
  const usable = status === 200 && answer?.error === undefined &&
    Array.isArray(answer?.choices) && answer.choices.length > 0;
  log(
    `${
      new Date().toISOString()
    } INFO request method=POST path=/v1/chat/completions status=${status} model=${MODEL} latency_ms=${
      (performance.now() - started).toFixed(1)
    }`,
  );
  if (!usable) return error(502, "The upstream did not answer");
  return new Response(bytes, {
    headers: {
      "content-type": "application/json",
      "x-freerouter-model": MODEL,
    },
  });
}

/** Passes a request through, its body streamed back (as bench/passthrough.ts). */
async function forward(req: Request, body?: string): Promise<Response> {
  const path = new URL(req.url).pathname.replace(/^\/v1/, "");
  const res = await fetch(upstream + path, {
    method: req.method,
    headers: {
      "content-type": "application/json",
      authorization: req.headers.get("authorization") ?? "",
    },
    body: body ?? (req.method === "POST" ? await req.arrayBuffer() : undefined),
    signal: req.signal,
  });
  return new Response(res.body, { status: res.status, headers: res.headers });
}

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PORT") ?? 0),
  onListen: ({ port }) => console.log(JSON.stringify({ port })),
}, (req) => {
  const path = new URL(req.url).pathname.replace(/^\/v1/, "");
  if (req.method === "POST" && path === "/chat/completions") return chat(req);
  return forward(req);
});
