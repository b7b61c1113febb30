/**
 * The default catalog of the fake OpenRouter (pure data): ~40 rows in the
 * real `Model` shape, free and paid, chat and not, plus malformed ones, and
 * the pool order freerouter must derive from them.
 *
 * @module
 */
import {
  arch,
  catalogRow,
  type FreeSpec,
  P_BASE,
  P_REASONING,
  P_TOOLS,
  params,
  RESPAN_CLASSIFIER_ROW,
  specRow,
} from "./catalog_row.ts";

/** The free chat rows of the default catalog. */
const FREE_SPECS: FreeSpec[] = [
  {
    id: "qwen/qwen3-coder:free",
    name: "Qwen: Qwen3 Coder 480B A35B (free)",
    canonical: "qwen/qwen3-coder-480b-a35b-07-25",
    created: 1753230546,
    context: 1048576,
    arch: arch("Qwen3"),
    params: params(P_BASE, P_TOOLS),
    maxCompletion: 65536,
  },
  {
    id: "nvidia/nemotron-3-ultra-550b-a55b:free",
    name: "NVIDIA: Nemotron 3 Ultra 550B A55B (free)",
    canonical: "nvidia/nemotron-3-ultra-550b-a55b-20260610",
    created: 1781049600,
    context: 1000000,
    arch: arch("Other"),
    params: params(P_BASE, P_TOOLS, P_REASONING),
    maxCompletion: 131072,
  },
  {
    id: "nvidia/nemotron-3-super-120b-a12b:free",
    name: "NVIDIA: Nemotron 3 Super 120B A12B (free)",
    canonical: "nvidia/nemotron-3-super-120b-a12b-20260311",
    created: 1773187200,
    context: 1000000,
    arch: arch("Other"),
    params: params(P_BASE, P_TOOLS, P_REASONING),
    maxCompletion: 131072,
  },
  {
    id: "poolside/laguna-xs.2:free",
    name: "Poolside: Laguna XS.2 (free)",
    canonical: "poolside/laguna-xs.2-20260702",
    created: 1782950400,
    context: 262144,
    arch: arch("Other"),
    params: params(P_BASE, P_TOOLS),
    maxCompletion: 32768,
  },
  {
    id: "poolside/laguna-m.1:free",
    name: "Poolside: Laguna M.1 (free)",
    canonical: "poolside/laguna-m.1-20260702",
    created: 1782950400,
    context: 262144,
    arch: arch("Other"),
    params: params(P_BASE, P_TOOLS),
    maxCompletion: 32768,
  },
  {
    id: "google/gemma-4-26b-a4b-it:free",
    name: "Google: Gemma 4 26B A4B (free)",
    canonical: "google/gemma-4-26b-a4b-it-20260402",
    created: 1775088000,
    context: 262144,
    arch: arch("Gemma", ["text", "image"], ["text"], "gemma"),
    params: params(P_BASE),
    maxCompletion: 8192,
  },
  {
    id: "google/gemma-4-31b-it:free",
    name: "Google: Gemma 4 31B (free)",
    canonical: "google/gemma-4-31b-it-20260402",
    created: 1775088000,
    context: 262144,
    arch: arch("Gemma", ["text", "image"], ["text"], "gemma"),
    params: params(P_BASE, P_TOOLS),
    maxCompletion: 8192,
  },
  {
    id: "qwen/qwen3-next-80b-a3b-instruct:free",
    name: "Qwen: Qwen3 Next 80B A3B Instruct (free)",
    canonical: "qwen/qwen3-next-80b-a3b-instruct-2509",
    created: 1757612213,
    context: 262144,
    arch: arch("Qwen3"),
    params: params(P_BASE, P_TOOLS),
    maxCompletion: 32768,
  },
  {
    id: "cohere/north-mini-code:free",
    name: "Cohere: North Mini Code (free)",
    canonical: "cohere/north-mini-code-20260805",
    created: 1785888000,
    context: 256000,
    arch: arch("Cohere"),
    params: params(P_BASE, P_TOOLS),
    maxCompletion: 32000,
  },
  {
    id: "nvidia/nemotron-3-nano-omni-30b-a3b-reasoning:free",
    name: "NVIDIA: Nemotron 3 Nano Omni 30B A3B Reasoning (free)",
    canonical: "nvidia/nemotron-3-nano-omni-30b-a3b-reasoning-20260428",
    created: 1777334400,
    context: 256000,
    arch: arch("Other", ["text", "image", "audio", "video"]),
    params: params(P_BASE, P_TOOLS, P_REASONING),
    maxCompletion: 65536,
  },
  {
    id: "nvidia/nemotron-3-nano-30b-a3b:free",
    name: "NVIDIA: Nemotron 3 Nano 30B A3B (free)",
    canonical: "nvidia/nemotron-3-nano-30b-a3b-20251215",
    created: 1765756800,
    context: 256000,
    arch: arch("Other"),
    params: params(P_BASE, P_TOOLS, P_REASONING),
    maxCompletion: 65536,
  },
  {
    id: "openai/gpt-oss-120b:free",
    name: "OpenAI: gpt-oss-120b (free)",
    canonical: "openai/gpt-oss-120b",
    created: 1754414231,
    context: 131072,
    arch: arch("GPT"),
    params: params(P_BASE, P_TOOLS, P_REASONING),
    maxCompletion: 32768,
  },
  {
    id: "openai/gpt-oss-20b:free",
    name: "OpenAI: gpt-oss-20b (free)",
    canonical: "openai/gpt-oss-20b",
    created: 1754414229,
    context: 131072,
    arch: arch("GPT"),
    params: params(P_BASE, P_TOOLS, P_REASONING),
    maxCompletion: 32768,
  },
  {
    id: "meta-llama/llama-3.3-70b-instruct:free",
    name: "Meta: Llama 3.3 70B Instruct (free)",
    canonical: "meta-llama/llama-3.3-70b-instruct",
    created: 1733506137,
    context: 131072,
    arch: arch("Llama3", ["text"], ["text"], "llama3"),
    params: params(P_BASE, P_TOOLS),
    maxCompletion: 16384,
  },
  {
    id: "meta-llama/llama-3.2-3b-instruct:free",
    name: "Meta: Llama 3.2 3B Instruct (free)",
    canonical: "meta-llama/llama-3.2-3b-instruct",
    created: 1727222400,
    context: 131072,
    arch: arch("Llama3", ["text"], ["text"], "llama3"),
    params: params(P_BASE),
    maxCompletion: null,
  },
  {
    id: "nousresearch/hermes-3-llama-3.1-405b:free",
    name: "Nous: Hermes 3 405B Instruct (free)",
    canonical: "nousresearch/hermes-3-llama-3.1-405b",
    created: 1723766400,
    context: 131072,
    arch: arch("Llama3", ["text"], ["text"], "chatml"),
    params: params(P_BASE),
    maxCompletion: null,
  },
  {
    id: "nvidia/nemotron-3.5-content-safety:free",
    name: "NVIDIA: Nemotron 3.5 Content Safety (free)",
    canonical: "nvidia/nemotron-3.5-content-safety-20260520",
    created: 1779235200,
    context: 128000,
    arch: arch("Other"),
    params: params(["max_tokens", "temperature", "top_p"]),
    maxCompletion: 4096,
  },
  {
    id: "nvidia/nemotron-nano-12b-v2-vl:free",
    name: "NVIDIA: Nemotron Nano 12B 2 VL (free)",
    canonical: "nvidia/nemotron-nano-12b-v2-vl",
    created: 1761675565,
    context: 128000,
    arch: arch("Other", ["image", "text", "video"]),
    params: params(P_BASE, P_REASONING),
    maxCompletion: 128000,
  },
  {
    id: "nvidia/nemotron-nano-9b-v2:free",
    name: "NVIDIA: Nemotron Nano 9B V2 (free)",
    canonical: "nvidia/nemotron-nano-9b-v2",
    created: 1757106807,
    context: 128000,
    arch: arch("Other"),
    params: params(P_BASE, P_TOOLS, P_REASONING),
    pricing: { prompt: "0", completion: "0", input_cache_read: "0" },
  },
  {
    id: "liquid/lfm-2.5-1.2b-thinking:free",
    name: "LiquidAI: LFM2.5-1.2B-Thinking (free)",
    canonical: "liquid/lfm-2.5-1.2b-thinking-20260120",
    created: 1768867200,
    context: 32768,
    arch: arch("Other", ["text"], ["text"], "chatml"),
    params: params(P_BASE, P_REASONING),
  },
  {
    id: "liquid/lfm-2.5-1.2b-instruct:free",
    name: "LiquidAI: LFM2.5-1.2B-Instruct (free)",
    canonical: "liquid/lfm-2.5-1.2b-instruct-20260120",
    created: 1768867200,
    context: 32768,
    arch: arch("Other", ["text"], ["text"], "chatml"),
    params: params(P_BASE),
  },
  {
    id: "cognitivecomputations/dolphin-mistral-24b-venice-edition:free",
    name: "Venice: Uncensored (free)",
    canonical: "venice/uncensored",
    created: 1752094966,
    context: 32768,
    arch: arch("Mistral"),
    params: params(P_BASE, ["response_format", "structured_outputs"]),
  },
  {
    id: "nex-agi/nex-n2.5-mini:free",
    name: "Nex AGI: Nex N2.5 Mini (free)",
    canonical: "nex-agi/nex-n2.5-mini-20260812",
    created: 1786492800,
    context: 131072,
    arch: arch("Qwen3"),
    params: params(P_BASE, P_TOOLS),
    // The captured row said 2026-09-25; a date past every test's clock keeps
    // the row in the pool (an ended free variant leaves it, as
    // tests/expired_models_test.ts checks).
    expiration: "2027-09-25",
  },
];

