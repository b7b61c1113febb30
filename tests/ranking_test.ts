/**
 * The quality ranking (core/quality.ts, core/model_size.ts, core/ranking.ts):
 * benchmark scores from the catalog, estimates for models without them,
 * health demotion, the cached orders, and the proxy ranking `auto` by quality
 * by default.
 */
import assert from "node:assert/strict";
import { buildFreePool, createHandler, type FreeModel } from "../src/mod.ts";
import { resolveRouterOptions } from "../src/options.ts";
import {
  effectiveSize,
  familyOf,
  parameterCount,
} from "../src/core/model_size.ts";
import { DEFAULT_CURVE, qualityScores } from "../src/core/quality.ts";
import {
  baseOrder,
  HEALTH_MEMORY_MS,
  healthTiers,
  type HealthView,
  rankedPool,
} from "../src/core/ranking.ts";
import type { ModelHealth } from "../src/core/health.ts";
import { errorStatus, startFakeOpenRouter } from "./fake_openrouter/mod.ts";
import { hello, manualClock, rig, SERVER_KEY } from "./_harness.ts";
import {
  AGENT,
  benchmarkCatalog,
  benchmarkPool,
  benchRow,
  BIG,
  CODER,
  MYSTERY,
  NANO,
  NO_TOOLS,
  SMALL,
  TINY,
  VISION,
} from "./_benchmark_catalog.ts";

const ids = (models: readonly FreeModel[]) => models.map((m) => m.id);
const NOW = Date.parse("2026-11-24T12:00:00Z");

function health(
  entries: Record<string, Partial<ModelHealth>>,
): Map<string, ModelHealth> {
  return new Map(
    Object.entries(entries).map(([id, h]) => [id, {
      successRate: 1,
      latencyMs: 1000,
      attempts: 5,
      consecutiveFailures: 0,
      lastError: null,
      lastAttemptAt: NOW,
      ...h,
    }]),
  );
}

const view = (
  h: Map<string, ModelHealth> = new Map(),
  version = 1,
  now = NOW,
): HealthView => ({ health: h, version, now });

// ---------------------------------------------------------------------------
// Catalog parsing and scores

Deno.test("buildFreePool() keeps the catalog's Artificial Analysis indices that are numbers, and leaves out null or absent ones", () => {
  const [a, b, c] = buildFreePool([
    benchRow("x/a:free", { indices: [50, null, 12.5] }),
    benchRow("x/b:free"),
    { ...benchRow("x/c:free"), benchmarks: { artificial_analysis: "n/a" } },
  ]).sort((p, q) => p.id.localeCompare(q.id));
  assert.equal(a!.intelligence_index, 50);
  assert.equal("coding_index" in a!, false);
  assert.equal(a!.agentic_index, 12.5);
  for (const m of [b!, c!]) {
    assert.deepEqual(
      [m.intelligence_index, m.coding_index, m.agentic_index],
      [undefined, undefined, undefined],
    );
  }
});

Deno.test("parameterCount() and effectiveSize() read total and active parameters from ids and names", () => {
  assert.deepEqual(parameterCount("meta-llama/llama-3.3-70b-instruct:free"), {
    total: 70,
  });
  assert.deepEqual(parameterCount("qwen/qwen3-30b-a3b:free"), {
    total: 30,
    active: 3,
  });
  assert.deepEqual(parameterCount("LiquidAI: LFM2.5 1.2B Instruct"), {
    total: 1.2,
  });
  assert.deepEqual(parameterCount("mistralai/mixtral-8x7b"), { total: 56 });
  assert.equal(parameterCount("qwen/qwen3-coder:free"), undefined);
  // A mixture of experts counts as the geometric mean of total and active.
  assert.equal(
    effectiveSize({ id: "qwen/qwen3-30b-a3b:free", name: "" }),
    Math.sqrt(90),
  );
  // No size in the id: the display name is read.
  assert.equal(
    effectiveSize({
      id: "qwen/qwen3-coder:free",
      name: "Qwen: Qwen3 Coder 480B A35B (free)",
    }),
    Math.sqrt(480 * 35),
  );
  assert.equal(
    effectiveSize({ id: "x/mystery:free", name: "Mystery" }),
    undefined,
  );
});

