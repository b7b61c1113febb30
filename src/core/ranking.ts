/**
 * The orders the router tries models in: by expected quality (the default
 * `quality` strategy and the `auto:*` aliases), today's `priority` order, or
 * the `adaptive` health order. Measured health demotes a model without
 * removing it. Every order is computed once per pool and health change and
 * then reused: a request only looks it up. Pure (the caches are memos keyed
 * on the pool array and the health version).
 *
 * @module
 */
import type { FreeModel } from "../types.ts";
import { supports, supportsReasoning } from "./capabilities.ts";
import { adaptiveOrder, type ModelHealth } from "./health.ts";
import { effectiveSize } from "./model_size.ts";
import { type BenchmarkIndex, qualityScores } from "./quality.ts";

/** How `auto` (and a named model's fallbacks) are ordered. */
export type Strategy = "quality" | "priority" | "adaptive";

/** The strategies, default first. */
export const STRATEGIES: readonly Strategy[] = [
  "quality",
  "priority",
  "adaptive",
];

/** An order the router can ask for: a strategy, or a built-in alias's intent. */
export type OrderKind =
  | Strategy
  | "coding"
  | "agentic"
  | "fast"
  | "long"
  | "vision"
  | "reasoning";

/** What the health-dependent orders read: the health map, its version and the clock. */
export interface HealthView {
  /** Health by model id. */
  health: ReadonlyMap<string, ModelHealth>;
  /** Bumped whenever `health` changes (see `RoutingState.healthVersion`). */
  version: number;
  /** The current time, epoch ms. */
  now: number;
}

/** Attempts a model needs in the health window before it can be demoted. */
export const MIN_HEALTH_ATTEMPTS = 3;
/** A recent success rate below this demotes a model (to the last tier). */
export const LOW_SUCCESS_RATE = 0.5;
/** A latency this many times the pool's median demotes a model (one tier)… */
export const SLOW_FACTOR = 3;
/** …when it is also this much slower than the median, ms. */
export const SLOW_MARGIN_MS = 5_000;
/** Latencies of at least this many models make a median worth comparing with. */
export const MIN_LATENCY_PEERS = 3;
/** Health older than this (since the model's last attempt) no longer demotes, so a demoted model gets tried again. */
export const HEALTH_MEMORY_MS = 15 * 60_000;

/** 0: healthy; 1: much slower than its peers; 2: failing. */
export type HealthTier = 0 | 1 | 2;

/** The pool's health tiers at one health version. */
interface Tiers {
  health: ReadonlyMap<string, ModelHealth>;
  version: number;
  /** The tiers hold until this instant (a demotion lapses then). */
  until: number;
  /** One digit per pool model: a cheap equality check between versions. */
  signature: string;
  tier: Map<string, HealthTier>;
}

/**
 * The health tier of each pool model: 2 when it has at least
 * {@link MIN_HEALTH_ATTEMPTS} attempts and a success rate (the moving average
 * of `ModelHealth`) below {@link LOW_SUCCESS_RATE}; 1 when its latency is over
 * {@link SLOW_FACTOR} times the median of the pool's measured models (at least
 * {@link MIN_LATENCY_PEERS} of them) and {@link SLOW_MARGIN_MS} above it;
 * else 0. A model whose last attempt is {@link HEALTH_MEMORY_MS} old or more
 * is not judged (tier 0), and neither counts in the median.
 */
export function healthTiers(
  pool: readonly FreeModel[],
  health: ReadonlyMap<string, ModelHealth>,
  now: number,
): Map<string, HealthTier> {
  return computeTiers(pool, { health, version: -1, now }).tier;
}

function computeTiers(pool: readonly FreeModel[], view: HealthView): Tiers {
  const { health, now } = view;
  const tier = new Map<string, HealthTier>();
  let until = Infinity;
  const recent: Array<[string, ModelHealth]> = [];
  for (const model of pool) {
    const h = health.get(model.id);
    if (h === undefined || h.attempts === 0) continue;
    const expires = h.lastAttemptAt + HEALTH_MEMORY_MS;
    if (expires <= now) continue;
    until = Math.min(until, expires);
    recent.push([model.id, h]);
  }
  const latencies = recent.map(([, h]) => h.latencyMs).filter((l) =>
    l !== null
  ) as number[];
  latencies.sort((a, b) => a - b);
  const median = latencies.length >= MIN_LATENCY_PEERS
    ? latencies[latencies.length >> 1]!
    : undefined;
  for (const [id, h] of recent) {
    if (h.attempts >= MIN_HEALTH_ATTEMPTS && h.successRate < LOW_SUCCESS_RATE) {
      tier.set(id, 2);
    } else if (
      median !== undefined && h.latencyMs !== null &&
      h.latencyMs > median * SLOW_FACTOR &&
      h.latencyMs - median > SLOW_MARGIN_MS
    ) tier.set(id, 1);
  }
  let signature = "";
  for (const model of pool) signature += tier.get(model.id) ?? 0;
  return { health, version: view.version, until, signature, tier };
}

/** Health-free orders, by pool: computed once per catalog. */
const bases = new WeakMap<readonly FreeModel[], Map<OrderKind, FreeModel[]>>();
/** Health tiers and health-dependent orders, by pool. */
const live = new WeakMap<
  readonly FreeModel[],
  { tiers?: Tiers; orders: Map<OrderKind, { key: Tiers; order: FreeModel[] }> }
>();

