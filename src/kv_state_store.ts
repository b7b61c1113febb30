/**
 * Persists freerouter's state in Deno KV (or any store with its API, such as
 * the `@deno/kv` npm package on Node): cooldowns and the last good free pool.
 * Keys are `["freerouter", …]`; `expireIn` is used only to collect garbage.
 *
 * @module
 */
import type { CatalogSnapshot } from "./catalog.ts";
import type { CooldownEntry } from "./cooldown.ts";

/** A KV key part, as Deno KV takes it. */
export type KvKeyPart = string | number | bigint | boolean | Uint8Array;

/**
 * The part of the Deno KV API freerouter uses. `Deno.Kv` satisfies it, and so
 * does `Kv` from the `@deno/kv` npm package.
 *
 * @example Use an in-memory Deno KV
 * ```ts ignore
 * import type { KvLike } from "@freerouter/freerouter";
 * const kv: KvLike = await Deno.openKv(":memory:");
 * ```
 */
export interface KvLike {
  /** Reads one entry. */
  get(key: readonly KvKeyPart[]): Promise<{ value: unknown }>;
  /** Writes one entry. */
  set(
    key: readonly KvKeyPart[],
    value: unknown,
    options?: { expireIn?: number },
  ): Promise<unknown>;
  /** Lists entries under a prefix. */
  list(
    selector: { prefix: readonly KvKeyPart[] },
  ): AsyncIterable<{ key: readonly unknown[]; value: unknown }>;
  /** Starts an atomic operation. */
  atomic(): KvAtomicLike;
  /** Closes the store. */
  close(): void;
}

/** The part of Deno KV's atomic operation freerouter uses. */
export interface KvAtomicLike {
  /** Queues a write. */
  set(
    key: readonly KvKeyPart[],
    value: unknown,
    options?: { expireIn?: number },
  ): KvAtomicLike;
  /** Commits the queued writes together. */
  commit(): Promise<unknown>;
}

const ROOT = "freerouter";
const COOLDOWN = [ROOT, "cooldown"] as const;
const CATALOG_META = [ROOT, "catalog", "meta"] as const;
const catalogPart = (i: number) => [ROOT, "catalog", "part", i] as const;
/** Characters per catalog part: well under KV's 64 KiB value limit even for multi-byte text. */
const PART_CHARS = 16_000;
/** Cooldown entries live this much longer than the cooldown, then KV drops them. */
const GC_MARGIN_MS = 60_000;

function isCooldownEntry(value: unknown): value is CooldownEntry {
  const v = value as CooldownEntry;
  return typeof v === "object" && v !== null && typeof v.model === "string" &&
    typeof v.until === "number" && typeof v.reason === "string";
}

/** What a store held when it was opened. */
export interface LoadedState {
  cooldowns: CooldownEntry[];
  catalog: CatalogSnapshot | undefined;
}

/** freerouter's state in a KV store. */
export class KvStateStore {
  readonly #kv: KvLike;

  /** Wraps an open KV store; the caller keeps ownership and closes it. */
  constructor(kv: KvLike) {
    this.#kv = kv;
  }

  /** Reads every cooldown and the last good catalog. */
  async load(now: number): Promise<LoadedState> {
    const cooldowns: CooldownEntry[] = [];
    for await (const entry of this.#kv.list({ prefix: COOLDOWN })) {
      if (isCooldownEntry(entry.value) && entry.value.until > now) {
        cooldowns.push(entry.value);
      }
    }
    return { cooldowns, catalog: await this.#loadCatalog() };
  }

  /** Writes one cooldown. */
  async saveCooldown(entry: CooldownEntry, now: number): Promise<void> {
    await this.#kv.set([...COOLDOWN, entry.model], entry, {
      expireIn: Math.max(1, entry.until - now) + GC_MARGIN_MS,
    });
  }

  /** Writes the last good catalog. */
  async saveCatalog(snapshot: CatalogSnapshot): Promise<void> {
    const json = JSON.stringify(snapshot.pool);
    const parts = Math.ceil(json.length / PART_CHARS);
    const op = this.#kv.atomic();
    for (let i = 0; i < parts; i++) {
      op.set(catalogPart(i), json.slice(i * PART_CHARS, (i + 1) * PART_CHARS));
    }
    op.set(CATALOG_META, { fetchedAt: snapshot.fetchedAt, parts });
    await op.commit();
  }

  async #loadCatalog(): Promise<CatalogSnapshot | undefined> {
    const meta = (await this.#kv.get(CATALOG_META)).value as
      | { fetchedAt?: unknown; parts?: unknown }
      | null;
    if (
      typeof meta?.fetchedAt !== "number" || typeof meta.parts !== "number"
    ) return undefined;
    let json = "";
    for (let i = 0; i < meta.parts; i++) {
      const part = (await this.#kv.get(catalogPart(i))).value;
      if (typeof part !== "string") return undefined;
      json += part;
    }
    try {
      const pool = JSON.parse(json);
      return Array.isArray(pool)
        ? { pool, fetchedAt: meta.fetchedAt }
        : undefined;
    } catch {
      return undefined;
    }
  }
}
