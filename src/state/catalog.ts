/**
 * The free-pool cache: fetched from OpenRouter, kept for a TTL, refreshed by one
 * upstream call however many requests ask (single flight), and never replaced
 * by a failed or empty refresh. A model whose free variant ends while its pool
 * is cached leaves the pool at that instant, refresh or not.
 *
 * @module
 */
import { isExpired, nextExpiry } from "../core/free_pool.ts";
import type { FreeModel } from "../types.ts";

/** A free pool and when it was fetched. */
export interface CatalogSnapshot {
  /** The pool in priority order. */
  pool: readonly FreeModel[];
  /** Epoch ms of the fetch. */
  fetchedAt: number;
}

/** How long to wait after a failed refresh before trying again, at most. */
const RETRY_AFTER_FAILURE_MS = 30_000;

/** Caches the free pool. One instance is shared by everything routing on it. */
export class Catalog {
  #snapshot: CatalogSnapshot | undefined;
  #inflight: Promise<CatalogSnapshot> | undefined;
  #retryAt = 0;
  /** When a model of the held pool expires next ({@link nextExpiry}). */
  #expiresAt = Infinity;

  /** The current snapshot, fresh or stale, as fetched (see {@link Catalog.at}). */
  get snapshot(): CatalogSnapshot | undefined {
    return this.#snapshot;
  }

  /** The running refresh, if any (awaited on close). */
  get inflight(): Promise<unknown> | undefined {
    return this.#inflight;
  }

  /** Adopts a snapshot (e.g. the last good one from KV) unless a newer one is held. */
  adopt(snapshot: CatalogSnapshot): void {
    if (!this.#snapshot || this.#snapshot.fetchedAt < snapshot.fetchedAt) {
      this.#hold(snapshot);
    }
  }

  #hold(snapshot: CatalogSnapshot): void {
    this.#snapshot = snapshot;
    this.#expiresAt = nextExpiry(snapshot.pool);
  }

  /** The held snapshot without the models expired by `t` (the same object while none has). */
  at(t: number): CatalogSnapshot | undefined {
    const snapshot = this.#snapshot;
    if (snapshot === undefined || t < this.#expiresAt) return snapshot;
    this.#hold({
      pool: snapshot.pool.filter((m) => !isExpired(m, t)),
      fetchedAt: snapshot.fetchedAt,
    });
    return this.#snapshot;
  }

  /**
   * The pool. Fresh: returned as is. Stale: returned as is while one refresh
   * runs in the background. None yet: waits for the (single) refresh.
   * `load` fetches and filters the pool; it rejects on failure or an empty pool.
   */
  pool(
    load: () => Promise<readonly FreeModel[]>,
    now: () => number,
    ttlMs: number,
    onRefreshed: (snapshot: CatalogSnapshot) => void,
    onFailed: (err: unknown) => void,
  ): readonly FreeModel[] | Promise<readonly FreeModel[]> {
    const t = now();
    const snapshot = this.at(t);
    if (snapshot && t - snapshot.fetchedAt < ttlMs) return snapshot.pool;
    if (snapshot) {
      if (t >= this.#retryAt) {
        this.#refresh(load, now, ttlMs, onRefreshed).catch(onFailed);
      }
      return snapshot.pool;
    }
    return this.#refresh(load, now, ttlMs, onRefreshed).then((s) => s.pool);
  }

  #refresh(
    load: () => Promise<readonly FreeModel[]>,
    now: () => number,
    ttlMs: number,
    onRefreshed: (snapshot: CatalogSnapshot) => void,
  ): Promise<CatalogSnapshot> {
    this.#inflight ??= load().then(
      (pool) => {
        const snapshot = { pool, fetchedAt: now() };
        this.#hold(snapshot);
        this.#inflight = undefined;
        onRefreshed(snapshot);
        return snapshot;
      },
      (err) => {
        this.#retryAt = now() + Math.min(ttlMs, RETRY_AFTER_FAILURE_MS);
        this.#inflight = undefined;
        throw err;
      },
    );
    return this.#inflight;
  }
}
