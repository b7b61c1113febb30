/**
 * Deadlines that share one timer. A busy proxy arms and clears a deadline
 * for every attempt and every read; with a timer each, that is a
 * `setTimeout`/`clearTimeout` pair per step. Here the one timer is set for
 * the earliest armed deadline only: arming a later deadline (the usual case,
 * since every attempt uses the same timeouts) or clearing one costs a `Set`
 * update, and the timer is cancelled when no deadline is armed, so nothing
 * keeps the process alive.
 *
 * @module
 */

/** The armed deadlines. */
const armed = new Set<Deadline>();
let timer: ReturnType<typeof setTimeout> | undefined;
/** When `timer` fires (`performance.now()` time), or `Infinity` when unset. */
let timerAt = Infinity;

function setTimer(at: number): void {
  if (timer !== undefined) clearTimeout(timer);
  timerAt = at;
  timer = setTimeout(expire, Math.max(0, at - performance.now()));
}

function stopTimer(): void {
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  timerAt = Infinity;
}

/** Fires the deadlines that are due and sets the timer for the next one. */
function expire(): void {
  timer = undefined;
  timerAt = Infinity;
  const now = performance.now();
  let next = Infinity;
  for (const deadline of armed) {
    if (deadline.at <= now) {
      armed.delete(deadline);
      deadline.fire();
    } else if (deadline.at < next) next = deadline.at;
  }
  if (armed.size > 0 && next < timerAt) setTimer(next);
}

/** Calls `onTimeout` once when armed and not cleared in time; re-armable. */
export class Deadline {
  /** Whether it fired. */
  fired = false;
  /** When it fires (`performance.now()` time), `Infinity` when not armed. */
  at = Infinity;

  /** A deadline that calls `onTimeout` when it fires. */
  constructor(readonly onTimeout: () => void) {}

  /** Fires in `ms` milliseconds unless re-armed or cleared before. */
  arm(ms: number): void {
    this.at = performance.now() + ms;
    armed.add(this);
    if (this.at < timerAt) setTimer(this.at);
  }

  /** Disarms it. */
  clear(): void {
    if (this.at === Infinity) return;
    this.at = Infinity;
    armed.delete(this);
    if (armed.size === 0) stopTimer();
  }

  /** Fires now (called by the shared timer). */
  fire(): void {
    this.at = Infinity;
    this.fired = true;
    this.onTimeout();
  }
}
