/**
 * Expected answer quality of the free models: the catalog's Artificial
 * Analysis indices where present, otherwise a documented estimate, each score
 * with where it came from. Computed once per pool and index. Pure.
 *
 * For one index (intelligence, coding or agentic), a model's score is, in
 * this order of preference:
 *
 * 1. `benchmark`: the model's own index.
 * 2. `converted`: when that one is null but the model carries another index,
 *    that one converted by the median ratio between the two indices over the
 *    pool's models that carry both (an estimate: capped like the others).
 * 3. `family`: the nearest-sized model of the same family that has a
 *    benchmark score (same version first: `llama-3.3`, then any: `llama`),
 *    moved along the size slope below by the difference in size; without
 *    sizes, the family's mean.
 * 4. `size`: a line through the pool's benchmarked models, score against
 *    log2(effective parameters) (see {@link effectiveSize}), fitted by least
 *    squares (slope at least 0); with fewer than 3 such models of 2 sizes,
 *    {@link DEFAULT_SLOPE} through their mean, or {@link DEFAULT_CURVE} when
 *    there are none.
 * 5. `default`: the lower quartile of the other scores of the pool (an
 *    unknown model is not trusted above most known ones), or the curve's value
 *    at 32B when the pool has no other score.
 *
 * Estimates are kept within 0 and the best benchmark score of the pool (of
 * the converted ones, when no model carries the index itself): an estimate
 * never outranks every measured model.
 *
 * @module
 */
import type { FreeModel } from "../types.ts";
import { effectiveSize, familyOf } from "./model_size.ts";

/** The Artificial Analysis index a ranking reads. */
export type BenchmarkIndex = "intelligence" | "coding" | "agentic";

/** Where a quality score came from. */
export type ScoreSource =
  | "benchmark"
  | "converted"
  | "family"
  | "size"
  | "default";

/** One model's expected quality for one index. */
export interface QualityScore {
  /** On the index's scale (roughly 0–100); higher is better. */
  score: number;
  /** Where it came from. */
  source: ScoreSource;
}

const FIELDS = {
  intelligence: "intelligence_index",
  coding: "coding_index",
  agentic: "agentic_index",
} as const satisfies Record<BenchmarkIndex, keyof FreeModel>;

/** The indices, in a fixed order. */
export const BENCHMARK_INDICES: readonly BenchmarkIndex[] = [
  "intelligence",
  "coding",
  "agentic",
];

/** Score points per doubling of effective parameters when the pool gives too little to fit. */
export const DEFAULT_SLOPE = 5;
/** The size line used when no model of the pool has a benchmark score: score = intercept + slope × log2(B). */
export const DEFAULT_CURVE = { intercept: 2, slope: DEFAULT_SLOPE };
/** The size (billions) a model of unknown size is taken for when the pool has nothing else. */
const UNKNOWN_SIZE_B = 32;

/** A model's own value of an index, when the catalog gave one. */
export function benchmarkOf(
  model: FreeModel,
  index: BenchmarkIndex,
): number | undefined {
  const value = model[FIELDS[index]];
  return typeof value === "number" && Number.isFinite(value)
    ? value
    : undefined;
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The model's other indices converted by the pool's median ratios, when it has any. */
function convertedScore(
  pool: readonly FreeModel[],
  model: FreeModel,
  index: BenchmarkIndex,
  ratios: Map<BenchmarkIndex, number>,
): number | undefined {
  const converted: number[] = [];
  for (const other of BENCHMARK_INDICES) {
    const value = other === index ? undefined : benchmarkOf(model, other);
    if (value === undefined) continue;
    let ratio = ratios.get(other);
    if (ratio === undefined) {
      const pairs: number[] = [];
      for (const m of pool) {
        const a = benchmarkOf(m, index);
        const b = benchmarkOf(m, other);
        if (a !== undefined && b !== undefined && b > 0) pairs.push(a / b);
      }
      ratios.set(other, ratio = median(pairs) ?? 1);
    }
    converted.push(value * ratio);
  }
  return converted.length === 0
    ? undefined
    : converted.reduce((a, b) => a + b, 0) / converted.length;
}

/** The score-against-log2(size) line of the pool's benchmarked models. */
export function sizeLine(
  points: ReadonlyArray<{ log2Size: number; score: number }>,
): { intercept: number; slope: number } {
  if (points.length === 0) return DEFAULT_CURVE;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.log2Size, 0) / n;
  const my = points.reduce((s, p) => s + p.score, 0) / n;
  let cov = 0;
  let varX = 0;
  for (const p of points) {
    cov += (p.log2Size - mx) * (p.score - my);
    varX += (p.log2Size - mx) ** 2;
  }
  const slope = n >= 3 && varX > 1e-9 ? Math.max(0, cov / varX) : DEFAULT_SLOPE;
  return { intercept: my - slope * mx, slope };
}

