/**
 * Request counts in KV, shared by every instance on the store, at one round
 * trip per count when uncontended: the commit is checked against the entry
 * this instance wrote last, and the entry is read again only when another
 * instance wrote since.
 *
 * @module
 */
import { DAY_MS } from "../core/account_limit.ts";
import { withRetry } from "./kv_store.ts";
import type { KvKeyPart, KvLike } from "./kv_types.ts";

/** Counts kept two days: a day window plus its slack. */
const EXPIRE_MS = 2 * DAY_MS;

/** What this instance last wrote to each counts entry, by a name of the caller's. */
export class CountsEntries<V> {
  readonly #written = new Map<
    string,
    { value: V | undefined; versionstamp: string | null }
  >();

  constructor(
    readonly kv: KvLike,
    /** Reads a stored value (`undefined` for none or a malformed one). */
    readonly parse: (raw: unknown) => V | undefined,
  ) {}

  /** Forgets what was written under `name` (the next count reads it). */
  forget(name: string): void {
    this.#written.delete(name);
  }

  /**
   * Counts once under `name` (entry `key`): `decide` gets the current counts
   * and returns the next ones, or a refusal that is returned as it is with
   * nothing written. Counts only grow within a window, so a refusal decided
   * on counts this instance wrote still holds when another wrote since.
   */
  async count<R>(
    name: string,
    key: readonly KvKeyPart[],
    decide: (current: V | undefined) => { next: V } | { refused: R },
    maxTries = Infinity,
  ): Promise<{ next: V } | { refused: R }> {
    let entry = this.#written.get(name) ?? await this.#read(key);
    for (let tries = 0;; tries++) {
      if (tries >= maxTries) {
        throw new Error(`too much contention on ${JSON.stringify(name)}`);
      }
      const verdict = decide(entry.value);
      if ("refused" in verdict) return verdict;
      const committed = await withRetry(() =>
        this.kv.atomic()
          .check({ key, versionstamp: entry.versionstamp })
          .set(key, verdict.next, { expireIn: EXPIRE_MS })
          .commit()
      );
      if (committed.ok) {
        if (committed.versionstamp) {
          this.#written.set(name, {
            value: verdict.next,
            versionstamp: committed.versionstamp,
          });
        } else this.#written.delete(name);
        return verdict;
      }
      entry = await this.#read(key);
    }
  }

  /** The stored value at `key`, as every instance wrote it. */
  async peek(key: readonly KvKeyPart[]): Promise<V | undefined> {
    return (await this.#read(key)).value;
  }

  async #read(key: readonly KvKeyPart[]) {
    const entry = await withRetry(() => this.kv.get(key));
    return { value: this.parse(entry.value), versionstamp: entry.versionstamp };
  }
}
