/**
 * One upstream attempt's scope: its abort controller, its deadline (shared
 * timer, see deadline.ts), the link to the client's signal, and the body
 * reader it cancels when it aborts.
 *
 * @module
 */
import { Deadline } from "./deadline.ts";
import type { UpstreamFailure } from "../core/failure.ts";
import { FreeRouterError } from "../errors.ts";

/**
 * The client's signal, or a function that returns it for when reading it has
 * a cost (a `Deno.serve` request's `signal` getter registers a cancel watcher
 * with the runtime, about 5 µs). An attempt calls the function once it has
 * run {@link CLIENT_WATCH_DELAY_MS}, or when it fails: a quick answer never
 * pays for the watch, and the upstream has counted the request by then
 * anyway, so aborting sooner would save no quota.
 */
export type ClientSignal = AbortSignal | (() => AbortSignal | undefined);

/** The signal of a {@link ClientSignal}, read now. */
export function readSignal(
  signal: ClientSignal | undefined,
): AbortSignal | undefined {
  return typeof signal === "function" ? signal() : signal;
}

/** How long an attempt runs before a lazily given client signal is watched. */
export const CLIENT_WATCH_DELAY_MS = 100;

/** One live attempt: its abort controller, deadline and link to the client's signal. */
export class AttemptScope {
  readonly controller = new AbortController();
  /** Aborts the attempt when a timeout passes. */
  readonly deadline = new Deadline(() =>
    this.#abort(new DOMException("timed out", "TimeoutError"))
  );
  #signal: AbortSignal | undefined;
  #onAbort = () => this.#abort(this.#signal?.reason);
  /** The body reader in use (see {@link watch}). */
  #reader: { cancel(reason?: unknown): Promise<void> } | undefined;

  /**
   * Cancels `reader` when the attempt is aborted (a timeout, or the client
   * going away), so that a pending read settles (`done`) even when the
   * runtime does not error the body on abort, which Deno sometimes does not
   * do for a fetch body under load. After an abort, a read that ends is
   * not the upstream's end: see {@link aborted}.
   */
  watch(reader: { cancel(reason?: unknown): Promise<void> }): void {
    this.#reader = reader;
  }

  /** Whether the attempt was aborted (its reads end without the upstream ending). */
  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  /**
   * One read of the watched body: rejects with the abort's reason when the
   * read ended because the attempt was aborted (the scope cancels the reader
   * then, see {@link watch}), so that `done` always means the upstream ended.
   */
  async read<T>(
    reader: ReadableStreamDefaultReader<T>,
  ): ReturnType<ReadableStreamDefaultReader<T>["read"]> {
    const result = await reader.read();
    if (result.done && this.aborted) throw this.controller.signal.reason;
    return result;
  }

  #abort(reason: unknown): void {
    this.controller.abort(reason);
    this.#reader?.cancel(reason).catch(() => {});
  }
  /** The client's signal, not read yet (see {@link ClientSignal}). */
  #lazySignal: (() => AbortSignal | undefined) | undefined;
  /** Reads and watches the lazy signal once the attempt has run a while. */
  #watch: Deadline | undefined;

  constructor(signal: ClientSignal | undefined) {
    if (typeof signal !== "function") this.#link(signal);
    else {
      this.#lazySignal = signal;
      this.#watch = new Deadline(() => this.#linkLazy());
      this.#watch.arm(CLIENT_WATCH_DELAY_MS);
    }
  }

  #link(signal: AbortSignal | undefined): void {
    this.#signal = signal;
    if (signal?.aborted) this.#abort(signal.reason);
    else signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  #linkLazy(): void {
    const read = this.#lazySignal;
    if (read === undefined) return;
    this.#lazySignal = undefined;
    this.#watch?.clear();
    this.#link(read());
  }

  get clientAborted(): boolean {
    this.#linkLazy();
    return this.#signal?.aborted === true;
  }

  /** The failure for an error thrown while fetching or reading. */
  failureOf(status = 0): UpstreamFailure {
    if (this.clientAborted) {
      throw new FreeRouterError("aborted", "The request was aborted", {
        cause: this.#signal?.reason,
      });
    }
    return { kind: this.deadline.fired ? "timeout" : "network", status };
  }

  dispose(): void {
    this.deadline.clear();
    this.#watch?.clear();
    this.#lazySignal = undefined;
    this.#signal?.removeEventListener("abort", this.#onAbort);
  }
}

/**
 * `promise`, or its rejection with the abort reason once `signal` aborts: a
 * body read the runtime does not error on abort cannot outlive its timeout.
 */
export function settledByAbort<T>(
  promise: Promise<T>,
  signal: AbortSignal,
): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() =>
      signal.removeEventListener("abort", onAbort)
    );
  });
}
