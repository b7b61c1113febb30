/**
 * The simulated free pool: 32 free models as OpenRouter's catalog would list
 * them (the rows go through the real `buildFreePool`), and how each behaves
 * when called. Synthetic: the indices, latencies and limits are made up to
 * resemble a free pool (a few strong, popular and rate-limited models; many
 * small, fast and available ones; some models without benchmark data, among
 * them a strong stealth model that is flaky and a 405B one that is weaker than
 * its size says), not measurements of the real models of those names.
 *
 * @module
 */

/** How a simulated model behaves. */
export interface SimBehaviour {
  /** The model's true intelligence index: what "mean quality" reports (for unscored models the ranking must guess it). */
  quality: number;
  /** Median time to first token, ms. */
  ttftMs: number;
  /** Chance that an attempt fails transiently (5xx or a timeout). */
  failRate: number;
  /** Attempts per minute the model's shared free capacity leaves to this deployment (then `limit_rpm` 429s). */
  rpmCap: number;
  /** Attempts per day the same way (then `limit_rpd` 429s), when limited. */
  rpdCap?: number;
  /** Chance of an upstream "Provider returned error" 429 at peak hours. */
  busy429: number;
}

/** One simulated model: its catalog row and its behaviour. */
export interface SimModel {
  row: Record<string, unknown>;
  behaviour: SimBehaviour;
}

/**
 * The models, one a line: the catalog's side (id, name, context, capabilities,
 * the Artificial Analysis indices it lists, `-` for none) and the hidden
 * behaviour (true quality, median time to first token in seconds, transient
 * failure rate, per-minute and per-day shared capacity, peak chance of an
 * upstream 429).
 */
const TABLE = `
id | name | context | capabilities | intel | coding | agentic | quality | ttft_s | fail | rpm | rpd | busy429
openai/gpt-oss-120b:free | OpenAI: gpt-oss-120b (free) | 131072 | tools,reasoning | 58 | 50 | 45 | 58 | 3.0 | 0.04 | 6 | - | 0.2
openai/gpt-oss-20b:free | OpenAI: gpt-oss-20b (free) | 131072 | tools,reasoning | 49 | 41 | 33 | 49 | 1.6 | 0.03 | 12 | - | 0.1
minimax/minimax-m2:free | MiniMax: MiniMax M2 (free) | 204800 | tools,reasoning | 61 | 56 | 60 | 61 | 5.0 | 0.05 | 4 | 400 | 0.3
deepseek/deepseek-r1-0528:free | DeepSeek: R1 0528 (free) | 163840 | reasoning | 59 | 47 | - | 59 | 14 | 0.06 | 4 | - | 0.35
deepseek/deepseek-chat-v3.1:free | DeepSeek: DeepSeek V3.1 (free) | 163840 | tools,reasoning | 54 | 48 | 42 | 54 | 3.5 | 0.05 | 5 | - | 0.3
tngtech/deepseek-r1t2-chimera:free | TNG: DeepSeek R1T2 Chimera (free) | 163840 | reasoning | - | - | - | 52 | 9 | 0.08 | 6 | - | 0.25
z-ai/glm-4.5-air:free | Z.AI: GLM 4.5 Air (free) | 131072 | tools,reasoning | 49 | 43 | 47 | 49 | 2.8 | 0.04 | 8 | - | 0.2
moonshotai/kimi-k2:free | MoonshotAI: Kimi K2 0711 (free) | 131072 | tools | 48 | 45 | 50 | 48 | 3.0 | 0.06 | 4 | - | 0.35
qwen/qwen3-coder:free | Qwen: Qwen3 Coder 480B A35B (free) | 262144 | tools | - | 52 | 44 | 45 | 2.5 | 0.04 | 6 | - | 0.3
qwen/qwen3-235b-a22b:free | Qwen: Qwen3 235B A22B (free) | 131072 | tools,reasoning | 47 | 40 | 35 | 47 | 4.0 | 0.05 | 8 | - | 0.2
qwen/qwen3-next-80b-a3b-instruct:free | Qwen: Qwen3 Next 80B A3B Instruct (free) | 262144 | tools | 45 | 38 | 36 | 45 | 1.8 | 0.04 | 10 | - | 0.15
qwen/qwen3-30b-a3b:free | Qwen: Qwen3 30B A3B (free) | 131072 | tools,reasoning | - | - | - | 37 | 1.2 | 0.03 | 15 | - | 0.1
qwen/qwen3-4b:free | Qwen: Qwen3 4B (free) | 40960 | tools,reasoning | - | - | - | 26 | 0.6 | 0.03 | 20 | - | 0.05
meta-llama/llama-3.3-70b-instruct:free | Meta: Llama 3.3 70B Instruct (free) | 131072 | tools | 28 | 21 | 19 | 28 | 1.3 | 0.03 | 15 | - | 0.1
meta-llama/llama-3.2-3b-instruct:free | Meta: Llama 3.2 3B Instruct (free) | 131072 | - | - | - | - | 11 | 0.4 | 0.02 | 30 | - | 0.05
meta-llama/llama-4-maverick:free | Meta: Llama 4 Maverick (free) | 1048576 | image,tools | 36 | 30 | 25 | 36 | 2.2 | 0.05 | 8 | - | 0.2
nousresearch/hermes-3-llama-3.1-405b:free | Nous: Hermes 3 405B Instruct (free) | 131072 | - | - | - | - | 30 | 3.5 | 0.1 | 5 | - | 0.2
google/gemma-3-27b-it:free | Google: Gemma 3 27B (free) | 131072 | image | 22 | 15 | 10 | 22 | 1.4 | 0.03 | 15 | - | 0.1
google/gemma-4-31b-it:free | Google: Gemma 4 31B (free) | 262144 | image,tools | - | - | - | 38 | 1.8 | 0.04 | 10 | - | 0.15
google/gemma-4-26b-a4b-it:free | Google: Gemma 4 26B A4B (free) | 262144 | image | - | - | - | 31 | 1.0 | 0.03 | 15 | - | 0.1
mistralai/mistral-small-3.2-24b-instruct:free | Mistral: Mistral Small 3.2 24B (free) | 131072 | image,tools | 29 | 24 | 20 | 29 | 1.1 | 0.03 | 15 | - | 0.1
mistralai/mistral-7b-instruct:free | Mistral: Mistral 7B Instruct (free) | 32768 | - | - | - | - | 10 | 0.5 | 0.02 | 30 | - | 0.05
nvidia/nemotron-3-super-120b-a12b:free | NVIDIA: Nemotron 3 Super 120B A12B (free) | 1000000 | tools,reasoning | - | - | - | 46 | 3.0 | 0.05 | 8 | - | 0.2
nvidia/nemotron-3-nano-30b-a3b:free | NVIDIA: Nemotron 3 Nano 30B A3B (free) | 256000 | tools,reasoning | 36 | 30 | 28 | 36 | 1.0 | 0.03 | 15 | - | 0.1
nvidia/nemotron-nano-9b-v2:free | NVIDIA: Nemotron Nano 9B V2 (free) | 128000 | tools,reasoning | 33 | 25 | 20 | 33 | 0.8 | 0.03 | 20 | - | 0.05
nvidia/nemotron-nano-12b-v2-vl:free | NVIDIA: Nemotron Nano 12B 2 VL (free) | 128000 | image,tools,reasoning | - | - | - | 30 | 1.0 | 0.04 | 15 | - | 0.1
openrouter/owl-alpha | Owl Alpha | 1048576 | image,tools,reasoning | - | - | - | 50 | 2.5 | 0.25 | 6 | - | 0.25
x-ai/grok-4-fast:free | xAI: Grok 4 Fast (free) | 2000000 | image,tools,reasoning | 60 | 48 | 55 | 60 | 2.0 | 0.04 | 5 | 300 | 0.3
arcee-ai/trinity-mini:free | Arcee AI: Trinity Mini 26B A3B (free) | 131072 | tools,reasoning | - | - | - | 24 | 0.9 | 0.03 | 20 | - | 0.05
liquid/lfm-2.5-1.2b-instruct:free | LiquidAI: LFM2.5 1.2B Instruct (free) | 32768 | - | - | - | - | 8 | 0.3 | 0.02 | 30 | - | 0.05
cognitivecomputations/dolphin-mistral-24b-venice-edition:free | Venice: Uncensored (free) | 32768 | - | - | - | - | 20 | 1.5 | 0.08 | 10 | - | 0.15
meituan/longcat-flash-chat:free | Meituan: LongCat Flash Chat (free) | 131072 | tools | - | - | - | 44 | 2.0 | 0.06 | 6 | - | 0.2
`;

