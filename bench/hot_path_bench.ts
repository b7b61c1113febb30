/**
 * Micro-benchmarks of freerouter's per-request hot path:
 * `deno bench bench/hot_path_bench.ts`.
 *
 * - candidate ordering for a 300-model pool (built by `buildFreePool` from a
 *   300-row catalog) with 20 cooldowns, for `auto`, a named model, and the
 *   worst case of every model cooling down;
 * - classifying an upstream 429 (body and rate-limit headers), with and
 *   without parsing its body;
 * - splicing each attempt's model into the serialised request;
 * - validating a request body; splitting and reading SSE events;
 * - the agent fronts (issues 22 and 23): a Claude-Code-like Messages request
 *   and a Codex-like Responses request (bench/front_fixtures.ts) validated and
 *   translated into a chat request, and a 200-chunk answer translated back
 *   through `MessagesStream` / `ResponsesStream` (per stream: divide by 200
 *   for a chunk), alone and through `translateStream`; the target is the
 *   request and the answer together under 0.2 ms. A live answer's chunks
 *   reach the front parsed by the stream guard, which parses every chunk for
 *   every route, chat too (src/upstream/parsed_events.ts): the translation
 *   rows push parsed chunks, and the JSON.parse of the chunks (paid again
 *   only for an answer replayed from the response cache) is a row of its
 *   own. On a 2-core machine loaded by other work (medians of 5 runs, p75
 *   since `deno bench` gives no p50; bench/results.md): request 19.7 µs
 *   (Messages) / 20.8 µs (Responses), answer 13.9 / 54.7 µs, request +
 *   answer 32.7 / 77.7 µs (a replayed answer: 190 / 245 µs). Before the
 *   delta frames from templates and the guard's parsed chunks, with the
 *   JSON.parse: answer 220 / 368 µs, request + answer 250 / 403 µs.
 * - a stream's held opening (issue 24): a 64 KiB tool call in 16-character
 *   deltas, held until its arguments parse (linear in the arguments).
 *
 * The module namespaces are read at run time so the file keeps working while
 * signatures move (`orderCandidates` took positional arguments before it took
 * one object).
 *
 * @module
 */
import * as candidates from "../src/core/candidates.ts";
import * as answers from "../src/core/answers.ts";
import * as failure from "../src/core/failure.ts";
import * as freePool from "../src/core/free_pool.ts";
import * as router from "../src/router.ts";
import * as schema from "../src/core/request_schema.ts";
import * as sse from "../src/upstream/sse.ts";
import * as anthropic from "../src/fronts/anthropic/mod.ts";
import * as responses from "../src/fronts/responses/mod.ts";
import {
  type StreamTranslator,
  translateStream,
} from "../src/http/translate.ts";
import { DONE, withParsedEvents } from "../src/upstream/parsed_events.ts";
import { conversationKey } from "../src/core/affinity.ts";
import type { ChatCompletionRequest } from "../src/types.ts";
import {
  answerEvents,
  claudeCodeRequest,
  codexRequest,
} from "./front_fixtures.ts";
import { catalogRows, streamEvents } from "./mock.ts";

type AnyFn = (...args: unknown[]) => unknown;
const fn = (ns: object, name: string): AnyFn | undefined => {
  const f = (ns as Record<string, unknown>)[name];
  return typeof f === "function" ? f as AnyFn : undefined;
};

// A 300-model pool: the mock's catalog with every row made a free chat model.
const rows = catalogRows(300).map((row, i) => ({
  ...row,
  id: `${String(row.id).replace(/:free$/, "")}-${i}:free`,
  pricing: { prompt: "0", completion: "0" },
  architecture: {
    modality: "text->text",
    input_modalities: ["text"],
    output_modalities: ["text"],
    tokenizer: "Other",
    instruct_type: null,
  },
}));
const pool = freePool.buildFreePool(rows);
if (pool.length !== 300) throw new Error(`pool has ${pool.length} models`);

const now = Date.parse("2026-11-24T12:00:00Z");
/** Cooldowns on the 20 models tried first, ending at different times. */
const cooldowns = new Map(
  pool.slice(0, 20).map((m, i) => [m.id, {
    model: m.id,
    until: now + 60_000 + i * 1_000,
    reason: "429",
  }]),
);
const allCooling = new Map(
  pool.map((m, i) => [m.id, {
    model: m.id,
    until: now + 60_000 + ((i * 7919) % 300) * 1_000,
    reason: "429",
  }]),
);
const named = pool[150]!.id;

