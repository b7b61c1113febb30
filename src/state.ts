/**
 * The routing state one or more routers share: the free-pool cache and the
 * cooldowns. Reads come from memory; changes are written through to KV when a
 * KV store is attached, and loaded from it once at start.
 *
 * @module
 */
import { Catalog, type CatalogSnapshot } from "./catalog.ts";
import { type CooldownEntry, mergeCooldown } from "./cooldown.ts";
import { type KvLike, KvStateStore } from "./kv_state_store.ts";

/** Options of {@link FreeRouterState}. */
export interface FreeRouterStateOptions {
  /**
   * A Deno KV handle (`await Deno.openKv(path)`, or on Node a `Kv` from the
   * `@deno/kv` npm package) to persist cooldowns and the last good catalog.
   * The caller owns it and closes it. Without one, state lives in memory.
   */
  kv?: KvLike;
}

/** The state's workings; reached through {@link routingState}. */
export class RoutingState {
  /** The free-pool cache. */
  readonly catalog: Catalog = new Catalog();
  /** Active cooldowns by model id (entries may have expired; compare `until`). */
  readonly cooldowns: Map<string, CooldownEntry> = new Map();
  readonly #store: KvStateStore | undefined;
  #loaded: Promise<void> | undefined;
  readonly #pending = new Set<Promise<unknown>>();

  constructor(kv: KvLike | undefined) {
    this.#store = kv ? new KvStateStore(kv) : undefined;
  }

  /** Whether the state is persisted in KV. */
  get persistent(): boolean {
    return this.#store !== undefined;
  }

  /** Loads persisted state once; later calls return the same promise. */
  load(now: number): Promise<void> {
    return this.#loaded ??= this.#load(now);
  }

  async #load(now: number): Promise<void> {
    if (!this.#store) return;
    const loaded = await this.#store.load(now);
    for (const entry of loaded.cooldowns) {
      this.cooldowns.set(
        entry.model,
        mergeCooldown(this.cooldowns.get(entry.model), entry),
      );
    }
    if (loaded.catalog) this.catalog.adopt(loaded.catalog);
  }

  /** Records a cooldown in memory and writes it through to KV. */
  async coolDown(entry: CooldownEntry, now: number): Promise<void> {
    const merged = mergeCooldown(this.cooldowns.get(entry.model), entry);
    this.cooldowns.set(entry.model, merged);
    if (merged === entry) await this.#store?.saveCooldown(entry, now);
  }

  /** Persists a freshly fetched catalog in the background. */
  saveCatalog(
    snapshot: CatalogSnapshot,
    onError: (err: unknown) => void,
  ): void {
    if (!this.#store) return;
    const write = this.#store.saveCatalog(snapshot).catch(onError);
    this.#pending.add(write);
    write.finally(() => this.#pending.delete(write));
  }

  /** Waits for background work (a catalog refresh, KV writes) to settle. */
  async settle(): Promise<void> {
    await this.catalog.inflight?.catch(() => {});
    await Promise.all(this.#pending);
  }
}

const internals = new WeakMap<FreeRouterState, RoutingState>();

/**
 * Shared routing state: pass one instance to several clients or handlers so
 * they share the free-list cache and the cooldowns.
 *
 * @example Two clients, one state
 * ```ts
 * import { FreeRouterClient, FreeRouterState } from "@freerouter/freerouter";
 * const state = new FreeRouterState();
 * const a = new FreeRouterClient({ apiKey: "sk-or-v1-…", state });
 * const b = new FreeRouterClient({ apiKey: "sk-or-v1-…", state });
 * await a.close();
 * await b.close();
 * ```
 */
export class FreeRouterState {
  /** Creates empty state, persisted in `options.kv` when given. */
  constructor(options: FreeRouterStateOptions = {}) {
    internals.set(this, new RoutingState(options.kv));
  }

  /** Whether the state is persisted in KV. */
  get persistent(): boolean {
    return routingState(this).persistent;
  }
}

/** The workings behind a {@link FreeRouterState}. */
export function routingState(state: FreeRouterState): RoutingState {
  return internals.get(state)!;
}
