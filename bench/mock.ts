/**
 * A fast mock of OpenRouter for the benchmark, on loopback only.
 *
 * - `GET /api/v1/models`: a pre-serialised catalog of {@link CATALOG_SIZE}
 *   rows in OpenRouter's shape, about 30 of them free chat models.
 * - `POST /api/v1/chat/completions`: a pre-serialised chat completion, or,
 *   when the body has `"stream":true`, an SSE stream of `MOCK_CHUNKS` chunks
 *   (role chunk, content chunks, a finish chunk, usage) then `data: [DONE]`.
 *   A body field `"x_bench":"big"` asks for a 50 MB stream instead, and
 *   `"x_bench":"hold"` for a stream that sends its first chunk and then waits
 *   until `POST /bench/release`. The `rateLimited` highest-priority free
 *   models answer 429 (a per-model `limit_rpm` cap, reset in an hour), so a
 *   router in front has cooldowns to route around.
 * - `GET /bench/held`: how many streams are being held.
 *
 * Prints `{"port": n}` on stdout once listening.
 *
 * ```sh
 * deno run --allow-net --allow-env bench/mock.ts
 * ```
 *
 * @module
 */

/** Rows in the mock catalog (OpenRouter lists about 300). */
export const CATALOG_SIZE = 300;

const PROVIDERS = [
  "meta-llama",
  "qwen",
  "mistralai",
  "google",
  "deepseek",
  "openai",
  "anthropic",
  "nvidia",
  "microsoft",
  "cohere",
  "x-ai",
  "z-ai",
];
const PARAMS = [
  "frequency_penalty",
  "max_tokens",
  "presence_penalty",
  "response_format",
  "seed",
  "stop",
  "structured_outputs",
  "temperature",
  "tool_choice",
  "tools",
  "top_k",
  "top_p",
];

/** One catalog row in the shape of OpenRouter's `Model` object (§1.3). */
function row(i: number): Record<string, unknown> {
  const provider = PROVIDERS[i % PROVIDERS.length]!;
  // Every 10th row is a `:free` chat model; a few are zero-priced specials.
  const free = i % 10 === 0;
  const image = i % 37 === 5; // image generators (not chat)
  const zeroImage = i === 7; // prompt/completion "0" but a paid image price
  const router = i === 3; // openrouter/auto-like row priced "-1"
  const slug = `${provider}/model-${i}`;
  const id = router ? "openrouter/auto" : free ? `${slug}:free` : slug;
  const context = [8192, 32768, 65536, 131072, 200000, 1048576][i % 6]!;
  const price = (1 + (i % 9)) * 1e-7;
  const pricing: Record<string, string> = router
    ? { prompt: "-1", completion: "-1" }
    : free
    ? { prompt: "0", completion: "0" }
    : zeroImage
    ? { prompt: "0", completion: "0", image_output: "0.00000838" }
    : {
      prompt: price.toFixed(10),
      completion: (price * 4).toFixed(10),
      input_cache_read: (price / 2).toFixed(10),
    };
  const output = image || zeroImage ? ["image"] : ["text"];
  const input = i % 3 === 0 ? ["text", "image"] : ["text"];
  return {
    id,
    canonical_slug: `${slug}-2026${String(1 + (i % 12)).padStart(2, "0")}01`,
    hugging_face_id: free ? `${provider}/Model-${i}` : null,
    name: `${provider}: Model ${i}${free ? " (free)" : ""}`,
    created: 1_760_000_000 + i * 3600,
    description:
      `Model ${i} by ${provider}: a general-purpose assistant model with tool use, long context and multilingual support.`,
    context_length: context,
    architecture: {
      modality: `${input.join("+")}->${output[0]}`,
      input_modalities: input,
      output_modalities: output,
      tokenizer: "Other",
      instruct_type: null,
    },
    pricing,
    top_provider: {
      context_length: context,
      max_completion_tokens: Math.min(context, 32768),
      is_moderated: false,
    },
    per_request_limits: null,
    supported_parameters: PARAMS.slice(0, 6 + (i % 7)),
    default_parameters: {},
    supported_voices: null,
    knowledge_cutoff: "2025-06-30",
    expiration_date: free && i % 40 === 0 ? "2027-01-31" : null,
    links: { details: `/api/v1/models/${slug}/endpoints` },
  };
}

