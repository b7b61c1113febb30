/**
 * Stream helpers shared by the suites: fixed-byte upstream streams for the
 * fake OpenRouter, readers of a response body, SSE event checks, and a real
 * loopback server for a handler.
 *
 * @module
 */
import assert from "node:assert/strict";
import { concat, within } from "./_async.ts";
import { hello, type Rig } from "./_harness.ts";
import {
  chunk,
  DONE,
  type GenerationMeta,
  type Step,
  type StreamScript,
  usageChunk,
} from "./fake_openrouter/mod.ts";

const decoder = new TextDecoder();

// ---------------------------------------------------------------------------
// Upstream streams with fixed bytes

/** Fixed identity fields for generation `n`, so that a stream's bytes are known. */
export function meta(n: number): Required<GenerationMeta> {
  return {
    id: `gen-1764000000-FIXEDSTREAM00000000${n}`,
    created: 1764000000 + n,
    provider: "Chutes",
  };
}

/** The events of one fixed stream ("Hel", "lo") for a model, by name. */
export function chunksOf(model: string, n = 0): {
  role: string;
  hel: string;
  lo: string;
  finish: string;
  usage: string;
} {
  const m = meta(n);
  return {
    role: chunk(model, { role: "assistant", content: "" }, null, m),
    hel: chunk(model, "Hel", null, m),
    lo: chunk(model, "lo", null, m),
    finish: chunk(model, { content: "" }, "stop", m),
    usage: usageChunk(model, m),
  };
}

/**
 * A complete, well-formed stream for a model with fixed bytes: the role
 * chunk, one chunk per piece, the finish chunk, the usage chunk, `[DONE]`.
 */
export function fullStream(
  model: string,
  n = 0,
  pieces: readonly string[] = ["Hel", "lo"],
): string[] {
  const m = meta(n);
  return [
    chunk(model, { role: "assistant", content: "" }, null, m),
    ...pieces.map((p) => chunk(model, p, null, m)),
    chunk(model, { content: "" }, "stop", m),
    usageChunk(model, m),
    DONE,
  ];
}

/** A fake step that streams `parts` and ends as `end` says. */
export function streamStep(
  parts: StreamScript["parts"],
  end?: StreamScript["end"],
): Step {
  return { stream: { parts, end } };
}

// ---------------------------------------------------------------------------
// Reading a body

/** What a body held, as read. */
export interface BodyRead {
  /** Every `read()` value, as received. */
  chunks: Uint8Array[];
  /** All bytes. */
  bytes: Uint8Array;
  /** All bytes decoded (on first use). */
  readonly text: string;
}

/**
 * Reads the rest of a body with a reader, after the `chunks` already read
 * (rejects if the body errors).
 */
export async function readRest(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  chunks: Uint8Array[] = [],
): Promise<BodyRead> {
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  const bytes = concat(chunks);
  let text: string | undefined;
  return {
    chunks,
    bytes,
    get text() {
      return text ??= decoder.decode(bytes);
    },
  };
}

/** Reads a response body to its end. */
export function readBody(res: Response): Promise<BodyRead> {
  assert.ok(res.body, "a streamed response has a body");
  return readRest(res.body.getReader());
}

