/**
 * The response cache in the KV store, shared by every instance on it:
 *
 * - `["freerouter", "cache", "entry", key]` → `{expires, size, text}` (or
 *   `parts` when the answer is split over `["freerouter", "cache", "part",
 *   key, i]`, KV values being capped at 64 KiB);
 * - `["freerouter", "cache", "order", expires, key]` → `{size, parts}`: the
 *   eviction order, earliest expiry first;
 * - `["freerouter", "cache", "meta"]` → `{bytes}`: the total, changed in the
 *   same atomic commit as the entries, guarded by its versionstamp.
 *
 * Expiry compares the stored `expires` with the caller's clock; KV's own
 * `expireIn` only collects garbage.
 *
 * @module
 */
import { withRetry } from "./kv_store.ts";
import { PART_CHARS, ROOT } from "./kv_keys.ts";
import type { KvAtomicLike, KvKeyPart, KvLike } from "./kv_types.ts";
import { MAX_EVICTIONS, type ResponseCache, sizeOf } from "./response_cache.ts";

const entryKey = (key: string) => [ROOT, "cache", "entry", key] as const;
const partKey = (key: string, i: number) =>
  [ROOT, "cache", "part", key, i] as const;
const ORDER = [ROOT, "cache", "order"] as const;
const orderKey = (expires: number, key: string) =>
  [...ORDER, expires, key] as const;
const META = [ROOT, "cache", "meta"] as const;

/** The largest answer stored in KV (an atomic commit is capped near 800 KB). */
export const MAX_KV_ENTRY_BYTES = 256 * 1024;
/** Extra time KV keeps an entry before collecting it. */
const GC_MARGIN_MS = 3_600_000;

interface StoredEntry {
  expires: number;
  size: number;
  text?: string;
  parts?: number;
}

function isEntry(v: unknown): v is StoredEntry {
  const e = v as StoredEntry;
  return typeof e === "object" && e !== null &&
    typeof e.expires === "number" && typeof e.size === "number";
}

/** The response cache in a KV store. */
export class KvResponseCache implements ResponseCache {
  readonly #kv: KvLike;

  /** A cache in `kv` holding at most `maxBytes`. */
  constructor(kv: KvLike, readonly maxBytes: number) {
    this.#kv = kv;
  }

  async get(key: string, now: number): Promise<string | undefined> {
    const entry = (await this.#kv.get(entryKey(key))).value;
    if (!isEntry(entry) || entry.expires <= now) return undefined;
    if (typeof entry.text === "string") return entry.text;
    let text = "";
    for (let i = 0; i < (entry.parts ?? 0); i++) {
      const part = (await this.#kv.get(partKey(key, i))).value;
      if (typeof part !== "string") return undefined;
      text += part;
    }
    return text;
  }

  async set(
    key: string,
    text: string,
    now: number,
    expires: number,
  ): Promise<boolean> {
    const size = sizeOf(text);
    if (size > Math.min(this.maxBytes, MAX_KV_ENTRY_BYTES)) return false;
    const parts = text.length > PART_CHARS
      ? Math.ceil(text.length / PART_CHARS)
      : 0;
    for (let tries = 0; tries < 10; tries++) {
      const op = await this.#plan(key, text, size, parts, now, expires);
      if (op === undefined) return false;
      const committed = await withRetry(() => op().commit());
      if (committed.ok) return true;
    }
    return false; // too much contention: skip storing this one
  }

  /** The atomic commit that stores the answer, or `undefined` when it cannot fit. */
  async #plan(
    key: string,
    text: string,
    size: number,
    parts: number,
    now: number,
    expires: number,
  ): Promise<(() => KvAtomicLike) | undefined> {
    const kv = this.#kv;
    const meta = await kv.get(META);
    let bytes = (meta.value as { bytes?: number } | null)?.bytes ?? 0;
    const old = await kv.get(entryKey(key));
    const deletes: Array<readonly KvKeyPart[]> = [];
    if (isEntry(old.value)) {
      if (old.value.expires > now) return undefined; // another instance stored it
      deletes.push(orderKey(old.value.expires, key));
      bytes -= old.value.size;
    }
    const evicted: Array<{ key: string; expires: number; parts: number }> = [];
    for await (const e of kv.list({ prefix: ORDER })) {
      if (evicted.length >= MAX_EVICTIONS) break;
      const [, , , at, victim] = e.key;
      if (typeof at !== "number" || typeof victim !== "string") continue;
      if (victim === key) continue; // handled above
      if (at > now && bytes + size <= this.maxBytes) break;
      const v = e.value as { size?: number; parts?: number } | null;
      evicted.push({ key: victim, expires: at, parts: v?.parts ?? 0 });
      bytes -= v?.size ?? 0;
    }
    if (bytes + size > this.maxBytes) return undefined;
    const expireIn = Math.max(1, expires - now) + GC_MARGIN_MS;
    return () => {
      const op = kv.atomic()
        .check({ key: META, versionstamp: meta.versionstamp })
        .check({ key: entryKey(key), versionstamp: old.versionstamp });
      for (const k of deletes) op.delete(k);
      for (const v of evicted) {
        op.delete(orderKey(v.expires, v.key)).delete(entryKey(v.key));
        for (let i = 0; i < v.parts; i++) op.delete(partKey(v.key, i));
      }
      const stored: StoredEntry = parts === 0
        ? { expires, size, text }
        : { expires, size, parts };
      op.set(entryKey(key), stored, { expireIn });
      for (let i = 0; i < parts; i++) {
        op.set(
          partKey(key, i),
          text.slice(i * PART_CHARS, (i + 1) * PART_CHARS),
          { expireIn },
        );
      }
      op.set(orderKey(expires, key), { size, parts });
      return op.set(META, { bytes: Math.max(0, bytes) + size });
    };
  }
}
