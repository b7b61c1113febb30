/**
 * Counts an instance made in memory while its KV store could not be reached
 * (an account's attempts, a client's requests), kept by name until the store
 * takes them, so that every instance on the store counts them; and when to
 * ask the store again after it failed.
 *
 * @module
 */
import type { WindowCounts } from "../core/account_limit.ts";

/** How two counts of one name add up, in the windows of `now`. */
export type AddCounts<V extends WindowCounts> = (
  counts: V | undefined,
  extra: V,
  now: number,
) => V;

/**
 * How long counts are kept in memory, without asking the store, after it
 * failed: a store that fails may take seconds to say so (a lock held
 * elsewhere), and each count would wait for it.
 */
export const STORE_RETRY_MS = 10_000;

/** Counts waiting for the store, by name. */
export class UnsyncedCounts<V extends WindowCounts> {
  readonly #pending = new Map<string, V>();
  /** Until when (epoch ms) counts stay in memory after the store failed. */
  #storeOutUntil = 0;

  /** Counts that add up with `add`. */
  constructor(readonly add: AddCounts<V>) {}

  /**
   * Whether to ask the store at `now`: not within {@link STORE_RETRY_MS}
   * after it failed, unless a flush of every name has gone through since.
   */
  asksStore(now: number): boolean {
    return now >= this.#storeOutUntil;
  }

  /** The store failed at `now`. */
  storeFailed(now: number): void {
    this.#storeOutUntil = now + STORE_RETRY_MS;
  }

  /** What waits for `name`. */
  get(name: string): V | undefined {
    return this.#pending.get(name);
  }

  /** Adds `extra` to what waits for `name`. */
  note(name: string, extra: V, now: number): void {
    this.#pending.set(name, this.add(this.#pending.get(name), extra, now));
  }

  /**
   * Hands what waits (for `only`, or for every name) to `write`, one name at
   * a time. Each is taken out before its write, so that a flush running
   * meanwhile does not hand it over again; a write that fails puts it back
   * and throws (the rest stay too).
   */
  async flush(
    only: string | undefined,
    now: number,
    write: (name: string, extra: V) => Promise<void>,
  ): Promise<void> {
    if (this.#pending.size > 0) { // the common case: nothing to copy
      for (const [name, extra] of [...this.#pending]) {
        if (only !== undefined && name !== only) continue;
        this.#pending.delete(name);
        try {
          await write(name, extra);
        } catch (err) {
          this.note(name, extra, now);
          throw err;
        }
      }
    }
    // Every count kept in memory is in the store: it may be asked again.
    if (only === undefined) this.#storeOutUntil = 0;
  }
}
