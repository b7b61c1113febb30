/**
 * The free-pool rules: which catalog entries are free chat models, and in which
 * order they are tried. Pure functions over data, no I/O.
 *
 * @module
 */
import type { FreeModel } from "../types.ts";
import { isRecord } from "./records.ts";

/** Pricing keys that are not prices. */
const NON_PRICE_KEYS = new Set(["discount", "overrides"]);

/** A price as OpenRouter writes it (a decimal string, sometimes a number), or NaN. */
function parsePrice(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "") return Number(value);
  return NaN;
}

/**
 * Whether a catalog entry's pricing makes it free: `prompt` and `completion`
 * parse to exactly 0, no other price is positive, and no price is negative
 * (`-1` means variable pricing, as on `openrouter/auto`). Unparseable prices
 * count as not free.
 */
export function isFreePricing(pricing: unknown): boolean {
  if (!isRecord(pricing)) return false;
  if (parsePrice(pricing.prompt) !== 0) return false;
  if (parsePrice(pricing.completion) !== 0) return false;
  for (const key in pricing) {
    if (NON_PRICE_KEYS.has(key)) continue;
    const value = pricing[key];
    if (value === null || value === undefined) continue;
    const price = parsePrice(value);
    if (!Number.isFinite(price) || price !== 0) return false;
  }
  return true;
}

function stringArray(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.every((v) => typeof v === "string") ? value : undefined;
}

/** Input and output modalities, from the arrays or else the `modality` string. */
function modalities(
  architecture: Record<string, unknown>,
): { input: string[]; output: string[] } | undefined {
  const modality = typeof architecture.modality === "string"
    ? architecture.modality.split("->")
    : undefined;
  const input = stringArray(architecture.input_modalities) ??
    (modality?.length === 2 ? modality[0]!.split("+") : undefined);
  const output = stringArray(architecture.output_modalities) ??
    (modality?.length === 2 ? [modality[1]!] : undefined);
  return input && output ? { input, output } : undefined;
}

/**
 * Whether a catalog entry is a chat model: it takes text in and gives exactly
 * text out. Image, audio, embedding and classifier models are out.
 */
export function isChatArchitecture(architecture: unknown): boolean {
  if (!isRecord(architecture)) return false;
  const m = modalities(architecture);
  return m !== undefined && m.input.includes("text") &&
    m.output.length === 1 && m.output[0] === "text";
}

/** The catalog's `benchmarks.artificial_analysis` indices that are numbers (null or absent ones left out). */
function benchmarkIndices(
  benchmarks: unknown,
): Pick<FreeModel, "intelligence_index" | "coding_index" | "agentic_index"> {
  const aa = isRecord(benchmarks) ? benchmarks.artificial_analysis : undefined;
  if (!isRecord(aa)) return {};
  const out: Pick<
    FreeModel,
    "intelligence_index" | "coding_index" | "agentic_index"
  > = {};
  for (
    const key of [
      "intelligence_index",
      "coding_index",
      "agentic_index",
    ] as const
  ) {
    const value = aa[key];
    if (typeof value === "number" && Number.isFinite(value) && value >= 0) {
      out[key] = value;
    }
  }
  return out;
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value > 0
    ? Math.floor(value)
    : undefined;
}

/**
 * Turns one raw catalog entry into a {@link FreeModel}, or `undefined` when it
 * is malformed, not free, or not a chat model.
 */
