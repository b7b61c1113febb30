/**
 * The response cache's two stream helpers: a pass-through that records a
 * stream's answer as it goes to the client (nothing held back, nothing
 * buffered beyond the event being read), and the replay of a stored answer as
 * a well-formed stream.
 *
 * @module
 */
import { ChunkAssembler, replayEvents } from "../core/cached_answer.ts";
import type { ChatCompletion } from "../types.ts";
import { sseData, SseSplitter } from "../upstream/sse.ts";

const encoder = new TextEncoder();

/**
 * Passes `body` through unchanged and calls `done` once: with the whole
 * answer when the stream ended complete and successful, with `undefined` when
 * it failed, was cut short or was cancelled.
 */
export function recordStream(
  body: ReadableStream<Uint8Array>,
  done: (completion: ChatCompletion | undefined) => void,
): ReadableStream<Uint8Array> {
  const splitter = new SseSplitter();
  const assembler = new ChunkAssembler();
  let finished = false;
  const finish = (completion: ChatCompletion | undefined) => {
    if (finished) return;
    finished = true;
    done(completion);
  };
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: Awaited<
        ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]>
      >;
      try {
        chunk = await reader.read();
      } catch (err) {
        finish(undefined);
        controller.error(err);
        return;
      }
      if (chunk.done) {
        finish(
          splitter.pendingBytes === 0 ? assembler.completion() : undefined,
        );
        controller.close();
        return;
      }
      if (!assembler.failed) {
        splitter.push(chunk.value);
        for (let event = splitter.next(); event; event = splitter.next()) {
          const data = sseData(event);
          if (data !== undefined) assembler.push(data);
        }
        splitter.detach(); // the chunk goes on to the client
      }
      controller.enqueue(chunk.value);
    },
    cancel(reason) {
      finish(undefined);
      return reader.cancel(reason);
    },
  });
}

/** A stored answer as a stream: role, content, tool calls, finish, usage, `[DONE]`. */
export function replayStream(
  completion: ChatCompletion,
): ReadableStream<Uint8Array> {
  const bytes = encoder.encode(
    replayEvents(completion).map((data) => `data: ${data}\n\n`).join(""),
  );
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}