/**
 * ~40 realistic catalog rows (plus malformed ones) in the real `Model` shape.
 * Fresh objects on every call. See {@linkcode FREE_CHAT_IDS_IN_PRIORITY_ORDER}.
 */
export function defaultCatalog(): unknown[] {
  const rows: unknown[] = FREE_SPECS.map(specRow);

  // An older-style row: no input/output_modalities arrays beyond input; chat is
  // decided from `modality` ("text->text").
  rows.push(catalogRow({
    id: "mistralai/mistral-7b-instruct:free",
    canonical_slug: "mistralai/mistral-7b-instruct",
    name: "Mistral: Mistral 7B Instruct (free)",
    created: 1716768000,
    context_length: 32768,
    architecture: {
      modality: "text->text",
      input_modalities: ["text"],
      tokenizer: "Mistral",
      instruct_type: "mistral",
    },
    supported_parameters: params(P_BASE),
  }));

  // Zero-priced models without `:free` (stealth, router, promo).
  rows.push(catalogRow({
    id: "openrouter/owl-alpha",
    name: "Owl Alpha",
    created: 1788307200,
    description:
      "This is a cloaked model provided to the community to gather feedback. Prompts and completions may be logged by the provider.",
    context_length: 1048756,
    architecture: arch("Other", ["text", "image"]),
    top_provider: {
      context_length: 1048756,
      max_completion_tokens: 65536,
      is_moderated: false,
    },
    supported_parameters: params(P_BASE, P_TOOLS, P_REASONING),
  }));
  rows.push(catalogRow({
    id: "openrouter/free",
    name: "Free Models Router",
    created: 1769904000,
    description:
      "Automatically selects a free model at random from the available free models, filtering for models that support the features your request needs.",
    context_length: 200000,
    architecture: arch("Router", ["text", "image"]),
    top_provider: {
      context_length: null,
      max_completion_tokens: null,
      is_moderated: false,
    },
    supported_parameters: params(P_BASE, P_TOOLS, P_REASONING),
  }));
  rows.push(catalogRow({
    id: "inclusionai/ling-3.1-flash",
    canonical_slug: "inclusionai/ling-3.1-flash-20260901",
    name: "inclusionAI: Ling-3.1-Flash",
    created: 1788220800,
    context_length: 131072,
    architecture: arch("Other"),
    supported_parameters: params(P_BASE, P_TOOLS),
  }));

  // Zero-priced music models: audio-only (hidden by default) and text+audio.
  rows.push(catalogRow({
    id: "google/lyria-3-pro-preview",
    name: "Google: Lyria 3 Pro Preview",
    created: 1784246400,
    context_length: 1048576,
    architecture: arch("Gemini", ["text", "image"], ["audio"]),
    supported_parameters: params(["max_tokens", "seed", "temperature"]),
  }));
  rows.push(catalogRow({
    id: "google/lyria-3-clip-preview",
    name: "Google: Lyria 3 Clip Preview",
    created: 1784246400,
    context_length: 1048576,
    architecture: arch("Gemini", ["text"], ["text", "audio"]),
    supported_parameters: params(["max_tokens", "seed", "temperature"]),
  }));

  // Paid twins of free models (same canonical_slug).
  rows.push(catalogRow({
    id: "qwen/qwen3-coder",
    canonical_slug: "qwen/qwen3-coder-480b-a35b-07-25",
    name: "Qwen: Qwen3 Coder 480B A35B",
    created: 1753230546,
    context_length: 262144,
    architecture: arch("Qwen3"),
    pricing: {
      prompt: "0.00000022",
      completion: "0.00000095",
      input_cache_read: "0.000000022",
    },
    top_provider: {
      context_length: 262144,
      max_completion_tokens: 262144,
      is_moderated: false,
    },
    supported_parameters: params(P_BASE, P_TOOLS),
  }));
  rows.push(catalogRow({
    id: "meta-llama/llama-3.3-70b-instruct",
    name: "Meta: Llama 3.3 70B Instruct",
    created: 1733506137,
    context_length: 131072,
    architecture: arch("Llama3", ["text"], ["text"], "llama3"),
    pricing: { prompt: "0.0000001", completion: "0.00000032" },
    top_provider: {
      context_length: 131072,
      max_completion_tokens: 16384,
      is_moderated: false,
    },
    supported_parameters: params(P_BASE, P_TOOLS),
  }));
  rows.push(catalogRow({
    id: "openai/gpt-oss-120b",
    name: "OpenAI: gpt-oss-120b",
    created: 1754414231,
    context_length: 131072,
    architecture: arch("GPT"),
    pricing: { prompt: "0.00000004", completion: "0.0000004" },
    supported_parameters: params(P_BASE, P_TOOLS, P_REASONING),
  }));

  // Router priced "-1".
  rows.push(catalogRow({
    id: "openrouter/auto",
    name: "Auto Router",
    created: 1699401600,
    context_length: 2000000,
    architecture: arch("Router", ["text", "image"]),
    pricing: { prompt: "-1", completion: "-1" },
    top_provider: {
      context_length: null,
      max_completion_tokens: null,
      is_moderated: false,
    },
    supported_parameters: params(P_BASE, P_TOOLS, P_REASONING),
  }));

  // Image models: zero token prices but paid image output; a `:free` image model.
  rows.push(catalogRow({
    id: "recraft/recraft-v4",
    name: "Recraft: Recraft V4",
    created: 1785283200,
    context_length: 4096,
    architecture: arch("Other", ["text"], ["image"]),
    pricing: { prompt: "0", completion: "0", image_output: "0.00000838" },
    supported_parameters: params(["seed"]),
  }));
  rows.push(catalogRow({
    id: "sourceful/riverflow-v2.5-pro:free",
    canonical_slug: "sourceful/riverflow-v2.5-pro",
    name: "Sourceful: Riverflow V2.5 Pro (free)",
    created: 1786060800,
    context_length: 8192,
    architecture: arch("Other", ["text", "image"], ["image"]),
    supported_parameters: params(["seed"]),
  }));

  rows.push(structuredClone(RESPAN_CLASSIFIER_ROW));

  // Per-request price with zero token prices.
  rows.push(catalogRow({
    id: "perplexity/sonar-mini",
    name: "Perplexity: Sonar Mini",
    created: 1785024000,
    context_length: 127072,
    architecture: arch("Other"),
    pricing: {
      prompt: "0",
      completion: "0",
      request: "0.001",
      web_search: "0",
    },
    supported_parameters: params(P_BASE),
  }));

  // Malformed rows.
  const noPricing: Record<string, unknown> = {
    ...catalogRow({ id: "broken/no-pricing:free", context_length: 65536 }),
  };
  delete noPricing.pricing;
  rows.push(noPricing);
  rows.push({
    ...catalogRow({ id: "broken/null-pricing:free", context_length: 65536 }),
    pricing: null,
  });
  rows.push({
    ...catalogRow({ id: "broken/string-context:free" }),
    context_length: "131072",
  });
  rows.push("broken/not-an-object:free");

  return rows;
}

