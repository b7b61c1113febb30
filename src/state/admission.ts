/**
 * Account admission: whether one more attempt may go upstream now under the
 * account's free-tier limits, and the bounded FIFO wait for room when it may
 * not. Moved out of the router, which only asks.
 *
 * @module
 */
import {
  type AccountLimits,
  admit as roomFor,
  learnedAt,
  minuteRoomAt,
} from "../core/account_limit.ts";
import { type Attempt, FreeRouterError } from "../errors.ts";
import type { RoutingState } from "./state.ts";

/** What admission needs from the router's options. */
export interface AdmissionOptions {
  state: RoutingState;
  now: () => number;
  /** Configured attempts per minute; 0 turns the limiter off. */
  rpm: number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Admits attempts under an account's limits. */
export class Admission {
  readonly #options: AdmissionOptions;
  /** Per account, the calls in {@link Admission.admit} that hold no slot yet. */
  readonly #pending = new Map<string, Set<Pending>>();

  /** Admission over the router's state, clock and sleep. */
  constructor(options: AdmissionOptions) {
    this.#options = options;
  }

  /**
   * The account limits in force: configured RPM (or a lower learned one; none
   * when RPM is 0) and the learned daily limit (whatever the RPM: the day's
   * quota is spent either way).
   */
  limits(account: string): AccountLimits {
    const { rpm, state, now } = this.#options;
    const learned = learnedAt(state.account(account).learned, now());
    return {
      rpm: rpm === 0 ? 0 : Math.min(rpm, learned.rpm ?? rpm),
      rpd: learned.rpd,
    };
  }

  /**
   * Whether an account block holds now (a slot taken before it must not be
   * spent past it). Throws a 429 {@link FreeRouterError} when the block is
   * for the day.
   */
  blocked(account: string, attempts: Attempt[]): boolean {
    const { state, now } = this.#options;
    const block = state.account(account).block;
    if (block === undefined || block.until <= now()) return false;
    if (block.scope === "day") {
      // Refuse at once, without queueing behind others.
      throw accountLimited(block.until, now(), "daily_limit_reached", attempts);
    }
    return true;
  }

  /**
   * Throws the day's 429 when the account's day is spent, by a block or by
   * the count kept here past `deadline` (no slot taken, no KV round-trip):
   * for a request that would get another refusal without an attempt, whose
   * wait is shorter.
   */
  refuseSpentDay(
    account: string,
    attempts: Attempt[],
    deadline = -Infinity,
  ): void {
    this.blocked(account, attempts);
    const t = this.#options.now();
    const slot = roomFor(
      this.#options.state.counts.at(account, t),
      this.limits(account),
      t,
    );
    // A day that ends before the deadline is waited out, as in the queue.
    if (!slot.ok && slot.scope === "day" && slot.retryAt > deadline) {
      throw accountLimited(slot.retryAt, t, "daily_limit_reached", attempts);
    }
  }

