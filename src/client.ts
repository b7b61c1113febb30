/**
 * {@link FreeRouterClient}: freerouter's routing in-process, for agent
 * programs that want free models without running a server.
 *
 * @module
 */
import { type Attempt, FreeRouterError } from "./errors.ts";
import { loadEnv } from "./env.ts";
import {
  type ResolvedRouterOptions,
  resolveRouterOptions,
  type RouterOptions,
} from "./options.ts";
import { Router } from "./router.ts";
import { settledByAbort } from "./upstream/scope.ts";
import { sseData, SseSplitter } from "./upstream/sse.ts";
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatMessage,
  ChatMessageInput,
  ChatRequestInput,
  FreeModel,
} from "./types.ts";

/**
 * Options of {@link FreeRouterClient}.
 *
 * @example A client with an injected fetch
 * ```ts
 * import { FreeRouterClient } from "@freerouter/freerouter";
 * const client = new FreeRouterClient({ apiKey: "sk-or-v1-…", fetch: globalThis.fetch });
 * await client.close();
 * ```
 */
export interface FreeRouterClientOptions extends RouterOptions {
  /**
   * The OpenRouter key.
   * @default {OPENROUTER_API_KEY from the environment, or from `.env` in the working directory}
   */
  apiKey?: string | undefined;
}

/**
 * Per-call options of {@link FreeRouterClient.chat} and
 * {@link FreeRouterClient.stream}: `model` plus any OpenAI/OpenRouter request
 * field (`temperature`, `tools`, `max_tokens`, …), passed through.
 *
 * @example Ask a specific free model first
 * ```ts
 * import type { ChatOptions } from "@freerouter/freerouter";
 * const options: ChatOptions = { model: "qwen/qwen3-coder:free", temperature: 0 };
 * ```
 */
export interface ChatOptions {
  /**
   * `"auto"` or a free model id to try first.
   * @default {"auto"}
   */
  model?: string | undefined;
  /** Aborts the call (and the upstream request). */
  signal?: AbortSignal | undefined;
  /** Any other request field passes through. */
  [field: string]: unknown;
}

/**
 * How a call was routed.
 *
 * @example Log the model that answered
 * ```ts
 * import type { RouteInfo } from "@freerouter/freerouter";
 * function log(info: RouteInfo) {
 *   console.log(`${info.model} after ${info.attempts.length} attempt(s)`);
 * }
 * ```
 */
export interface RouteInfo {
  /** The model that answered (the id freerouter sent upstream). */
  model: string;
  /** Every attempt, in order; the last one succeeded. */
  attempts: readonly Attempt[];
}

/**
 * A chat completion with how it was routed.
 *
 * @example Read the model used
 * ```ts
 * import type { RoutedCompletion } from "@freerouter/freerouter";
 * function used(completion: RoutedCompletion): string {
 *   return completion.freerouter.model;
 * }
 * ```
 */
export type RoutedCompletion = ChatCompletion & {
  /** How the call was routed. */
  freerouter: RouteInfo;
};

/** One call's controller, and how to unlink it when the call ends. */
interface Call {
  controller: AbortController;
  done: () => void;
}

/**
 * Routes chat completions across OpenRouter's free models in-process, with the
 * same fallback and cooldowns as the proxy. There is no synchronous variant.
 *
 * @example Ask a question
 * ```ts ignore
 * import { FreeRouterClient } from "@freerouter/freerouter";
 * await using fr = new FreeRouterClient();
 * const completion = await fr.chat([{ role: "user", content: "Hello" }]);
 * console.log(completion.freerouter.model, completion.choices[0]?.message.content);
 * ```
 */
export class FreeRouterClient implements AsyncDisposable {
  readonly #router: Router;
  readonly #options: ResolvedRouterOptions;
  readonly #apiKey: string | undefined;
  /** The calls under way: chats and streams, each with its own controller. */
  readonly #open = new Set<AbortController>();
  /** Chats under way, which close() waits for once it has aborted them. */
  readonly #chats = new Set<Promise<unknown>>();
  #closed = false;

