/**
 * Gives freed memory back to the operating system when the proxy goes idle.
 * After a burst of load, V8 keeps garbage until its next major collection,
 * keeps its young generation at the size the load grew it to and pools the
 * pages it freed, and glibc's allocator keeps the memory it freed, so RSS
 * stays near its peak long after the load. On a few idle ticks after activity
 * this runs V8's "last resort" collection (the one a low-memory notification
 * runs: repeated full collections that also shrink the young generation and
 * release pooled pages; when `--v8-flags=--expose-gc` is given) and
 * `malloc_trim(0)` (Linux with glibc, when `--allow-ffi` is given); otherwise
 * it does nothing.
 * Deno-only: the library never imports it.
 *
 * @module
 */

/** Idle ticks after activity on which memory is trimmed (memory is freed gradually as connections close). */
export const IDLE_TRIMS = 10;

/** The idle policy: trim on the first few ticks without activity, never while busy. */
export class IdleTrimmer {
  #active = false;
  #pending = 0;

  /** `trim` returns memory to the system. */
  constructor(readonly trim: () => void) {}

  /** Marks activity (a request started). */
  touch(): void {
    this.#active = true;
    this.#pending = IDLE_TRIMS;
  }

  /**
   * One timer tick: trims when the last interval saw no request start and
   * trims are pending. (Streams may still be running: a full collection of a
   * small heap pauses them for a few milliseconds, a few times.)
   */
  tick(): void {
    if (this.#active) {
      this.#active = false;
      return;
    }
    if (this.#pending === 0) return;
    this.#pending--;
    this.trim();
  }
}

/** A running trimmer. */
export interface MemoryTrimmer {
  /** Marks activity (a request started). */
  touch(): void;
  /** Stops the timer and unloads libc. */
  close(): void;
}

/** The options V8's `gc()` (from `--expose-gc`) takes. */
interface GcOptions {
  type: "minor" | "major";
  execution: "sync" | "async";
  flavor: "regular" | "last-resort";
}

/**
 * A plain `gc()` frees objects but leaves the heap's committed size as it is;
 * the last-resort flavor gives it back (measured on a heap grown by churn:
 * 68 MiB committed after `gc()`, 3.4 MiB after this, in about 2 ms).
 */
const LAST_RESORT: GcOptions = {
  type: "major",
  execution: "sync",
  flavor: "last-resort",
};

type Libc = Deno.DynamicLibrary<
  { malloc_trim: { parameters: ["usize"]; result: "i32" } }
>;

function openLibc(): Libc | undefined {
  if (
    Deno.build.os !== "linux" ||
    Deno.permissions.querySync({ name: "ffi" }).state !== "granted"
  ) return undefined;
  try {
    return Deno.dlopen("libc.so.6", {
      malloc_trim: { parameters: ["usize"], result: "i32" },
    });
  } catch {
    return undefined; // not glibc (e.g. musl)
  }
}

/** Gives memory back to the operating system now. */
export interface MemoryTrim {
  /** Runs V8's last-resort collection and `malloc_trim(0)`, as far as the permissions allow. */
  trim(): void;
  /** Unloads libc. */
  close(): void;
}

/**
 * The trim step with what this process may use: V8's last-resort collection
 * (with `--v8-flags=--expose-gc`) and `malloc_trim(0)` (with `--allow-ffi`, on
 * Linux with glibc); `undefined` when it may use neither.
 */
export function openMemoryTrim(): MemoryTrim | undefined {
  const gc = (globalThis as { gc?: (options?: GcOptions) => void }).gc;
  const libc = openLibc();
  if (!gc && !libc) return undefined;
  return {
    trim() {
      gc?.(LAST_RESORT);
      libc?.symbols.malloc_trim(0n);
    },
    close: () => libc?.close(),
  };
}

/** Starts trimming memory every `intervalMs` while idle; a no-op without the permissions it needs. */
export function startMemoryTrimmer(intervalMs = 1_000): MemoryTrimmer {
  const memory = openMemoryTrim();
  if (!memory) return { touch() {}, close() {} };
  const trimmer = new IdleTrimmer(() => memory.trim());
  const timer = setInterval(() => trimmer.tick(), intervalMs);
  Deno.unrefTimer(timer);
  return {
    touch: () => trimmer.touch(),
    close() {
      clearInterval(timer);
      memory.close();
    },
  };
}
