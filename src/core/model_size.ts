/**
 * What a model's id (or display name) says about it: its parameter count and
 * its family. Used to estimate the quality of models the catalog carries no
 * benchmark for, and to put small models first for `auto:fast`. Pure.
 *
 * @module
 */
import type { FreeModel } from "../types.ts";

/** Parameter counts read from a name, in billions. */
export interface ParameterCount {
  /** All parameters. */
  total: number;
  /** Parameters active per token (mixture-of-experts `a3b`, or `e4b`), when named. */
  active?: number;
}

const NUMBER = String.raw`(\d+(?:\.\d+)?)`;
const TOTAL = new RegExp(`^${NUMBER}([bmt])$`);
const ACTIVE = new RegExp(`^[ae]${NUMBER}b$`);
const EXPERTS = new RegExp(`^(\\d+)x${NUMBER}b$`);
const SCALE: Record<string, number> = { b: 1, m: 0.001, t: 1000 };

/**
 * Reads a parameter count out of a model id or name: `70b`, `1.2b`, `350m`,
 * `1t`, `8x7b` (experts × size), with the active part of a mixture of experts
 * (`30b-a3b`, `480B A35B`) or an effective size (`e4b`). `undefined` when the
 * text names no size.
 *
 * @example
 * ```ts
 * import { parameterCount } from "./model_size.ts";
 * parameterCount("qwen/qwen3-30b-a3b:free"); // { total: 30, active: 3 }
 * ```
 */
export function parameterCount(text: string): ParameterCount | undefined {
  let total: number | undefined;
  let active: number | undefined;
  for (const token of text.toLowerCase().split(/[\s\-_/:,()]+/)) {
    const experts = EXPERTS.exec(token);
    if (experts) {
      total ??= Number(experts[1]) * Number(experts[2]);
      continue;
    }
    const t = TOTAL.exec(token);
    if (t) {
      total ??= Number(t[1]) * SCALE[t[2]!]!;
      continue;
    }
    const a = ACTIVE.exec(token);
    if (a) active ??= Number(a[1]);
  }
  if (total === undefined) {
    return active === undefined ? undefined : { total: active, active };
  }
  return active !== undefined && active > 0 && active < total
    ? { total, active }
    : { total };
}

/**
 * A model's effective size in billions of parameters, from its id, else its
 * name: the total, or for a mixture of experts the geometric mean of total and
 * active parameters (a 30B-A3B model answers like a ~9.5B dense one, not a 30B
 * one). `undefined` when neither names a size.
 */
export function effectiveSize(
  model: Pick<FreeModel, "id" | "name">,
): number | undefined {
  const count = parameterCount(model.id) ?? parameterCount(model.name);
  if (count === undefined || !(count.total > 0)) return undefined;
  return count.active === undefined
    ? count.total
    : Math.sqrt(count.total * count.active);
}

const VERSION = /^v?\d+(?:\.\d+)*$/;

/**
 * A model's family, at two grains: `fine` keeps the version
 * (`meta-llama/llama-3.3`, `google/gemma-4`), `coarse` drops it
 * (`meta-llama/llama`, `google/gemma`, `qwen/qwen` for `qwen3`). Sizes,
 * variants and suffixes such as `:free` are not part of either.
 */
export function familyOf(id: string): { fine: string; coarse: string } {
  const slash = id.indexOf("/");
  const author = slash < 0 ? "" : id.slice(0, slash).toLowerCase();
  const slug = id.slice(slash + 1).replace(/:.*$/, "").toLowerCase();
  const [name = slug, second] = slug.split(/[-_]/);
  const versioned = second !== undefined && VERSION.test(second) &&
      parameterCount(second) === undefined
    ? `${name}-${second}`
    : name;
  const base = name.replace(/[\d.]+$/, "") || name;
  return { fine: `${author}/${versioned}`, coarse: `${author}/${base}` };
}