/**
 * Free chat ids of {@linkcode defaultCatalog} in pool priority order, written
 * out by hand. Rules: free = prompt and completion parse to 0, no other price
 * positive, none negative; chat = input includes text and output exactly
 * `["text"]` (else `modality` ends with "->text"); `:free` ids first, then
 * larger context, then id ascending; malformed rows skipped.
 */
export const FREE_CHAT_IDS_IN_PRIORITY_ORDER: string[] = [
  // :free, by context
  "qwen/qwen3-coder:free", // 1048576
  "nvidia/nemotron-3-super-120b-a12b:free", // 1000000
  "nvidia/nemotron-3-ultra-550b-a55b:free", // 1000000
  "google/gemma-4-26b-a4b-it:free", // 262144
  "google/gemma-4-31b-it:free", // 262144
  "poolside/laguna-m.1:free", // 262144
  "poolside/laguna-xs.2:free", // 262144
  "qwen/qwen3-next-80b-a3b-instruct:free", // 262144
  "cohere/north-mini-code:free", // 256000
  "nvidia/nemotron-3-nano-30b-a3b:free", // 256000
  "nvidia/nemotron-3-nano-omni-30b-a3b-reasoning:free", // 256000
  "meta-llama/llama-3.2-3b-instruct:free", // 131072
  "meta-llama/llama-3.3-70b-instruct:free", // 131072
  "nex-agi/nex-n2.5-mini:free", // 131072
  "nousresearch/hermes-3-llama-3.1-405b:free", // 131072
  "openai/gpt-oss-120b:free", // 131072
  "openai/gpt-oss-20b:free", // 131072
  "nvidia/nemotron-3.5-content-safety:free", // 128000
  "nvidia/nemotron-nano-12b-v2-vl:free", // 128000
  "nvidia/nemotron-nano-9b-v2:free", // 128000
  "cognitivecomputations/dolphin-mistral-24b-venice-edition:free", // 32768
  "liquid/lfm-2.5-1.2b-instruct:free", // 32768
  "liquid/lfm-2.5-1.2b-thinking:free", // 32768
  "mistralai/mistral-7b-instruct:free", // 32768
  // zero-priced without :free, by context
  "openrouter/owl-alpha", // 1048756
  "openrouter/free", // 200000
  "inclusionai/ling-3.1-flash", // 131072
];

/** The model `openrouter/free` reports as its pick in default responses. */
export const FREE_ROUTER_PICK = "meta-llama/llama-3.3-70b-instruct:free";