interface Spec {
  id: string;
  name: string;
  context: number;
  capabilities: string[];
  listed: [number | null, number | null, number | null];
  behaviour: SimBehaviour;
}

function specs(): Spec[] {
  const lines = TABLE.trim().split("\n").slice(1);
  return lines.map((line) => {
    const c = line.split("|").map((cell) => cell.trim());
    const num = (i: number) => c[i] === "-" ? null : Number(c[i]);
    return {
      id: c[0]!,
      name: c[1]!,
      context: Number(c[2]),
      capabilities: c[3] === "-" ? [] : c[3]!.split(","),
      listed: [num(4), num(5), num(6)],
      behaviour: {
        quality: Number(c[7]),
        ttftMs: Number(c[8]) * 1000,
        failRate: Number(c[9]),
        rpmCap: Number(c[10]),
        rpdCap: num(11) ?? undefined,
        busy429: Number(c[12]),
      },
    };
  });
}

const BASE_PARAMS = ["max_tokens", "seed", "stop", "temperature", "top_p"];

function row(s: Spec): Record<string, unknown> {
  const has = (c: string) => s.capabilities.includes(c);
  const inputs = has("image") ? ["text", "image"] : ["text"];
  const params = [
    ...BASE_PARAMS,
    ...(has("tools") ? ["tool_choice", "tools"] : []),
    ...(has("reasoning") ? ["include_reasoning", "reasoning"] : []),
  ];
  const [intelligence, coding, agentic] = s.listed;
  const listed = s.listed.some((v) => v !== null);
  return {
    id: s.id,
    canonical_slug: s.id.replace(/:free$/, ""),
    name: s.name,
    created: 1760000000,
    context_length: s.context,
    architecture: {
      modality: `${inputs.join("+")}->text`,
      input_modalities: inputs,
      output_modalities: ["text"],
      tokenizer: "Other",
      instruct_type: null,
    },
    pricing: { prompt: "0", completion: "0" },
    top_provider: {
      context_length: s.context,
      max_completion_tokens: null,
      is_moderated: false,
    },
    per_request_limits: null,
    supported_parameters: params.sort(),
    default_parameters: {},
    expiration_date: null,
    ...(listed
      ? {
        benchmarks: {
          artificial_analysis: {
            intelligence_index: intelligence,
            coding_index: coding,
            agentic_index: agentic,
          },
        },
      }
      : {}),
  };
}

/** The simulated pool, in catalog order. */
export function simulatedPool(): SimModel[] {
  return specs().map((s) => ({ row: row(s), behaviour: s.behaviour }));
}
