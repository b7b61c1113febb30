/**
 * Model names that pick for the client: `auto` and the built-in intent
 * aliases (`auto:coding`, `auto:fast`, …), plus aliases the operator defines
 * (`FREEROUTER_ALIASES`, or the `aliases` option), each an ordered list of
 * model ids or `*` patterns. Resolves the `model` of a request to the pool
 * order it is routed over. Pure.
 *
 * @module
 */
import type { FreeModel } from "../types.ts";
import {
  type HealthView,
  type OrderKind,
  rankedPool,
  type Strategy,
} from "./ranking.ts";

/** A model name that picks for the client. */
export interface AliasInfo {
  /** The name a client sends as `model`. */
  name: string;
  /** What it picks. */
  description: string;
}

/** The built-in aliases, `auto` first, with the order each one routes over. */
export const BUILTIN_ALIASES: ReadonlyArray<
  AliasInfo & { kind: OrderKind | "strategy" }
> = [
  {
    name: "auto",
    kind: "strategy",
    description: "Best general model (intelligence index)",
  },
  {
    name: "auto:coding",
    kind: "coding",
    description: "Best coding model (coding index)",
  },
  {
    name: "auto:agentic",
    kind: "agentic",
    description: "Best agentic model with tool support (agentic index)",
  },
  {
    name: "auto:fast",
    kind: "fast",
    description:
      "Lowest measured latency among healthy models (smaller models first until measured)",
  },
  { name: "auto:long", kind: "long", description: "Largest context window" },
  {
    name: "auto:vision",
    kind: "vision",
    description: "Best model that takes image input",
  },
  {
    name: "auto:reasoning",
    kind: "reasoning",
    description: "Best reasoning model",
  },
];

/** Names that mean plain `auto`. */
const AUTO_NAMES = new Set(["", "auto", "openrouter/auto"]);

/** The names a client sends for plain `auto`. */
export const PLAIN_AUTO_NAMES: readonly string[] = ["auto", "openrouter/auto"];

/** Whether a requested `model` means "pick for me" rather than a model id: `auto`, an `auto:*` name, or empty. */
export function isAutoName(requested: string | undefined): boolean {
  return requested === undefined || AUTO_NAMES.has(requested) ||
    requested.startsWith("auto:");
}

/**
 * Whether `name` is another name of plain `auto` (`openrouter/auto`, as
 * clients written for OpenRouter send it), which routes as `auto` does.
 */
export function isAutoSynonym(name: string): boolean {
  return name !== "" && name !== "auto" && AUTO_NAMES.has(name);
}

/** Operator-defined aliases: name → model ids or `*` patterns, in order. */
export type CustomAliases = ReadonlyMap<string, readonly string[]>;

/**
 * The alias a requested `model` routes under: a custom alias or an `auto:*`
 * name as it is; plain `auto`, a model id or nothing as `auto`.
 */
export function aliasOf(
  requested: string | undefined,
  aliases: CustomAliases,
): string {
  return requested !== undefined &&
      (requested.startsWith("auto:") || aliases.has(requested))
    ? requested
    : "auto";
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const PATTERN = /^[^\s,;=]+$/;

/**
 * Why an alias definition is invalid, or `undefined`. Names are letters,
 * digits and `._:-` (no `/`: they must never collide with model ids) and may
 * not redefine a built-in; each needs at least one model id or pattern.
 */
export function aliasProblem(
  name: string,
  patterns: readonly string[],
): string | undefined {
  if (!NAME.test(name)) {
    return "is not a valid alias name (letters, digits and ._:- only)";
  }
  if (AUTO_NAMES.has(name) || BUILTIN_ALIASES.some((a) => a.name === name)) {
    return "redefines a built-in alias";
  }
  if (patterns.length === 0) return "lists no model";
  const bad = patterns.find((p) => typeof p !== "string" || !PATTERN.test(p));
  if (bad !== undefined) {
    return `has an invalid model id or pattern ${JSON.stringify(bad)}`;
  }
  return undefined;
}

/**
 * Parses `FREEROUTER_ALIASES`: `name=id1,id2,prefix/*;name2=…` (spaces
 * around names and ids are ignored). Returns the aliases, or the first
 * problem with the alias it concerns.
 *
 * @example
 * ```ts
 * import { parseAliases } from "./aliases.ts";
 * parseAliases("cheap=meta-llama/*,google/gemma-4-31b-it:free");
 * ```
 */
export function parseAliases(
  text: string,
): { ok: true; aliases: Map<string, string[]> } | {
  ok: false;
  alias: string;
  problem: string;
} {
  const aliases = new Map<string, string[]>();
  for (const part of text.split(";")) {
    const definition = part.trim();
    if (definition === "") continue;
    const eq = definition.indexOf("=");
    if (eq < 0) {
      return { ok: false, alias: definition, problem: "is not name=models" };
    }
    const name = definition.slice(0, eq).trim();
    const patterns = definition.slice(eq + 1).split(",").map((p) => p.trim())
      .filter((p) => p !== "");
    if (aliases.has(name)) {
      return { ok: false, alias: name, problem: "is defined twice" };
    }
    const problem = aliasProblem(name, patterns);
    if (problem) return { ok: false, alias: name, problem };
    aliases.set(name, patterns);
  }
  return { ok: true, aliases };
}

const compiled = new Map<string, RegExp>();

/** Whether a model id matches an alias entry: the id itself, or a pattern where `*` stands for any characters. */
export function matchesPattern(id: string, pattern: string): boolean {
  if (!pattern.includes("*")) return id === pattern;
  let re = compiled.get(pattern);
  if (re === undefined) {
    const source = pattern.split("*").map((s) =>
      s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")
    ).join(".*");
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, re = new RegExp(`^${source}$`));
  }
  return re.test(id);
}

