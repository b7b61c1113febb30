/**
 * Gives freed memory back to the operating system when the proxy goes idle.
 * After a burst of load, V8 keeps garbage until its next major collection and
 * glibc's allocator keeps the memory it freed, so RSS stays near its peak long
 * after the load. On a few idle ticks after activity this runs a full
 * collection (when `--v8-flags=--expose-gc` is given) and `malloc_trim(0)`
 * (Linux with glibc, when `--allow-ffi` is given); otherwise it does nothing.
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

/** Starts trimming memory every `intervalMs` while idle; a no-op without the permissions it needs. */
export function startMemoryTrimmer(intervalMs = 1_000): MemoryTrimmer {
  const gc = (globalThis as { gc?: () => void }).gc;
  const libc = openLibc();
  if (!gc && !libc) return { touch() {}, close() {} };
  const trimmer = new IdleTrimmer(() => {
    gc?.();
    libc?.symbols.malloc_trim(0n);
  });
  const timer = setInterval(() => trimmer.tick(), intervalMs);
  Deno.unrefTimer(timer);
  return {
    touch: () => trimmer.touch(),
    close() {
      clearInterval(timer);
      libc?.close();
    },
  };
}
