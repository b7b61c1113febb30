/**
 * Small statistics helpers shared by the benchmark scripts.
 *
 * @module
 */

/** The p-th percentile (nearest rank) of an ascending array; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** The median of some numbers (NaN-free); NaN when there are none. */
export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** Min and max of some numbers (NaN-free). */
export function spread(values: readonly number[]): [number, number] {
  const v = values.filter((x) => Number.isFinite(x));
  return v.length === 0 ? [NaN, NaN] : [Math.min(...v), Math.max(...v)];
}

/**
 * The median of `f(a[i], b[i])` over two series measured in the same rounds,
 * pairs with a non-finite result skipped; NaN when none is left. Pairing by
 * round cancels drift that moves both series between rounds.
 */
export function medianOfPairs(
  a: readonly number[],
  b: readonly number[],
  f: (x: number, y: number) => number,
): number {
  const values: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    values.push(f(a[i]!, b[i]!));
  }
  return median(values);
}

/** {@link medianOfPairs} of `a[i] / b[i]` (a zero divisor skips the pair). */
export function medianRatio(
  a: readonly number[],
  b: readonly number[],
): number {
  return medianOfPairs(a, b, (x, y) => y === 0 ? NaN : x / y);
}

/** {@link medianOfPairs} of `a[i] - b[i]`. */
export function medianDifference(
  a: readonly number[],
  b: readonly number[],
): number {
  return medianOfPairs(a, b, (x, y) => x - y);
}
