// A small fake of OpenRouter's HTTP API (`/api/v1/models`,
// `/api/v1/chat/completions`) on node:http, for testing the built npm package.
// Bodies follow the captures in shared/openrouter-api.md (§1 catalog rows,
// §2.3 429 bodies, §3.2 error bodies, §4 stream format).
import { Buffer } from "node:buffer";
import http from "node:http";

/** A catalog row as `GET /models` lists it. */
function row(id, { context = 131_072, pricing, modality = "text->text" } = {}) {
  const [input, output] = modality.split("->");
  return {
    id,
    canonical_slug: id.replace(/:free$/, ""),
    name: id,
    created: 1_750_000_000,
    context_length: context,
    architecture: {
      modality,
      input_modalities: input.split("+"),
      output_modalities: [output],
      tokenizer: "Other",
      instruct_type: null,
    },
    pricing: pricing ?? { prompt: "0", completion: "0" },
    top_provider: {
      context_length: context,
      max_completion_tokens: 16_384,
      is_moderated: false,
    },
    per_request_limits: null,
    supported_parameters: ["max_tokens", "temperature", "tools"],
    default_parameters: {},
    supported_voices: null,
    expiration_date: null,
    links: { details: `/api/v1/models/${id}/endpoints` },
  };
}

/** The catalog: four routable free models among rows that must be filtered out. */
export function catalog() {
  return [
    row("meta-llama/llama-3.3-70b-instruct:free"),
    row("meta-llama/llama-3.1-8b-instruct", {
      pricing: { prompt: "0.00000005", completion: "0.00000008" },
    }),
    row("openrouter/owl-alpha", { context: 1_048_576 }),
    row("qwen/qwen3-coder:free", { context: 262_144 }),
    row("recraft/recraft-v3", {
      modality: "text->image",
      pricing: { prompt: "0", completion: "0", image_output: "0.00000838" },
    }),
    row("google/gemma-3-27b-it:free", { modality: "text+image->text" }),
    row("respan/span-01-lite:free", {
      context: 0,
      modality: "text->decisions",
    }),
    row("openrouter/auto", {
      context: 2_000_000,
      pricing: { prompt: "-1", completion: "-1" },
    }),
  ];
}

/** The free pool `catalog()` makes, in priority order. */
export const POOL = [
  "qwen/qwen3-coder:free",
  "google/gemma-3-27b-it:free",
  "meta-llama/llama-3.3-70b-instruct:free",
  "openrouter/owl-alpha",
];

/** 429, per-model capacity (§2.3 D): only this model is busy. */
export function modelBusy(model) {
  return {
    status: 429,
    body: {
      error: {
        message:
          `Rate limit exceeded: limit_rpm/${model}/a9bbd882. High demand for ${model} on OpenRouter - limited to 8 requests per minute. Please retry shortly.`,
        code: 429,
        metadata: {
          headers: {
            "X-RateLimit-Limit": "8",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": String(Date.now() + 60_000),
          },
          provider_name: null,
          limit_source: "openrouter_shared_capacity",
        },
      },
      user_id: "user_test",
    },
  };
}

/** An upstream failure with status `status` (502, 503, …; §3.2). */
export function upstreamDown(status = 503) {
  return {
    status,
    body: {
      error: {
        message: status === 503
          ? "Upstream error from Nvidia: Service temporarily overloaded"
          : "Provider returned error",
        code: status,
        metadata: { provider_name: "Fake", error_type: "provider_overloaded" },
      },
    },
  };
}

/** 400 about the request itself (§3.2): no other model would do better. */
export function badRequest() {
  return {
    status: 400,
    body: {
      error: { message: "temperature: must be at most 2", code: 400 },
    },
  };
}

function chunk(model, delta, finishReason = null) {
  return {
    id: "gen-1750000000-abcdefghijklmnopqrst",
    provider: "Fake",
    model,
    object: "chat.completion.chunk",
    created: 1_750_000_000,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  };
}

const event = (data) => `data: ${JSON.stringify(data)}\n\n`;

/**
 * The parts of a normal stream (§4): a keep-alive comment, the role, `texts`
 * one per event, the finish, usage on a chunk with no choices, `[DONE]`.
 * A function among `texts` is awaited at that point (a gate).
 */
export function streamParts(model, texts = ["Hel", "lo"]) {
  return [
    ": OPENROUTER PROCESSING\n\n",
    event(chunk(model, { role: "assistant", content: "" })),
    ...texts.map((t) =>
      typeof t === "function" ? t : event(chunk(model, { content: t }))
    ),
    event(chunk(model, {}, "stop")),
    event({
      ...chunk(model, {}),
      choices: [],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    }),
    "data: [DONE]\n\n",
  ];
}

/** A non-streaming chat completion from `model`. */
export function completion(model) {
  return {
    id: "gen-1750000000-abcdefghijklmnopqrst",
    provider: "Fake",
    model,
    object: "chat.completion",
    created: 1_750_000_000,
    choices: [{
      index: 0,
      message: { role: "assistant", content: `Hello from ${model}` },
      finish_reason: "stop",
    }],
    usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
  };
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return text || undefined;
  }
}

function sendJson(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
}

/**
 * Starts the fake on 127.0.0.1, port 0. `script(model, ...steps)` queues
 * answers for a model: `{ status, body }` or `{ stream: parts }`; a model with
 * nothing queued answers normally (a completion, or `streamParts` when the
 * request streams).
 */
export async function startFakeOpenRouter({ models = catalog() } = {}) {
  const queues = new Map();
  const requests = [];
  const server = http.createServer(async (req, res) => {
    const path = new URL(req.url, "http://fake").pathname;
    const body = await readBody(req);
    let markAborted;
    const record = {
      method: req.method,
      path,
      headers: req.headers,
      body,
      model: body?.model,
      /** Resolves when the client goes away before the answer is complete. */
      aborted: new Promise((resolve) => (markAborted = resolve)),
    };
    res.on("close", () => {
      if (!res.writableFinished) markAborted();
    });
    requests.push(record);
    if (req.method === "GET" && path === "/api/v1/models") {
      return sendJson(res, 200, {
        data: models,
        total_count: models.length,
        links: { next: null },
      });
    }
    if (req.method !== "POST" || path !== "/api/v1/chat/completions") {
      return sendJson(res, 404, { error: { message: "Not Found", code: 404 } });
    }
    if (!/^Bearer .+/.test(req.headers.authorization ?? "")) {
      return sendJson(res, 401, {
        error: { message: "No auth credentials found", code: 401 },
      });
    }
    const step = queues.get(record.model)?.shift() ??
      (body.stream
        ? { stream: streamParts(record.model) }
        : { status: 200, body: completion(record.model) });
    if (!step.stream) return sendJson(res, step.status, step.body);
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
    });
    for (const part of step.stream) {
      if (res.destroyed) return;
      if (typeof part === "function") await part();
      else res.write(part);
    }
    res.end();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    baseUrl: `http://127.0.0.1:${port}/api/v1`,
    requests,
    chatRequests: () =>
      requests.filter((r) => r.path === "/api/v1/chat/completions"),
    modelsRequests: () => requests.filter((r) => r.path === "/api/v1/models"),
    script(model, ...steps) {
      queues.set(model, [...(queues.get(model) ?? []), ...steps]);
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
