/**
 * The routing state one or more routers share: the free-pool cache, model
 * cooldowns, learned capability gaps, model health, the account block and the
 * account's attempt counts. Reads come from memory; changes are written
 * through to KV when a KV store is attached, loaded from it once at start, and
 * picked up from other instances on the same store by polling a change marker.
 *
 * @module
 */
import {
  type AccountBlock,
  mergeBlock,
  mergeLearned,
} from "../core/account_limit.ts";
import {
  accountOf,
  type AccountState,
  applyBlock,
  pruneAccounts,
} from "./accounts.ts";
import { Catalog, type CatalogSnapshot } from "./catalog.ts";
import { AccountCounts } from "./account_counts.ts";
import { KeyedFifo } from "./fifo.ts";
import { unrefTimer } from "../runtime.ts";
import { type CooldownEntry, mergeCooldown } from "../core/cooldown.ts";
import { type ModelHealth, observe } from "../core/health.ts";
import type { MinuteBudget } from "../core/model_budget.ts";
import { type KvLike, KvStateStore, type SharedState } from "./kv_store.ts";
import { QuotaBook } from "./quota_book.ts";

/**
 * Options of {@link FreeRouterState}.
 *
 * @example Persist state in a Deno KV file
 * ```ts ignore
 * import { FreeRouterState, type FreeRouterStateOptions } from "@freerouter/freerouter";
 * const kv = await Deno.openKv(".freerouter/kv.sqlite");
 * const options: FreeRouterStateOptions = { kv, syncIntervalMs: 1000 };
 * await using state = new FreeRouterState(options);
 * ```
 */
export interface FreeRouterStateOptions {
  /**
   * A Deno KV handle (`await Deno.openKv(path)`, or on Node a `Kv` from the
   * `@deno/kv` npm package) to persist the state and share it with other
   * instances on the same store. The caller owns it and closes it (after
   * {@link FreeRouterState.close}). Without one, state lives in memory.
   */
  kv?: KvLike | undefined;
  /**
   * How often to look for changes other instances wrote to the KV store, ms.
   * @default {500}
   */
  syncIntervalMs?: number | undefined;
}

type Reporter = (message: string) => void;