/** Sorts by score (high first), then larger context, then id. */
function byScore(
  models: readonly FreeModel[],
  score: (m: FreeModel) => number,
): FreeModel[] {
  return models.map((m) => ({ m, s: score(m) })).sort((a, b) =>
    b.s - a.s || b.m.context_length - a.m.context_length ||
    (a.m.id < b.m.id ? -1 : a.m.id > b.m.id ? 1 : 0)
  ).map((e) => e.m);
}

function scoreBy(pool: readonly FreeModel[], index: BenchmarkIndex) {
  const scores = qualityScores(pool, index);
  return (m: FreeModel) => scores.get(m.id)?.score ?? 0;
}

function computeBase(pool: readonly FreeModel[], kind: OrderKind): FreeModel[] {
  const intelligence = scoreBy(pool, "intelligence");
  switch (kind) {
    case "priority":
    case "adaptive":
      return [...pool];
    case "quality":
      return byScore(pool, intelligence);
    case "coding":
      return byScore(pool, scoreBy(pool, "coding"));
    case "agentic":
      return byScore(
        pool.filter((m) => supports(m, "tools") === "yes"),
        scoreBy(pool, "agentic"),
      );
    case "long": {
      const ranked = byScore(pool, intelligence);
      const rank = new Map(ranked.map((m, i) => [m.id, i]));
      return ranked.sort((a, b) =>
        b.context_length - a.context_length || rank.get(a.id)! - rank.get(b.id)!
      );
    }
    case "vision":
      return byScore(
        pool.filter((m) => m.input_modalities.includes("image")),
        intelligence,
      );
    case "reasoning":
      return byScore(pool.filter(supportsReasoning), intelligence);
    case "fast": {
      // Before any measurement: smaller models first (unknown sizes last).
      const ranked = byScore(pool, intelligence);
      const size = new Map(ranked.map((m) => [m.id, effectiveSize(m)]));
      return ranked.map((m, i) => ({ m, i, s: size.get(m.id) ?? Infinity }))
        .sort((a, b) => a.s - b.s || a.i - b.i).map((e) => e.m);
    }
  }
}

/**
 * The order of `kind` without health: what `/v1/models` lists for a
 * strategy, and what demotion starts from. Computed once per pool array.
 */
export function baseOrder(
  pool: readonly FreeModel[],
  kind: OrderKind,
): readonly FreeModel[] {
  let byKind = bases.get(pool);
  if (byKind === undefined) bases.set(pool, byKind = new Map());
  let order = byKind.get(kind);
  if (order === undefined) byKind.set(kind, order = computeBase(pool, kind));
  return order;
}

/**
 * The pool in the order of `kind`, health included: `priority` is the pool
 * as stored; `adaptive` sorts by health score (see `adaptiveOrder`); `fast`
 * puts the lowest measured latency first among healthy models (a model not
 * measured yet counts as the median, smaller ones first); every other kind is
 * its quality order with failing models moved after slow ones, and slow ones
 * after healthy ones. The result is reused until the health version changes
 * (and, for the tiers, until they would change): the same array is returned
 * while nothing changed.
 */
export function rankedPool(
  pool: readonly FreeModel[],
  kind: OrderKind,
  view: HealthView,
): readonly FreeModel[] {
  if (kind === "priority") return pool;
  let state = live.get(pool);
  if (state === undefined) live.set(pool, state = { orders: new Map() });
  let tiers = state.tiers;
  if (
    tiers === undefined || tiers.health !== view.health ||
    tiers.version !== view.version || view.now >= tiers.until
  ) {
    const next = computeTiers(pool, view);
    // Same tiers as before: the orders built from the tiers stay valid.
    const tierOnly = tiers !== undefined && tiers.health === view.health &&
      tiers.signature === next.signature;
    state.tiers = tiers = tierOnly
      ? { ...tiers!, version: next.version, until: next.until }
      : next;
  }
  const cached = state.orders.get(kind);
  // `adaptive` and `fast` read latencies and rates, not only the tiers.
  if (
    cached !== undefined && cached.key.signature === tiers.signature &&
    cached.key.health === tiers.health &&
    (kind !== "adaptive" && kind !== "fast" ||
      cached.key.version === tiers.version)
  ) return cached.order;
  const order = kind === "adaptive"
    ? adaptiveOrder(pool, view.health)
    : kind === "fast"
    ? fastOrder(baseOrder(pool, kind), view.health, tiers.tier)
    : demote(baseOrder(pool, kind), tiers.tier);
  state.orders.set(kind, { key: tiers, order });
  return order;
}

/** Stable partition by tier: healthy, then slow, then failing. */
function demote(
  base: readonly FreeModel[],
  tier: ReadonlyMap<string, HealthTier>,
): FreeModel[] {
  if (tier.size === 0) return base as FreeModel[];
  const groups: FreeModel[][] = [[], [], []];
  for (const m of base) groups[tier.get(m.id) ?? 0]!.push(m);
  return groups.flat();
}

function fastOrder(
  base: readonly FreeModel[],
  health: ReadonlyMap<string, ModelHealth>,
  tier: ReadonlyMap<string, HealthTier>,
): FreeModel[] {
  const measured: number[] = [];
  for (const m of base) {
    const l = health.get(m.id)?.latencyMs;
    if (l != null) measured.push(l);
  }
  if (measured.length === 0) return demote(base, tier);
  measured.sort((a, b) => a - b);
  const median = measured[measured.length >> 1]!;
  return base.map((m, i) => ({
    m,
    i,
    t: tier.get(m.id) ?? 0,
    l: health.get(m.id)?.latencyMs ?? median,
  })).sort((a, b) => a.t - b.t || a.l - b.l || a.i - b.i).map((e) => e.m);
}