Deno.test("familyOf() groups ids by author and name, with and without the version", () => {
  assert.deepEqual(familyOf("meta-llama/llama-3.3-70b-instruct:free"), {
    fine: "meta-llama/llama-3.3",
    coarse: "meta-llama/llama",
  });
  assert.deepEqual(
    familyOf("meta-llama/llama-3.2-3b-instruct:free").coarse,
    "meta-llama/llama",
  );
  assert.deepEqual(familyOf("qwen/qwen3-30b-a3b:free"), {
    fine: "qwen/qwen3",
    coarse: "qwen/qwen",
  });
});

Deno.test("qualityScores() takes the catalog's index where present and says where each score came from", () => {
  const scores = qualityScores(benchmarkPool(), "intelligence");
  assert.deepEqual(
    [BIG, CODER, AGENT, NO_TOOLS, NANO].map((id) => scores.get(id)),
    [50, 40, 45, 30, 20].map((score) => ({ score, source: "benchmark" })),
  );
  assert.equal(scores.get(SMALL)!.source, "family");
  assert.equal(scores.get(VISION)!.source, "size");
  assert.equal(scores.get(TINY)!.source, "size");
  assert.equal(scores.get(MYSTERY)!.source, "default");
  const coding = qualityScores(benchmarkPool(), "coding");
  assert.deepEqual(coding.get(CODER), { score: 55, source: "benchmark" });
});

Deno.test("qualityScores() estimates a model from a benchmarked relative, lower for a smaller size", () => {
  const scores = qualityScores(benchmarkPool(), "intelligence");
  const small = scores.get(SMALL)!.score;
  assert.ok(small < 50, `the 8b relative of a 70b scoring 50 gets ${small}`);
  // Same relative, same size: the relative's score.
  const twin = qualityScores(
    buildFreePool([
      benchRow("acme/big-70b:free", { indices: [50, 40, 30] }),
      benchRow("acme/big-70b-turbo:free"),
    ]),
    "intelligence",
  );
  assert.deepEqual(twin.get("acme/big-70b-turbo:free"), {
    score: 50,
    source: "family",
  });
});

Deno.test("qualityScores() estimates by size along the pool's own benchmarks: bigger is better, and unknown models rank below most known ones", () => {
  const scores = qualityScores(benchmarkPool(), "intelligence");
  const vision = scores.get(VISION)!.score; // 12b
  const tiny = scores.get(TINY)!.score; // 1b
  assert.ok(tiny < vision, `1b ${tiny} < 12b ${vision}`);
  assert.ok(tiny >= 0);
  const mystery = scores.get(MYSTERY)!.score;
  const others = [...scores].filter(([id]) => id !== MYSTERY).map(([, s]) =>
    s.score
  ).sort((a, b) => a - b);
  assert.ok(mystery > others[0]! && mystery < others[others.length >> 1]!);
});

Deno.test("qualityScores() caps a converted index at the pool's best measured score, as any estimate", () => {
  const pool = buildFreePool([
    benchRow("a/one:free", { indices: [50, 40, null] }),
    benchRow("b/two:free", { indices: [20, 16, null] }),
    benchRow("c/coder:free", { indices: [null, 44, null] }),
  ]);
  // 44 × the median ratio 1.25 is 55, above a/one's measured 50.
  assert.deepEqual(qualityScores(pool, "intelligence").get("c/coder:free"), {
    score: 50,
    source: "converted",
  });
});

Deno.test("qualityScores() converts another index of the same model before estimating, and never estimates above the best benchmark", () => {
  const pool = buildFreePool([
    benchRow("a/one:free", { indices: [50, 40, null] }),
    benchRow("b/two:free", { indices: [20, 16, null] }),
    benchRow("c/coder:free", { indices: [null, 32, null] }),
    benchRow("d/giant-2000b:free"),
  ]);
  const scores = qualityScores(pool, "intelligence");
  assert.deepEqual(scores.get("c/coder:free"), {
    score: 40,
    source: "converted",
  });
  assert.deepEqual(scores.get("d/giant-2000b:free"), {
    score: 50,
    source: "size",
  });
});