/** The state's workings; reached through {@link routingState}. */
export class RoutingState {
  /** The free-pool cache. */
  readonly catalog: Catalog = new Catalog();
  /** Cooldowns by model id (entries may have expired; compare `until`). */
  cooldowns: Map<string, CooldownEntry> = new Map();
  /** Capabilities models were found to lack, by model id; cleared on catalog refresh. */
  gaps: Map<string, Set<string>> = new Map();
  /** Health by model id. */
  readonly health: Map<string, ModelHealth> = new Map();
  /** Bumped on every change to `health`: the ranked orders are rebuilt only then. */
  healthVersion = 0;
  /** Per-minute limits learned from `limit_rpm` 429s and their use, by model id; in memory only. */
  readonly budgets: Map<string, MinuteBudget> = new Map();
  /** Account state by account fingerprint (see {@link accountIdOf}). */
  accounts: Map<string, AccountState> = new Map();
  /** Each account's `/key` reports and day-count samples. */
  readonly quota: QuotaBook;
  /** The accounts' attempt counts. */
  readonly counts: AccountCounts;
  /** The KV store the state is persisted in, if any (client counts and the response cache use it too). */
  readonly kv: KvLike | undefined;
  readonly #store: KvStateStore | undefined;
  readonly #syncIntervalMs: number;
  readonly #dirtyHealth = new Set<string>();
  readonly #pending = new Set<Promise<unknown>>();
  #loaded: Promise<void> | undefined;
  #ready = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #rev: unknown;
  /** Bumped by every local change, so a sync that read KV meanwhile does not overwrite it. */
  #generation = 0;
  #syncing = false;
  #closed = false;
  #warn: Reporter = () => {};
  #now: () => number = Date.now;
  readonly #queue = new KeyedFifo();
  /** Who waits for a change of an account's block, by account (see {@link onBlockChange}). */
  readonly #blockWatchers = new Map<string, Set<() => void>>();
  #closing = new AbortController();
  /**
   * Cooldowns and account blocks whose KV write failed: what a sync reads
   * does not replace them, and each sync tick writes them again.
   */
  readonly #unsaved = {
    cooldowns: new Map<string, CooldownEntry>(),
    blocks: new Map<string, AccountBlock>(),
  };

  constructor(options: FreeRouterStateOptions) {
    if (
      options.kv != null &&
      typeof (options.kv as Partial<KvLike>).atomic !== "function"
    ) {
      throw new TypeError(
        'Cannot keep state: "kv" must be a Deno KV store (or a Kv of @deno/kv)',
      );
    }
    this.#store = options.kv ? new KvStateStore(options.kv) : undefined;
    this.kv = options.kv;
    this.quota = new QuotaBook(options.kv);
    const store = this.#store;
    this.counts = new AccountCounts({
      store,
      quota: this.quota,
      account: (id) => this.account(id),
      known: (id) => this.accounts.get(id),
      warn: (message) => this.#warn(message),
    });
    this.#syncIntervalMs = options.syncIntervalMs ?? 500;
  }

  /** Whether persisted state has been loaded (see {@link load}). */
  get ready(): boolean {
    return this.#ready;
  }

  /** Whether the state is persisted in KV. */
  get persistent(): boolean {
    return this.#store !== undefined;
  }

  /** Loads persisted state once and starts syncing; later calls return the same promise. */
  load(now: () => number, warn?: Reporter): Promise<void> {
    if (warn) this.#warn = warn;
    this.#now = now;
    this.#loaded ??= this.#load(now()).then(() => {
      this.#ready = true;
    }, (err) => {
      this.#loaded = undefined; // a failed load is tried again by the next request
      throw err;
    });
    return this.#loaded;
  }

  async #load(now: number): Promise<void> {
    if (!this.#store) return;
    this.#rev = await this.#store.rev();
    const loaded = await this.#store.load(now);
    this.#adopt(loaded);
    for (const [model, health] of loaded.health) this.health.set(model, health);
    this.healthVersion++;
    for (const [id, counts] of loaded.counts) this.account(id).counts = counts;
    if (loaded.catalog) this.catalog.adopt(loaded.catalog);
    if (!this.#closed) {
      this.#timer = setInterval(() => this.#sync(), this.#syncIntervalMs);
      unrefTimer(this.#timer);
    }
  }

  #adopt(shared: SharedState): void {
    const cooldowns = new Map<string, CooldownEntry>();
    for (const entry of shared.cooldowns) {
      cooldowns.set(
        entry.model,
        mergeCooldown(cooldowns.get(entry.model), entry),
      );
    }
    this.cooldowns = cooldowns;
    this.gaps = new Map(
      [...shared.gaps].map(([model, caps]) => [model, new Set(caps)]),
    );
    const accounts = new Map<string, AccountState>();
    for (const [id, stored] of shared.accounts) {
      accounts.set(id, {
        block: stored.block,
        learned: stored.limits,
        counts: this.accounts.get(id)?.counts,
      });
    }
    for (const [id, account] of this.accounts) {
      if (!accounts.has(id)) {
        accounts.set(id, {
          block: undefined,
          learned: {},
          counts: account.counts,
        });
      }
    }
    const now = this.#now();
    for (const [model, entry] of this.#unsaved.cooldowns) {
      if (entry.kind !== "lasting" && entry.until <= now) {
        this.#unsaved.cooldowns.delete(model);
      } else cooldowns.set(model, mergeCooldown(cooldowns.get(model), entry));
    }
    for (const [id, block] of this.#unsaved.blocks) {
      const account = accounts.get(id);
      if (block.until <= now) this.#unsaved.blocks.delete(id);
      else if (account) account.block = mergeBlock(account.block, block);
    }
    const before = this.accounts;
    this.accounts = accounts;
    for (const id of this.#blockWatchers.keys()) {
      if (before.get(id)?.block !== accounts.get(id)?.block) {
        this.#blockChanged(id);
      }
    }
  }

  /**
   * Calls `fn` on every change of an account's block, whether made here or
   * taken in from another instance, until the returned function is called
   * (a waiting admission re-checks then: a minute's wait that has become the
   * day's is refused at once).
   */
  onBlockChange(id: string, fn: () => void): () => void {
    let watchers = this.#blockWatchers.get(id);
    if (watchers === undefined) {
      this.#blockWatchers.set(id, watchers = new Set());
    }
    const set = watchers;
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.#blockWatchers.get(id) === set) {
        this.#blockWatchers.delete(id);
      }
    };
  }

  #blockChanged(id: string): void {
    const watchers = this.#blockWatchers.get(id);
    if (watchers === undefined) return;
    for (const fn of [...watchers]) fn();
  }

  /**
   * Runs one sync tick now (the timer runs them every `syncIntervalMs`):
   * flushes health, and takes in what other instances wrote.
   */
  syncNow(): Promise<void> {
    return this.#sync();
  }

  /** One sync tick: flush health, and reload shared state when another instance changed it. */
  async #sync(): Promise<void> {
    if (this.#syncing || !this.#store) return;
    this.#syncing = true;
    const work = (async () => {
      await this.#flushHealth();
      await this.counts.flushUnsynced(undefined, this.#now());
      await this.#saveUnsaved();
      const generation = this.#generation;
      const rev = await this.#store!.rev();
      if (rev === this.#rev) return;
      const shared = await this.#store!.shared(this.#now());
      // A local change made while reading is newer than what was read: keep
      // it, and read again next tick (the rev is not marked as seen).
      if (generation !== this.#generation) return;
      this.#rev = rev;
      this.#adopt(shared);
    })().catch((err) => this.#warn(`KV sync failed: ${err}`)).finally(
      () => (this.#syncing = false),
    );
    this.#track(work);
    await work;
  }

  async #flushHealth(): Promise<void> {
    if (this.#dirtyHealth.size === 0 || !this.#store) return;
    const batch = new Map<string, ModelHealth>();
    for (const model of this.#dirtyHealth) {
      batch.set(model, this.health.get(model)!);
    }
    this.#dirtyHealth.clear();
    await this.#store.saveHealth(batch);
  }

  #track(work: Promise<unknown>): void {
    this.#pending.add(work);
    work.finally(() => this.#pending.delete(work));
  }

  /** Runs a KV write of a change already made in memory; its result (undefined without a store). */
  async #write<T>(
    write: (store: KvStateStore) => Promise<T>,
  ): Promise<T | undefined> {
    if (!this.#store) return undefined;
    this.#generation++;
    // Bumped again when it ends: a sync that read the store while it ran
    // read it before this write and is not adopted.
    const work = write(this.#store).finally(() => this.#generation++);
    this.#track(work.catch(() => {}));
    return await work;
  }

  /** Records a cooldown in memory and writes it through to KV. */
  async coolDown(entry: CooldownEntry, now: number): Promise<void> {
    const merged = mergeCooldown(this.cooldowns.get(entry.model), entry);
    this.cooldowns.set(entry.model, merged);
    if (merged === entry) await this.#saveCooldown(entry, now);
  }

  /** Writes a cooldown to KV; one that cannot be written is kept unsaved. */
  async #saveCooldown(entry: CooldownEntry, now: number): Promise<void> {
    try {
      const stored = await this.#write((store) =>
        store.saveCooldown(entry, now)
      );
      // Another instance's longer cooldown, which the store kept.
      if (stored !== undefined && stored !== entry) {
        this.cooldowns.set(
          entry.model,
          mergeCooldown(this.cooldowns.get(entry.model), stored),
        );
      }
      if (this.#unsaved.cooldowns.get(entry.model) === entry) {
        this.#unsaved.cooldowns.delete(entry.model);
      }
    } catch (err) {
      const kept = this.#unsaved.cooldowns.get(entry.model);
      this.#unsaved.cooldowns.set(entry.model, mergeCooldown(kept, entry));
      throw err;
    }
  }

  /**
   * Writes again the cooldowns and blocks whose write failed (one sync
   * tick's part). What still fails stays unsaved, and the tick goes on to
   * read what other instances wrote.
   */
  async #saveUnsaved(): Promise<void> {
    const now = this.#now();
    try {
      for (const entry of [...this.#unsaved.cooldowns.values()]) {
        if (this.cooldowns.get(entry.model) === entry) {
          await this.#saveCooldown(entry, now);
        } else this.#unsaved.cooldowns.delete(entry.model); // ended or replaced
      }
      for (const id of [...this.#unsaved.blocks.keys()]) {
        await this.#writeAccount(id, now);
      }
    } catch {
      // Reported when it first failed; tried again next tick.
    }
  }

  /** Remembers that a model lacks a capability (until the next catalog refresh). */
  async addGap(model: string, capability: string): Promise<void> {
    const gaps = this.gaps.get(model) ?? new Set();
    if (gaps.has(capability)) return;
    gaps.add(capability);
    this.gaps.set(model, gaps);
    const stored = await this.#write((store) =>
      store.saveGap(model, [...gaps])
    );
    // With those another instance learned meanwhile.
    for (const other of stored ?? []) this.gaps.get(model)?.add(other);
  }

  /** Records an attempt's outcome in the model's health; returns the new health. */
  observe(
    model: string,
    outcome: Parameters<typeof observe>[1],
    now: number,
  ): ModelHealth {
    const health = observe(this.health.get(model), outcome, now);
    this.health.set(model, health);
    this.healthVersion++;
    if (this.#store) this.#dirtyHealth.add(model);
    return health;
  }

  /** One account's state (created empty on first use). */
  account(id: string): AccountState {
    return accountOf(
      this.accounts,
      id,
      this.#now(),
      (gone) => this.#store?.forget(gone),
    );
  }

  /** Forgets accounts that hold nothing any more (see {@link pruneAccounts}). */
  pruneAccounts(now: number): void {
    pruneAccounts(this.accounts, now, (gone) => this.#store?.forget(gone));
  }

  /** Blocks an account until the reset and remembers the limit the upstream reported. */
  async blockAccount(
    id: string,
    block: AccountBlock,
    limit: number | undefined,
    now: number,
  ): Promise<void> {
    const account = this.account(id);
    applyBlock(account, block, limit, now);
    if (block.scope === "day" && block.source !== "key") {
      this.quota.dayBlocked(id);
    }
    await this.saveAccount(id, now);
  }

  /**
   * Writes an account's block and learned limits through to KV, merged with
   * what other instances stored there ({@link storedBlock},
   * {@link mergeLearned}); the account then holds the merged result.
   */
  saveAccount(id: string, now: number): Promise<void> {
    this.#blockChanged(id); // the caller changed it in memory
    return this.#writeAccount(id, now);
  }

  /** {@link RoutingState.saveAccount}'s write (again, for one that failed: nothing changed in memory). */
  async #writeAccount(id: string, now: number): Promise<void> {
    const { block: mine, learned: mineLearned } = this.account(id);
    if (mine === undefined) this.#unsaved.blocks.delete(id);
    else if (mine.until > now) this.#unsaved.blocks.set(id, mine);
    await this.#write(async (store) => {
      const { block, learned } = await store.saveAccount(
        id,
        mine,
        mineLearned,
        now,
      );
      const account = this.account(id); // a sync may have replaced it
      const held = account.block;
      // A block taken while this write ran is merged in, not overwritten.
      if (account.block === mine) account.block = block;
      else if (block !== undefined) {
        account.block = mergeBlock(account.block, block);
      }
      account.learned = mergeLearned(account.learned, learned);
      if (account.block !== held) this.#blockChanged(id);
      // Written: the store's merge rules hold from here on.
      if (this.#unsaved.blocks.get(id) === mine) {
        this.#unsaved.blocks.delete(id);
      }
    });
  }

  /**
   * Runs `fn` after every earlier queued call of the same account has
   * finished (FIFO admission per account: one account's wait never holds up
   * another's).
   */
  enqueue<T>(account: string, fn: () => Promise<T>): Promise<T> {
    return this.#queue.run(account, fn);
  }

  /** Calls waiting in {@link enqueue}. */
  get waiting(): number {
    return this.#queue.waiting;
  }

  /**
   * After a catalog refresh: forget learned capability gaps and end the
   * cooldowns that lasted "until the next refresh".
   */
  async onCatalogRefreshed(): Promise<void> {
    const lasting = [...this.cooldowns.values()].filter((e) =>
      e.kind === "lasting"
    ).map((e) => e.model);
    const gapModels = [...this.gaps.keys()];
    for (const model of lasting) {
      this.cooldowns.delete(model);
      this.#unsaved.cooldowns.delete(model);
    }
    this.gaps = new Map();
    if (lasting.length > 0) {
      await this.#write((store) => store.deleteCooldowns(lasting));
    }
    if (gapModels.length > 0) {
      await this.#write((store) => store.clearGaps(gapModels));
    }
  }

  /** Persists a freshly fetched catalog in the background. */
  saveCatalog(snapshot: CatalogSnapshot): void {
    if (!this.#store || this.#closed) return;
    this.#track(
      this.#store.saveCatalog(snapshot).catch((err) =>
        this.#warn(`Could not save the catalog in KV: ${err}`)
      ),
    );
  }

  /** Aborted when the state closes: ends a catalog fetch under way (one started later is not). */
  get closing(): AbortSignal {
    return this.#closing.signal;
  }

  /**
   * Waits for background writes to settle. Not for a catalog fetch under way:
   * it belongs to the routers that wait for it (a closing one aborts its own),
   * and once the state is closed its catalog is not saved.
   */
  async settle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
    await this.quota.settle();
  }

  /**
   * Stops syncing, ends a catalog fetch under way, flushes health and waits
   * for background writes. The KV handle stays open.
   */
  async close(): Promise<void> {
    this.#closed = true;
    // A catalog fetch under way is of no use now (a router closing with its
    // state aborted it already; one sharing it may have left it hanging).
    this.#closing.abort(new Error("The routing state is closed"));
    this.#closing = new AbortController(); // for a use after close()
    await this.catalog.inflight?.catch(() => {});
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#loaded?.catch(() => {});
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.settle();
    await this.#flushHealth().catch((err) =>
      this.#warn(`Could not save model health in KV: ${err}`)
    );
    await this.counts.flushUnsynced(undefined, this.#now()).catch((err) =>
      this.#warn(`Could not add the attempts counted locally to KV: ${err}`)
    );
    await this.#saveUnsaved();
    const lost = this.#unsaved.cooldowns.size + this.#unsaved.blocks.size;
    if (lost > 0) {
      this.#warn(
        `Could not save ${lost} cooldown(s) or account block(s) in KV before closing`,
      );
    }
  }
}
