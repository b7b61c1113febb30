/**
 * Two instances' routing states on one KV file (as two processes on one
 * SQLite file share it), and a KV handle that lets another instance write
 * between one's read and its commit.
 */
import { RoutingState } from "../src/state/state.ts";
import type { KvAtomicLike, KvLike } from "../src/state/kv_types.ts";
import { withKvFile } from "./_harness.ts";

/** Two instances' states on one KV file, loaded at `now`; closed after `fn`. */
export async function twoInstances(
  now: number,
  fn: (a: RoutingState, b: RoutingState, kv: Deno.Kv) => Promise<void>,
): Promise<void> {
  await withKvFile(async (path) => {
    const kvA = await Deno.openKv(path);
    const kvB = await Deno.openKv(path);
    const a = new RoutingState({ kv: kvA, syncIntervalMs: 60_000 });
    const b = new RoutingState({ kv: kvB, syncIntervalMs: 60_000 });
    try {
      await a.load(() => now);
      await b.load(() => now);
      await fn(a, b, kvA);
    } finally {
      await a.close();
      await b.close();
      kvA.close();
      kvB.close();
    }
  });
}

/**
 * `kv` whose first atomic commit runs `between` first (another instance's
 * write landing between this one's read and its commit); `commits()` counts
 * the commits tried.
 */
export function racingKv(
  kv: Deno.Kv,
  between: () => Promise<void>,
): { kv: KvLike; commits: () => number } {
  let run: (() => Promise<void>) | undefined = between;
  let commits = 0;
  return {
    commits: () => commits,
    kv: {
      get: (key) => kv.get(key as Deno.KvKey),
      set: (key, value, options) => kv.set(key as Deno.KvKey, value, options),
      list: (selector) => kv.list(selector as { prefix: Deno.KvKey }),
      close: () => kv.close(),
      atomic() {
        const op = kv.atomic();
        const wrapped: KvAtomicLike = {
          check: (c) => (op.check(c as Deno.AtomicCheck), wrapped),
          set: (k, v, o) => (op.set(k as Deno.KvKey, v, o), wrapped),
          delete: (k) => (op.delete(k as Deno.KvKey), wrapped),
          commit: async () => {
            commits++;
            const first = run;
            run = undefined;
            await first?.();
            return await op.commit();
          },
        };
        return wrapped;
      },
    },
  };
}