/** Reads from `reader` until the text read (after `sofar`) contains `needle`. */
export async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  needle: string,
  sofar = "",
): Promise<string> {
  const streaming = new TextDecoder();
  let text = sofar;
  while (!text.includes(needle)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before ${JSON.stringify(needle)}`);
    text += streaming.decode(value, { stream: true });
  }
  return text;
}

// ---------------------------------------------------------------------------
// SSE events

/** `data:` payloads of an SSE text, in order (comments skipped). */
export function sseEvents(text: string): string[] {
  return text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) =>
    e.slice("data: ".length)
  );
}

/** Splits LF-framed SSE text into events, each with its `\n\n`. */
export function eventsOf(text: string): string[] {
  assert.ok(
    text.endsWith("\n\n"),
    `the stream ends at an event boundary: ${JSON.stringify(text.slice(-60))}`,
  );
  return text.slice(0, -2).split("\n\n").map((e) => `${e}\n\n`);
}

/** Whether bytes end at an SSE event boundary (a blank line). */
export function endsAtEventBoundary(bytes: Uint8Array): boolean {
  const n = bytes.length;
  const tail = (...b: number[]) =>
    n >= b.length && b.every((x, i) => bytes[n - b.length + i] === x);
  return tail(10, 10) || tail(13, 10, 13, 10) || tail(13, 13);
}

/** Every chunk the proxy handed over holds whole events only. */
export function assertWholeEvents(read: BodyRead): void {
  for (const [i, c] of read.chunks.entries()) {
    assert.ok(
      endsAtEventBoundary(c),
      `chunk ${i} ends mid-event: ${
        JSON.stringify(decoder.decode(c).slice(-60))
      }`,
    );
  }
}

/** `data: {"error":{message,type,param,code}}`: the OpenAI error event. */
export function assertErrorEvent(event: string | undefined): void {
  assert.ok(event !== undefined, "an error event");
  assert.ok(
    event.startsWith('data: {"error":{'),
    `an error event, got ${JSON.stringify(event)}`,
  );
  assert.ok(event.endsWith("\n\n"));
  assert.equal(event.indexOf("\n"), event.length - 2, "one data line");
  const body = JSON.parse(event.slice("data: ".length)) as {
    error: Record<string, unknown>;
  };
  assert.deepEqual(Object.keys(body), ["error"]);
  assert.deepEqual(Object.keys(body.error).sort(), [
    "code",
    "message",
    "param",
    "type",
  ]);
  assert.equal(typeof body.error.message, "string");
  assert.notEqual(body.error.message, "");
  assert.equal(typeof body.error.type, "string");
}

// ---------------------------------------------------------------------------
// A real socket

/** A handler served on a loopback port; disposing shuts it down. */
export interface LoopbackServer extends AsyncDisposable {
  server: Deno.HttpServer<Deno.NetAddr>;
  /** `http://127.0.0.1:<port>` */
  url: string;
}

/**
 * Serves a handler on a real loopback port. Disposing runs `beforeShutdown`
 * first (e.g. closing a fake upstream, so that an upstream still hanging
 * cannot keep the server from shutting down), then shuts the server down.
 */
export function serveOnLoopback(
  handler: (req: Request) => Response | Promise<Response>,
  beforeShutdown?: () => Promise<void>,
): LoopbackServer {
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    handler,
  );
  return {
    server,
    url: `http://127.0.0.1:${server.addr.port}`,
    async [Symbol.asyncDispose]() {
      await beforeShutdown?.();
      await server.shutdown();
    },
  };
}

// ---------------------------------------------------------------------------
// The handler's streamed answers

/** A minimal chat body with `stream: true`. */
export function streamingHello(
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return hello("auto", { stream: true, ...extra });
}

/** A streaming chat request's response (fails instead of hanging). */
export function openStream(
  r: Rig,
  body: Record<string, unknown> = streamingHello(),
): Promise<Response> {
  return within(r.chat(body), "the response head");
}

/** The handler committed to a stream from `model` after `attempts` attempts. */
export function assertCommitted(
  res: Response,
  model: string,
  attempts: number,
): void {
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream\b/);
  assert.equal(res.headers.get("x-freerouter-model"), model);
  assert.equal(res.headers.get("x-freerouter-attempts"), String(attempts));
}

/** The upstream events `forwarded` arrived whole, then one error event, no `[DONE]`. */
export function assertBrokenStream(read: BodyRead, forwarded: string[]): void {
  assertWholeEvents(read);
  const events = eventsOf(read.text);
  assert.deepEqual(events.slice(0, -1), forwarded);
  assertErrorEvent(events.at(-1));
  assert.doesNotMatch(read.text, /^data: ?\[DONE\]\r?$/m, "no [DONE]");
}

/** Timers a fake upstream uses to pace its parts; all cleared on dispose. */
export class Pacer implements Disposable {
  #timers = new Set<ReturnType<typeof setTimeout>>();
  /** A gate for the fake's `parts` that opens after `ms`. */
  gate(ms: number): () => Promise<void> {
    return () =>
      new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.#timers.delete(t);
          resolve();
        }, ms);
        this.#timers.add(t);
      });
  }
  [Symbol.dispose](): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}

/**
 * `count` copies of `keepAlive` (a comment, or whitespace before a JSON
 * body), `everyMs` apart, as the fake's `parts`; `sent` counts those written.
 */
export function keepAlives(
  pacer: Pacer,
  keepAlive: string,
  count: number,
  everyMs: number,
): { parts: StreamScript["parts"]; sent: { count: number } } {
  const sent = { count: 0 };
  const parts = Array.from({ length: count }, () => [
    pacer.gate(everyMs),
    () => Promise.resolve(void sent.count++),
    keepAlive,
  ]).flat();
  return { parts, sent };
}
