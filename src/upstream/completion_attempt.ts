/**
 * The non-streaming attempt: one request to one model, its answer validated
 * (OpenRouter's errors inside 200s and keep-alive whitespace included) before
 * anything is sent to the client.
 *
 * @module
 */
import { concatBytes } from "./sse.ts";
import { passThrough, topLevelKeys } from "./large_body.ts";
import type { ChatCompletion } from "../types.ts";
import {
  type AttemptInput,
  type AttemptResult,
  bodyFailure,
  keepAliveDeadline,
  parseJson,
  readAll,
  skipWhitespace,
  unusableAnswer,
  type UpstreamOptions,
  upstreamRequest,
} from "./request.ts";
import { AttemptScope } from "./scope.ts";

const decoder = new TextDecoder();

/** A validated non-streaming answer. */
export interface CompletionAnswer {
  status: number;
  headers: Headers;
  /**
   * The body as received, leading keep-alive whitespace removed: bytes, or a
   * stream for bodies over {@link LARGE_BODY_BYTES}.
   */
  bytes: Uint8Array | ReadableStream<Uint8Array>;
  /** The parsed chat completion (`undefined` for a streamed large body). */
  json: ChatCompletion | undefined;
}

/** Non-streaming bodies larger than this are streamed through, not held. */
export const LARGE_BODY_BYTES = 1024 * 1024;

/** A whole 2xx body as the answer, or why it cannot be used. */
function judgedAnswer(
  res: Response,
  bytes: Uint8Array,
  lengthFinal: boolean | undefined,
): AttemptResult<CompletionAnswer> {
  const json = parseJson(decoder.decode(bytes));
  const failure = json === undefined
    ? {
      kind: "invalid_body" as const,
      status: res.status,
      headers: res.headers,
    }
    : bodyFailure(res, json, lengthFinal);
  if (failure) return { ok: false, failure };
  return {
    ok: true,
    value: {
      status: res.status,
      headers: res.headers,
      bytes,
      json: json as ChatCompletion,
    },
  };
}

/**
 * Sends one non-streaming attempt. Resolves with the validated answer or the
 * failure; throws {@link FreeRouterError} `aborted` when the client went away.
 */
export async function attemptCompletion(
  options: UpstreamOptions,
  input: AttemptInput,
): Promise<AttemptResult<CompletionAnswer>> {
  const scope = new AttemptScope(input.signal);
  let handedOver = false;
  try {
    scope.deadline.arm(options.requestTimeoutMs);
    let res: Response;
    try {
      res = await upstreamRequest(options, input, scope, "application/json");
    } catch {
      return { ok: false, failure: scope.failureOf() };
    }
    if (!res.ok) {
      return { ok: false, failure: await unusableAnswer(res, scope, options) };
    }
    const declared = Number(res.headers.get("content-length") ?? NaN);
    // (A compressed body's length says nothing about its decoded size.)
    if (
      declared >= 0 && declared <= LARGE_BODY_BYTES &&
      !res.headers.has("content-encoding")
    ) {
      // Fast path: the whole body in one read, no 64 KiB buffer per chunk.
      let whole: Uint8Array;
      try {
        whole = skipWhitespace(
          await readAll(res, scope, options.idleTimeoutMs),
        );
      } catch {
        return { ok: false, failure: scope.failureOf(res.status) };
      }
      return judgedAnswer(res, whole, input.lengthFinal);
    }
    const reader = res.body?.getReader();
    if (reader) scope.watch(reader);
    const chunks: Uint8Array[] = [];
    let size = 0;
    let done = reader === undefined;
    /** Whether the answer has begun: OpenRouter pads a slow one with whitespace. */
    let begun = false;
    /** When the headers came: the padding after them is a keep-alive, for keepAliveMs at most. */
    const headersAt = performance.now();
    try {
      while (!done && size <= LARGE_BODY_BYTES) {
        if (begun) scope.deadline.arm(options.idleTimeoutMs);
        const read = await scope.read(reader!);
        if (read.done) done = true;
        else {
          chunks.push(read.value);
          size += read.value.length;
          if (!begun && skipWhitespace(read.value).length > 0) {
            begun = true;
          } else if (!begun) {
            // The model is at work (the padding says so), but not forever.
            const idle = keepAliveDeadline(options, headersAt);
            if (idle !== undefined) scope.deadline.arm(idle);
          }
        }
      }
    } catch {
      return { ok: false, failure: scope.failureOf(res.status) };
    } finally {
      scope.deadline.clear();
    }
    const bytes = skipWhitespace(concatBytes(chunks));
    if (!done) {
      // Too large to hold: judge by the top-level keys of the first MiB and
      // stream the rest through.
      const keys = topLevelKeys(decoder.decode(bytes));
      if (keys.includes("error") || bytes[0] !== 123 /* { */) {
        reader!.cancel().catch(() => {});
        return {
          ok: false,
          failure: {
            kind: "invalid_body",
            status: res.status,
            headers: res.headers,
          },
        };
      }
      handedOver = true;
      return {
        ok: true,
        value: {
          status: res.status,
          headers: res.headers,
          bytes: passThrough(bytes, reader!, scope, options.idleTimeoutMs),
          json: undefined,
        },
      };
    }
    return judgedAnswer(res, bytes, input.lengthFinal);
  } finally {
    if (!handedOver) scope.dispose();
  }
}
