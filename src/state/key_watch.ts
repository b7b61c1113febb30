/**
 * Keeps an account's quota in step with OpenRouter's `GET /key`: reads it at
 * start, every few minutes (an unref'd timer), and soon after a daily-cap 429
 * blocks the account. A failed read changes nothing but the note of the
 * failure: the limits learned so far stay. A read answered after the 00:00 UTC
 * that followed its start is not applied (its counts may be yesterday's): it
 * is read again at once.
 *
 * @module
 */
import type { KeyReport } from "../core/key_report.ts";
import { dayOf } from "../core/quota.ts";
import { unrefTimer } from "../runtime.ts";
import { applyKeyReport } from "./quota.ts";
import type { RoutingState } from "./state.ts";

/** What {@link KeyWatch} needs. */
export interface KeyWatchOptions {
  state: RoutingState;
  /** The account the key belongs to. */
  account: Promise<string>;
  /** Reads `GET /key`; rejects when it fails. */
  read(signal: AbortSignal): Promise<KeyReport>;
  /** Between two reads, ms. */
  intervalMs: number;
  now: () => number;
  warn: (message: string) => void;
}

/** The `/key` poller of one account. */
export class KeyWatch {
  readonly #o: KeyWatchOptions;
  readonly #abort = new AbortController();
  #timer: ReturnType<typeof setInterval> | undefined;
  #inflight: Promise<void> | undefined;
  #again = false;
  #closed = false;
  #unsubscribe: () => void = () => {};

  /** Starts at once: the first read, the timer, and the watch on daily-cap 429s. */
  constructor(options: KeyWatchOptions) {
    this.#o = options;
    const { state, account, intervalMs } = options;
    this.#unsubscribe = state.quota.onDayBlock((blocked) => {
      account.then((id) => {
        if (id === blocked) void this.refresh();
      }, () => {});
    });
    this.#timer = setInterval(() => void this.refresh(), intervalMs);
    unrefTimer(this.#timer);
    void this.refresh();
  }

  /**
   * Reads `/key` and applies it. A call while a read is under way asks for
   * one more read after it (a 429 may have arrived since it started).
   */
  refresh(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#inflight) {
      this.#again = true;
      return this.#inflight;
    }
    this.#inflight = this.#run().finally(() => {
      this.#inflight = undefined;
      if (this.#again && !this.#closed) {
        this.#again = false;
        void this.refresh();
      }
    });
    return this.#inflight;
  }

  async #run(): Promise<void> {
    const { state, account, read, now, warn } = this.#o;
    let id: string;
    try {
      id = await account;
      await state.load(now, warn);
      await state.quota.load(id);
    } catch {
      return; // the next tick tries again
    }
    let report: KeyReport;
    const asked = now();
    try {
      report = await read(this.#abort.signal);
    } catch (err) {
      if (this.#closed) return;
      const message = err instanceof Error ? err.message : String(err);
      state.quota.noteKeyError(id, message, now());
      warn(`Could not read the quota from OpenRouter's /key: ${message}`);
      return;
    }
    if (this.#closed) return;
    if (dayOf(asked) !== dayOf(now())) {
      // Read across 00:00 UTC: the counts may be yesterday's. Read again.
      this.#again = true;
      return;
    }
    try {
      await applyKeyReport(state, id, report, now());
    } catch (err) {
      warn(`Could not save the quota from /key: ${err}`);
    }
  }

  /** Resolves once no read is under way (at once when none is). */
  async settled(): Promise<void> {
    while (this.#inflight) await this.#inflight.catch(() => {});
  }

  /** Stops the timer, aborts a read under way and waits for it. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    while (this.#inflight) await this.#inflight.catch(() => {});
  }
}
