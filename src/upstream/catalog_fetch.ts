/**
 * The catalog fetch: one `GET /models` against OpenRouter, reduced to the
 * free pool by the free-pool rules.
 *
 * @module
 */
import { settledByAbort } from "./scope.ts";
import { redactedError } from "../core/secrets.ts";
import { buildFreePool } from "../core/free_pool.ts";
import type { FreeModel } from "../types.ts";

/** Where and how to fetch the catalog. */
export interface CatalogFetchOptions {
  baseUrl: string;
  fetch: typeof fetch;
  /** The fetch is aborted after this long. */
  requestTimeoutMs: number;
}

/**
 * Fetches the catalog and returns the routable free pool, in priority order.
 * Rejects when OpenRouter answers an error, a body without `data`, or a
 * catalog without any free chat model.
 */
export async function fetchFreePool(
  options: CatalogFetchOptions,
  apiKey: string | undefined,
): Promise<readonly FreeModel[]> {
  const { baseUrl, fetch, requestTimeoutMs } = options;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), requestTimeoutMs);
  try {
    const headers: Record<string, string> = { accept: "application/json" };
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    const res = await fetch(`${baseUrl}/models`, {
      headers,
      signal: controller.signal,
    }).catch((err) => {
      // The runtime's message can quote the headers: never the key.
      throw redactedError(err, apiKey);
    });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`GET /models answered ${res.status}`);
    }
    // The timeout ends the body read too, even when the runtime would not.
    const body = await settledByAbort(res.json(), controller.signal) as {
      data?: unknown;
    };
    if (!Array.isArray(body?.data)) {
      throw new Error("GET /models answered without a data array");
    }
    const pool = buildFreePool(body.data);
    if (pool.length === 0) {
      throw new Error("GET /models listed no free chat model");
    }
    return pool;
  } finally {
    clearTimeout(timer);
  }
}
