/**
 * Deadlines that share one timer. A busy proxy arms and clears a deadline
 * for every attempt and every read; with a timer each, that is a
 * `setTimeout`/`clearTimeout` pair per step. Here the one timer is set for
 * the earliest armed deadline only, so arming a later deadline (the usual
 * case, since every attempt uses the same timeouts) or clearing one costs a
 * few field writes.
 *
 * Two choices keep the hot path free of garbage the collector would have to
 * keep:
 * - The armed deadlines form a list threaded through the deadlines
 *   themselves. A `Set` with an entry added and deleted per request rebuilds
 *   its table every few requests, and V8 links each old table to its
 *   replacement: once a table has been promoted, that link keeps every later
 *   table alive through the next young-generation collection (measured: a
 *   quarter of what freerouter promoted under load).
 * - The timer is not cancelled when the last deadline is cleared: a
 *   sequential client would otherwise pay a `setTimeout`/`clearTimeout` pair
 *   per request. It is unreferenced instead (where timers can be), so only
 *   an armed deadline keeps the process alive; when it fires with nothing
 *   due it sets itself for the next armed deadline, if any.
 *
 * @module
 */

/** The armed deadlines, newest first (threaded through `next`/`prev`). */
let first: Deadline | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;
/** When `timer` fires (`performance.now()` time), or `Infinity` when unset. */
let timerAt = Infinity;
function setTimer(at: number): void {
  if (timer !== undefined) clearTimeout(timer);
  timerAt = at;
  timer = setTimeout(expire, Math.max(0, at - performance.now()));
}

/**
 * Lets the timer keep the process alive, or not (Deno and Node timers).
 * Called when the armed list stops or starts being empty.
 */
function refTimer(on: boolean): void {
  if (timer === undefined) return;
  const t = timer as { ref?: () => unknown; unref?: () => unknown };
  if (on) t.ref?.();
  else t.unref?.();
}

/** Fires the deadlines that are due and sets the timer for the next one. */
function expire(): void {
  timer = undefined;
  timerAt = Infinity;
  const now = performance.now();
  const due: Deadline[] = [];
  let next = Infinity;
  for (let d = first; d !== undefined; d = d.next) {
    if (d.at <= now) due.push(d);
    else if (d.at < next) next = d.at;
  }
  // In the order they were due; one that an earlier callback re-armed or
  // cleared is no longer due and is skipped.
  due.sort((a, b) => a.at - b.at);
  for (const d of due) if (d.at <= now) d.fire();
  if (next < timerAt) setTimer(next);
}

/**
 * Calls `onTimeout` once when armed and not cleared in time; re-armable.
 *
 * @example A timeout for one step
 * ```ts
 * import { Deadline } from "./deadline.ts";
 * const controller = new AbortController();
 * const deadline = new Deadline(() => controller.abort());
 * deadline.arm(30_000);
 * // … the step finishes in time:
 * deadline.clear();
 * if (controller.signal.aborted || deadline.fired) throw new Error("fired");
 * ```
 */
export class Deadline {
  /** Whether it fired. */
  fired = false;
  /** When it fires (`performance.now()` time), `Infinity` when not armed. */
  at = Infinity;
  /** The next armed deadline (list links; `undefined` at the ends). */
  next: Deadline | undefined = undefined;
  /** The previous armed deadline. */
  prev: Deadline | undefined = undefined;

  /** A deadline that calls `onTimeout` when it fires. */
  constructor(readonly onTimeout: () => void) {}

  /** Fires in `ms` milliseconds unless re-armed or cleared before. */
  arm(ms: number): void {
    if (this.at === Infinity) {
      this.next = first;
      if (first !== undefined) first.prev = this;
      else refTimer(true);
      first = this;
    }
    this.at = performance.now() + ms;
    if (this.at < timerAt) setTimer(this.at);
  }

  /** Disarms it. */
  clear(): void {
    if (this.at === Infinity) return;
    this.at = Infinity;
    const { next, prev } = this;
    if (prev !== undefined) prev.next = next;
    else first = next;
    if (next !== undefined) next.prev = prev;
    this.next = this.prev = undefined;
    if (first === undefined) refTimer(false);
  }

  /** Fires now (called by the shared timer). */
  fire(): void {
    this.clear();
    this.fired = true;
    this.onTimeout();
  }
}