Deno.test("qualityScores() without any benchmark in the pool orders by size on the default curve", () => {
  const pool = buildFreePool([
    benchRow("a/small-8b:free"),
    benchRow("b/large-405b:free"),
    benchRow("c/unknown:free"),
  ]);
  const scores = qualityScores(pool, "intelligence");
  assert.equal(
    scores.get("a/small-8b:free")!.score,
    DEFAULT_CURVE.intercept + DEFAULT_CURVE.slope * 3,
  );
  assert.deepEqual(ids(baseOrder(pool, "quality")), [
    "b/large-405b:free",
    "c/unknown:free",
    "a/small-8b:free",
  ]);
});

// ---------------------------------------------------------------------------
// Orders and health

Deno.test("rankedPool() orders by intelligence, where the priority order put the nano model with the largest context first", () => {
  const pool = benchmarkPool();
  assert.equal(pool[0]!.id, NANO);
  assert.deepEqual(ids(rankedPool(pool, "quality", view())).slice(0, 4), [
    BIG,
    AGENT,
    CODER,
    NO_TOOLS,
  ]);
  assert.equal(rankedPool(pool, "priority", view()), pool);
});

Deno.test("rankedPool() breaks equal scores by larger context, then id", () => {
  const pool = buildFreePool([
    benchRow("b/m:free", { context: 8192, indices: [30, null, null] }),
    benchRow("a/m:free", { context: 8192, indices: [30, null, null] }),
    benchRow("c/m:free", { context: 65536, indices: [30, null, null] }),
  ]);
  assert.deepEqual(ids(rankedPool(pool, "quality", view())), [
    "c/m:free",
    "a/m:free",
    "b/m:free",
  ]);
});

Deno.test("rankedPool() moves a model that keeps failing to the end and one much slower than its peers behind the healthy ones, without removing either", () => {
  const pool = benchmarkPool();
  const h = health({
    [BIG]: { successRate: 0.3, attempts: 4 },
    [AGENT]: { latencyMs: 20_000 },
    [CODER]: { latencyMs: 1_000 },
    [NO_TOOLS]: { latencyMs: 1_200 },
    [SMALL]: { latencyMs: 900 },
  });
  const order = ids(rankedPool(pool, "quality", view(h)));
  assert.equal(order.length, pool.length);
  assert.equal(order[0], CODER);
  assert.equal(order.at(-1), BIG);
  assert.equal(order.at(-2), AGENT);
  assert.deepEqual(
    [healthTiers(pool, h, NOW).get(BIG), healthTiers(pool, h, NOW).get(AGENT)],
    [2, 1],
  );
});

Deno.test("rankedPool() does not demote on too few attempts, on a slow model among slow peers, or on health older than the memory", () => {
  const pool = benchmarkPool();
  const few = health({ [BIG]: { successRate: 0, attempts: 2 } });
  assert.equal(rankedPool(pool, "quality", view(few, 2))[0]!.id, BIG);
  const old = health({
    [BIG]: {
      successRate: 0,
      attempts: 9,
      lastAttemptAt: NOW - HEALTH_MEMORY_MS,
    },
  });
  assert.equal(rankedPool(pool, "quality", view(old, 3))[0]!.id, BIG);
  const allSlow = health({
    [BIG]: { latencyMs: 20_000 },
    [AGENT]: { latencyMs: 19_000 },
    [CODER]: { latencyMs: 21_000 },
  });
  assert.equal(rankedPool(pool, "quality", view(allSlow, 4))[0]!.id, BIG);
});

Deno.test("rankedPool() returns the same array until the health tiers change, and lets a demotion lapse with time", () => {
  const pool = benchmarkPool();
  const h = health({ [CODER]: { successRate: 0.9 } });
  const first = rankedPool(pool, "quality", view(h, 10));
  // A new health version with the same tiers: the cached order.
  h.set(CODER, { ...h.get(CODER)!, successRate: 0.8 });
  assert.equal(rankedPool(pool, "quality", view(h, 11)), first);
  // A demotion: a new order.
  h.set(BIG, { ...h.get(CODER)!, successRate: 0.2 });
  const demoted = rankedPool(pool, "quality", view(h, 12));
  assert.notEqual(demoted, first);
  assert.equal(demoted.at(-1)!.id, BIG);
  assert.equal(rankedPool(pool, "quality", view(h, 12)), demoted);
  // The failures are older than the memory: BIG is back on top.
  const later = NOW + HEALTH_MEMORY_MS;
  assert.equal(rankedPool(pool, "quality", view(h, 12, later))[0]!.id, BIG);
});

