import assert from "node:assert/strict";
import { freeModel } from "./_harness.ts";
import { orderCandidates } from "../src/core/candidates.ts";
import {
  describeMisfit,
  misfit,
  type RequestNeeds,
} from "../src/core/capabilities.ts";
import type { CooldownEntry } from "../src/core/cooldown.ts";
import type { FreeModel } from "../src/types.ts";

const NOW = 1779278400000; // 2026-05-20T12:00:00Z

const model = freeModel;

const QWEN = "qwen/qwen3-coder:free";
const NEMOTRON = "nvidia/nemotron-3-super-120b-a12b:free";
const GEMMA = "google/gemma-4-31b-it:free";
const GPT_OSS = "openai/gpt-oss-120b:free";

/** A pool in priority order, frozen so a mutation would throw. */
const POOL: readonly FreeModel[] = Object.freeze([
  model(QWEN, 1048576),
  model(NEMOTRON, 1000000),
  model(GEMMA, 262144),
  model(GPT_OSS, 131072),
]);

function cooldowns(
  entries: Record<string, number>,
): ReadonlyMap<string, CooldownEntry> {
  return new Map(
    Object.entries(entries).map((
      [id, until],
    ) => [id, { model: id, until, reason: "429" }]),
  );
}

const NONE = cooldowns({});

/** The ids orderCandidates() picks for a request that needs nothing special. */
function order(
  requested: string | undefined,
  cooling: ReadonlyMap<string, CooldownEntry>,
  maxAttempts: number,
  pool: readonly FreeModel[] = POOL,
): string[] {
  const result = orderCandidates({
    pool,
    requested,
    cooldowns: cooling,
    now: NOW,
    maxAttempts,
  });
  assert.equal(result.misfit, undefined);
  return result.candidates.map((m) => m.id);
}

Deno.test("orderCandidates() puts the requested pool model first, then the pool order", () => {
  assert.deepEqual(order(GEMMA, NONE, 8), [
    GEMMA,
    QWEN,
    NEMOTRON,
    GPT_OSS,
  ]);
  assert.deepEqual(order(GPT_OSS, NONE, 8), [
    GPT_OSS,
    QWEN,
    NEMOTRON,
    GEMMA,
  ]);
});

Deno.test("orderCandidates() uses the pool order for auto, empty, undefined and openrouter/auto", () => {
  for (const requested of ["auto", "", undefined, "openrouter/auto"]) {
    assert.deepEqual(
      order(requested, NONE, 8),
      [QWEN, NEMOTRON, GEMMA, GPT_OSS],
      String(requested),
    );
  }
});

Deno.test("orderCandidates() uses the pool order for a paid or unknown model id", () => {
  for (
    const requested of [
      "meta-llama/llama-3.1-8b-instruct",
      "qwen/qwen3-coder",
      "acme/fake-1.0",
    ]
  ) {
    assert.deepEqual(
      order(requested, NONE, 8),
      [QWEN, NEMOTRON, GEMMA, GPT_OSS],
      requested,
    );
  }
});

Deno.test("orderCandidates() moves cooling models to the end, soonest expiry first", () => {
  const cooling = cooldowns({ [QWEN]: NOW + 30_000, [NEMOTRON]: NOW + 10_000 });
  assert.deepEqual(order("auto", cooling, 8), [
    GEMMA,
    GPT_OSS,
    NEMOTRON,
    QWEN,
  ]);
});

Deno.test("orderCandidates() counts expired cooldowns as ready", () => {
  const expired = cooldowns({ [QWEN]: NOW, [NEMOTRON]: NOW - 1 });
  assert.deepEqual(order("auto", expired, 8), [
    QWEN,
    NEMOTRON,
    GEMMA,
    GPT_OSS,
  ]);
  const stillCooling = cooldowns({ [QWEN]: NOW + 1 });
  assert.deepEqual(order("auto", stillCooling, 8), [
    NEMOTRON,
    GEMMA,
    GPT_OSS,
    QWEN,
  ]);
});

