/** Small async and byte helpers shared by the tests. */

/** A promise with its resolver. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Awaits `p`, failing (instead of hanging) if it never settles: a watchdog
 * that turns a hang into a failure, never used to wait for something.
 */
export async function within<T>(
  p: Promise<T>,
  what: string,
  ms = 10_000,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watchdog = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`never happened: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, watchdog]);
  } finally {
    clearTimeout(timer);
  }
}

/** Concatenates byte chunks. */
export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** Every item of an async iterable, in order. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/**
 * Resolves at once, or, within `marginMs` of the next 00:00 UTC, just after
 * it: a test that runs on the real UTC day (the free tier's) keeps out of
 * the day's last moments, when the day would end under it.
 */
export async function awayFromMidnight(marginMs: number): Promise<void> {
  const toMidnight = 86_400_000 - Date.now() % 86_400_000;
  if (toMidnight < marginMs) {
    await new Promise((resolve) => setTimeout(resolve, toMidnight + 1_000));
  }
}