const cache = new WeakMap<
  readonly FreeModel[],
  Map<BenchmarkIndex, ReadonlyMap<string, QualityScore>>
>();

/**
 * Every pool model's score for one index, by model id (see the module
 * documentation for the rules). Computed once per pool array and index.
 */
export function qualityScores(
  pool: readonly FreeModel[],
  index: BenchmarkIndex,
): ReadonlyMap<string, QualityScore> {
  let byIndex = cache.get(pool);
  if (byIndex === undefined) cache.set(pool, byIndex = new Map());
  let scores = byIndex.get(index);
  if (scores === undefined) {
    byIndex.set(index, scores = computeScores(pool, index));
  }
  return scores;
}

interface Known {
  model: FreeModel;
  score: number;
  size: number | undefined;
}

function computeScores(
  pool: readonly FreeModel[],
  index: BenchmarkIndex,
): Map<string, QualityScore> {
  const scores = new Map<string, QualityScore>();
  const ratios = new Map<BenchmarkIndex, number>();
  const known: Known[] = [];
  let ceiling = -Infinity;
  for (const model of pool) {
    const score = benchmarkOf(model, index);
    if (score === undefined) continue;
    scores.set(model.id, { score, source: "benchmark" });
    known.push({ model, score, size: effectiveSize(model) });
    ceiling = Math.max(ceiling, score);
  }
  // No estimate, a converted index included, goes above the best measured.
  if (ceiling === -Infinity) ceiling = Infinity;
  const clamp = (v: number) => Math.min(ceiling, Math.max(0, v));
  for (const model of pool) {
    if (scores.has(model.id)) continue;
    const converted = convertedScore(pool, model, index, ratios);
    if (converted === undefined) continue;
    const score = clamp(converted);
    scores.set(model.id, { score, source: "converted" });
    known.push({ model, score, size: effectiveSize(model) });
  }
  // Without a measured score, the estimates stay below the best converted one.
  if (ceiling === Infinity && known.length > 0) {
    ceiling = Math.max(...known.map((k) => k.score));
  }
  const points = known.filter((k) => k.size !== undefined).map((k) => ({
    log2Size: Math.log2(k.size!),
    score: k.score,
  }));
  const line = sizeLine(points);
  const fine = groupBy(known, (k) => familyOf(k.model.id).fine);
  const coarse = groupBy(known, (k) => familyOf(k.model.id).coarse);
  const unknown: FreeModel[] = [];
  for (const model of pool) {
    if (scores.has(model.id)) continue;
    const size = effectiveSize(model);
    const family = familyOf(model.id);
    const relatives = fine.get(family.fine) ?? coarse.get(family.coarse);
    if (relatives) {
      scores.set(model.id, {
        score: clamp(familyEstimate(relatives, size, line.slope)),
        source: "family",
      });
    } else if (size !== undefined) {
      scores.set(model.id, {
        score: clamp(line.intercept + line.slope * Math.log2(size)),
        source: "size",
      });
    } else unknown.push(model);
  }
  if (unknown.length > 0) {
    const others = [...scores.values()].map((s) => s.score);
    const fallback = others.length > 0
      ? quantile(others, 0.25)
      : line.intercept + line.slope * Math.log2(UNKNOWN_SIZE_B);
    for (const model of unknown) {
      scores.set(model.id, { score: clamp(fallback), source: "default" });
    }
  }
  return scores;
}

/** The estimate from a model's benchmarked relatives. */
function familyEstimate(
  relatives: readonly Known[],
  size: number | undefined,
  slope: number,
): number {
  if (size !== undefined) {
    let nearest: Known | undefined;
    for (const r of relatives) {
      if (r.size === undefined) continue;
      const gap = Math.abs(Math.log2(r.size / size));
      if (!nearest || gap < Math.abs(Math.log2(nearest.size! / size))) {
        nearest = r;
      }
    }
    if (nearest) {
      return nearest.score + slope * Math.log2(size / nearest.size!);
    }
  }
  return relatives.reduce((s, r) => s + r.score, 0) / relatives.length;
}

function groupBy<T>(
  items: readonly T[],
  key: (item: T) => string,
): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** The `q` quantile (0..1) of non-empty values, linearly interpolated. */
function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}
