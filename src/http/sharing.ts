/**
 * The handler's quota features, built from its options: client access keys
 * (each with its limits and models), the response cache, and the watch on
 * OpenRouter's `GET /key`.
 *
 * @module
 */
import type { ClientKey } from "../core/client_keys.ts";
import {
  type NumericSetting,
  settingProblem,
  SETTINGS,
} from "../core/settings.ts";
import type { ResolvedRouterOptions } from "../options.ts";
import { accountIdOf } from "../state/account_id.ts";
import { KvResponseCache } from "../state/kv_cache.ts";
import { KeyWatch } from "../state/key_watch.ts";
import { MemoryResponseCache } from "../state/response_cache.ts";
import { fetchKeyReport } from "../upstream/key_fetch.ts";
import type { CacheRuntime } from "./cached_route.ts";
import { ClientRegistry } from "./clients.ts";

/**
 * Options of {@link createHandler} for sharing one account's quota.
 *
 * @example Two clients with their own limits, and a five-minute cache
 * ```ts
 * import { createHandler } from "@freerouter/freerouter";
 * const handler = createHandler({
 *   apiKey: "sk-or-v1-…",
 *   clientKeys: [
 *     { name: "alice", key: "fr-alice-7f3a9c1e", requestsPerDay: 200, models: ["auto", "qwen/*"] },
 *     { name: "ci", key: "fr-ci-0b51d2aa", requestsPerMinute: 2 },
 *   ],
 *   cacheTtl: 300,
 * });
 * await handler.close();
 * ```
 */
export interface QuotaSharingOptions {
  /**
   * Named client access keys (the proxy reads them from the JSON file named
   * by `FREEROUTER_CLIENT_KEYS`). Each client may have a limit per UTC day
   * and per minute (429 with `Retry-After` once reached) and a list of the
   * models and aliases it may ask for (403 otherwise), both checked before
   * any upstream attempt; their counts live in the state's KV store, so
   * every instance on it enforces one limit. With client keys, only they
   * and `accessKey` (unnamed, unlimited) are accepted: any other key gets
   * 401. Their usage is in the status report and the metrics, by name.
   * @default {[]}
   */
  clientKeys?: readonly ClientKey[] | undefined;
  /**
   * Seconds a complete answer is kept in the response cache; 0 turns the
   * cache off. An identical request (canonical body, same client key) within
   * that time is answered from it without an upstream attempt, and identical
   * requests in flight at the same time share one upstream request. Stored
   * in the KV store when there is one, so instances share it.
   * @default {0}
   */
  cacheTtl?: number | undefined;
  /**
   * Most bytes the response cache holds; the oldest answers are evicted first.
   * @default {16777216}
   */
  cacheMaxBytes?: number | undefined;
  /**
   * Seconds between reads of OpenRouter's `GET /key` (the account's daily
   * free-model quota: used, limit, remaining), which also happen at start
   * and after a daily-cap 429; 0 never reads it. Needs `apiKey`. The proxy
   * (`freerouter`) reads it every 300 s.
   * @default {0}
   */
  quotaRefresh?: number | undefined;
}

/** What the handler builds from {@link QuotaSharingOptions}. */
export interface Sharing {
  clients: ClientRegistry | undefined;
  cache: CacheRuntime | undefined;
  /** Reads `/key` now and applies it (nothing without a watch). */
  refreshQuota(): Promise<void>;
  /** Resolves once no `/key` read is under way. */
  quotaSettled(): Promise<void>;
  /** Stops the `/key` watch and waits for background cache writes. */
  close(): Promise<void>;
}

/** `value` (or the setting's default) when it is valid for `setting`; throws `RangeError` otherwise. */
export function checked(
  setting: NumericSetting,
  value: number | undefined,
): number {
  const v = value ?? setting.default;
  const problem = settingProblem(setting, v);
  if (problem) {
    throw new RangeError(
      `Cannot serve: "${setting.option}" ${problem}, got ${v}`,
    );
  }
  return v;
}

/** Builds the quota features; throws `RangeError`/`TypeError` on bad options. */
export function createSharing(
  options: QuotaSharingOptions & { apiKey?: string; accessKey?: string },
  resolved: ResolvedRouterOptions,
): Sharing {
  const { state, logger, now } = resolved;
  const warn = (message: string) => logger.warn(message);
  const ttl = checked(SETTINGS.cacheTtl, options.cacheTtl);
  const maxBytes = checked(SETTINGS.cacheMaxBytes, options.cacheMaxBytes);
  const refresh = options.quotaRefresh ?? 0;
  if (!(typeof refresh === "number" && refresh >= 0 && refresh <= 86_400)) {
    throw new RangeError(
      `Cannot serve: "quotaRefresh" must be between 0 and 86400 seconds, got ${refresh}`,
    );
  }
  const clients = options.clientKeys && options.clientKeys.length > 0
    ? new ClientRegistry(
      options.clientKeys,
      state,
      options.accessKey,
      warn,
      resolved.aliases,
    )
    : undefined;
  const cache: CacheRuntime | undefined = ttl > 0
    ? {
      store: state.kv
        ? new KvResponseCache(state.kv, maxBytes)
        : new MemoryResponseCache(maxBytes),
      ttlMs: Math.round(ttl * 1000),
      inflight: new Map(),
      pending: new Set(),
      waiting: 0,
      warn,
    }
    : undefined;
  const apiKey = options.apiKey;
  const watch = apiKey && refresh > 0
    ? new KeyWatch({
      state,
      account: accountIdOf(apiKey),
      read: (signal) => fetchKeyReport(resolved, apiKey, signal),
      intervalMs: Math.round(refresh * 1000),
      now,
      warn,
    })
    : undefined;
  return {
    clients,
    cache,
    refreshQuota: async () => {
      await watch?.refresh();
      await watch?.settled();
    },
    quotaSettled: async () => await watch?.settled(),
    async close() {
      await watch?.close();
      while (cache && cache.pending.size > 0) {
        await Promise.all(cache.pending);
      }
    },
  };
}
