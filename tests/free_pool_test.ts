import assert from "node:assert/strict";
import { freeModel } from "./_harness.ts";
import { RESPAN_CLASSIFIER_ROW } from "./fake_openrouter/mod.ts";
import {
  buildFreePool,
  comparePriority,
  isChatArchitecture,
  isExpired,
  isFreePricing,
  nextExpiry,
  toFreeModel,
} from "../src/core/free_pool.ts";

const TEXT_ARCH = {
  modality: "text->text",
  input_modalities: ["text"],
  output_modalities: ["text"],
  tokenizer: "Qwen3",
  instruct_type: null,
};

/** A free chat row shaped like OpenRouter's `/models` entries. */
function freeRow(
  id: string,
  contextLength: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    id,
    canonical_slug: id.replace(/:free$/, ""),
    name: id,
    created: 1753230546,
    context_length: contextLength,
    architecture: TEXT_ARCH,
    pricing: { prompt: "0", completion: "0" },
    top_provider: {
      context_length: contextLength,
      max_completion_tokens: null,
      is_moderated: false,
    },
    per_request_limits: null,
    supported_parameters: ["max_tokens", "temperature"],
    ...extra,
  };
}

/** A real paid row of OpenRouter's `GET /models` (prices as decimal strings). */
const PAID_LLAMA = {
  id: "meta-llama/llama-3.1-8b-instruct",
  canonical_slug: "meta-llama/llama-3.1-8b-instruct",
  name: "Meta: Llama 3.1 8B Instruct",
  created: 1721692800,
  context_length: 131072,
  architecture: {
    modality: "text->text",
    input_modalities: ["text"],
    output_modalities: ["text"],
    tokenizer: "Llama3",
    instruct_type: "llama3",
  },
  pricing: {
    prompt: "0.00000005",
    completion: "0.00000008",
    input_cache_read: "0.000000025",
  },
  top_provider: {
    context_length: 131072,
    max_completion_tokens: 117964,
    is_moderated: false,
  },
  per_request_limits: null,
};

const AUTO_ROUTER = freeRow("openrouter/auto", 2000000, {
  pricing: { prompt: "-1", completion: "-1" },
  architecture: {
    modality: "text+image->text",
    input_modalities: ["text", "image"],
    output_modalities: ["text"],
  },
});

const RECRAFT_IMAGE = freeRow("recraft/recraft-v3", 4096, {
  pricing: { prompt: "0", completion: "0", image_output: "0.00000838" },
  architecture: {
    modality: "text->image",
    input_modalities: ["text"],
    output_modalities: ["image"],
  },
});

const LYRIA_MUSIC = freeRow("google/lyria-3-pro-preview", 1048576, {
  architecture: {
    modality: "text->audio",
    input_modalities: ["text"],
    output_modalities: ["audio"],
  },
});

const model = freeModel;

Deno.test('isFreePricing() accepts prompt and completion of "0"', () => {
  assert.equal(isFreePricing({ prompt: "0", completion: "0" }), true);
  assert.equal(
    isFreePricing({ prompt: "0.000000", completion: "0.0", request: "0" }),
    true,
  );
});

Deno.test("isFreePricing() accepts numeric zero prices", () => {
  assert.equal(isFreePricing({ prompt: 0, completion: 0 }), true);
  assert.equal(isFreePricing({ prompt: "0", completion: 0, image: 0 }), true);
});

Deno.test("isFreePricing() rejects a positive prompt or completion price", () => {
  assert.equal(isFreePricing(PAID_LLAMA.pricing), false);
  assert.equal(
    isFreePricing({ prompt: "0", completion: "0.00000008" }),
    false,
  );
  assert.equal(isFreePricing({ prompt: "0.00000005", completion: "0" }), false);
  assert.equal(isFreePricing({ prompt: 0.0000001, completion: 0 }), false);
});

Deno.test("isFreePricing() rejects any other positive price key", () => {
  const keys = [
    "request",
    "image",
    "image_token",
    "image_output",
    "audio",
    "audio_output",
    "input_audio_cache",
    "input_cache_read",
    "input_cache_write",
    "input_cache_write_1h",
    "internal_reasoning",
    "web_search",
  ];
  for (const key of keys) {
    assert.equal(
      isFreePricing({ prompt: "0", completion: "0", [key]: "0.00000838" }),
      false,
      `${key} "0.00000838"`,
    );
    assert.equal(
      isFreePricing({ prompt: "0", completion: "0", [key]: 0.01 }),
      false,
      `${key} 0.01`,
    );
    assert.equal(
      isFreePricing({ prompt: "0", completion: "0", [key]: "0" }),
      true,
      `${key} "0"`,
    );
  }
  assert.equal(isFreePricing(RECRAFT_IMAGE.pricing), false);
});

