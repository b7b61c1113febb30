/**
 * Options shared by {@link FreeRouterClient} and {@link createHandler}, their
 * defaults, and their validation.
 *
 * @module
 */
import type { RoutingState } from "./state/state.ts";
import { FreeRouterState, routingState } from "./state/public_state.ts";
import type { KvLike } from "./state/kv_store.ts";
import {
  type NumericSetting,
  settingProblem,
  SETTINGS,
} from "./core/settings.ts";
import { STRATEGIES, type Strategy } from "./core/ranking.ts";
import { aliasProblem, type CustomAliases } from "./core/aliases.ts";

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
  /**
   * Detail for finding a problem (a line per upstream attempt). Leave it
   * out when not wanted: freerouter then builds none of these lines.
   */
  debug?(message: string, fields?: Record<string, unknown>): void;
  /** Something worth knowing that needs no action (e.g. one line per request). */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Something went wrong but routing goes on (e.g. a failed catalog refresh). */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** A failure that should not happen (an internal error); `warn` when absent. */
  error?(message: string, fields?: Record<string, unknown>): void;
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
  baseUrl?: string | undefined;
  /**
   * The fetch used for every upstream call. The caller owns its lifecycle.
   * @default {globalThis.fetch}
   */
  fetch?: typeof fetch | undefined;
  /**
   * Most upstream attempts for one request.
   * @default {8}
   */
  maxAttempts?: number | undefined;
  /**
   * Cooldown after a 429 that carries no reset hint, seconds.
   * @default {60}
   */
  cooldownSeconds?: number | undefined;
  /**
   * How long the free pool is cached, seconds.
   * @default {600}
   */
  modelRefreshTtl?: number | undefined;
  /**
   * Seconds an attempt may take to produce its response headers (streams:
   * its first data event; OpenRouter's keep-alive comments before it do not
   * count) before it counts as a transient failure.
   * @default {60}
   */
  requestTimeout?: number | undefined;
  /**
   * Seconds a response may stay silent mid-body (streams: between events).
   * @default {60}
   */
  streamIdleTimeout?: number | undefined;
  /**
   * Seconds a response may go on with nothing but OpenRouter's keep-alives
   * (`: OPENROUTER PROCESSING` comments in a stream, whitespace before a
   * non-streaming answer): a model at work is waited for this long, one
   * hung behind them no longer.
   * @default {300}
   */
  keepAliveTimeout?: number | undefined;
  /**
   * Account-wide attempts per minute (OpenRouter allows about 20 free-model
   * requests a minute per account). Attempts beyond it wait (see `maxWait`)
   * instead of failing upstream. 0 turns the limiter off.
   * @default {20}
   */
  rpm?: number | undefined;
  /**
   * Seconds a request may wait for room under the account limits before it is
   * answered with 429 and `Retry-After`.
   * @default {30}
   */
  maxWait?: number | undefined;
  /**
   * How `auto` orders the pool. `quality`: by expected answer quality (the
   * catalog's Artificial Analysis intelligence index, else an estimate from
   * the model's family or size), models that keep failing or are much slower
   * than their peers moved down. `priority`: `:free` ids first, then larger
   * context. `adaptive`: models with a better recent success rate and lower
   * latency move ahead. The `auto:*` aliases keep their own orders.
   * @default {"quality"}
   */
  strategy?: "quality" | "priority" | "adaptive" | undefined;
  /**
   * More model aliases a client may send as `model`: name → model ids or
   * patterns (`*` for any characters), tried in that order (a pattern's
   * matches by quality). Names use letters, digits and `._:-`, and may not
   * redefine `auto` or a built-in `auto:*` alias.
   * @default {{}}
   */
  aliases?: Readonly<Record<string, readonly string[]>> | undefined;
  /**
   * Resume a committed stream that breaks (a reset, a stall, an error or
   * malformed event, an end without a `finish_reason`) on the next free
   * model, inside the same stream: the forwarded text is sent as an
   * assistant prefill and the continuation is forwarded as part of the same
   * answer. Off: such a stream ends with an error event, as before.
   * @default {true}
   */
  streamResume?: boolean | undefined;
  /**
   * When the request names a specific free model (not `auto` or an alias)
   * and it answers a per-model 429 whose reset is at most this many seconds
   * away, or fails once with a transient 5xx or connection error, try it once
   * more (after the reset; at once for the error) before moving on. 0 turns
   * both retries off.
   * @default {3}
   */
  sameModelWait?: number | undefined;
  /**
   * Keep a conversation on the model that answered its previous turn while
   * that model is available and fits (never over a named model). A
   * conversation is told by the `X-FreeRouter-Session` header, else by its
   * system prompt and first user message, with the body's `prompt_cache_key`
   * when it has one.
   * @default {true}
   */
  affinity?: boolean | undefined;
  /**
   * How waiting is done; tests inject one that moves their clock.
   * @default {a timer, cancelled by the signal}
   */
  sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  /**
   * Shared routing state (free-pool cache, cooldowns). Pass one to several
   * clients or handlers to share it.
   * @default {a new FreeRouterState, persisted in `kv` when given}
   */
  state?: FreeRouterState | undefined;
  /**
   * A Deno KV handle to persist state, used when `state` is not given. The
   * caller owns it and closes it.
   */
  kv?: KvLike | undefined;
  /**
   * The clock, epoch ms.
   * @default {Date.now}
   */
  now?: (() => number) | undefined;
  /**
   * Where to report warnings.
   * @default {silent}
   */
  logger?: Logger | undefined;
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
  keepAliveTimeoutMs: number;
  rpm: number;
  maxWaitMs: number;
  strategy: Strategy;
  /** Operator-defined aliases. */
  aliases: CustomAliases;
  streamResume: boolean;
  sameModelWaitMs: number;
  affinity: boolean;
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
      `Cannot route: "${setting.option}" ${problem}, got ${
        typeof v === "string" ? JSON.stringify(v) : v
      }`,
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
  if (options.baseUrl !== undefined && typeof options.baseUrl !== "string") {
    throw new TypeError('Cannot route: "baseUrl" must be a URL string');
  }
  const baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
  let protocol: string;
  try {
    protocol = new URL(baseUrl).protocol;
  } catch {
    throw new TypeError(`Cannot route: "baseUrl" is not a URL: ${baseUrl}`);
  }
  if (protocol !== "https:" && protocol !== "http:") {
    throw new TypeError(
      `Cannot route: "baseUrl" must be an http or https URL: ${baseUrl}`,
    );
  }
  const fetchFn = options.fetch ?? globalThis.fetch;
  if (typeof fetchFn !== "function") {
    throw new TypeError('Cannot route: "fetch" must be a function');
  }
  const rpm = resolved(SETTINGS.rpm, options.rpm);
  const strategy = options.strategy ?? "quality";
  if (!STRATEGIES.includes(strategy)) {
    throw new TypeError(
      `Cannot route: "strategy" must be "quality", "priority" or "adaptive", got ${strategy}`,
    );
  }
  const aliases = new Map<string, readonly string[]>();
  for (const [name, patterns] of Object.entries(options.aliases ?? {})) {
    const problem = Array.isArray(patterns)
      ? aliasProblem(name, patterns)
      : "must be a list of model ids or patterns";
    if (problem) {
      throw new TypeError(`Cannot route: alias "${name}" ${problem}`);
    }
    aliases.set(name, [...patterns]);
  }
  return {
    baseUrl,
    rpm,
    maxWaitMs: ms(SETTINGS.maxWait, options.maxWait),
    strategy,
    aliases,
    streamResume: options.streamResume ?? true,
    sameModelWaitMs: ms(SETTINGS.sameModelWait, options.sameModelWait),
    affinity: options.affinity ?? true,
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
    keepAliveTimeoutMs: ms(SETTINGS.keepAliveTimeout, options.keepAliveTimeout),
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
