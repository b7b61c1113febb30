/**
 * Persists freerouter's state in Deno KV (or any store with its API, such as
 * the `@deno/kv` npm package on Node): cooldowns, learned capability gaps,
 * model health, the account block and learned limits, the account's attempt
 * counters, and the last good free pool. Keys start with `"freerouter"`;
 * `expireIn` is used only to collect garbage. Every write that other instances
 * must see also changes `["freerouter", "rev"]`, which they poll.
 *
 * @module
 */
import type {
  AccountBlock,
  AccountLimits,
  LearnedLimits,
  SlotRefusal,
  WindowCounts,
} from "../core/account_limit.ts";
import {
  addCounts,
  admit,
  currentCounts,
  mergeLearned,
  storedBlock,
  withKeyUsed,
} from "../core/account_limit.ts";
import type { CatalogSnapshot } from "./catalog.ts";
import { type CooldownEntry, mergeCooldown } from "../core/cooldown.ts";
import type { ModelHealth } from "../core/health.ts";
import {
  ACCOUNT,
  accountBlock,
  accountCounts,
  accountLimits,
  CATALOG_META,
  catalogPart,
  COOLDOWN,
  GAP,
  GC_MARGIN_MS,
  HEALTH,
  HEALTH_TTL_MS,
  isBlock,
  isCooldownEntry,
  isLearned,
  isStoredModel,
  PART_CHARS,
  REV,
  type SharedState,
  type StoredAccount,
} from "./kv_keys.ts";
import type { KvAtomicLike, KvKeyPart, KvLike } from "./kv_types.ts";
import { CountsEntries } from "./kv_counts.ts";

export type { SharedState, StoredAccount } from "./kv_keys.ts";
export type { KvAtomicLike, KvKeyPart, KvLike } from "./kv_types.ts";

/** Whether a KV error is SQLite lock contention between writers (worth retrying). */
function isContention(err: unknown): boolean {
  return /database is locked|SQLITE_BUSY|busy/i.test(
    String((err as Error)?.message ?? err),
  );
}

/** How long a KV operation is retried while another writer holds the lock. */
export const CONTENTION_BUDGET_MS = 1000;

/**
 * Runs a KV operation, retrying while another writer holds the SQLite lock
 * (with growing pauses, until {@link CONTENTION_BUDGET_MS} have passed since
 * it started: SQLite itself may wait seconds before it says the store is
 * locked, and a lock held for long is an outage, not contention); other
 * errors are thrown. `now` is the clock in ms.
 */
export async function withRetry<T>(
  op: () => Promise<T>,
  now: () => number = () => performance.now(),
): Promise<T> {
  const started = now();
  for (let attempt = 0;; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (
        !isContention(err) || attempt >= 30 ||
        now() - started >= CONTENTION_BUDGET_MS
      ) throw err;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(1 + attempt * 2, 50))
      );
    }
  }
}

/** Everything a store held when it was opened. */
export interface LoadedState extends SharedState {
  catalog: CatalogSnapshot | undefined;
  health: Map<string, ModelHealth>;
  /** Attempt counts by account fingerprint. */
  counts: Map<string, WindowCounts>;
}

/** freerouter's state in a KV store. */
export class KvStateStore {
  readonly #kv: KvLike;
  /** The account counts this instance committed last. */
  readonly #counts: CountsEntries<WindowCounts>;

