/**
 * {@link FreeRouterState}, the public handle on the routing state: what a
 * library user creates and shares; its workings stay behind
 * {@link routingState}.
 *
 * @module
 */
import { type FreeRouterStateOptions, RoutingState } from "./state.ts";

const internals = new WeakMap<FreeRouterState, RoutingState>();

/**
 * Shared routing state: pass one instance to several clients or handlers so
 * they share the free-list cache, cooldowns, account limits and model health.
 * With a KV handle it persists across restarts and is shared with other
 * processes on the same store.
 *
 * @example Two clients, one state
 * ```ts
 * import { FreeRouterClient, FreeRouterState } from "@freerouter/freerouter";
 * await using state = new FreeRouterState();
 * const a = new FreeRouterClient({ apiKey: "sk-or-v1-…", state });
 * const b = new FreeRouterClient({ apiKey: "sk-or-v1-…", state });
 * await a.close();
 * await b.close();
 * ```
 */
export class FreeRouterState implements AsyncDisposable {
  /** Creates empty state, persisted in `options.kv` when given. */
  constructor(options: FreeRouterStateOptions = {}) {
    internals.set(this, new RoutingState(options));
  }

  /** Whether the state is persisted in KV. */
  get persistent(): boolean {
    return routingState(this).persistent;
  }

  /**
   * Stops syncing with KV, ends a catalog fetch under way and waits for
   * pending writes. Close it before the KV handle.
   */
  close(): Promise<void> {
    return routingState(this).close();
  }

  /** Same as {@link FreeRouterState.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The workings behind a {@link FreeRouterState}. */
export function routingState(state: FreeRouterState): RoutingState {
  const internal = internals.get(state);
  if (internal === undefined) {
    throw new TypeError('Cannot route: "state" must be a FreeRouterState');
  }
  return internal;
}
