/**
 * The model aliases (core/aliases.ts): each built-in `auto:*` intent, custom
 * aliases from FREEROUTER_ALIASES or the `aliases` option, unknown `auto:*`
 * names answered with 400, and the aliases listed at /v1/models.
 */
import assert from "node:assert/strict";
import {
  aliasNames,
  isAutoName,
  matchesPattern,
  parseAliases,
  poolFor,
  type PoolForInput,
} from "../src/core/aliases.ts";
import { orderCandidates } from "../src/core/candidates.ts";
import type { ModelHealth } from "../src/core/health.ts";
import { ConfigError, parseServerConfig } from "../src/server/config.ts";
import { resolveRouterOptions } from "../src/options.ts";
import type { FreeModel } from "../src/mod.ts";
import {
  ALIAS_IDS,
  freeModel,
  hello,
  jsonOf,
  rig,
  type RigOptions,
} from "./_harness.ts";
import {
  AGENT,
  benchmarkCatalog,
  benchmarkPool,
  benchRow,
  BIG,
  CODER,
  NANO,
  NO_TOOLS,
  SMALL,
  TINY,
  VISION,
} from "./_benchmark_catalog.ts";
import { FREE_CHAT_IDS_IN_PRIORITY_ORDER } from "./fake_openrouter/mod.ts";

/** The first model of the fake's default catalog. */
const FIRST = FREE_CHAT_IDS_IN_PRIORITY_ORDER[0]!;

const ids = (models: readonly FreeModel[]) => models.map((m) => m.id);

function input(overrides: Partial<PoolForInput> = {}): PoolForInput {
  return {
    strategy: "quality",
    aliases: new Map(),
    health: new Map(),
    version: 0,
    now: Date.parse("2026-11-24T12:00:00Z"),
    ...overrides,
  };
}

function order(requested: string, overrides?: Partial<PoolForInput>): string[] {
  const result = poolFor(benchmarkPool(), requested, input(overrides));
  assert.ok(result.ok, result.ok ? "" : result.message);
  return ids(result.pool);
}

function benchRig(options: RigOptions = {}) {
  return rig({
    fakeOptions: { models: benchmarkCatalog() },
    strategy: "quality",
    ...options,
  });
}

/** The model a chat request for `model` was first sent to upstream. */
async function firstTried(
  r: ReturnType<typeof benchRig>,
  body: Record<string, unknown>,
): Promise<string | undefined> {
  const before = r.fake.chatRequests().length;
  const res = await r.chat(body);
  assert.equal(res.status, 200, await res.clone().text());
  await res.body?.cancel();
  return r.fake.chatRequests()[before]?.model;
}

// ---------------------------------------------------------------------------
// Each built-in alias

Deno.test("poolFor() auto:coding ranks by the coding index", () => {
  assert.deepEqual(order("auto:coding").slice(0, 3), [CODER, BIG, AGENT]);
});

Deno.test("poolFor() auto:agentic ranks by the agentic index among models with tool support only", () => {
  const agentic = order("auto:agentic");
  assert.deepEqual(agentic.slice(0, 3), [AGENT, CODER, BIG]);
  assert.equal(agentic.includes(NO_TOOLS), false, "agentic 60 but no tools");
  assert.equal(agentic.includes(VISION), false);
});

Deno.test("poolFor() auto:fast puts smaller models first before any measurement, then the lowest measured latency among healthy models", () => {
  assert.deepEqual(order("auto:fast").slice(0, 3), [TINY, SMALL, NANO]);
  const at = Date.parse("2026-11-24T12:00:00Z");
  const h = (latencyMs: number, successRate = 1): ModelHealth => ({
    successRate,
    latencyMs,
    attempts: 5,
    consecutiveFailures: 0,
    lastError: null,
    lastAttemptAt: at,
  });
  const health = new Map([
    [TINY, h(900)],
    [BIG, h(300)],
    [CODER, h(200, 0.1)], // fastest, but failing
    [AGENT, h(4_000)],
  ]);
  const fast = order("auto:fast", { health, version: 1, now: at });
  assert.equal(fast[0], BIG);
  assert.equal(fast[1], TINY);
  assert.equal(fast.at(-1), CODER);
});

Deno.test("poolFor() auto:long ranks by context, auto:vision keeps image models, auto:reasoning reasoning models", () => {
  assert.deepEqual(order("auto:long").slice(0, 3), [NANO, CODER, BIG]);
  assert.deepEqual(order("auto:vision"), [VISION]);
  assert.deepEqual(order("auto:reasoning"), [AGENT]);
});

Deno.test("poolFor() auto follows the strategy; a model id or an unknown plain name too", () => {
  assert.equal(order("auto")[0], BIG);
  assert.equal(order("auto", { strategy: "priority" })[0], NANO);
  assert.equal(order("acme/coder-32b:free")[0], BIG);
  assert.equal(order("some-model")[0], BIG);
});

