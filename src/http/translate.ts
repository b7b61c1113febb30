/**
 * The edge between the router's committed chat-completions stream and a
 * front's own stream: whole SSE events in, the front's events out, one event
 * at a time (nothing is held back). The router's stream ends with
 * `data: [DONE]` or, when it broke, with one OpenAI-style error event; both
 * are handed to the front's translator.
 *
 * @module
 */
import { DONE, parsedEvents } from "../upstream/parsed_events.ts";
import { sseData, SseSplitter } from "../upstream/sse.ts";
import type { ChatCompletionChunk } from "../types.ts";

/** A front's stream translator (pure; see `src/fronts/`). */
export interface StreamTranslator {
  /** The opening events. */
  start(): string;
  /** One upstream chunk. */
  push(chunk: ChatCompletionChunk): string;
  /** The upstream said `[DONE]`. */
  finish(): string;
  /** The upstream broke after commit. */
  fail(message: string, code?: string | number | null): string;
  /** The front's keep-alive, for an upstream keep-alive comment (`""` for none). */
  keepAlive(): string;
}

const encoder = new TextEncoder();

/**
 * Translates a committed chat-completions SSE stream into a front's events.
 * Bytes that come with the stream guard's parsed events (see
 * `upstream/parsed_events.ts`) are not split and parsed again.
 */
export function translateStream(
  body: ReadableStream<Uint8Array>,
  translator: StreamTranslator,
): ReadableStream<Uint8Array> {
  const splitter = new SseSplitter();
  let ended = false;
  const emit = (
    controller: TransformStreamDefaultController<Uint8Array>,
    text: string,
  ) => {
    if (text !== "") controller.enqueue(encoder.encode(text));
  };
  const finish = (): string => {
    ended = true;
    return translator.finish();
  };
  const onValue = (value: unknown): string => {
    const error = (value as { error?: { message?: unknown; code?: unknown } })
      ?.error;
    if (error && typeof error === "object") {
      ended = true;
      return translator.fail(
        String(error.message ?? "the upstream stream broke"),
        (error.code ?? null) as string | number | null,
      );
    }
    return translator.push(value as ChatCompletionChunk);
  };
  const onData = (data: string): string => {
    if (data === "[DONE]") return finish();
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      ended = true;
      return translator.fail("the upstream sent a malformed event", null);
    }
    return onValue(value);
  };
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      start(controller) {
        emit(controller, translator.start());
      },
      transform(chunk, controller) {
        if (ended) return;
        let out = "";
        const parsed = splitter.pendingBytes === 0
          ? parsedEvents(chunk)
          : undefined;
        if (parsed) {
          for (const event of parsed) {
            out += event === DONE ? finish() : onValue(event);
            if (ended) break;
          }
          // Bytes with no data event are comments: keep-alives.
          if (parsed.length === 0) out += translator.keepAlive();
        } else {
          splitter.push(chunk);
          let comments = false;
          for (let event = splitter.next(); event; event = splitter.next()) {
            const data = sseData(event);
            if (data === undefined) comments = true; // a keep-alive
            else out += onData(data);
            if (ended) break;
          }
          splitter.detach();
          // One front keep-alive for the chunk's comments, when nothing else went out.
          if (comments && out === "" && !ended) out = translator.keepAlive();
        }
        emit(controller, out);
      },
      flush(controller) {
        if (!ended) {
          emit(controller, translator.fail("the stream ended early", null));
        }
      },
    }),
  );
}

/** Reads a whole non-streaming answer (bytes, or a stream for a large one) as JSON. */
export async function completionJson<T>(
  bytes: Uint8Array | ReadableStream<Uint8Array>,
): Promise<T> {
  return await new Response(
    bytes as Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>,
  ).json() as T;
}

/** A fresh id with a front's prefix (`msg_…`, `resp_…`). */
export function newId(prefix: string): string {
  return `${prefix}${crypto.randomUUID().replaceAll("-", "")}`;
}