const order = fn(candidates, "orderCandidates")!;
const objectStyle = order.length === 1;
const orderFor = (
  requested: string | undefined,
  cd: Map<string, unknown>,
): unknown =>
  objectStyle
    ? order({ pool, requested, cooldowns: cd, now, maxAttempts: 8 })
    : order(pool, requested, cd, now, 8);

Deno.bench({
  name: "orderCandidates: 300 models, 20 cooling, auto",
  group: "candidates",
  baseline: true,
  fn: () => {
    orderFor("auto", cooldowns);
  },
});
Deno.bench({
  name: "orderCandidates: 300 models, 20 cooling, named model",
  group: "candidates",
  fn: () => {
    orderFor(named, cooldowns);
  },
});
Deno.bench({
  name: "orderCandidates: 300 models, all cooling (worst case)",
  group: "candidates",
  fn: () => {
    orderFor("auto", allCooling);
  },
});

// An upstream 429 as OpenRouter sends it (per-model cap, §2.3 D).
const reset = String(now + 30_000);
const limitHeaders = {
  "X-RateLimit-Limit": "8",
  "X-RateLimit-Remaining": "0",
  "X-RateLimit-Reset": reset,
};
const text = JSON.stringify({
  error: {
    message:
      "Rate limit exceeded: limit_rpm/qwen/qwen3-coder-480b-a35b-07-25/a9bbd882. High demand for qwen/qwen3-coder:free on OpenRouter - limited to 8 requests per minute. Please retry shortly.",
    code: 429,
    metadata: { headers: limitHeaders, provider_name: null },
  },
  user_id: "user_bench",
});
const headers = new Headers({
  "content-type": "application/json",
  ...limitHeaders,
});
const body = JSON.parse(text);
const rateLimited: failure.UpstreamFailure = {
  kind: "http",
  status: 429,
  error: failure.errorInfo(body),
  body,
  headers,
  text,
  contentType: "application/json",
};
const policy = { now, defaultCooldownMs: 60_000 };

Deno.bench({
  name: "classifyFailure: 429 with body and headers",
  group: "failure",
  baseline: true,
  fn: () => {
    failure.classifyFailure(rateLimited, policy);
  },
});
Deno.bench({
  name: "parse body + errorInfo + classifyFailure: 429",
  group: "failure",
  fn: () => {
    const parsed = JSON.parse(text);
    failure.classifyFailure({
      kind: "http",
      status: 429,
      error: failure.errorInfo(parsed),
      body: parsed,
      headers,
      text,
      contentType: "application/json",
    }, policy);
  },
});

const request = {
  model: "auto",
  messages: [
    { role: "system", content: "You are a helpful assistant." },
    { role: "user", content: "Say hello in one short sentence, please." },
  ],
  max_tokens: 256,
  temperature: 0.7,
};
Deno.bench({
  name: "bodyForModels: serialise once, splice 3 models",
  group: "request",
  baseline: true,
  fn: () => {
    const forModel = router.bodyForModels(request);
    forModel(pool[0]!.id);
    forModel(pool[1]!.id);
    forModel(pool[2]!.id);
  },
});
const validate = fn(schema, "validateChatRequest");
Deno.bench({
  name: "validateChatRequest (zod)",
  group: "request",
  ignore: validate === undefined,
  fn: () => {
    validate!(request);
  },
});
const requestText = JSON.stringify(request);
Deno.bench({
  name: "JSON.parse of the request body",
  group: "request",
  fn: () => {
    JSON.parse(requestText);
  },
});

// One 24-event stream, as one chunk: split into events and read each data.
const events = streamEvents(20);
const streamBytes = sse.concatBytes(events);
Deno.bench({
  name: "SseSplitter + sseData: 24-event stream (6.5 KB)",
  group: "sse",
  fn: () => {
    const splitter = new sse.SseSplitter();
    splitter.push(streamBytes);
    for (let e = splitter.next(); e; e = splitter.next()) sse.sseData(e);
  },
});
Deno.bench({
  name: "SseSplitter + sseData + JSON.parse each: 24 events",
  group: "sse",
  fn: () => {
    const splitter = new sse.SseSplitter();
    splitter.push(streamBytes);
    for (let e = splitter.next(); e; e = splitter.next()) {
      const data = sse.sseData(e);
      if (data !== undefined && data !== "[DONE]") JSON.parse(data);
    }
  },
});

