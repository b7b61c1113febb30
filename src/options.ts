/**
 * Options shared by {@link FreeRouterClient} and {@link createHandler}, their
 * defaults, and their validation.
 *
 * @module
 */
import {
  FreeRouterState,
  type RoutingState,
  routingState,
} from "./state/state.ts";
import type { KvLike } from "./state/kv_store.ts";
import {
  type NumericSetting,
  settingProblem,
  SETTINGS,
} from "./core/settings.ts";

/**
 * Where freerouter reports what happens (never keys, never message content).
 *
 * @example Send warnings to the console, drop the rest
 * ```ts
 * import { FreeRouterClient, type Logger } from "@freerouter/freerouter";
 * const logger: Logger = { info() {}, warn: (message) => console.warn(message) };
 * await using client = new FreeRouterClient({ apiKey: "sk-or-v1-…", logger });
 * ```
 */
export interface Logger {
  /** Something worth knowing that needs no action (e.g. one line per request). */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Something went wrong but routing goes on (e.g. a failed catalog refresh). */
  warn(message: string, fields?: Record<string, unknown>): void;
}

/**
 * Routing options. Times are in seconds, as in the proxy's configuration.
 *
 * @example Tighter limits for a batch job
 * ```ts
 * import { FreeRouterClient } from "@freerouter/freerouter";
 * const client = new FreeRouterClient({
 *   apiKey: "sk-or-v1-…",
 *   maxAttempts: 4,
 *   requestTimeout: 30,
 * });
 * await client.close();
 * ```
 */
export interface RouterOptions {
  /**
   * OpenRouter base URL: models at `{baseUrl}/models`, chat at
   * `{baseUrl}/chat/completions`.
   * @default {"https://openrouter.ai/api/v1"}
   */
  baseUrl?: string;
  /**
   * The fetch used for every upstream call. The caller owns its lifecycle.
   * @default {globalThis.fetch}
   */
  fetch?: typeof fetch;
  /**
   * Most upstream attempts for one request.
   * @default {8}
   */
  maxAttempts?: number;
  /**
   * Cooldown after a 429 that carries no reset hint, seconds.
   * @default {60}
   */
  cooldownSeconds?: number;
  /**
   * How long the free pool is cached, seconds.
   * @default {600}
   */
  modelRefreshTtl?: number;
  /**
   * Seconds an attempt may take to produce its response headers (streams: its
   * first data event) before it counts as a transient failure.
   * @default {60}
   */
  requestTimeout?: number;
  /**
   * Seconds a response may stay silent mid-body (streams: between events).
   * @default {60}
   */
  streamIdleTimeout?: number;
  /**
   * Account-wide attempts per minute (OpenRouter allows about 20 free-model
   * requests a minute per account). Attempts beyond it wait (see `maxWait`)
   * instead of failing upstream. 0 turns the limiter off.
   * @default {20}
   */
  rpm?: number;
  /**
   * Seconds a request may wait for room under the account limits before it is
   * answered with 429 and `Retry-After`.
   * @default {30}
   */
  maxWait?: number;
  /**
   * `priority`: the pool's order. `adaptive`: models with a better recent
   * success rate and lower latency move ahead.
   * @default {"priority"}
   */
  strategy?: "priority" | "adaptive";
  /**
   * How waiting is done; tests inject one that moves their clock.
   * @default {a timer, cancelled by the signal}
   */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Shared routing state (free-pool cache, cooldowns). Pass one to several
   * clients or handlers to share it.
   * @default {a new FreeRouterState, persisted in `kv` when given}
   */
  state?: FreeRouterState;
  /**
   * A Deno KV handle to persist state, used when `state` is not given. The
   * caller owns it and closes it.
   */
  kv?: KvLike;
  /**
   * The clock, epoch ms.
   * @default {Date.now}
   */
  now?: () => number;
  /**
   * Where to report warnings.
   * @default {silent}
   */
  logger?: Logger;
}

/** Options after defaults and validation, in ms. */
export interface ResolvedRouterOptions {
  baseUrl: string;
  fetch: typeof fetch;
  maxAttempts: number;
  cooldownMs: number;
  modelRefreshTtlMs: number;
  requestTimeoutMs: number;
  streamIdleTimeoutMs: number;
  rpm: number;
  maxWaitMs: number;
  strategy: "priority" | "adaptive";
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  state: RoutingState;
  /** Whether the state was created here (and so is closed here). */
  ownsState: boolean;
  now: () => number;
  logger: Logger;
}

/** The default OpenRouter base URL. */
export const DEFAULT_BASE_URL = "https://openrouter.ai/api/v1";

const SILENT: Logger = { info() {}, warn() {} };

/** A setting's value or its default, checked against the table's bounds. */
function resolved(setting: NumericSetting, value: number | undefined): number {
  const v = value ?? setting.default;
  const problem = settingProblem(setting, v);
  if (problem) {
    throw new RangeError(
      `Cannot route: "${setting.option}" ${problem}, got ${v}`,
    );
  }
  return v;
}

/** A seconds setting in ms. */
const ms = (setting: NumericSetting, value: number | undefined) =>
  Math.round(resolved(setting, value) * 1000);

/** Applies defaults and validates; throws `RangeError` or `TypeError`. */
export function resolveRouterOptions(
  options: RouterOptions,
): ResolvedRouterOptions {
  const maxAttempts = resolved(SETTINGS.maxAttempts, options.maxAttempts);
  const baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
  try {
    new URL(baseUrl);
  } catch {
    throw new TypeError(`Cannot route: "baseUrl" is not a URL: ${baseUrl}`);
  }
  const fetchFn = options.fetch ?? globalThis.fetch;
  if (typeof fetchFn !== "function") {
    throw new TypeError('Cannot route: "fetch" must be a function');
  }
  const rpm = resolved(SETTINGS.rpm, options.rpm);
  const strategy = options.strategy ?? "priority";
  if (strategy !== "priority" && strategy !== "adaptive") {
    throw new TypeError(
      `Cannot route: "strategy" must be "priority" or "adaptive", got ${strategy}`,
    );
  }
  return {
    baseUrl,
    rpm,
    maxWaitMs: ms(SETTINGS.maxWait, options.maxWait),
    strategy,
    sleep: options.sleep ?? abortableSleep,
    fetch: fetchFn,
    maxAttempts,
    cooldownMs: ms(SETTINGS.cooldownSeconds, options.cooldownSeconds),
    modelRefreshTtlMs: ms(SETTINGS.modelRefreshTtl, options.modelRefreshTtl),
    requestTimeoutMs: ms(SETTINGS.requestTimeout, options.requestTimeout),
    streamIdleTimeoutMs: ms(
      SETTINGS.streamIdleTimeout,
      options.streamIdleTimeout,
    ),
    state: routingState(
      options.state ?? new FreeRouterState({ kv: options.kv }),
    ),
    ownsState: options.state === undefined,
    now: options.now ?? Date.now,
    logger: options.logger ?? SILENT,
  };
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function abortableSleep(
  ms: number,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
