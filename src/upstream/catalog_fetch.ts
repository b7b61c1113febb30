/**
 * The catalog fetch: one `GET /models` against OpenRouter, reduced to the
 * free pool by the free-pool rules.
 *
 * @module
 */
import { type GetOptions, getText } from "./get_text.ts";
import { buildFreePool } from "../core/free_pool.ts";
import type { FreeModel } from "../types.ts";

/** Where and how to fetch the catalog. */
export type CatalogFetchOptions = GetOptions;

/**
 * Fetches the catalog and returns the routable free pool, in priority order
 * (without the models whose free variant has ended by `now`, when given).
 * Rejects when OpenRouter answers an error, a body without `data`, or a
 * catalog without any free chat model.
 */
export async function fetchFreePool(
  options: CatalogFetchOptions,
  apiKey: string | undefined,
  now?: number,
  signal?: AbortSignal,
): Promise<readonly FreeModel[]> {
  const text = await getText(options, "/models", apiKey, signal);
  let body: { data?: unknown } | null;
  try {
    body = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the body's first characters.
    throw new Error("GET /models answered a body that is not JSON");
  }
  if (!Array.isArray(body?.data)) {
    throw new Error("GET /models answered without a data array");
  }
  const pool = buildFreePool(body.data, now);
  if (pool.length === 0) {
    throw new Error("GET /models listed no free chat model");
  }
  return pool;
}