Deno.test("isFreePricing() rejects negative (variable) prices such as openrouter/auto's -1", () => {
  assert.equal(isFreePricing({ prompt: "-1", completion: "-1" }), false);
  assert.equal(isFreePricing({ prompt: -1, completion: -1 }), false);
  assert.equal(
    isFreePricing({ prompt: "0", completion: "0", request: "-1" }),
    false,
  );
  assert.equal(
    isFreePricing({ prompt: "0", completion: "0", web_search: -0.5 }),
    false,
  );
});

Deno.test("isFreePricing() does not treat discount and overrides as prices", () => {
  assert.equal(
    isFreePricing({
      prompt: "0",
      completion: "0",
      discount: 0.25,
      overrides: [{ min_prompt_tokens: 200000, prompt: "0.000001" }],
    }),
    true,
  );
});

Deno.test("isFreePricing() ignores optional price keys that are null", () => {
  assert.equal(
    isFreePricing({ prompt: "0", completion: "0", image: null }),
    true,
  );
});

Deno.test("isFreePricing() rejects missing, null, non-object and unparseable pricing", () => {
  const cases: Array<[string, unknown]> = [
    ["undefined", undefined],
    ["null", null],
    ["a string", "0"],
    ["an array", ["0", "0"]],
    ["an empty object", {}],
    ["no completion", { prompt: "0" }],
    ["no prompt", { completion: "0" }],
    ["prompt null", { prompt: null, completion: "0" }],
    ["empty prompt", { prompt: "", completion: "0" }],
    ["blank completion", { prompt: "0", completion: " " }],
    ["word prompt", { prompt: "free", completion: "0" }],
    ["word extra price", { prompt: "0", completion: "0", image: "n/a" }],
    ["object extra price", { prompt: "0", completion: "0", audio: {} }],
  ];
  for (const [label, pricing] of cases) {
    assert.equal(isFreePricing(pricing), false, label);
  }
});

Deno.test("isChatArchitecture() accepts text in and exactly text out", () => {
  assert.equal(isChatArchitecture(TEXT_ARCH), true);
  assert.equal(
    isChatArchitecture({
      modality: "text+image->text",
      input_modalities: ["text", "image", "file"],
      output_modalities: ["text"],
    }),
    true,
  );
});

Deno.test("isChatArchitecture() rejects image, audio, embeddings and decisions outputs", () => {
  const outputs = [
    ["image"],
    ["audio"],
    ["embeddings"],
    ["decisions"],
    ["text", "image"],
    ["image", "text"],
    ["text", "audio"],
    [],
  ];
  for (const output of outputs) {
    assert.equal(
      isChatArchitecture({
        input_modalities: ["text"],
        output_modalities: output,
      }),
      false,
      JSON.stringify(output),
    );
  }
  assert.equal(isChatArchitecture(RESPAN_CLASSIFIER_ROW.architecture), false);
});

Deno.test("isChatArchitecture() rejects models that do not take text", () => {
  assert.equal(
    isChatArchitecture({
      input_modalities: ["image"],
      output_modalities: ["text"],
    }),
    false,
  );
  assert.equal(
    isChatArchitecture({
      input_modalities: ["audio", "video"],
      output_modalities: ["text"],
    }),
    false,
  );
});

Deno.test("isChatArchitecture() reads the modality string when output_modalities is absent", () => {
  const cases: Array<[unknown, boolean]> = [
    [{ modality: "text->text" }, true],
    [{ modality: "text+image->text" }, true],
    [{ modality: "image+text->text" }, true],
    [{ modality: "text->image" }, false],
    [{ modality: "text->text+image" }, false],
    [{ modality: "text->decisions" }, false],
    [{ modality: "image->text" }, false],
    [{ modality: "text" }, false],
    [{ modality: null }, false],
    [{}, false],
    [{ input_modalities: ["text"], modality: "text->text" }, true],
    [{ input_modalities: ["text"], modality: "text->image" }, false],
    [{ input_modalities: ["text"] }, false],
  ];
  for (const [architecture, expected] of cases) {
    assert.equal(
      isChatArchitecture(architecture),
      expected,
      JSON.stringify(architecture),
    );
  }
});

Deno.test("isChatArchitecture() rejects a missing or malformed architecture", () => {
  for (const architecture of [undefined, null, "text->text", [], 1]) {
    assert.equal(
      isChatArchitecture(architecture),
      false,
      JSON.stringify(architecture),
    );
  }
  assert.equal(
    isChatArchitecture({ input_modalities: "text", output_modalities: "text" }),
    false,
  );
  assert.equal(
    isChatArchitecture({ input_modalities: ["text"], output_modalities: [1] }),
    false,
  );
});

