/**
 * A purpose-built fake OpenRouter, served in this process on 127.0.0.1: a
 * catalogue of free models, and chat completions of which 30 % answer a
 * per-model 429 (with `X-RateLimit-Reset` a few seconds ahead), 5 % hang until
 * the caller gives up, and the rest succeed; streaming requests get a paced
 * SSE stream. It counts the attempts for each client request by a marker the
 * client puts in `messages[0].content`.
 *
 * @module
 */

import { MODELS, P_429, P_HANG } from "./settings.ts";

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

/**
 * A paced SSE answer: role, 6 content chunks 20 ms apart, finish, [DONE].
 * `ended` runs once, when the stream is closed or its reader went away.
 */
function streamed(model: string, ended: () => void): Response {
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
  let open = true;
  const end = () => {
    if (open) ended();
    open = false;
  };
  return new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        const next = () => {
          try {
            if (i >= parts.length) {
              end();
              return controller.close();
            }
            controller.enqueue(encoder.encode(parts[i++]!));
          } catch {
            return end(); // the reader went away
          }
          timer = setTimeout(next, 20);
        };
        next();
      },
      cancel() {
        clearTimeout(timer);
        end();
      },
    }),
    { headers: { "content-type": "text/event-stream" } },
  );
}

/** What the fake has seen and has open. */
export interface FakeStats {
  attempts: number;
  ok: number;
  rateLimited: number;
  hung: number;
  /** Attempts per client request, by marker. */
  perRequest: Map<string, number>;
  models: number;
  /** Chat requests not answered yet. */
  pending: number;
  /** Streams not ended yet. */
  streams: number;
}

/**
 * Starts the fake on a free port: its counters, the base URL to give
 * freerouter as `OPENROUTER_BASE_URL`, and `close()`, which releases the
 * hanging attempts and shuts the server down.
 */
export function startFake() {
  const stats: FakeStats = {
    attempts: 0,
    ok: 0,
    rateLimited: 0,
    hung: 0,
    perRequest: new Map(),
    models: 0,
    pending: 0,
    streams: 0,
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
    stats.pending++;
    try {
      return await chat(req);
    } finally {
      stats.pending--;
    }
  });

  async function chat(req: Request): Promise<Response> {
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
    if (body.stream === true) {
      stats.streams++;
      return streamed(body.model, () => void stats.streams--);
    }
    return new Response(completion(body.model), {
      headers: { "content-type": "application/json" },
    });
  }
  return {
    stats,
    baseUrl: `http://127.0.0.1:${server.addr.port}/api/v1`,
    async close() {
      closing.abort();
      await server.shutdown();
    },
  };
}
