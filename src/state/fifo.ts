/**
 * A FIFO queue of async calls: each runs after every earlier one has
 * finished (the account limiter's admission order).
 *
 * @module
 */

/** Runs queued async calls one at a time, in arrival order. */
export class FifoQueue {
  #tail: Promise<unknown> = Promise.resolve();
  /** Calls queued or running. */
  waiting = 0;

  /** Runs `fn` after every earlier call has finished; a failure does not stop the queue. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    this.waiting++;
    const turn = this.#tail.then(fn).finally(() => this.waiting--);
    this.#tail = turn.catch(() => {});
    return turn;
  }
}