Deno.test("toFreeModel() maps a free catalog row to a FreeModel", () => {
  const row = {
    id: "qwen/qwen3-coder:free",
    canonical_slug: "qwen/qwen3-coder-480b-a35b-07-25",
    name: "Qwen: Qwen3 Coder 480B A35B (free)",
    created: 1753230546,
    context_length: 1048576,
    architecture: {
      modality: "text+image->text",
      input_modalities: ["text", "image"],
      output_modalities: ["text"],
      tokenizer: "Qwen3",
      instruct_type: null,
    },
    pricing: { prompt: "0", completion: "0", request: "0", discount: 0 },
    top_provider: {
      context_length: 1048576,
      max_completion_tokens: 262144,
      is_moderated: false,
    },
    per_request_limits: null,
    supported_parameters: ["max_tokens", "tools", "tool_choice"],
    expiration_date: "2026-09-25",
  };
  assert.deepEqual(toFreeModel(row), {
    id: "qwen/qwen3-coder:free",
    name: "Qwen: Qwen3 Coder 480B A35B (free)",
    created: 1753230546,
    owned_by: "qwen",
    context_length: 1048576,
    max_completion_tokens: 262144,
    supported_parameters: ["max_tokens", "tools", "tool_choice"],
    input_modalities: ["text", "image"],
    expiration_date: "2026-09-25",
  });
});

Deno.test("toFreeModel() fills defaults for absent optional fields", () => {
  const row = {
    id: "openrouter/owl-alpha",
    context_length: 1048756,
    architecture: { modality: "text+image->text" },
    pricing: { prompt: 0, completion: 0 },
  };
  assert.deepEqual(toFreeModel(row), {
    id: "openrouter/owl-alpha",
    name: "openrouter/owl-alpha",
    created: 0,
    owned_by: "openrouter",
    context_length: 1048756,
    max_completion_tokens: null,
    supported_parameters: null,
    input_modalities: ["text", "image"],
    expiration_date: null,
  });
});

Deno.test("toFreeModel() skips malformed rows without throwing", () => {
  const good = freeRow("qwen/qwen3-coder:free", 1048576);
  const cases: Array<[string, unknown]> = [
    ["null", null],
    ["a number", 42],
    ["a string", "qwen/qwen3-coder:free"],
    ["an array", [good]],
    ["an empty object", {}],
    ["no id", { ...good, id: undefined }],
    ["empty id", { ...good, id: "" }],
    ["numeric id", { ...good, id: 42 }],
    ["pricing null", { ...good, pricing: null }],
    ["pricing missing", { ...good, pricing: undefined }],
    ["context_length a string", { ...good, context_length: "1048576" }],
    ["context_length 0", { ...good, context_length: 0 }],
    ["context_length negative", { ...good, context_length: -1 }],
    ["context_length NaN", { ...good, context_length: NaN }],
    ["context_length missing", { ...good, context_length: undefined }],
    ["context_length null", { ...good, context_length: null }],
    ["architecture missing", { ...good, architecture: undefined }],
    ["architecture null", { ...good, architecture: null }],
    ["architecture a string", { ...good, architecture: "text->text" }],
  ];
  for (const [label, row] of cases) {
    assert.equal(toFreeModel(row), undefined, label);
  }
  assert.equal(toFreeModel(good)?.id, "qwen/qwen3-coder:free");
});

Deno.test("toFreeModel() rejects paid, variable-priced and non-chat rows", () => {
  for (
    const row of [
      PAID_LLAMA,
      AUTO_ROUTER,
      RECRAFT_IMAGE,
      LYRIA_MUSIC,
      RESPAN_CLASSIFIER_ROW,
    ]
  ) {
    assert.equal(toFreeModel(row), undefined, String(row.id));
  }
});

Deno.test("comparePriority() puts :free ids before other free ids, whatever their context", () => {
  const laguna = model("poolside/laguna-xs.2:free", 262144);
  const owl = model("openrouter/owl-alpha", 1048756);
  assert.equal(Math.sign(comparePriority(laguna, owl)), -1);
  assert.equal(Math.sign(comparePriority(owl, laguna)), 1);
});