Deno.test("poolFor() refuses an unknown auto:* name, naming the known aliases, and an alias no pool model serves", () => {
  const unknown = poolFor(
    benchmarkPool(),
    "auto:cheap",
    input({ aliases: new Map([["mine", ["a/*"]]]) }),
  );
  assert.equal(unknown.ok, false);
  assert.match(
    unknown.ok ? "" : unknown.message,
    /^Unknown model alias "auto:cheap"\. Known aliases: auto, auto:coding, auto:agentic, auto:fast, auto:long, auto:vision, auto:reasoning, mine$/,
  );
  assert.equal(unknown.ok ? undefined : unknown.unknown, true);
  const noVision = poolFor(
    benchmarkPool().filter((m) => m.id !== VISION),
    "auto:vision",
    input(),
  );
  assert.equal(noVision.ok, false);
  assert.match(
    noVision.ok ? "" : noVision.message,
    /No free model serves "auto:vision"/,
  );
  // A known alias that no model serves is not an unknown name.
  assert.equal(noVision.ok ? undefined : noVision.unknown, undefined);
});

Deno.test("orderCandidates() treats alias names like auto, never as a requested model id", () => {
  // A (contrived) pool model whose id is an alias name is not put first.
  const pool = [...benchmarkPool(), freeModel("auto:coding", 8192)];
  for (const requested of ["auto:coding", "auto", "openrouter/auto", ""]) {
    assert.equal(isAutoName(requested), true);
    const { candidates } = orderCandidates({
      pool,
      requested,
      cooldowns: new Map(),
      now: 0,
      maxAttempts: 2,
    });
    assert.deepEqual(ids(candidates), [NANO, CODER]);
  }
  assert.equal(isAutoName(BIG), false);
  const named = orderCandidates({
    pool,
    requested: BIG,
    cooldowns: new Map(),
    now: 0,
    maxAttempts: 2,
  });
  assert.deepEqual(ids(named.candidates), [BIG, NANO]);
});

// ---------------------------------------------------------------------------
// Custom aliases

Deno.test("parseAliases() reads name=ids;name2=… with patterns, ignoring spaces", () => {
  const parsed = parseAliases(" small = tiny/*, acme/big-8b:free ; x.y=a/b ;");
  assert.ok(parsed.ok);
  assert.deepEqual(Object.fromEntries(parsed.aliases), {
    small: ["tiny/*", "acme/big-8b:free"],
    "x.y": ["a/b"],
  });
  assert.equal(matchesPattern("acme/big-70b:free", "acme/*:free"), true);
  assert.equal(matchesPattern("acme/big-70b:free", "acme/*"), true);
  assert.equal(matchesPattern("xacme/big", "acme/*"), false);
  assert.equal(matchesPattern("acme/big.70b", "acme/big.70b"), true);
  assert.equal(matchesPattern("acme/bigX70b", "acme/big.70b"), false);
});

Deno.test("poolFor() routes a custom alias over its entries in order, a pattern's matches by quality", () => {
  const aliases = new Map([["mine", [TINY, "acme/*", "nobody/*"]]]);
  assert.deepEqual(order("mine", { aliases }), [
    TINY,
    BIG,
    AGENT,
    CODER,
    NO_TOOLS,
    SMALL,
  ]);
  const none = poolFor(
    benchmarkPool(),
    "ghost",
    input({ aliases: new Map([["ghost", ["gone/*"]]]) }),
  );
  assert.equal(none.ok, false);
  assert.match(
    none.ok ? "" : none.message,
    /No free model matches the alias "ghost" \(gone\/\*\)/,
  );
});

Deno.test("parseServerConfig() validates FREEROUTER_ALIASES at startup with one line naming the alias", () => {
  assert.deepEqual(
    parseServerConfig({ FREEROUTER_ALIASES: "small=tiny/*,acme/big-8b:free" })
      .aliases,
    { small: ["tiny/*", "acme/big-8b:free"] },
  );
  const cases: Array<[string, RegExp]> = [
    ["fast=", /alias "fast" lists no model/],
    ["auto:coding=a/b", /alias "auto:coding" redefines a built-in alias/],
    ["auto=a/b", /alias "auto" redefines a built-in alias/],
    ["x/y=a/b", /alias "x\/y" is not a valid alias name/],
    ["loose", /alias "loose" is not name=models/],
    ["a=b/c;a=d/e", /alias "a" is defined twice/],
  ];
  for (const [value, pattern] of cases) {
    assert.throws(
      () => parseServerConfig({ FREEROUTER_ALIASES: value }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.ok(
          err.message.startsWith(
            "Invalid configuration: FREEROUTER_ALIASES alias ",
          ),
        );
        assert.equal(err.message.includes("\n"), false);
        assert.match(err.message, pattern);
        return true;
      },
      value,
    );
  }
});