Deno.test("orderCandidates() moves a cooling requested model to the end too", () => {
  assert.deepEqual(
    order(GEMMA, cooldowns({ [GEMMA]: NOW + 5_000 }), 8),
    [QWEN, NEMOTRON, GPT_OSS, GEMMA],
  );
  const both = cooldowns({ [GEMMA]: NOW + 20_000, [QWEN]: NOW + 5_000 });
  assert.deepEqual(order(GEMMA, both, 8), [
    NEMOTRON,
    GPT_OSS,
    QWEN,
    GEMMA,
  ]);
});

Deno.test("orderCandidates() caps the list at maxAttempts", () => {
  assert.deepEqual(order("auto", NONE, 2), [
    QWEN,
    NEMOTRON,
  ]);
  assert.deepEqual(order(GPT_OSS, NONE, 2), [
    GPT_OSS,
    QWEN,
  ]);
  assert.deepEqual(order(GPT_OSS, NONE, 1), [
    GPT_OSS,
  ]);
  assert.deepEqual(order("auto", NONE, 100), [
    QWEN,
    NEMOTRON,
    GEMMA,
    GPT_OSS,
  ]);
});

Deno.test("orderCandidates() caps the list at maxAttempts after moving cooling models to the end", () => {
  assert.deepEqual(
    order("auto", cooldowns({ [QWEN]: NOW + 1_000 }), 3),
    [NEMOTRON, GEMMA, GPT_OSS],
  );
  const three = cooldowns({
    [QWEN]: NOW + 30_000,
    [NEMOTRON]: NOW + 10_000,
    [GEMMA]: NOW + 20_000,
  });
  assert.deepEqual(order("auto", three, 2), [
    GPT_OSS,
    NEMOTRON,
  ]);
  const all = cooldowns({
    [QWEN]: NOW + 40_000,
    [NEMOTRON]: NOW + 10_000,
    [GEMMA]: NOW + 30_000,
    [GPT_OSS]: NOW + 20_000,
  });
  assert.deepEqual(order(QWEN, all, 3), [
    NEMOTRON,
    GPT_OSS,
    GEMMA,
  ]);
});

Deno.test("orderCandidates() ignores cooldowns of models outside the pool", () => {
  const other = cooldowns({ "openrouter/owl-alpha": NOW + 60_000 });
  assert.deepEqual(order("auto", other, 8), [
    QWEN,
    NEMOTRON,
    GEMMA,
    GPT_OSS,
  ]);
});

Deno.test("orderCandidates() returns an empty list for an empty pool", () => {
  assert.deepEqual(
    orderCandidates({
      pool: [],
      requested: QWEN,
      cooldowns: NONE,
      now: NOW,
      maxAttempts: 8,
    }),
    { candidates: [] },
  );
});

Deno.test("orderCandidates() leaves out a model whose free variant has ended (its expiration date has begun), even when it is named", () => {
  const ends = (date: string): FreeModel => ({
    ...model(QWEN, 1048576),
    expiration_date: date,
  });
  // NOW is 2026-05-20T12:00:00Z: a date of today has begun, tomorrow's not.
  for (const date of ["2026-05-19", "2026-05-20"]) {
    const pool = [ends(date), ...POOL.slice(1)];
    assert.deepEqual(order(QWEN, NONE, 8, pool), [NEMOTRON, GEMMA, GPT_OSS]);
    assert.deepEqual(order("auto", NONE, 8, pool), [NEMOTRON, GEMMA, GPT_OSS]);
  }
  const pool = [ends("2026-05-21"), ...POOL.slice(1)];
  assert.deepEqual(order(QWEN, NONE, 8, pool), [
    QWEN,
    NEMOTRON,
    GEMMA,
    GPT_OSS,
  ]);
});

/** That a two-model pool, in either order, fits no model and is refused with `message`. */
function assertRefusedInEitherOrder(
  [a, b]: [FreeModel, FreeModel],
  needs: RequestNeeds,
  message: string,
): void {
  for (const pool of [[a, b], [b, a]]) {
    const result = orderCandidates({
      pool,
      requested: "auto",
      needs,
      cooldowns: NONE,
      now: NOW,
      maxAttempts: 8,
    });
    assert.deepEqual(result.candidates, []);
    assert.equal(describeMisfit(result.misfit!), message);
  }
}

