/**
 * The server's `--trace-gc` output, read as it comes: the collections of V8's
 * memory reducer, and the wait for it to settle once a load is over.
 *
 * @module
 */

import { REDUCER_TIMEOUT_MS, sleep } from "./settings.ts";

/** A collection by V8's memory reducer: the heap's size after it. */
export interface Reduction {
  /** `performance.now()` here when the line arrived. */
  at: number;
  /** MB of live objects after the collection. */
  used: number;
  /** MB the heap holds after it. */
  committed: number;
}

/**
 * What the server's `--trace-gc` prints, read as it comes. `deno task start`
 * gives the server no `gc()` and no inspector, and neither is added here:
 * `--inspect` alone, with no session ever opened, doubled what is measured
 * (RSS 15 s after each round 264-271 MB against 130-136 MB without it, the
 * difference in the C allocator's heap). Instead the server is left to do what
 * it does when it goes idle: once the allocation rate drops, V8's memory
 * reducer runs one to three full collections marked `(reduce)` and gives the
 * heap's free pages back. Their last line gives the live heap, and RSS read
 * after it is the server's idle footprint.
 */
export class GcLog {
  readonly reductions: Reduction[] = [];

  async read(stdout: ReadableStream<Uint8Array>): Promise<void> {
    let rest = "";
    for await (const chunk of stdout.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        const m =
          /Mark-Compact \(reduce\) [\d.]+ \([\d.]+\) -> ([\d.]+) \(([\d.]+)\) MB/
            .exec(line);
        if (m) {
          this.reductions.push({
            at: performance.now(),
            used: Number(m[1]),
            committed: Number(m[2]),
          });
        }
      }
    }
  }

  /**
   * The reducer's last collection after `since`, once 2 s pass without
   * another (it spaces its collections by about 0.5 s); `undefined` if none
   * came within REDUCER_TIMEOUT_MS.
   */
  async settled(since: number): Promise<Reduction | undefined> {
    for (;;) {
      const last = this.reductions.at(-1);
      const seen = last !== undefined && last.at >= since ? last : undefined;
      const now = performance.now();
      if (seen && now - seen.at >= 2000) return seen;
      if (now - since > REDUCER_TIMEOUT_MS) return seen;
      await sleep(100);
    }
  }
}
