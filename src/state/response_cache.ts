/**
 * Where the response cache keeps complete answers: by the hash of the
 * request's canonical body and the client's key, each until its expiry,
 * under a size cap. Inserting evicts expired entries, then the oldest ones,
 * but never more than {@link MAX_EVICTIONS} at a time (an answer that would
 * need more is not stored): bounded work per request. In memory here; in KV
 * (shared by every instance on the store) in kv_cache.ts.
 *
 * @module
 */

/** Entries evicted by one insert at most. */
export const MAX_EVICTIONS = 32;

/** A store of answers (the completion's JSON text) by key. */
export interface ResponseCache {
  /** The answer stored under `key` and not expired at `now`. */
  get(key: string, now: number): Promise<string | undefined>;
  /** Stores an answer until `expires`; resolves whether it was stored. */
  set(
    key: string,
    text: string,
    now: number,
    expires: number,
  ): Promise<boolean>;
}

/** The bytes a stored answer counts for. */
export function sizeOf(text: string): number {
  // UTF-16 length is close enough and costs nothing; a multi-byte answer
  // counts a little less than its UTF-8 size.
  return text.length + 64;
}

interface Entry {
  text: string;
  size: number;
  expires: number;
}

/** The response cache in memory, for one process. */
export class MemoryResponseCache implements ResponseCache {
  /** In insertion order: the first entry is the oldest. */
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;

  /** A cache holding at most `maxBytes`. */
  constructor(readonly maxBytes: number) {}

  /** Bytes stored. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Entries stored. */
  get size(): number {
    return this.#entries.size;
  }

  get(key: string, now: number): Promise<string | undefined> {
    const entry = this.#entries.get(key);
    if (entry === undefined) return Promise.resolve(undefined);
    if (entry.expires <= now) {
      this.#delete(key, entry);
      return Promise.resolve(undefined);
    }
    return Promise.resolve(entry.text);
  }

  set(
    key: string,
    text: string,
    now: number,
    expires: number,
  ): Promise<boolean> {
    const size = sizeOf(text);
    if (size > this.maxBytes) return Promise.resolve(false);
    const old = this.#entries.get(key);
    if (old) this.#delete(key, old);
    let evicted = 0;
    for (const [k, e] of this.#entries) {
      if (evicted >= MAX_EVICTIONS) break;
      if (e.expires > now && this.#bytes + size <= this.maxBytes) break;
      this.#delete(k, e);
      evicted++;
    }
    if (this.#bytes + size > this.maxBytes) return Promise.resolve(false);
    this.#entries.set(key, { text, size, expires });
    this.#bytes += size;
    return Promise.resolve(true);
  }

  #delete(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#bytes -= entry.size;
  }
}
