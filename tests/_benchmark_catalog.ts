/**
 * A small catalog whose rows carry OpenRouter's
 * `benchmarks.artificial_analysis` indices (some null, some absent), for the
 * tests of the quality ranking and the aliases.
 */
import { catalogRow, type ModelRow } from "./fake_openrouter/mod.ts";
import { buildFreePool, type FreeModel } from "../src/mod.ts";

const TEXT = ["text"];
const BASE = ["max_tokens", "temperature"];
const TOOLS = ["tool_choice", "tools"];
const REASONING = ["include_reasoning", "reasoning"];

/** A free row with the given context, inputs, parameters and indices (`undefined`: no `benchmarks` at all). */
export function benchRow(
  id: string,
  options: {
    context?: number;
    inputs?: string[];
    params?: string[];
    indices?: [number | null, number | null, number | null];
  } = {},
): ModelRow {
  const inputs = options.inputs ?? TEXT;
  const [intelligence, coding, agentic] = options.indices ?? [];
  return catalogRow({
    id,
    context_length: options.context ?? 131072,
    architecture: {
      modality: `${inputs.join("+")}->text`,
      input_modalities: inputs,
      output_modalities: ["text"],
      tokenizer: "Other",
      instruct_type: null,
    },
    supported_parameters: [...BASE, ...(options.params ?? [])].sort(),
    ...(options.indices
      ? {
        benchmarks: {
          design_arena: [],
          artificial_analysis: {
            intelligence_index: intelligence,
            coding_index: coding,
            agentic_index: agentic,
          },
        },
      }
      : {}),
  });
}

/** Model ids of {@link benchmarkCatalog}. */
export const BIG = "acme/big-70b:free";
export const CODER = "acme/coder-32b:free";
export const AGENT = "acme/agent-120b:free";
export const NO_TOOLS = "acme/agent-no-tools:free";
export const NANO = "nano/nano-30b-a3b:free";
export const SMALL = "acme/big-8b:free";
export const VISION = "vis/vision-12b:free";
export const TINY = "tiny/tiny-1b:free";
export const MYSTERY = "mystery/model:free";

/**
 * Nine free models: five benchmarked (the intelligence leader, a coder, an
 * agentic reasoner, a strong agent without tools, and a nano model with the
 * largest context), and four without data (a small relative of the leader, a
 * vision model and a tiny one whose ids name their sizes, and one with
 * nothing to go on).
 */
export function benchmarkCatalog(): ModelRow[] {
  return [
    benchRow(NANO, { context: 1048576, params: TOOLS, indices: [20, 15, 18] }),
    benchRow(BIG, { params: TOOLS, indices: [50, 40, 30] }),
    benchRow(CODER, { context: 262144, params: TOOLS, indices: [40, 55, 35] }),
    benchRow(AGENT, {
      context: 65536,
      params: [...TOOLS, ...REASONING],
      indices: [45, 35, 50],
    }),
    benchRow(NO_TOOLS, { indices: [30, 20, 60] }),
    benchRow(SMALL, { params: TOOLS }),
    benchRow(VISION, { context: 32768, inputs: ["text", "image"] }),
    benchRow(TINY, { context: 32768 }),
    benchRow(MYSTERY, { context: 65536 }),
  ];
}

/** The pool freerouter builds from {@link benchmarkCatalog}. */
export function benchmarkPool(): FreeModel[] {
  return buildFreePool(benchmarkCatalog());
}
