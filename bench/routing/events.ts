/**
 * A discrete-event queue in virtual time: events run in time order (ties in
 * the order they were scheduled). Nothing waits on the wall clock.
 *
 * @module
 */

interface Event {
  at: number;
  seq: number;
  run: () => void;
}

/** A min-heap of events by (time, scheduling order). */
export class EventQueue {
  #heap: Event[] = [];
  #seq = 0;
  /** The time of the event being run, virtual ms. */
  now = 0;

  /** Schedules `run` at virtual time `at` (never before now). */
  at(at: number, run: () => void): void {
    this.#push({ at: Math.max(at, this.now), seq: this.#seq++, run });
  }

  /** Runs every event, including the ones events schedule. */
  drain(): void {
    while (this.#heap.length > 0) {
      const event = this.#pop();
      this.now = event.at;
      event.run();
    }
  }

  #less(a: Event, b: Event): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(event: Event): void {
    const h = this.#heap;
    h.push(event);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  #pop(): Event {
    const h = this.#heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.#less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
