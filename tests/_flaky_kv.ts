/**
 * A KV store that can be taken down, for the tests of what happens while
 * KV is unreachable.
 *
 * @module
 */
import type { KvAtomicLike, KvLike } from "../src/state/kv_types.ts";

/**
 * A KV store that can be taken down (`down`: every read and commit fails) or
 * fill up (`full`: reads work, every write fails, as on a full disk).
 */
export function flaky(
  kv: Deno.Kv,
): KvLike & { down: boolean; full: boolean } {
  const fail = () => Promise.reject(new Error("the store is unreachable"));
  const store = {
    down: false,
    full: false,
    get: (key: Deno.KvKey) => store.down ? fail() : kv.get(key),
    set: (key: Deno.KvKey, value: unknown, options?: { expireIn?: number }) =>
      store.down || store.full ? fail() : kv.set(key, value, options),
    list: (selector: { prefix: Deno.KvKey }) => kv.list(selector),
    atomic(): KvAtomicLike {
      const op = kv.atomic();
      const wrapped: KvAtomicLike = {
        check: (c) => (op.check(c as Deno.AtomicCheck), wrapped),
        set: (key, value, options) => (op.set(key, value, options), wrapped),
        delete: (key) => (op.delete(key), wrapped),
        commit: () => store.down || store.full ? fail() : op.commit(),
      };
      return wrapped;
    },
    close: () => kv.close(),
  };
  return store as KvLike & { down: boolean; full: boolean };
}