export function toFreeModel(raw: unknown): FreeModel | undefined {
  if (!isRecord(raw)) return undefined;
  const { id, architecture } = raw;
  if (typeof id !== "string" || id === "" || !isRecord(architecture)) {
    return undefined;
  }
  const contextLength = positiveInt(raw.context_length);
  if (contextLength === undefined) return undefined;
  if (!isFreePricing(raw.pricing) || !isChatArchitecture(architecture)) {
    return undefined;
  }
  const topProvider = isRecord(raw.top_provider) ? raw.top_provider : {};
  return {
    id,
    name: typeof raw.name === "string" ? raw.name : id,
    created: positiveInt(raw.created) ?? 0,
    owned_by: id.includes("/") ? id.slice(0, id.indexOf("/")) : "openrouter",
    context_length: contextLength,
    max_completion_tokens: positiveInt(topProvider.max_completion_tokens) ??
      null,
    supported_parameters: stringArray(raw.supported_parameters) ?? null,
    input_modalities: modalities(architecture)?.input ?? ["text"],
    expiration_date: typeof raw.expiration_date === "string"
      ? raw.expiration_date
      : null,
    ...benchmarkIndices(raw.benchmarks),
  };
}

/**
 * The pool's priority order (the `priority` strategy, and the order the
 * pool is stored in): ids ending in `:free` first, then larger
 * `context_length`, ties by id ascending. The default `quality` strategy
 * re-ranks it (see `core/ranking.ts`).
 */
export function comparePriority(a: FreeModel, b: FreeModel): number {
  const aFree = a.id.endsWith(":free");
  if (aFree !== b.id.endsWith(":free")) return aFree ? -1 : 1;
  if (a.context_length !== b.context_length) {
    return b.context_length - a.context_length;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Whether a model's free variant has ended: its catalog `expiration_date`
 * (a UTC date, `YYYY-MM-DD`) has begun. OpenRouter answers such a slug
 * 404 `free_variant_ended`, and a failed attempt counts against the day.
 */
export function isExpired(
  model: Pick<FreeModel, "expiration_date">,
  now: number,
): boolean {
  return expiryOf(model) <= now; // NaN (a date that does not parse) never expires
}

/**
 * The first instant at which a model of `pool` expires ({@link isExpired}),
 * or `Infinity` when none has a date: a cached pool needs no look at its
 * models' dates before then.
 */
export function nextExpiry(
  pool: readonly Pick<FreeModel, "expiration_date">[],
): number {
  let first = Infinity;
  for (const model of pool) {
    const at = expiryOf(model);
    if (at < first) first = at; // false for NaN
  }
  return first;
}

function expiryOf(model: Pick<FreeModel, "expiration_date">): number {
  const date = model.expiration_date;
  if (date === null) return Infinity;
  let at = expiries.get(date);
  if (at === undefined) {
    if (expiries.size >= 1000) expiries.clear();
    expiries.set(date, at = Date.parse(date));
  }
  return at;
}

/** Parsed expiration dates: a handful of distinct strings, parsed once. */
const expiries = new Map<string, number>();

/**
 * Builds the free pool from OpenRouter's raw `/models` rows: free chat models
 * only, malformed rows skipped, duplicates dropped, in priority order. Given
 * `now` (epoch ms), models whose free variant has ended by then
 * ({@link isExpired}) are left out too.
 *
 * @example Filter a catalog
 * ```ts
 * import { buildFreePool } from "@freerouter/freerouter";
 * const text = { input_modalities: ["text"], output_modalities: ["text"] };
 * const pool = buildFreePool([
 *   { id: "a/free:free", context_length: 8192, architecture: text, pricing: { prompt: "0", completion: "0" } },
 *   { id: "a/paid", context_length: 8192, architecture: text, pricing: { prompt: "0.000001", completion: "0.000002" } },
 * ]);
 * console.log(pool.map((m) => m.id)); // ["a/free:free"]
 * ```
 */
export function buildFreePool(
  rows: readonly unknown[],
  now?: number,
): FreeModel[] {
  const seen = new Set<string>();
  const pool: FreeModel[] = [];
  for (const row of rows) {
    const model = toFreeModel(row);
    if (now !== undefined && model && isExpired(model, now)) continue;
    if (model && !seen.has(model.id)) {
      seen.add(model.id);
      pool.push(model);
    }
  }
  return pool.sort(comparePriority);
}
