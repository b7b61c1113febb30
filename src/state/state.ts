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
  type AccountLimits,
  admit,
  currentCounts,
  LEARNED_RPM_MS,
  learnedAt,
  type LearnedLimits,
  type WindowCounts,
} from "../core/account_limit.ts";
import { Catalog, type CatalogSnapshot } from "./catalog.ts";
import { type CooldownEntry, mergeCooldown } from "../core/cooldown.ts";
import { type ModelHealth, observe } from "../core/health.ts";
import { type KvLike, KvStateStore, type SharedState } from "./kv_store.ts";

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
  kv?: KvLike;
  /**
   * How often to look for changes other instances wrote to the KV store, ms.
   * @default {500}
   */
  syncIntervalMs?: number;
}

type Reporter = (message: string) => void;

/** Accounts kept in memory before idle ones are forgotten. */
export const MAX_ACCOUNTS = 1000;

/** One OpenRouter account's state: its block, learned limits and attempt counts. */
export interface AccountState {
  /** The account block, when one holds (compare `until`). */
  block: AccountBlock | undefined;
  /** Limits learned from the upstream's `X-RateLimit-Limit`, with their validity. */
  learned: LearnedLimits;
  /** Attempt counts, as last known (the KV store holds the shared truth). */
  counts: WindowCounts | undefined;
}

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
  /** Account state by account fingerprint (see {@link accountIdOf}). */
  accounts: Map<string, AccountState> = new Map();
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
  #queue: Promise<unknown> = Promise.resolve();
  /** Requests waiting for room under the account limits. */
  waiting = 0;

  constructor(options: FreeRouterStateOptions) {
    this.#store = options.kv ? new KvStateStore(options.kv) : undefined;
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
    this.accounts = accounts;
  }

  /** One sync tick: flush health, and reload shared state when another instance changed it. */
  async #sync(): Promise<void> {
    if (this.#syncing || !this.#store) return;
    this.#syncing = true;
    const work = (async () => {
      await this.#flushHealth();
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

  /** Runs a KV write of a change already made in memory. */
  async #write(write: (store: KvStateStore) => Promise<void>): Promise<void> {
    if (!this.#store) return;
    this.#generation++;
    const work = write(this.#store);
    this.#track(work.catch(() => {}));
    await work;
  }

  /** Records a cooldown in memory and writes it through to KV. */
  async coolDown(entry: CooldownEntry, now: number): Promise<void> {
    const merged = mergeCooldown(this.cooldowns.get(entry.model), entry);
    this.cooldowns.set(entry.model, merged);
    if (merged === entry) {
      await this.#write((store) => store.saveCooldown(entry, now));
    }
  }

  /** Remembers that a model lacks a capability (until the next catalog refresh). */
  async addGap(model: string, capability: string): Promise<void> {
    const gaps = this.gaps.get(model) ?? new Set();
    if (gaps.has(capability)) return;
    gaps.add(capability);
    this.gaps.set(model, gaps);
    await this.#write((store) => store.saveGap(model, [...gaps]));
  }

  /** Records an attempt's outcome in the model's health; returns the new health. */
  observe(
    model: string,
    outcome: Parameters<typeof observe>[1],
    now: number,
  ): ModelHealth {
    const health = observe(this.health.get(model), outcome, now);
    this.health.set(model, health);
    if (this.#store) this.#dirtyHealth.add(model);
    return health;
  }

  /** One account's state (created empty on first use). */
  account(id: string): AccountState {
    let account = this.accounts.get(id);
    if (!account) {
      if (this.accounts.size >= MAX_ACCOUNTS) this.pruneAccounts(this.#now());
      this.accounts.set(
        id,
        account = { block: undefined, learned: {}, counts: undefined },
      );
    }
    return account;
  }

  /**
   * Forgets accounts that hold nothing any more: no block, no valid learned
   * limit, no attempt in the current minute or day. With bring-your-own-key
   * every client key is an account, so this keeps their number bounded.
   */
  pruneAccounts(now: number): void {
    for (const [id, account] of this.accounts) {
      const counts = currentCounts(account.counts, now);
      const learned = learnedAt(account.learned, now);
      if (
        (account.block === undefined || account.block.until <= now) &&
        learned.rpm === undefined && learned.rpd === undefined &&
        counts.minuteCount === 0 && counts.dayCount === 0
      ) {
        this.accounts.delete(id);
        this.#store?.forget(id);
      }
    }
  }

  /** Blocks an account until the reset and remembers the limit the upstream reported. */
  async blockAccount(
    id: string,
    block: AccountBlock,
    limit: number | undefined,
    now: number,
  ): Promise<void> {
    const account = this.account(id);
    if (!account.block || account.block.until < block.until) {
      account.block = block;
    }
    if (limit !== undefined) {
      account.learned = block.scope === "day"
        ? { ...account.learned, rpd: limit, rpdUntil: block.until }
        : { ...account.learned, rpm: limit, rpmUntil: now + LEARNED_RPM_MS };
    }
    const { block: held, learned } = account;
    await this.#write((store) => store.saveAccount(id, held, learned, now));
  }

  /** Counts one upstream attempt of an account against the limits, or says when there will be room. */
  async takeSlot(
    id: string,
    limits: AccountLimits,
    now: number,
  ): Promise<{ ok: true } | { ok: false; retryAt: number }> {
    const account = this.account(id);
    if (this.#store) {
      try {
        const result = await this.#store.takeSlot(id, limits, now);
        if (result.ok) account.counts = result.counts;
        return result;
      } catch (err) {
        // KV unreachable: keep routing, counting in memory only.
        this.#warn(`KV limiter unavailable, counting locally: ${err}`);
      }
    }
    const result = admit(account.counts, limits, now);
    if (result.ok) account.counts = result.next;
    return result;
  }

  /** Runs `fn` after every earlier queued call has finished (FIFO admission). */
  enqueue<T>(fn: () => Promise<T>): Promise<T> {
    this.waiting++;
    const turn = this.#queue.then(fn).finally(() => this.waiting--);
    this.#queue = turn.catch(() => {});
    return turn;
  }

  /** An account's attempt counts at `now`, for the status page. */
  countsAt(id: string, now: number): WindowCounts {
    return currentCounts(this.accounts.get(id)?.counts, now);
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
    for (const model of lasting) this.cooldowns.delete(model);
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
    if (!this.#store) return;
    this.#track(
      this.#store.saveCatalog(snapshot).catch((err) =>
        this.#warn(`Could not save the catalog in KV: ${err}`)
      ),
    );
  }

  /** Waits for background work (a catalog refresh, KV writes) to settle. */
  async settle(): Promise<void> {
    await this.catalog.inflight?.catch(() => {});
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  /** Stops syncing, flushes health and waits for background work. The KV handle stays open. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#loaded?.catch(() => {});
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.settle();
    await this.#flushHealth().catch((err) =>
      this.#warn(`Could not save model health in KV: ${err}`)
    );
  }
}

/** Lets the process exit while a timer is pending (Node's `unref`, Deno's `unrefTimer`). */
function unrefTimer(timer: ReturnType<typeof setInterval>): void {
  if (typeof timer === "object" && timer !== null && "unref" in timer) {
    (timer as { unref(): void }).unref();
    return;
  }
  const deno = (globalThis as Record<string, unknown>)["Deno"] as {
    unrefTimer?: (id: number) => void;
  } | undefined;
  deno?.unrefTimer?.(timer as number);
}

const internals = new WeakMap<FreeRouterState, RoutingState>();

/**
 * Shared routing state: pass one instance to several clients or handlers so
 * they share the free-list cache, cooldowns, account limits and model health.
 * With a KV handle it persists across restarts and is shared with other
 * processes on the same store.
 *
 * @example Two clients, one state
 * ```ts
 * import { FreeRouterClient, FreeRouterState } from "@freerouter/freerouter";
 * await using state = new FreeRouterState();
 * const a = new FreeRouterClient({ apiKey: "sk-or-v1-…", state });
 * const b = new FreeRouterClient({ apiKey: "sk-or-v1-…", state });
 * await a.close();
 * await b.close();
 * ```
 */
export class FreeRouterState implements AsyncDisposable {
  /** Creates empty state, persisted in `options.kv` when given. */
  constructor(options: FreeRouterStateOptions = {}) {
    internals.set(this, new RoutingState(options));
  }

  /** Whether the state is persisted in KV. */
  get persistent(): boolean {
    return routingState(this).persistent;
  }

  /** Stops syncing with KV and waits for pending writes. Close it before the KV handle. */
  close(): Promise<void> {
    return routingState(this).close();
  }

  /** Same as {@link FreeRouterState.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The workings behind a {@link FreeRouterState}. */
export function routingState(state: FreeRouterState): RoutingState {
  return internals.get(state)!;
}