  /**
   * Waits until one more attempt may go upstream: no account block holds and
   * the account limits have room. Waits in FIFO order until `deadline` at
   * most; past that, throws a 429 {@link FreeRouterError}. `signal` is the
   * client's, or a function that reads it (read only when a wait begins).
   * Resolves `true` with a slot taken, or `false` without one when `wanted`
   * (asked just before the slot would be taken) says the attempt is no
   * longer to be sent.
   */
  async admit(
    account: string,
    deadline: number,
    signal: AbortSignal | (() => AbortSignal | undefined) | undefined,
    attempts: Attempt[],
    wanted: () => boolean = () => true,
  ): Promise<boolean> {
    const { state, now } = this.#options;
    const watch = () => typeof signal === "function" ? signal() : signal;
    /** The client's signal once read. */
    let watched = typeof signal === "function" ? undefined : signal;
    const gone = () => {
      if (watched?.aborted) {
        throw new FreeRouterError("aborted", "The request was aborted", {
          attempts,
          cause: watched.reason,
        });
      }
    };
    // Room that comes only after the deadline, behind the calls queued
    // first, is refused now rather than at the end of a wait for nothing.
    let queue = this.#pending.get(account);
    const t0 = now();
    const roomAt = (ahead: number) =>
      minuteRoomAt(
        state.counts.at(account, t0),
        this.limits(account).rpm,
        t0,
        ahead,
      );
    if (roomAt(queue?.size ?? 0) > deadline) {
      // Rare: count again only the calls still to be sent (not one an
      // outage now holds, nor one whose client left).
      const room = roomAt(countLive(queue));
      if (room > deadline) {
        // The day's 429 comes first, unless the day ends within the wait.
        this.refuseSpentDay(account, attempts, deadline);
        throw accountLimited(room, t0, "rate_limited", attempts);
      }
    }
    const self: Pending = {
      wanted,
      left: () => (watched ?? watch())?.aborted === true,
    };
    const queued = queue !== undefined && queue.size > 0;
    if (queue === undefined) this.#pending.set(account, queue = new Set());
    queue.add(self);
    let holds = false;
    const taken = () => {
      if (holds) return;
      holds = true;
      queue.delete(self);
      if (queue.size === 0 && this.#pending.get(account) === queue) {
        this.#pending.delete(account);
      }
    };
    return await state.enqueue(account, async () => {
      // Its turn came after others': its client may have left meanwhile.
      if (queued) watched ??= watch();
      for (;;) {
        gone();
        const t = now();
        const held = state.account(account).block;
        if (held && held.until > t) {
          if (held.scope === "day") {
            throw accountLimited(
              held.until,
              t,
              "daily_limit_reached",
              attempts,
            );
          }
          if (held.until > deadline) {
            throw accountLimited(held.until, t, "rate_limited", attempts);
          }
          // A wait is long: watch the client from now on.
          watched ??= watch();
          gone();
          await this.#wait(held.until - t, watched, attempts, account);
          continue;
        }
        if (!wanted()) return false;
        const slot = await state.counts.takeSlot(
          account,
          this.limits(account),
          t,
        );
        if (slot.ok) {
          taken();
          return true;
        }
        if (slot.retryAt > deadline) {
          throw accountLimited(
            slot.retryAt,
            t,
            slot.scope === "day" ? "daily_limit_reached" : "rate_limited",
            attempts,
          );
        }
        watched ??= watch();
        gone();
        await this.#wait(slot.retryAt - t, watched, attempts, account);
      }
    }).finally(taken);
  }

  /**
   * Waits `ms` (a short wait the router chose), or throws when the client
   * goes away (with the request's `attempts` so far).
   */
  pause(
    ms: number,
    signal: AbortSignal | undefined,
    attempts: Attempt[],
  ): Promise<void> {
    return this.#wait(ms, signal, attempts);
  }

  /**
   * Sleeps `ms`; with `account`, ends early (without error) when that
   * account's block changes, so that the caller checks again.
   */
  async #wait(
    ms: number,
    signal: AbortSignal | undefined,
    attempts: Attempt[],
    account?: string,
  ): Promise<void> {
    const wake = account === undefined ? undefined : new AbortController();
    const unwatch = account === undefined
      ? undefined
      : this.#options.state.onBlockChange(account, () => wake?.abort());
    const sleepSignal = wake && signal
      ? AbortSignal.any([signal, wake.signal])
      : wake?.signal ?? signal;
    try {
      await this.#options.sleep(ms, sleepSignal);
    } catch (err) {
      if (signal?.aborted) {
        throw new FreeRouterError("aborted", "The request was aborted", {
          cause: signal.reason,
          attempts,
        });
      }
      if (wake?.signal.aborted) return;
      throw err;
    } finally {
      unwatch?.();
    }
  }
}

/** The 429 for an account limit: the daily cap, or a minute limit past the request's wait. */
export function accountLimited(
  until: number,
  now: number,
  code: "daily_limit_reached" | "rate_limited",
  attempts: Attempt[],
): FreeRouterError {
  const seconds = Math.max(1, Math.ceil((until - now) / 1000));
  const when = new Date(until).toISOString();
  const message = code === "daily_limit_reached"
    ? `OpenRouter's daily free-model limit for this account is reached; it resets at ${when}`
    : `The account's free-model rate limit is reached; retry after ${seconds} s`;
  return new FreeRouterError(code, message, {
    attempts,
    retryAfterSeconds: seconds,
  });
}

/** A call waiting in {@link Admission.admit} for its slot. */
interface Pending {
  /** Whether its attempt is still to be sent. */
  wanted: () => boolean;
  /** Whether its client left. */
  left: () => boolean;
}

/** The calls of `queue` still to be sent. */
function countLive(queue: ReadonlySet<Pending> | undefined): number {
  let live = 0;
  for (const p of queue ?? []) if (p.wanted() && !p.left()) live++;
  return live;
}