Deno.test("comparePriority() orders larger context_length first, ties by id ascending", () => {
  const qwen = model("qwen/qwen3-coder:free", 1048576);
  const gemma = model("google/gemma-4-31b-it:free", 262144);
  const laguna = model("poolside/laguna-xs.2:free", 262144);
  assert.equal(Math.sign(comparePriority(qwen, gemma)), -1);
  assert.equal(Math.sign(comparePriority(gemma, qwen)), 1);
  assert.equal(Math.sign(comparePriority(gemma, laguna)), -1);
  assert.equal(Math.sign(comparePriority(laguna, gemma)), 1);
  assert.equal(comparePriority(gemma, model(gemma.id, 262144)), 0);
});

Deno.test("buildFreePool() keeps only free chat models, in priority order", () => {
  const rows = [
    PAID_LLAMA,
    freeRow("liquid/lfm-2.5-1.2b-instruct:free", 32768),
    freeRow("openrouter/free", 200000),
    LYRIA_MUSIC,
    freeRow("nvidia/nemotron-3-ultra-550b-a55b:free", 1000000),
    RECRAFT_IMAGE,
    freeRow("openrouter/owl-alpha", 1048756),
    freeRow("poolside/laguna-xs.2:free", 262144),
    AUTO_ROUTER,
    freeRow("qwen/qwen3-coder:free", 1048576),
    RESPAN_CLASSIFIER_ROW,
    freeRow("google/gemma-4-31b-it:free", 262144),
    freeRow("nvidia/nemotron-3-super-120b-a12b:free", 1000000),
  ];
  assert.deepEqual(buildFreePool(rows).map((m) => m.id), [
    "qwen/qwen3-coder:free",
    "nvidia/nemotron-3-super-120b-a12b:free",
    "nvidia/nemotron-3-ultra-550b-a55b:free",
    "google/gemma-4-31b-it:free",
    "poolside/laguna-xs.2:free",
    "liquid/lfm-2.5-1.2b-instruct:free",
    "openrouter/owl-alpha",
    "openrouter/free",
  ]);
});

Deno.test("buildFreePool() skips malformed rows without throwing", () => {
  const rows = [
    null,
    undefined,
    7,
    "openai/gpt-oss-20b:free",
    [],
    { id: "no/pricing:free", context_length: 8192, architecture: TEXT_ARCH },
    freeRow("string/context:free", 0, { context_length: "131072" }),
    freeRow("no/architecture:free", 8192, { architecture: undefined }),
    freeRow("openai/gpt-oss-20b:free", 131072),
  ];
  assert.deepEqual(buildFreePool(rows).map((m) => m.id), [
    "openai/gpt-oss-20b:free",
  ]);
});

Deno.test("buildFreePool() drops duplicate ids, keeping the first valid row", () => {
  const pool = buildFreePool([
    freeRow("openai/gpt-oss-120b:free", 65536, { pricing: null }),
    freeRow("openai/gpt-oss-120b:free", 131072),
    freeRow("openai/gpt-oss-120b:free", 262144),
    freeRow("openai/gpt-oss-20b:free", 131072),
  ]);
  assert.deepEqual(
    pool.map((m) => [m.id, m.context_length]),
    [["openai/gpt-oss-120b:free", 131072], ["openai/gpt-oss-20b:free", 131072]],
  );
});

Deno.test("buildFreePool() returns an empty pool for an empty catalog", () => {
  assert.deepEqual(buildFreePool([]), []);
});

Deno.test("buildFreePool() given now leaves out rows whose expiration date has begun; without now it keeps them", () => {
  const now = Date.parse("2026-09-25T08:00:00Z");
  const rows = [
    freeRow("nex-agi/nex-n2.5-mini:free", 131072, {
      expiration_date: "2026-09-25",
    }),
    freeRow("a/ended:free", 131072, { expiration_date: "2026-09-01" }),
    freeRow("a/later:free", 131072, { expiration_date: "2026-09-26" }),
    freeRow("a/lasting:free", 131072, { expiration_date: null }),
  ];
  assert.deepEqual(buildFreePool(rows, now).map((m) => m.id), [
    "a/lasting:free",
    "a/later:free",
  ]);
  assert.equal(buildFreePool(rows).length, 4);
});

Deno.test("nextExpiry() is the earliest parsable expiration date of a pool, the instant isExpired() turns", () => {
  const ending = (id: string, date: string | null) => ({
    ...freeModel(id, 8192),
    expiration_date: date,
  });
  const pool = [
    ending("a/never:free", null),
    ending("a/garbled:free", "someday"),
    ending("a/later:free", "2026-12-31"),
    ending("a/sooner:free", "2026-12-08"),
  ];
  const first = nextExpiry(pool);
  assert.equal(first, Date.UTC(2026, 11, 8));
  assert.ok(!isExpired(pool[3]!, first - 1));
  assert.ok(isExpired(pool[3]!, first));
  assert.equal(nextExpiry(pool.slice(0, 2)), Infinity);
});
