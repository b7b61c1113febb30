/**
 * What the routing state knows about each account's daily quota beyond its
 * counts: the last `GET /key` report (or why it failed), the samples of the
 * day's count the projection reads (kept in KV too, so other instances and
 * `freerouter check` see the same history), and who wants to hear of a
 * daily-cap 429.
 *
 * @module
 */
import type { KeyReport } from "../core/key_report.ts";
import { addSample, mergeSamples, type UsageSample } from "../core/quota.ts";
import { ROOT } from "./kv_keys.ts";
import type { KvLike } from "./kv_types.ts";

/** The last `GET /key` read of an account. */
export interface KeyStatus {
  /** The last good report, if any. */
  report: KeyReport | undefined;
  /** Epoch ms of the last good report. */
  checkedAt: number | undefined;
  /** Why the last read failed, when it did (cleared by a good one). */
  error: string | undefined;
  /** Epoch ms of the last failed read. */
  failedAt: number | undefined;
}

/** Where an account's usage samples live in KV. */
export const samplesKey = (id: string) =>
  [ROOT, "quota", id, "samples"] as const;

/** Keeps samples for two days, then KV drops them. */
const SAMPLES_TTL_MS = 2 * 86_400_000;

function isSamples(value: unknown): value is UsageSample[] {
  return Array.isArray(value) &&
    value.every((s) => typeof s?.t === "number" && typeof s?.used === "number");
}

/** Reads an account's samples from a KV store (none when absent or malformed). */
export async function loadSamples(
  kv: KvLike,
  id: string,
): Promise<UsageSample[]> {
  const value = (await kv.get(samplesKey(id))).value;
  return isSamples(value) ? value : [];
}

/** Per-account quota knowledge; one per routing state. */
export class QuotaBook {
  readonly #kv: KvLike | undefined;
  readonly #keys = new Map<string, KeyStatus>();
  readonly #samples = new Map<string, UsageSample[]>();
  readonly #loaded = new Set<string>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #dayBlocked = new Set<(id: string) => void>();

  /** Book-keeping in memory, samples written through to `kv` when given. */
  constructor(kv?: KvLike) {
    this.#kv = kv;
  }

  /** The last `/key` read of an account. */
  key(id: string): KeyStatus | undefined {
    return this.#keys.get(id);
  }

  /** Notes a good `/key` report. */
  noteKey(id: string, report: KeyReport, now: number): void {
    this.#keys.set(id, {
      report,
      checkedAt: now,
      error: undefined,
      failedAt: undefined,
    });
  }

  /** Notes a failed `/key` read (the last good report stays). */
  noteKeyError(id: string, error: string, now: number): void {
    const known = this.#keys.get(id);
    this.#keys.set(id, {
      report: known?.report,
      checkedAt: known?.checkedAt,
      error,
      failedAt: now,
    });
  }

  /** The samples of an account's day count. */
  samples(id: string): readonly UsageSample[] {
    return this.#samples.get(id) ?? [];
  }

  /**
   * Notes the day's count at `now`. A sample that starts a new spacing
   * interval is written to KV in the background (at most about once a
   * minute per account).
   */
  sample(id: string, used: number, now: number): void {
    const before = this.#samples.get(id) ?? [];
    const after = addSample(before, { t: now, used });
    this.#samples.set(id, after);
    // Written when a sample stays (the one before the newest changed), not
    // when only the newest moved: the list's length stops growing once it
    // holds the hour, so it cannot tell.
    if (this.#kv && (after.length < 2 || after.at(-2) !== before.at(-2))) {
      this.#persist(id);
    }
  }

  /** Merges the samples other instances stored (once per account). */
  async load(id: string): Promise<void> {
    if (!this.#kv || this.#loaded.has(id)) return;
    this.#loaded.add(id);
    const stored = await loadSamples(this.#kv, id);
    this.#samples.set(id, mergeSamples(stored, this.samples(id)));
  }

  #persist(id: string): void {
    const kv = this.#kv!;
    const work = (async () => {
      const stored = await loadSamples(kv, id);
      const merged = mergeSamples(stored, this.samples(id));
      await kv.set(samplesKey(id), merged, { expireIn: SAMPLES_TTL_MS });
    })().catch(() => {}); // history is best effort
    this.#pending.add(work);
    work.finally(() => this.#pending.delete(work));
  }

  /** Calls `listener` with the account whenever a daily-cap 429 blocks it; returns the unsubscribe. */
  onDayBlock(listener: (id: string) => void): () => void {
    this.#dayBlocked.add(listener);
    return () => this.#dayBlocked.delete(listener);
  }

  /** Tells the listeners that a daily-cap 429 blocked an account. */
  dayBlocked(id: string): void {
    for (const listener of this.#dayBlocked) listener(id);
  }

  /** Waits for background writes. */
  async settle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }
}
