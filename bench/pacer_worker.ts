/**
 * The fixed-rate client's clock: a worker that sleeps with `Atomics.wait`
 * (µs-precise, unlike timers) and spins the last 0.2 ms, then posts each
 * request's index to the main thread when it is due.
 *
 * @module
 */

/** What the main thread sends: epoch-ms start, ms between requests, count. */
export interface PacerPlan {
  startEpochMs: number;
  intervalMs: number;
  total: number;
}

const scope = self as unknown as Worker;
scope.onmessage = (e: MessageEvent<PacerPlan>) => {
  const { startEpochMs, intervalMs, total } = e.data;
  const start = startEpochMs - performance.timeOrigin;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < total; i++) {
    const due = start + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0.2) Atomics.wait(sleeper, 0, 0, wait - 0.2);
    while (due - performance.now() > 0) {
      // spin the last fraction of a millisecond
    }
    scope.postMessage(i);
  }
};