Deno.test("rankedPool() adaptive sorts by health score and is rebuilt on each health version", () => {
  const pool = benchmarkPool();
  const h = health({ [TINY]: { successRate: 1, latencyMs: 10 } });
  for (const m of pool) {
    if (m.id !== TINY) h.set(m.id, { ...h.get(TINY)!, successRate: 0.5 });
  }
  assert.equal(rankedPool(pool, "adaptive", view(h, 20))[0]!.id, TINY);
  h.set(TINY, { ...h.get(TINY)!, successRate: 0 });
  assert.notEqual(rankedPool(pool, "adaptive", view(h, 21))[0]!.id, TINY);
});

// ---------------------------------------------------------------------------
// The proxy

Deno.test("resolveRouterOptions() makes quality the default strategy and rejects unknown ones", () => {
  assert.equal(resolveRouterOptions({}).strategy, "quality");
  assert.throws(
    () => resolveRouterOptions({ strategy: "fastest" as "quality" }),
    /"strategy" must be "quality", "priority" or "adaptive"/,
  );
});

Deno.test("createHandler() sends auto to the best benchmarked model by default, and lists the pool by quality at /v1/models", async () => {
  await using fake = startFakeOpenRouter({ models: benchmarkCatalog() });
  const clock = manualClock();
  await using handler = createHandler({
    apiKey: SERVER_KEY,
    baseUrl: fake.baseUrl,
    now: clock.now,
  });
  const res = await handler(
    new Request("http://freerouter.test/v1/chat/completions", {
      method: "POST",
      body: JSON.stringify(hello()),
    }),
  );
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-freerouter-model"), BIG);
  await res.body?.cancel();
  const list = await (await handler(
    new Request("http://freerouter.test/v1/models"),
  )).json() as { data: Array<{ id: string; intelligence_index: unknown }> };
  assert.deepEqual(
    list.data.slice(0, 4).map((m) => m.id),
    [BIG, AGENT, CODER, NO_TOOLS],
  );
  assert.equal(list.data[0]!.intelligence_index, 50);
});

Deno.test("createHandler() with strategy priority keeps today's order", async () => {
  await using r = rig({
    fakeOptions: { models: benchmarkCatalog() },
    strategy: "priority",
  });
  const res = await r.chat(hello());
  assert.equal(res.headers.get("x-freerouter-model"), NANO);
  await res.body?.cancel();
});

Deno.test("createHandler() demotes a model whose recent attempts mostly failed, and the status shows score, source and rank", async () => {
  await using r = rig({
    fakeOptions: { models: benchmarkCatalog() },
    strategy: "quality",
  });
  r.fake.script(BIG, errorStatus(502), errorStatus(502));
  const served: string[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await r.chat(hello());
    served.push(res.headers.get("x-freerouter-model")!);
    await res.body?.cancel();
  }
  // Two failures (fallback to AGENT), one success: 3 attempts, rate 0.2.
  assert.deepEqual(served, [AGENT, AGENT, BIG, AGENT]);
  assert.deepEqual(
    r.fake.chatRequests().map((q) => q.model),
    [BIG, AGENT, BIG, AGENT, BIG, AGENT],
  );
  const status = await (await r.request("/v1/freerouter/status")).json() as {
    strategy: string;
    pool: Array<
      {
        id: string;
        rank: number;
        quality_score: number;
        quality_source: string;
      }
    >;
  };
  assert.equal(status.strategy, "quality");
  const row = (id: string) => status.pool.find((m) => m.id === id)!;
  assert.deepEqual(
    [row(AGENT).rank, row(AGENT).quality_score, row(AGENT).quality_source],
    [1, 45, "benchmark"],
  );
  assert.equal(row(BIG).rank, status.pool.length);
  assert.equal(row(SMALL).quality_source, "family");
  assert.equal(row(MYSTERY).quality_source, "default");
});
