/**
 * The accounts' attempt counts in UTC minute and day windows: counted
 * atomically in the KV store every instance shares (in memory without one,
 * or while it cannot be reached, and added to it once it answers again),
 * read back for the reports, and set by OpenRouter's `GET /key` reports.
 * Part of {@link RoutingState}, which holds the accounts.
 *
 * @module
 */
import {
  type AccountLimits,
  addCounts,
  admit,
  currentCounts,
  oneMore,
  type SlotRefusal,
  type WindowCounts,
  withKeyUsed,
} from "../core/account_limit.ts";
import type { AccountState } from "./accounts.ts";
import type { KvStateStore } from "./kv_store.ts";
import type { QuotaBook } from "./quota_book.ts";
import { UnsyncedCounts } from "./unsynced_counts.ts";

/** What the counts need from the routing state they belong to. */
export interface CountsHost {
  /** The KV store, when the state is persisted. */
  readonly store: KvStateStore | undefined;
  readonly quota: QuotaBook;
  /** An account's state, created empty on first use. */
  account(id: string): AccountState;
  /** An account's state if it is known. */
  known(id: string): AccountState | undefined;
  warn(message: string): void;
}

/** The accounts' attempt counts (see the module doc). */
export class AccountCounts {
  readonly #host: CountsHost;
  /** Attempts counted in memory while the store could not be reached, by account. */
  readonly #unsynced = new UnsyncedCounts<WindowCounts>(addCounts);

  /** Counts over `host`'s accounts and store. */
  constructor(host: CountsHost) {
    this.#host = host;
  }

  /** Counts one upstream attempt of an account against the limits, or says when there will be room. */
  async takeSlot(
    id: string,
    limits: AccountLimits,
    now: number,
  ): Promise<{ ok: true } | SlotRefusal> {
    const account = this.#host.account(id);
    if (this.#host.store && this.#unsynced.asksStore(now)) {
      try {
        await this.flushUnsynced(id, now);
        const result = await this.#host.store.takeSlot(id, limits, now);
        if (result.ok) {
          account.counts = result.counts;
          this.#host.quota.sample(id, result.counts.dayCount, now);
        }
        return result;
      } catch (err) {
        // KV unreachable: keep routing, counting in memory only (and add
        // these attempts to the store's counts once it answers again; a
        // commit whose reply was lost is then counted twice, erring on the
        // side of the quota), without asking it for a while.
        this.#unsynced.storeFailed(now);
        this.#host.warn(`KV limiter unavailable, counting locally: ${err}`);
      }
    }
    const result = admit(account.counts, limits, now);
    if (result.ok) {
      account.counts = result.next;
      this.#host.quota.sample(id, result.next.dayCount, now);
      if (this.#host.store) {
        this.#unsynced.note(id, oneMore(undefined, now), now);
      }
    }
    return result;
  }

  /**
   * Adds the attempts counted in memory while the store was out to the
   * store's counts (of one account, or of all), so that every instance
   * counts them: before the account's next slot, on each sync tick, and on
   * close. Throws when the store cannot be written (they stay pending).
   */
  async flushUnsynced(id: string | undefined, now: number): Promise<void> {
    const store = this.#host.store;
    if (!store) return;
    await this.#unsynced.flush(id, now, async (account, extra) => {
      const stored = await store.addToCounts(account, extra, now);
      const mine = this.#host.known(account);
      if (mine) mine.counts = stored;
    });
  }

  /**
   * Takes the accounts' counts from the store, where every instance counts:
   * an instance that sent nothing lately still reports what the others
   * spent. For the reports (status, health, metrics), not the hot path,
   * which reads the store only when it counts. Without a store, or when it
   * cannot be read, the counts stay this instance's.
   */
  async refreshCounts(ids: Iterable<string>, now: number): Promise<void> {
    const store = this.#host.store;
    if (!store) return;
    await Promise.all([...ids].map(async (id) => {
      const stored = await store.readCounts(id).catch(() => undefined);
      if (stored === undefined) return;
      const mine = currentCounts(this.#host.known(id)?.counts, now);
      const theirs = currentCounts(stored, now);
      if (lowered(mine, theirs)) {
        // Another instance applied a /key report that showed the count
        // this one holds stale.
        const counts = addCounts(theirs, this.#unsynced.get(id), now);
        this.#host.account(id).counts = counts;
        this.#host.quota.sample(id, counts.dayCount, now);
        return;
      }
      if (
        theirs.dayCount <= mine.dayCount &&
        theirs.minuteCount <= mine.minuteCount
      ) return;
      this.#host.account(id).counts = {
        ...theirs,
        minuteCount: Math.max(mine.minuteCount, theirs.minuteCount),
        dayCount: Math.max(mine.dayCount, theirs.dayCount),
      };
      this.#host.quota.sample(
        id,
        Math.max(mine.dayCount, theirs.dayCount),
        now,
      );
    }));
  }

  /**
   * Applies a `GET /key` count of the day to an account's counts
   * ({@link withKeyUsed}: raised to it, or lowered when an earlier report of
   * the day was stale): atomically in the store, so that every instance
   * counts from it, and in memory. Without a store, or when it cannot be
   * written, in memory only. Returns the account's counts at `now`.
   */
  async applyKeyUsed(
    id: string,
    used: number,
    now: number,
  ): Promise<WindowCounts> {
    const account = this.#host.account(id);
    if (this.#host.store) {
      try {
        const stored = await this.#host.store.applyKeyUsed(id, used, now);
        // With the attempts counted here that the store has yet to take.
        account.counts = addCounts(stored, this.#unsynced.get(id), now);
        return currentCounts(account.counts, now);
      } catch (err) {
        this.#host.warn(
          `KV unavailable, applying /key's count locally: ${err}`,
        );
      }
    }
    account.counts = withKeyUsed(account.counts, used, now);
    return currentCounts(account.counts, now);
  }

  /** An account's attempt counts at `now`, for the status page. */
  at(id: string, now: number): WindowCounts {
    return currentCounts(this.#host.known(id)?.counts, now);
  }
}

/** Whether the stored counts of the day were lowered by a `/key` report since `mine` was read. */
function lowered(mine: WindowCounts, theirs: WindowCounts): boolean {
  return mine.keyUsed !== undefined && theirs.keyUsed !== undefined &&
    theirs.keyUsed < mine.keyUsed;
}