/**
 * The entries of operator aliases that match no model of `pool` (a typo, or
 * a model that left the free pool), as `alias: entry`, for a warning: such an
 * alias routes over its other entries only, or answers no request.
 */
export function unmatchedAliasEntries(
  aliases: Iterable<readonly [string, readonly string[]]>,
  pool: readonly { id: string }[],
): string[] {
  const unmatched: string[] = [];
  for (const [name, patterns] of aliases) {
    for (const pattern of patterns) {
      if (!pool.some((m) => matchesPattern(m.id, pattern))) {
        unmatched.push(`${name}: ${pattern}`);
      }
    }
  }
  return unmatched;
}

/** Values kept per (ranked pool, list of patterns): see {@link perPoolAndList}. */
export type PoolListCache<T> = WeakMap<
  readonly FreeModel[],
  WeakMap<readonly string[], T>
>;

/**
 * `compute()` once per ranked pool and list of patterns: both are objects
 * that stay the same until the catalog or the health changes (or the list's
 * owner goes), so a request reuses what the last one computed.
 */
export function perPoolAndList<T>(
  cache: PoolListCache<T>,
  ranked: readonly FreeModel[],
  list: readonly string[],
  compute: () => T,
): T {
  let byList = cache.get(ranked);
  if (byList === undefined) cache.set(ranked, byList = new WeakMap());
  let value = byList.get(list);
  if (value === undefined) byList.set(list, value = compute());
  return value;
}

/** The custom alias orders, by the ranked pool they were built from. */
const customOrders: PoolListCache<FreeModel[]> = new WeakMap();

/** An alias's models: its entries in order, each pattern's matches in `ranked` order. */
function customOrder(
  ranked: readonly FreeModel[],
  patterns: readonly string[],
): FreeModel[] {
  return perPoolAndList(customOrders, ranked, patterns, () => {
    const seen = new Set<FreeModel>();
    for (const pattern of patterns) {
      for (const m of ranked) {
        if (!seen.has(m) && matchesPattern(m.id, pattern)) seen.add(m);
      }
    }
    return [...seen];
  });
}

/** Inputs of {@link poolFor}. */
export interface PoolForInput extends HealthView {
  /** The strategy of `auto`. */
  strategy: Strategy;
  /** Operator-defined aliases. */
  aliases: CustomAliases;
}

/** Every alias a client may send: built-in ones, then custom ones (described by their entries). */
export function listAliases(aliases: CustomAliases): AliasInfo[] {
  return [
    ...BUILTIN_ALIASES.map(({ name, description }) => ({ name, description })),
    ...[...aliases].map(([name, patterns]) => ({
      name,
      description: patterns.join(", "),
    })),
  ];
}

/** Every alias name a client may send: built-in ones, then custom ones. */
export function aliasNames(aliases: CustomAliases): string[] {
  return [...BUILTIN_ALIASES.map((a) => a.name), ...aliases.keys()];
}

/**
 * The pool order a request's `model` routes over: the strategy's order for
 * `auto`, a model id or any other name (the named model goes first, see
 * `orderCandidates`); the alias's order for an alias. An unknown `auto:*`
 * name (`unknown`), or an alias no pool model serves, is an error (a 400 for
 * the client).
 */
export function poolFor(
  pool: readonly FreeModel[],
  requested: string | undefined,
  input: PoolForInput,
):
  | { ok: true; pool: readonly FreeModel[] }
  | { ok: false; message: string; unknown?: true } {
  const custom = requested === undefined
    ? undefined
    : input.aliases.get(requested);
  if (custom !== undefined) {
    const order = customOrder(rankedPool(pool, "quality", input), custom);
    return order.length > 0 ? { ok: true, pool: order } : {
      ok: false,
      message: `No free model matches the alias "${requested}" (${
        custom.join(", ")
      })`,
    };
  }
  if (requested === undefined || !requested.startsWith("auto:")) {
    return { ok: true, pool: rankedPool(pool, input.strategy, input) };
  }
  const builtin = BUILTIN_ALIASES.find((a) => a.name === requested);
  if (builtin === undefined) {
    return {
      ok: false,
      message: `Unknown model alias "${requested}". Known aliases: ${
        aliasNames(input.aliases).join(", ")
      }`,
      unknown: true,
    };
  }
  const kind = builtin.kind === "strategy" ? input.strategy : builtin.kind;
  const order = rankedPool(pool, kind, input);
  return order.length > 0 ? { ok: true, pool: order } : {
    ok: false,
    message:
      `No free model serves "${requested}" (${builtin.description.toLowerCase()})`,
  };
}

/** The aliases with the models each routes over now, for the status report. */
export function aliasOrders(
  pool: readonly FreeModel[],
  input: PoolForInput,
): Array<AliasInfo & { custom: boolean; models: string[] }> {
  const list: Array<AliasInfo & { custom: boolean; models: string[] }> = [];
  for (const a of BUILTIN_ALIASES) {
    const r = poolFor(pool, a.name, input);
    list.push({
      name: a.name,
      description: a.description,
      custom: false,
      models: r.ok ? r.pool.map((m) => m.id) : [],
    });
  }
  for (const [name, patterns] of input.aliases) {
    const r = poolFor(pool, name, input);
    list.push({
      name,
      description: patterns.join(", "),
      custom: true,
      models: r.ok ? r.pool.map((m) => m.id) : [],
    });
  }
  return list;
}