  /** Wraps an open KV store; the caller keeps ownership and closes it. */
  constructor(kv: KvLike) {
    this.#kv = kv;
    this.#counts = new CountsEntries(
      kv,
      (raw) => (raw as WindowCounts | null) ?? undefined,
    );
  }

  /** The change marker other instances poll. */
  async rev(): Promise<unknown> {
    return (await this.#kv.get(REV)).value;
  }

  /** Drops what this instance remembers of an account (after it was pruned). */
  forget(id: string): void {
    this.#counts.forget(id);
  }

  /** Reads the shared state (cooldowns, gaps, account block, learned limits). */
  async shared(now: number): Promise<SharedState> {
    const cooldowns: CooldownEntry[] = [];
    for await (const entry of this.#kv.list({ prefix: COOLDOWN })) {
      if (isCooldownEntry(entry.value) && entry.value.until > now) {
        cooldowns.push(entry.value);
      }
    }
    const gaps = new Map<string, string[]>();
    for await (const entry of this.#kv.list({ prefix: GAP })) {
      const model = entry.key[2];
      if (typeof model === "string" && Array.isArray(entry.value)) {
        gaps.set(model, entry.value.map(String));
      }
    }
    const accounts = new Map<string, StoredAccount>();
    for await (const entry of this.#kv.list({ prefix: ACCOUNT })) {
      const [, , id, kind] = entry.key;
      if (typeof id !== "string" || (kind !== "block" && kind !== "limits")) {
        continue;
      }
      const account = accounts.get(id) ?? { block: undefined, limits: {} };
      if (kind === "block" && isBlock(entry.value) && entry.value.until > now) {
        account.block = entry.value;
      }
      if (kind === "limits" && isLearned(entry.value)) {
        account.limits = entry.value;
      }
      accounts.set(id, account);
    }
    return { cooldowns, gaps, accounts };
  }

  /** Reads everything. */
  async load(now: number): Promise<LoadedState> {
    const health = new Map<string, ModelHealth>();
    for await (const entry of this.#kv.list({ prefix: HEALTH })) {
      const model = entry.key[2];
      if (
        typeof model === "string" && typeof entry.value === "object" &&
        entry.value !== null
      ) {
        health.set(model, entry.value as ModelHealth);
      }
    }
    const counts = new Map<string, WindowCounts>();
    for await (const entry of this.#kv.list({ prefix: ACCOUNT })) {
      const [, , id, kind] = entry.key;
      if (typeof id === "string" && kind === "counts" && entry.value) {
        counts.set(id, entry.value as WindowCounts);
      }
    }
    return {
      ...(await this.shared(now)),
      catalog: await this.#loadCatalog(),
      health,
      counts,
    };
  }

  #changed(): KvAtomicLike {
    return this.#kv.atomic().set(REV, crypto.randomUUID());
  }

  /** Commits an atomic operation built by `build`, retrying lock contention. */
  #commit(build: () => KvAtomicLike): Promise<unknown> {
    return withRetry(() => build().commit());
  }

  /**
   * A read-merge-write of `keys` with a check-and-set, read again while
   * another instance writes between the read and the commit: `merge` gets
   * the stored values and returns the result and, when something is to be
   * written, the writes (`write` undefined: the store holds it already).
   */
  async #mergeStored<T>(
    keys: ReadonlyArray<readonly KvKeyPart[]>,
    what: string,
    merge: (stored: unknown[]) => {
      result: T;
      write?: (op: KvAtomicLike) => KvAtomicLike;
    },
  ): Promise<T> {
    for (let tries = 0;; tries++) {
      if (tries >= 20) throw new Error(`too much contention on ${what}`);
      const held = await withRetry(() =>
        Promise.all(keys.map((key) => this.#kv.get(key)))
      );
      const { result, write } = merge(held.map((h) => h.value));
      if (write === undefined) return result;
      const committed = await withRetry(() => {
        let op = this.#changed();
        keys.forEach((key, i) => {
          op = op.check({ key, versionstamp: held[i]!.versionstamp });
        });
        return write(op).commit();
      });
      if (committed.ok) return result;
    }
  }

  /**
   * Writes one cooldown merged with the one stored ({@link mergeCooldown}:
   * another instance's longer cooldown stays); returns what the store holds
   * for the model afterwards.
   */
  saveCooldown(entry: CooldownEntry, now: number): Promise<CooldownEntry> {
    const key = [...COOLDOWN, entry.model];
    return this.#mergeStored([key], `${entry.model}'s cooldown`, ([held]) => {
      const stored = isCooldownEntry(held) && held.until > now
        ? held
        : undefined;
      const merged = mergeCooldown(stored, entry);
      return merged === stored // it holds at least as long
        ? { result: merged }
        : {
          result: merged,
          write: (op) =>
            op.set(key, merged, {
              expireIn: Math.max(1, merged.until - now) + GC_MARGIN_MS,
            }),
        };
    });
  }

  /** Deletes cooldowns. */
  async deleteCooldowns(models: readonly string[]): Promise<void> {
    await this.#commit(() => {
      const op = this.#changed();
      for (const model of models) op.delete([...COOLDOWN, model]);
      return op;
    });
  }

  /**
   * Adds the capabilities a model was found to lack to those stored (another
   * instance may have learned others), with a check-and-set; returns them all.
   */
  saveGap(model: string, capabilities: readonly string[]): Promise<string[]> {
    const key = [...GAP, model];
    return this.#mergeStored([key], `${model}'s gaps`, ([held]) => {
      const stored = Array.isArray(held) ? held.map(String) : [];
      const all = [...new Set([...stored, ...capabilities])];
      return all.length === stored.length ? { result: stored } : {
        result: all,
        write: (op) => op.set(key, all, { expireIn: 86_400_000 }),
      };
    });
  }

  /** Forgets learned gaps (after a catalog refresh). */
  async clearGaps(models: readonly string[]): Promise<void> {
    await this.#commit(() => {
      const op = this.#changed();
      for (const model of models) op.delete([...GAP, model]);
      return op;
    });
  }

  /**
   * Writes an account's block (or clears it) and its learned limits, merged
   * with what another instance may have stored since this one read it
   * ({@link storedBlock}, {@link mergeLearned}): a check-and-set, retried
   * when another write comes between. Returns what is stored.
   */
  saveAccount(
    id: string,
    block: AccountBlock | undefined,
    limits: LearnedLimits,
    now: number,
  ): Promise<{ block: AccountBlock | undefined; learned: LearnedLimits }> {
    const blockKey = accountBlock(id);
    const limitsKey = accountLimits(id);
    return this.#mergeStored(
      [blockKey, limitsKey],
      `account ${id}'s block`,
      ([held, learned]) => {
        const merged = storedBlock(
          isBlock(held) && held.until > now ? held : undefined,
          block,
        );
        const mergedLimits = mergeLearned(
          limits,
          isLearned(learned) ? learned : {},
        );
        return {
          result: { block: merged, learned: mergedLimits },
          write: (op) => {
            op = op.set(limitsKey, mergedLimits, { expireIn: 2 * 86_400_000 });
            return merged
              ? op.set(blockKey, merged, {
                expireIn: Math.max(1, merged.until - now) + GC_MARGIN_MS,
              })
              : op.delete(blockKey);
          },
        };
      },
    );
  }

  /** Writes health entries (not shared live: no rev change). */
  async saveHealth(entries: ReadonlyMap<string, ModelHealth>): Promise<void> {
    const all = [...entries];
    for (let i = 0; i < all.length; i += 500) {
      await this.#commit(() => {
        const op = this.#kv.atomic();
        for (const [model, health] of all.slice(i, i + 500)) {
          op.set([...HEALTH, model], health, { expireIn: HEALTH_TTL_MS });
        }
        return op;
      });
    }
  }

  /**
   * Counts one attempt against the limits, atomically across every instance
   * on this store: `{ ok: true }`, or `{ ok: false, retryAt }` when the limits
   * are reached.
   */
  async takeSlot(
    account: string,
    limits: AccountLimits,
    now: number,
  ): Promise<{ ok: true; counts: WindowCounts } | SlotRefusal> {
    const verdict = await this.#counts.count<SlotRefusal>(
      account,
      accountCounts(account),
      (current) => {
        const slot = admit(current, limits, now);
        return slot.ok ? { next: slot.next } : { refused: slot };
      },
    );
    return "refused" in verdict
      ? verdict.refused
      : { ok: true, counts: verdict.next };
  }

  /**
   * Adds attempts this instance counted only in memory (while the store
   * could not be reached) to an account's stored counts, atomically; the
   * counts now stored.
   */
  async addToCounts(
    account: string,
    extra: WindowCounts,
    now: number,
  ): Promise<WindowCounts> {
    const verdict = await this.#counts.count<never>(
      account,
      accountCounts(account),
      (current) => ({ next: addCounts(current, extra, now) }),
    );
    return (verdict as { next: WindowCounts }).next;
  }

  /** An account's block, if one holds at `now`. */
  async readBlock(
    account: string,
    now: number,
  ): Promise<AccountBlock | undefined> {
    const { value } = await withRetry(() =>
      this.#kv.get(accountBlock(account))
    );
    return isBlock(value) && value.until > now ? value : undefined;
  }

  /**
   * Applies a `GET /key` count of the day to an account's counts
   * ({@link withKeyUsed}), atomically; returns the counts now stored. Gives
   * up (throws) after 20 conflicting commits.
   */
  async applyKeyUsed(
    account: string,
    used: number,
    now: number,
  ): Promise<WindowCounts> {
    const verdict = await this.#counts.count<WindowCounts>(
      account,
      accountCounts(account),
      (stored) => {
        const c = currentCounts(stored, now);
        const next = withKeyUsed(c, used, now);
        return next.dayCount === c.dayCount && next.keyUsed === c.keyUsed
          ? { refused: c }
          : { next };
      },
      20,
    );
    return "refused" in verdict ? verdict.refused : verdict.next;
  }

  /** An account's counts as every instance on the store counted them. */
  readCounts(account: string): Promise<WindowCounts | undefined> {
    return this.#counts.peek(accountCounts(account));
  }

  /** Writes the last good catalog. */
  async saveCatalog(snapshot: CatalogSnapshot): Promise<void> {
    const json = JSON.stringify(snapshot.pool);
    const parts = Math.ceil(json.length / PART_CHARS);
    await this.#commit(() => {
      const op = this.#kv.atomic();
      for (let i = 0; i < parts; i++) {
        op.set(
          catalogPart(i),
          json.slice(i * PART_CHARS, (i + 1) * PART_CHARS),
        );
      }
      return op.set(CATALOG_META, { fetchedAt: snapshot.fetchedAt, parts });
    });
  }

  async #loadCatalog(): Promise<CatalogSnapshot | undefined> {
    const meta = (await this.#kv.get(CATALOG_META)).value as {
      fetchedAt?: unknown;
      parts?: unknown;
    } | null;
    if (typeof meta?.fetchedAt !== "number" || typeof meta.parts !== "number") {
      return undefined;
    }
    let json = "";
    for (let i = 0; i < meta.parts; i++) {
      const part = (await this.#kv.get(catalogPart(i))).value;
      if (typeof part !== "string") return undefined;
      json += part;
    }
    try {
      const pool = JSON.parse(json);
      return Array.isArray(pool) && pool.every(isStoredModel)
        ? { pool, fetchedAt: meta.fetchedAt }
        : undefined;
    } catch {
      return undefined;
    }
  }
}