Deno.test("resolveRouterOptions() validates the aliases option", () => {
  assert.deepEqual(
    [...resolveRouterOptions({ aliases: { mine: ["a/*"] } }).aliases],
    [["mine", ["a/*"]]],
  );
  assert.throws(
    () => resolveRouterOptions({ aliases: { "auto:fast": ["a/b"] } }),
    /Cannot route: alias "auto:fast" redefines a built-in alias/,
  );
  assert.throws(
    () => resolveRouterOptions({ aliases: { mine: [] } }),
    /alias "mine" lists no model/,
  );
});

// ---------------------------------------------------------------------------
// Through the proxy

Deno.test("createHandler() routes each alias to its first model", async () => {
  await using r = benchRig({ aliases: { mine: [TINY, "acme/*"] } });
  const expected: Record<string, string> = {
    "auto": BIG,
    "auto:coding": CODER,
    "auto:agentic": AGENT,
    "auto:fast": TINY,
    "auto:long": NANO,
    "auto:vision": VISION,
    "auto:reasoning": AGENT,
    "mine": TINY,
  };
  for (const [alias, model] of Object.entries(expected)) {
    assert.equal(await firstTried(r, hello(alias)), model, alias);
  }
});

Deno.test("createHandler() answers an unknown auto:* alias with 400 model_not_found in the OpenAI shape (param: model) naming the known ones, without calling upstream", async () => {
  await using r = benchRig();
  const res = await r.chat(hello("auto:bogus"));
  assert.equal(res.status, 400);
  const body = await jsonOf(res) as {
    error: { message: string; type: string; code: string; param: string };
  };
  assert.equal(body.error.type, "invalid_request_error");
  assert.equal(body.error.code, "model_not_found");
  assert.equal(body.error.param, "model");
  assert.match(body.error.message, /Unknown model alias "auto:bogus"/);
  for (const name of ALIAS_IDS) assert.ok(body.error.message.includes(name));
  assert.equal(r.fake.chatRequests().length, 0);
});

Deno.test("createHandler() lists the aliases after the pool's models at /v1/models, custom ones last", async () => {
  await using r = benchRig({ aliases: { mine: [TINY] } });
  const list = await jsonOf(await r.request("/v1/models")) as {
    data: Array<{ id: string; owned_by: string; name: string }>;
  };
  const listed = list.data.map((m) => m.id);
  const pool = benchmarkCatalog().length;
  assert.deepEqual(listed.slice(pool), [...ALIAS_IDS, "mine"]);
  assert.deepEqual(aliasNames(new Map([["mine", [TINY]]])), [
    ...ALIAS_IDS,
    "mine",
  ]);
  const coding = list.data.find((m) => m.id === "auto:coding")!;
  assert.equal(coding.owned_by, "freerouter");
  assert.match(coding.name, /coding/i);
});

Deno.test("createHandler() status lists each alias with the models it would try", async () => {
  await using r = benchRig();
  await (await r.chat(hello())).body?.cancel();
  const status = await jsonOf(await r.request("/v1/freerouter/status")) as {
    aliases: Array<{ name: string; custom: boolean; models: string[] }>;
  };
  const byName = new Map(status.aliases.map((a) => [a.name, a]));
  assert.deepEqual(status.aliases.map((a) => a.name), ALIAS_IDS);
  assert.deepEqual(byName.get("auto:vision")!.models, [VISION]);
  assert.equal(byName.get("auto")!.models[0], BIG);
  assert.equal(byName.get("auto:long")!.models[0], NANO);
});

Deno.test("benchRow() builds rows freerouter routes (sanity of the test catalog)", () => {
  assert.equal(benchRow("x/y:free").id, "x/y:free");
});

Deno.test("createHandler() warns of alias entries that match no free model at the first pool, once, and again when a refresh leaves another without a model", async () => {
  const warnings: string[] = [];
  const logger = {
    info: () => {},
    warn: (message: string) => void warnings.push(message),
  };
  await using r = rig({
    aliases: { coder: ["nobody/*"], big: [FIRST] },
    logger,
    modelRefreshTtl: 600,
  });
  const unmatched = () =>
    warnings.filter((w) =>
      /names models that are not in the free pool/.test(w)
    );
  for (let i = 0; i < 2; i++) await (await r.chat(hello())).body?.cancel();
  assert.equal(unmatched().length, 1, "once per pool");
  assert.match(unmatched()[0]!, /pool\): coder: nobody\/\*$/);
  r.fake.models = r.fake.models.filter((m) =>
    (m as { id?: string }).id !== FIRST
  );
  r.clock.advance(600_000);
  await (await r.chat(hello())).body?.cancel(); // starts the refresh
  await r.handler.close(); // waits for it
  await (await r.chat(hello())).body?.cancel();
  await (await r.chat(hello())).body?.cancel();
  assert.equal(unmatched().length, 2, "once more, for the new pool");
  assert.ok(
    unmatched()[1]!.endsWith(`pool): coder: nobody/*; big: ${FIRST}`),
    unmatched()[1],
  );
});