// The agent fronts (issues 22 and 23). A front's route parses the body
// (JSON.parse, as the chat route does), validates it with its own schema and
// translates it; the chat route runs validateChatRequest instead (measured on
// the translated request, for reference). The answer: 200 upstream chunks,
// pushed through the front's translator as the stream guard parsed them (it
// parses every chunk for every route, chat too), alone and through
// translateStream itself; and, for an answer replayed from the response
// cache (bytes without the guard's parsed chunks), each chunk JSON.parse'd
// first.
const encoder = new TextEncoder();
const answerModel = "meta-llama/model-0:free";

/** The answer as bytes alone (a replayed answer): one SSE event per chunk, then [DONE]. */
function sseBody(data: readonly string[]): Uint8Array[] {
  return [...data, "[DONE]"].map((d) => encoder.encode(`data: ${d}\n\n`));
}

/** The answer as the stream guard hands it over: each event with its parsed chunk. */
function guardedBody(data: readonly string[]): Uint8Array[] {
  return sseBody(data).map((bytes, i) =>
    withParsedEvents(bytes, [i < data.length ? JSON.parse(data[i]!) : DONE])
  );
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) bytes += chunk.length;
  return bytes;
}

const kb = (text: string) => `${Math.round(text.length / 1000)} KB`;

/** One agent front, as its benchmark rows need it. */
interface FrontFixture<T> {
  /** `Messages` or `Responses`: the rows' prefix. */
  label: string;
  group: string;
  /** The translator's class name, for the rows' names. */
  streamName: string;
  /** The request body as sent. */
  text: string;
  /** Parses, validates and translates the request body. */
  request: (body: unknown) => T;
  /** The translated chat request (for validateChatRequest). */
  chatRequest: (t: T) => unknown;
  stream: (t: T) => StreamTranslator;
  /** The answer's 200 chunks, as JSON text. */
  answer: readonly string[];
  /** What the answer must show (so the rows translate what a real answer holds). */
  parts: readonly string[];
  /** The translator's output is the same each time (Responses' item ids are random), so a replay can be compared. */
  deterministic: boolean;
}

/** The rows of one agent front: request, answer (parsed or replayed), through translateStream, and both. */
function frontBenches<T>(f: FrontFixture<T>): void {
  const body = JSON.parse(f.text);
  const request = () => f.request(body);
  const t = request();
  const chunks = f.answer.map((data) => JSON.parse(data));
  const sse = sseBody(f.answer);
  const guarded = guardedBody(f.answer);
  const answer = (given = t) => {
    const stream = f.stream(given);
    let out = stream.start();
    for (const chunk of chunks) out += stream.push(chunk);
    return out + stream.finish();
  };
  const replayed = () => {
    const stream = f.stream(t);
    let out = stream.start();
    for (const data of f.answer) out += stream.push(JSON.parse(data));
    return out + stream.finish();
  };
  for (const part of f.parts) {
    if (!answer().includes(part)) {
      throw new Error(`${f.label} answer has no ${part}`);
    }
  }
  if (f.deterministic && answer() !== replayed()) {
    throw new Error(`${f.label} answer differs with the guard's parsed chunks`);
  }
  const { label, group, streamName } = f;
  const translating = (stream: ReadableStream<Uint8Array>) =>
    drain(
      translateStream(stream, f.stream(t)),
    );
  Deno.bench({
    name: `${label} request: JSON.parse of the body (${
      kb(f.text)
    }, as the chat route does too)`,
    group,
    fn: () => {
      JSON.parse(f.text);
    },
  });
  Deno.bench({
    name: `${label} request: parse${label}Request + toChatRequest (zod)`,
    group,
    fn: () => {
      request();
    },
  });
  Deno.bench({
    name:
      `${label} conversation as a chat request: validateChatRequest (zod, the chat route's check)`,
    group,
    baseline: true,
    ignore: validate === undefined,
    fn: () => {
      validate!(f.chatRequest(t));
    },
  });
  Deno.bench({
    name:
      `${label} conversation key: the affinity hash of its system prompt and first user message`,
    group,
    fn: () => {
      conversationKey(f.chatRequest(t) as ChatCompletionRequest, undefined);
    },
  });
  Deno.bench({
    name: `${label} answer: ${streamName}, 200 chunks as the guard parsed them`,
    group,
    fn: () => {
      answer();
    },
  });
  Deno.bench({
    name:
      `${label} answer replayed from the cache: ${streamName}, 200 chunks (JSON.parse + push)`,
    group,
    fn: () => {
      replayed();
    },
  });
  Deno.bench({
    name:
      `${label} answer: translateStream(${streamName}), 200 events with the guard's parsed chunks`,
    group,
    fn: async () => {
      await translating(ReadableStream.from(guarded));
    },
  });
  Deno.bench({
    name:
      `${label} answer replayed from the cache: translateStream(${streamName}), 200 events as bytes`,
    group,
    fn: async () => {
      await translating(ReadableStream.from(sse));
    },
  });
  Deno.bench({
    name: `${label} translation per request: request + 200-chunk answer`,
    group,
    fn: () => {
      answer(request());
    },
  });
}

