/**
 * The part of Deno KV's API freerouter uses, as types: Deno's own `Deno.Kv`
 * and the `@deno/kv` npm package on Node both fit.
 *
 * @module
 */

/**
 * A KV key part, as Deno KV takes it.
 *
 * @example A key
 * ```ts
 * import type { KvKeyPart } from "@freerouter/freerouter";
 * const key: KvKeyPart[] = ["freerouter", "cooldown", "qwen/qwen3-coder:free"];
 * ```
 */
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
  get(
    key: readonly KvKeyPart[],
  ): Promise<{ value: unknown; versionstamp: string | null }>;
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

/**
 * The part of Deno KV's atomic operation freerouter uses.
 *
 * @example Write two keys together
 * ```ts ignore
 * import type { KvLike } from "@freerouter/freerouter";
 * declare const kv: KvLike;
 * await kv.atomic().set(["a"], 1).set(["b"], 2).commit();
 * ```
 */
export interface KvAtomicLike {
  /** Fails the commit unless the key still has this versionstamp (`null`: absent). */
  check(
    check: { key: readonly KvKeyPart[]; versionstamp: string | null },
  ): KvAtomicLike;
  /** Queues a write. */
  set(
    key: readonly KvKeyPart[],
    value: unknown,
    options?: { expireIn?: number },
  ): KvAtomicLike;
  /** Queues a delete. */
  delete(key: readonly KvKeyPart[]): KvAtomicLike;
  /** Commits the queued writes together; `{ ok: false }` when a check failed. */
  commit(): Promise<{ ok: boolean; versionstamp?: string }>;
}