/** The catalog rows (deterministic). */
export function catalogRows(size = CATALOG_SIZE): Record<string, unknown>[] {
  return Array.from({ length: size }, (_, i) => row(i));
}

const MODEL = "meta-llama/model-0:free";
const GEN_ID = "gen-1764000000-BenchMockAbCdEfGhIjKl";
const CREATED = 1_764_000_000;

function usage(): Record<string, unknown> {
  return {
    prompt_tokens: 24,
    completion_tokens: 40,
    total_tokens: 64,
    cost: 0,
    is_byok: false,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, image_tokens: 0 },
  };
}

/** The pre-serialised non-stream answer. */
export function completionJson(): string {
  return JSON.stringify({
    id: GEN_ID,
    provider: "Meta",
    model: MODEL,
    object: "chat.completion",
    created: CREATED,
    choices: [{
      logprobs: null,
      finish_reason: "stop",
      native_finish_reason: "stop",
      index: 0,
      message: {
        role: "assistant",
        content:
          "Hello! Loopback benchmarks measure the cost a proxy adds on top of the network stack, not the model.",
        refusal: null,
        reasoning: null,
      },
    }],
    usage: usage(),
  });
}

function chunkEvent(
  delta: Record<string, unknown>,
  finish: string | null,
): string {
  return `data: ${
    JSON.stringify({
      id: GEN_ID,
      provider: "Meta",
      model: MODEL,
      object: "chat.completion.chunk",
      created: CREATED,
      choices: [{
        index: 0,
        delta,
        finish_reason: finish,
        native_finish_reason: finish,
        logprobs: null,
      }],
    })
  }\n\n`;
}

const encoder = new TextEncoder();

/** A whole stream's events, encoded: role, `contentChunks` pieces, finish, usage, [DONE]. */
export function streamEvents(
  contentChunks: number,
  piece = " token",
): Uint8Array[] {
  const events = [chunkEvent({ role: "assistant", content: "" }, null)];
  for (let i = 0; i < contentChunks; i++) {
    events.push(chunkEvent({ content: piece }, null));
  }
  events.push(chunkEvent({ content: "" }, "stop"));
  events.push(
    `data: ${
      JSON.stringify({
        id: GEN_ID,
        provider: "Meta",
        model: MODEL,
        object: "chat.completion.chunk",
        created: CREATED,
        choices: [],
        usage: usage(),
      })
    }\n\n`,
  );
  events.push("data: [DONE]\n\n");
  return events.map((e) => encoder.encode(e));
}

/**
 * The ids of the `count` free chat models a router tries first (`:free`
 * first, then larger context, then id), which the mock rate-limits.
 */
export function topFreeIds(
  rows: readonly Record<string, unknown>[],
  count: number,
): string[] {
  const free = rows.filter((r) => {
    const pricing = r.pricing as Record<string, string>;
    const arch = r.architecture as { output_modalities: string[] };
    return Object.values(pricing).every((v) => v === "0") &&
      arch.output_modalities.join() === "text";
  });
  free.sort((a, b) => {
    const [ai, bi] = [String(a.id), String(b.id)];
    const af = ai.endsWith(":free");
    if (af !== bi.endsWith(":free")) return af ? -1 : 1;
    const d = Number(b.context_length) - Number(a.context_length);
    return d !== 0 ? d : ai < bi ? -1 : ai > bi ? 1 : 0;
  });
  return free.slice(0, count).map((r) => String(r.id));
}

/** A per-model 429 in OpenRouter's shape (§2.3 D), resetting in an hour. */
function rateLimitedResponse(model: string): Response {
  const reset = String(Date.now() + 3_600_000);
  const headers = {
    "X-RateLimit-Limit": "8",
    "X-RateLimit-Remaining": "0",
    "X-RateLimit-Reset": reset,
  };
  return new Response(
    JSON.stringify({
      error: {
        message:
          `Rate limit exceeded: limit_rpm/${model}/bench. High demand for ${model} on OpenRouter - limited to 8 requests per minute. Please retry shortly.`,
        code: 429,
        metadata: { headers, provider_name: null },
      },
    }),
    {
      status: 429,
      headers: { "content-type": "application/json", ...headers },
    },
  );
}

