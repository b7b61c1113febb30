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

/**
 * One {@link FifoQueue} per key (an account): calls of one key run in arrival
 * order, and a call waiting for its own account's limit never holds up
 * another account's. Queues with nothing waiting are dropped.
 */
export class KeyedFifo {
  readonly #queues = new Map<string, FifoQueue>();
  /** Calls queued or running, over every key. */
  waiting = 0;

  /** Runs `fn` after every earlier call of `key` has finished. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let queue = this.#queues.get(key);
    if (queue === undefined) this.#queues.set(key, queue = new FifoQueue());
    this.waiting++;
    const q = queue;
    return q.run(fn).finally(() => {
      this.waiting--;
      if (q.waiting === 0 && this.#queues.get(key) === q) {
        this.#queues.delete(key);
      }
    });
  }
}