  /** Creates a client; see {@link FreeRouterClientOptions} for the defaults. */
  constructor(options: FreeRouterClientOptions = {}) {
    options ??= {}; // null, from JavaScript
    this.#options = resolveRouterOptions(options);
    this.#router = new Router(this.#options);
    // Trimmed: fetch sends a key without its surrounding whitespace, and
    // redaction must look for what the upstream saw.
    this.#apiKey = (options.apiKey ??
      loadEnv(undefined, ["OPENROUTER_API_KEY"]).OPENROUTER_API_KEY)?.trim() ||
      undefined;
  }

  #key(): string {
    if (this.#apiKey) return this.#apiKey;
    throw new FreeRouterError(
      "missing_api_key",
      "No OpenRouter key: pass { apiKey } or set OPENROUTER_API_KEY " +
        "(Deno reads it only with --allow-env=OPENROUTER_API_KEY, and .env with --allow-read)",
    );
  }

  /**
   * A controller for one call, aborted by the caller's `signal` or by
   * {@link FreeRouterClient.close}; `done()` unlinks it. Throws when the
   * client is closed.
   */
  #call(signal: AbortSignal | undefined): Call {
    if (this.#closed) {
      throw new FreeRouterError("aborted", "The client is closed");
    }
    if (signal?.aborted) { // nothing is sent, not even the catalog fetch
      throw new FreeRouterError("aborted", "The call was aborted", {
        cause: signal.reason,
      });
    }
    const controller = new AbortController();
    const forward = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", forward, { once: true });
    this.#open.add(controller);
    return {
      controller,
      done: () => {
        signal?.removeEventListener("abort", forward);
        this.#open.delete(controller);
      },
    };
  }

  /**
   * The routable free models, in the catalog's stored (`priority`) order;
   * `auto` tries them in the strategy's order. Throws
   * {@link FreeRouterError} `no_free_models` when the catalog cannot be
   * loaded and none is cached.
   */
  models(): Promise<readonly FreeModel[]> {
    if (this.#closed) {
      return Promise.reject(
        new FreeRouterError("aborted", "The client is closed"),
      );
    }
    // close() while the catalog loads ends it (a shared state's fetch goes
    // on for the others): aborted, as every call under way.
    const controller = new AbortController();
    this.#open.add(controller);
    return settledByAbort(this.#router.pool(this.#apiKey), controller.signal)
      .catch((err) => {
        if (!this.#closed) throw err;
        throw new FreeRouterError("aborted", "The client is closed", {
          cause: err,
        });
      }).finally(() => this.#open.delete(controller));
  }

  /**
   * One chat completion. Throws {@link UpstreamHTTPError} when OpenRouter
   * refuses the request itself, {@link FreeRouterError} when every candidate
   * failed, or `aborted` when `signal` or {@link FreeRouterClient.close}
   * stopped it.
   */
  chat(
    messages: readonly ChatMessageInput[],
    options: ChatOptions = {},
  ): Promise<RoutedCompletion> {
    const { signal, ...fields } = options;
    let call: Call;
    try {
      call = this.#call(signal);
    } catch (err) {
      return Promise.reject(err);
    }
    const request: ChatCompletionRequest = {
      ...fields,
      model: fields.model ?? "auto",
      // Read, never changed: the router copies what it alters.
      messages: messages as ChatMessage[],
    };
    delete request.stream;
    const answer = this.#complete(request, call.controller.signal);
    const settled = answer.then(call.done, call.done);
    this.#chats.add(settled);
    settled.then(() => this.#chats.delete(settled));
    return answer;
  }

  async #complete(
    request: ChatCompletionRequest,
    signal: AbortSignal,
  ): Promise<RoutedCompletion> {
    const routed = await this.#router.complete(request, {
      apiKey: this.#key(),
      signal,
    });
    const json = routed.answer.json ??
      await new Response(routed.answer.bytes as ReadableStream<Uint8Array>)
        .json() as ChatCompletion;
    return Object.assign(json, {
      freerouter: { model: routed.model, attempts: routed.attempts },
    });
  }

  /**
   * A streamed chat completion as parsed chunks. Falls back until the first
   * content event, like the proxy; breaking out of the loop aborts the
   * upstream request. A stream that breaks off throws {@link FreeRouterError}.
   */
  async *stream(
    messages: readonly ChatMessageInput[],
    options: ChatOptions = {},
  ): AsyncGenerator<ChatCompletionChunk, void, undefined> {
    const { signal, ...fields } = options;
    const routed: { attempts?: readonly Attempt[] } = {};
    const raw = this.#streamRaw(
      {
        ...fields,
        model: fields.model ?? "auto",
        messages,
      },
      signal,
      routed,
    );
    const splitter = new SseSplitter();
    for await (const bytes of raw) {
      splitter.push(bytes);
      for (let event = splitter.next(); event; event = splitter.next()) {
        const data = sseData(event);
        if (data === undefined || data === "[DONE]") continue;
        const chunk = JSON.parse(data);
        if (chunk?.error) {
          throw new FreeRouterError(
            "stream_interrupted",
            String(chunk.error.message ?? "The stream broke off"),
            { cause: chunk.error, attempts: routed.attempts },
          );
        }
        yield chunk as ChatCompletionChunk;
      }
    }
  }

  /**
   * A streamed chat completion as the raw SSE bytes, unchanged (whole events,
   * `data: [DONE]` at the end of a complete stream). `payload` is a full
   * request body; `stream: true` is set for you. Aborting `signal` (or
   * {@link FreeRouterClient.close}) ends it with {@link FreeRouterError}
   * `aborted`, whether the stream had begun or not. A stream that breaks off
   * for good (no model could finish it) does not throw: as OpenRouter's own
   * streams do, it ends with an error event (`data: {"error": …}`) and no
   * `data: [DONE]`, which is how a raw reader tells it from a whole answer.
   */
  streamRaw(
    payload: ChatRequestInput,
    options: { signal?: AbortSignal | undefined } = {},
  ): AsyncGenerator<Uint8Array, void, undefined> {
    return this.#streamRaw(payload, options.signal, {});
  }

  /** {@link FreeRouterClient.streamRaw}, telling `seen` the attempts once routed. */
  async *#streamRaw(
    payload: ChatRequestInput,
    signal: AbortSignal | undefined,
    seen: { attempts?: readonly Attempt[] },
  ): AsyncGenerator<Uint8Array, void, undefined> {
    const { controller, done } = this.#call(signal);
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    try {
      const routed = await this.#router.stream(
        {
          ...payload,
          model: payload.model ?? "auto",
          stream: true,
        } as ChatCompletionRequest,
        { apiKey: this.#key(), signal: controller.signal },
      );
      seen.attempts = routed.attempts;
      reader = routed.answer.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          // Cut by the caller's signal or close(): not a whole answer.
          if (controller.signal.aborted) {
            throw new FreeRouterError("aborted", "The stream was aborted", {
              cause: controller.signal.reason,
              attempts: routed.attempts,
            });
          }
          return;
        }
        yield value;
      }
    } finally {
      done();
      controller.abort();
      await reader?.cancel().catch(() => {});
    }
  }

  /**
   * Closes the client: aborts the chats and streams under way (they end
   * with {@link FreeRouterError} `aborted`), waits for the chats to settle
   * and for background writes, and refuses later calls. The KV handle, if
   * any, stays open.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const controller of this.#open) controller.abort();
    // No one else waits for a catalog fetch of a state only this client has.
    if (this.#options.ownsState) this.#router.close(true);
    await Promise.all(this.#chats);
    if (this.#options.ownsState) await this.#options.state.close();
    else await this.#options.state.settle();
  }

  /** Same as {@link FreeRouterClient.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