/** Options of {@link startMock}. */
export interface MockOptions {
  /** How many of the highest-priority free models answer 429 (default 0). */
  rateLimited?: number;
  /** Content chunks per ordinary stream (default 20). */
  chunks?: number;
  /** Bytes of the big stream (default 50 MB). */
  bigBytes?: number;
  /** Port (default 0: any free one). */
  port?: number;
}

/** Starts the mock; resolves with its server and port. */
export async function startMock(
  options: MockOptions = {},
): Promise<{ server: Deno.HttpServer; port: number }> {
  const rows = catalogRows();
  const limited = new Set(topFreeIds(rows, options.rateLimited ?? 0));
  const catalog = encoder.encode(
    JSON.stringify({
      data: rows,
      total_count: CATALOG_SIZE,
      links: { next: null },
    }),
  );
  const completion = encoder.encode(completionJson());
  const events = streamEvents(options.chunks ?? 20);
  // The big stream: ~1 KiB content events, sent 64 events per write.
  const bigPiece = "x".repeat(1024);
  const bigEvent = streamEvents(1, bigPiece)[1]!;
  const bigCount = Math.ceil((options.bigBytes ?? 50e6) / bigEvent.length);
  const batch = 64;
  const bigBatch = new Uint8Array(bigEvent.length * batch);
  for (let i = 0; i < batch; i++) bigBatch.set(bigEvent, i * bigEvent.length);
  const head = events[0]!;
  const tail = events.slice(events.length - 3);

  let held = 0;
  let release = Promise.withResolvers<void>();

  const jsonHeaders = { "content-type": "application/json" };
  const sseHeaders = {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
  };

  function ordinaryStream(): ReadableStream<Uint8Array> {
    let i = 0;
    return new ReadableStream({
      pull(c) {
        c.enqueue(events[i++]!);
        if (i === events.length) c.close();
      },
    }, { highWaterMark: 0 });
  }

  function bigStream(): ReadableStream<Uint8Array> {
    let sent = 0;
    let phase = 0;
    return new ReadableStream({
      pull(c) {
        if (phase === 0) {
          c.enqueue(head);
          phase = 1;
        } else if (sent < bigCount) {
          c.enqueue(bigBatch);
          sent += batch;
        } else {
          for (const e of tail) c.enqueue(e);
          c.close();
        }
      },
    }, { highWaterMark: 0 });
  }

  function heldStream(): ReadableStream<Uint8Array> {
    const gate = release.promise;
    let counted = false;
    return new ReadableStream({
      start(c) {
        c.enqueue(head);
        held++;
        counted = true;
      },
      async pull(c) {
        await gate;
        if (counted) held--, counted = false;
        for (let i = 1; i < events.length; i++) c.enqueue(events[i]!);
        c.close();
      },
      cancel() {
        if (counted) held--, counted = false;
      },
    });
  }

  const listening = Promise.withResolvers<number>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    onListen: (addr) => listening.resolve((addr as Deno.NetAddr).port),
  }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/api/v1/chat/completions" && req.method === "POST") {
      const text = await req.text();
      if (limited.size > 0) {
        const model = /"model":"([^"]*)"/.exec(text)?.[1];
        if (model !== undefined && limited.has(model)) {
          return rateLimitedResponse(model);
        }
      }
      if (!text.includes('"stream":true')) {
        return new Response(completion, { headers: jsonHeaders });
      }
      const mode = text.includes('"x_bench":"')
        ? /"x_bench":"(\w+)"/.exec(text)?.[1]
        : undefined;
      const body = mode === "big"
        ? bigStream()
        : mode === "hold"
        ? heldStream()
        : ordinaryStream();
      return new Response(body, { headers: sseHeaders });
    }
    if (path === "/api/v1/models") {
      return new Response(catalog, { headers: jsonHeaders });
    }
    if (path === "/bench/held") return new Response(String(held));
    if (path === "/bench/release" && req.method === "POST") {
      release.resolve();
      release = Promise.withResolvers<void>();
      return new Response("released");
    }
    return new Response("not found", { status: 404 });
  });
  return { server, port: await listening.promise };
}

if (import.meta.main) {
  const chunks = Number(Deno.env.get("MOCK_CHUNKS") ?? 20);
  const rateLimited = Number(Deno.env.get("MOCK_RATE_LIMITED") ?? 0);
  const { port } = await startMock({ chunks, rateLimited });
  console.log(JSON.stringify({ port }));
}