type MessagesFixture = ReturnType<typeof anthropic.toChatRequest> & {
  parsed: anthropic.MessagesRequest;
};
frontBenches<MessagesFixture>({
  label: "Messages",
  group: "messages",
  streamName: "MessagesStream",
  text: JSON.stringify(claudeCodeRequest()),
  request: (body) => {
    const parsed = anthropic.parseMessagesRequest(body);
    if (!parsed.ok) throw new Error(`Messages fixture: ${parsed.message}`);
    return {
      parsed: parsed.request,
      ...anthropic.toChatRequest(parsed.request),
    };
  },
  chatRequest: (t) => t.request,
  stream: (t) =>
    new anthropic.MessagesStream({
      id: "msg_bench",
      model: answerModel,
      inputTokens: 12_000,
      thinking: t.prefersReasoning,
      stopSequences: t.parsed.stop_sequences ?? null,
    }),
  answer: answerEvents("Bash"),
  parts: ["thinking_delta", "input_json_delta", '"tool_use"'],
  deterministic: true,
});

// What the translateStream rows cost besides the translation.
const plainAnswer = answerEvents("Bash");
const plainSse = sseBody(plainAnswer);
Deno.bench({
  name:
    "200-chunk answer: JSON.parse of each chunk alone (in the replayed rows; the guard's for a live answer)",
  group: "messages",
  fn: () => {
    for (const data of plainAnswer) JSON.parse(data);
  },
});
Deno.bench({
  name:
    "200-event SSE body: ReadableStream.from + read, the translateStream rows' plumbing",
  group: "messages",
  fn: async () => {
    await drain(ReadableStream.from(plainSse));
  },
});

type ResponsesFixture = ReturnType<typeof responses.toChatRequest> & {
  parsed: responses.ResponsesRequest;
};
frontBenches<ResponsesFixture>({
  label: "Responses",
  group: "responses",
  streamName: "ResponsesStream",
  text: JSON.stringify(codexRequest()),
  request: (body) => {
    const parsed = responses.parseResponsesRequest(body);
    if (!parsed.ok) throw new Error(`Responses fixture: ${parsed.message}`);
    return {
      parsed: parsed.request,
      ...responses.toChatRequest(parsed.request),
    };
  },
  chatRequest: (t) => t.request,
  stream: (t) =>
    new responses.ResponsesStream({
      id: "resp_bench",
      model: answerModel,
      createdAt: 1_764_000_000,
      request: t.parsed,
      tools: t.tools,
    }),
  answer: answerEvents("shell"),
  parts: [
    "response.reasoning_summary_text.delta",
    "response.function_call_arguments.delta",
    "response.completed",
  ],
  deterministic: false,
});

// Issue 24's held opening: a tool call's arguments (64 KiB of code-like JSON)
// arrive in 16-character deltas and are held until they parse. The nesting is
// followed piece by piece and the JSON parsed once, so this grows linearly
// with the arguments.
const heldCall = (() => {
  const args = JSON.stringify({
    path: "src/app.ts",
    content: "function f(a) { return [a, {b: a}]; }\n".repeat(1700),
  });
  const chunks = [];
  for (let i = 0; i < args.length; i += 16) {
    chunks.push({
      id: "gen-1",
      object: "chat.completion.chunk",
      created: 0,
      model: "a:free",
      choices: [{
        index: 0,
        delta: {
          tool_calls: [{
            index: 0,
            function: { arguments: args.slice(i, i + 16) },
          }],
        },
        finish_reason: null,
      }],
    });
  }
  return chunks;
})();
Deno.bench({
  name:
    "held opening: a 64 KiB tool call in 16-character deltas until it parses",
  fn: () => {
    const opening = new answers.AnswerOpening();
    let verdict = "hold";
    for (const chunk of heldCall) verdict = opening.take(chunk);
    if (verdict !== "commit") throw new Error(verdict);
  },
});
