/**
 * Each client key's requests, counted in UTC minute and day windows against
 * its own limits: atomically in the KV store the account's counts live in
 * (so every instance on the store enforces one limit), or in memory without
 * one (or while KV is unreachable: those requests are added to the store's
 * counts once it answers again). Clients are named by their name, never
 * their key.
 *
 * @module
 */
import {
  addCounts,
  admit,
  currentCounts,
  oneMore,
  type WindowCounts,
} from "../core/account_limit.ts";
import { CountsEntries } from "./kv_counts.ts";
import { ROOT } from "./kv_keys.ts";
import type { KvLike } from "./kv_types.ts";
import { UnsyncedCounts } from "./unsynced_counts.ts";

/** A client's counts and its last request. */
export interface ClientCounts extends WindowCounts {
  /** Epoch ms of its last counted request (0 when none). */
  last: number;
}

/** A client's limits; absent means none. */
export interface ClientLimits {
  perDay?: number;
  perMinute?: number;
}

/** Admission of one request: counted, or refused until `retryAt`. */
export type ClientAdmission =
  | { ok: true; counts: ClientCounts }
  | { ok: false; retryAt: number; window: "day" | "minute" };

/** A client's usage as shown. */
export interface ClientUsageView {
  today: number;
  thisMinute: number;
  /** Epoch ms of the last request, or `null`. */
  last: number | null;
}

const PREFIX = [ROOT, "client"] as const;
/** Where a client's counts live in KV. */
export const clientCountsKey = (name: string) =>
  [...PREFIX, name, "counts"] as const;

function isCounts(v: unknown): v is ClientCounts {
  const c = v as ClientCounts;
  return typeof c === "object" && c !== null && typeof c.day === "number" &&
    typeof c.dayCount === "number" && typeof c.minute === "number" &&
    typeof c.minuteCount === "number";
}

/** Counts one request at `now` against `limits`. Pure. */
export function admitClient(
  counts: ClientCounts | undefined,
  limits: ClientLimits,
  now: number,
): ClientAdmission {
  const verdict = admit(counts, {
    rpm: limits.perMinute ?? 0,
    rpd: limits.perDay,
  }, now);
  if (!verdict.ok) {
    const full = limits.perDay !== undefined &&
      currentCounts(counts, now).dayCount >= limits.perDay;
    return {
      ok: false,
      retryAt: verdict.retryAt,
      window: full ? "day" : "minute",
    };
  }
  return { ok: true, counts: { ...verdict.next, last: now } };
}

/** Client request counts. */
export class ClientUsage {
  readonly #kv: KvLike | undefined;
  readonly #memory = new Map<string, ClientCounts>();
  /** The counts this instance wrote to KV last. */
  #entries: CountsEntries<ClientCounts> | undefined;
  /** Requests counted in memory while KV could not be reached, by client. */
  readonly #unsynced = new UnsyncedCounts<ClientCounts>(plus);
  #warned = false;

  /** Counts in `kv` when given, else in memory. */
  constructor(kv: KvLike | undefined, readonly warn: (m: string) => void) {
    this.#kv = kv;
  }

  /** Counts one request of `name`, or refuses it when a limit is reached. */
  async take(
    name: string,
    limits: ClientLimits,
    now: number,
  ): Promise<ClientAdmission> {
    if (this.#kv && this.#unsynced.asksStore(now)) {
      try {
        await this.#flush(this.#kv, now);
        const result = await this.#takeInKv(this.#kv, name, limits, now);
        if (result.ok) this.#memory.set(name, result.counts);
        return result;
      } catch (err) {
        this.#unsynced.storeFailed(now); // see STORE_RETRY_MS
        if (!this.#warned) {
          this.#warned = true;
          this.warn(
            `KV unavailable for client counts, counting locally: ${err}`,
          );
        }
      }
    }
    const result = admitClient(this.#memory.get(name), limits, now);
    if (result.ok) {
      this.#memory.set(name, result.counts);
      if (this.#kv) {
        this.#unsynced.note(
          name,
          { ...oneMore(undefined, now), last: now },
          now,
        );
      }
    }
    return result;
  }

  /**
   * Adds the requests counted in memory while the store was out to the
   * store's counts, so that every instance counts them. Throws when the
   * store cannot be written (the rest stay pending).
   */
  async #flush(kv: KvLike, now: number): Promise<void> {
    await this.#unsynced.flush(undefined, now, async (name, extra) => {
      const verdict = await this.#entriesOf(kv).count<never>(
        name,
        clientCountsKey(name),
        (current) => ({ next: plus(current, extra, now) }),
      );
      this.#memory.set(name, (verdict as { next: ClientCounts }).next);
    });
  }

  #entriesOf(kv: KvLike): CountsEntries<ClientCounts> {
    return this.#entries ??= new CountsEntries(
      kv,
      (raw) => isCounts(raw) ? raw : undefined,
    );
  }

  async #takeInKv(
    kv: KvLike,
    name: string,
    limits: ClientLimits,
    now: number,
  ): Promise<ClientAdmission> {
    const verdict = await this.#entriesOf(kv).count<ClientAdmission>(
      name,
      clientCountsKey(name),
      (current) => {
        const admission = admitClient(current, limits, now);
        return admission.ok
          ? { next: admission.counts }
          : { refused: admission };
      },
    );
    return "refused" in verdict
      ? verdict.refused
      : { ok: true, counts: verdict.next };
  }

  /** The usage of each named client at `now` (read from KV when attached). */
  async usage(
    names: readonly string[],
    now: number,
  ): Promise<Map<string, ClientUsageView>> {
    const stored = new Map(this.#memory);
    if (this.#kv) {
      try {
        await this.#flush(this.#kv, now);
        for await (const entry of this.#kv.list({ prefix: PREFIX })) {
          const [, , name, kind] = entry.key;
          if (
            typeof name === "string" && kind === "counts" &&
            isCounts(entry.value)
          ) stored.set(name, entry.value);
        }
      } catch {
        // KV unreachable: what this instance counted.
      }
    }
    const out = new Map<string, ClientUsageView>();
    for (const name of names) {
      const c = stored.get(name);
      const current = currentCounts(c, now);
      out.set(name, {
        today: current.dayCount,
        thisMinute: current.minuteCount,
        last: c && c.last > 0 ? c.last : null,
      });
    }
    return out;
  }
}

/** `counts` with the requests of `extra` added (and the later last request). */
function plus(
  counts: ClientCounts | undefined,
  extra: ClientCounts,
  now: number,
): ClientCounts {
  return {
    ...addCounts(counts, extra, now),
    last: Math.max(counts?.last ?? 0, extra.last),
  };
}

/** Seconds from `now` to `retryAt`, at least 1. */
export function retryAfterSeconds(retryAt: number, now: number): number {
  return Math.max(1, Math.ceil((retryAt - now) / 1000));
}