Deno.test("orderCandidates() reports the misfit of the model that got furthest: a request for tools and a large budget is refused for the budget of the models with tools, not for tools", () => {
  const plain = {
    ...model(QWEN, 1048576),
    supported_parameters: ["max_tokens"],
  };
  const withTools = {
    ...model(GEMMA, 262144),
    supported_parameters: ["max_tokens", "tools"],
    max_completion_tokens: 8192,
  };
  const needs = {
    required: ["tools" as const],
    prefersReasoning: false,
    contextTokens: 100_100,
    maxTokens: 100_000,
  };
  assertRefusedInEitherOrder(
    [plain, withTools],
    needs,
    "No free model with tool calling allows 100000 completion tokens",
  );
  // Without a capability need, the sentence names none.
  assert.equal(
    describeMisfit({
      kind: "context",
      needed: 300_000,
      completion: 0,
      available: 262144,
      with: [],
    }),
    "prompt is too long: 300000 tokens > 262144 maximum (the largest free model has a maximum context length of 262144 tokens; 300000 is the estimated prompt plus max tokens)",
  );
  // A prompt that fits with a budget that does not is not "too long".
  assert.equal(
    describeMisfit({
      kind: "context",
      needed: 300_002,
      completion: 300_000,
      available: 262144,
      with: [],
    }),
    "This request needs 300002 tokens (2 in the messages, 300000 in the completion), more than the maximum context length of the largest free model: 262144 tokens. Lower max_tokens",
  );
});

Deno.test("orderCandidates() measures a request too long for every model against the largest context of the models with what it needs, in Anthropic's words, which Claude Code reads", () => {
  const withTools = (id: string, context: number) => ({
    ...model(id, context),
    supported_parameters: ["max_tokens", "tools"],
  });
  const needs = {
    required: ["tools" as const],
    prefersReasoning: false,
    contextTokens: 300_000,
    maxTokens: undefined,
  };
  // A larger model without tools does not count.
  const plain = { ...model(QWEN, 1048576), supported_parameters: [] };
  const message =
    "prompt is too long: 300000 tokens > 262144 maximum (the largest free model with tool calling has a maximum context length of 262144 tokens; 300000 is the estimated prompt plus max tokens)";
  assertRefusedInEitherOrder(
    [withTools(GEMMA, 131072), withTools(GPT_OSS, 262144)],
    needs,
    message,
  );
  assertRefusedInEitherOrder(
    [plain, withTools(GPT_OSS, 262144)],
    needs,
    message,
  );
  // Claude Code's own pattern for the gap it has to compact away.
  const gap = /prompt is too long[^0-9]*(\d+)\s*tokens?\s*>\s*(\d+)/i.exec(
    message,
  );
  assert.deepEqual(gap?.slice(1), ["300000", "262144"]);
});

Deno.test("orderCandidates() names the capability no model with the others has: tools and images with no image model is refused for image input, not for tools", () => {
  const plain = { ...model("p/plain:free", 131072), supported_parameters: [] };
  const withTools = {
    ...model("t/tools:free", 131072),
    supported_parameters: ["tools", "tool_choice"],
  };
  const needs = {
    required: ["tools" as const, "image_input" as const],
    prefersReasoning: false,
    contextTokens: 1_000,
    maxTokens: undefined,
  };
  assertRefusedInEitherOrder(
    [plain, withTools],
    needs,
    "No free model with tool calling supports image input",
  );
  assert.equal(
    describeMisfit({ kind: "capability", capability: "tools", with: [] }),
    "No free model supports tool calling",
  );
});

Deno.test("misfit(): files need no capability, except from a model seen to refuse them (a learned file_input gap)", () => {
  const m = model("p/plain:free", 131072);
  const needs = {
    required: [],
    prefersReasoning: false,
    contextTokens: 1_000,
    maxTokens: undefined,
    files: true as const,
  };
  assert.equal(misfit(m, needs, undefined), undefined);
  assert.deepEqual(misfit(m, needs, new Set(["file_input"])), {
    kind: "capability",
    capability: "file_input",
    with: [],
  });
  // And the candidates leave that model out.
  const other = model("o/other:free", 131072);
  const result = orderCandidates({
    pool: [m, other],
    requested: "auto",
    needs,
    cooldowns: NONE,
    gaps: new Map([[m.id, new Set(["file_input"])]]),
    now: NOW,
    maxAttempts: 8,
  });
  assert.deepEqual(result.candidates.map((c) => c.id), [other.id]);
});
