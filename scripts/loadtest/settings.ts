/**
 * The load test's settings: what freerouter is started with, the fake
 * upstream's fault rates, the clients' mix and the leak conditions' bounds.
 * Fixed, not options: the conditions are only comparable between runs with
 * the same settings.
 *
 * @module
 */

/** The repository: its deno.json names the start task. */
export const REPO = new URL("../..", import.meta.url).pathname.replace(
  /\/$/,
  "",
);
/** freerouter's `MAX_ATTEMPTS`, and the bound the fake's log is held to. */
export const MAX_ATTEMPTS = 4;
/** freerouter's `REQUEST_TIMEOUT`, seconds. */
export const REQUEST_TIMEOUT_S = 2;
/** A request not answered within this is counted as unanswered. */
export const CLIENT_TIMEOUT_MS = 30_000;
/** Free models in the fake's catalogue. */
export const MODELS = 30;
/** The share of chat attempts the fake answers with a per-model 429. */
export const P_429 = 0.30;
/** The share of chat attempts the fake leaves hanging. */
export const P_HANG = 0.05;
/** The share of client requests that stream. */
export const P_STREAM = 0.5;
/** The share of streaming requests the client aborts after the first chunk. */
export const P_ABORT_STREAM = 0.1;
/** The leak conditions. */
export const MAX_RSS_GROWTH = 1.10;
/** The leak conditions: the V8 heap's bound. */
export const MAX_HEAP_GROWTH = 1.20;
/** The fewest rounds `--rounds` accepts. */
export const MIN_ROUNDS = 5;
/** How long V8's memory reducer gets to collect once the load is over. */
export const REDUCER_TIMEOUT_MS = 45_000;

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
