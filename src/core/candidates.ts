/**
 * Candidate ordering: which models one request tries, in which order. Pure.
 *
 * @module
 */
import {
  knownCapable,
  type Misfit,
  misfit,
  type RequestNeeds,
  saysMore,
  supportsReasoning,
} from "./capabilities.ts";
import type { CooldownEntry } from "./cooldown.ts";
import { isAutoName } from "./aliases.ts";
import { isExpired } from "./free_pool.ts";
import type { FreeModel } from "../types.ts";

/** The smallest context and completion cap of a pool, computed once per pool. */
const poolLimits = new WeakMap<
  readonly FreeModel[],
  { context: number; completion: number }
>();

/**
 * Whether no model of the pool can be a misfit for these needs: nothing is
 * required, reasoning is not asked for, no file is sent (a model may have
 * refused files), and the request fits even the smallest context and
 * completion cap. Then the pool order needs no checks.
 */
function fitsEveryModel(
  pool: readonly FreeModel[],
  needs: RequestNeeds,
): boolean {
  if (needs.required.length > 0 || needs.prefersReasoning || needs.files) {
    return false;
  }
  let limits = poolLimits.get(pool);
  if (limits === undefined) {
    limits = { context: Infinity, completion: Infinity };
    for (const m of pool) {
      limits.context = Math.min(limits.context, m.context_length);
      if (m.max_completion_tokens !== null) {
        limits.completion = Math.min(
          limits.completion,
          m.max_completion_tokens,
        );
      }
    }
    poolLimits.set(pool, limits);
  }
  return needs.contextTokens <= limits.context &&
    (needs.maxTokens ?? 0) <= limits.completion;
}

/** Inputs of {@link orderCandidates}. */
export interface CandidateInput {
  /** The pool in the order to try, for the requested name (see `poolFor`). */
  pool: readonly FreeModel[];
  /** The `model` the client asked for (`auto` and alias names name no model). */
  requested: string | undefined;
  /** What the request needs; `undefined` for none. */
  needs?: RequestNeeds;
  /** Active cooldowns by model id. */
  cooldowns: ReadonlyMap<string, CooldownEntry>;
  /** Capabilities models were found to lack (from upstream 404s), by model id. */
  gaps?: ReadonlyMap<string, ReadonlySet<string>>;
  /** The current time, epoch ms. */
  now: number;
  /** The most candidates to return. */
  maxAttempts: number;
}

/** The candidates, or why no model can serve the request. */
export interface CandidateOrder {
  /** Models to try, in order; at most `maxAttempts`. */
  candidates: FreeModel[];
  /** When `candidates` is empty because no model fits: the first misfit found. */
  misfit?: Misfit;
}

/**
 * The models to try for one request.
 *
 * A requested model that is in the pool goes first, then the pool in order;
 * `auto`, alias names (`auto:*`, and custom ones, which never contain `/`),
 * empty, paid or unknown names use the pool order. Models known to
 * lack a required capability (catalog or learned gap), or too small for the
 * request, are left out. Known-capable models come before models whose catalog
 * entry says nothing (and reasoning-capable ones first when reasoning is
 * asked for). Models cooling down move to the end, soonest expiry first.
 * Models whose free variant has ended ({@link isExpired}: a pool fetched
 * before the date) are left out.
 */
export function orderCandidates(input: CandidateInput): CandidateOrder {
  const { pool, requested, needs, cooldowns, gaps, now, maxAttempts } = input;
  const first = isAutoName(requested)
    ? undefined
    : pool.find((m) => m.id === requested);
  const simple = needs === undefined || fitsEveryModel(pool, needs);
  const preferred: FreeModel[] = [];
  const capable: FreeModel[] = [];
  const unknown: FreeModel[] = [];
  let cooling: FreeModel[] | undefined;
  let firstMisfit: Misfit | undefined;
  let lead: FreeModel | undefined;

  const consider = (model: FreeModel): void => {
    if (isExpired(model, now)) return;
    if (!simple) {
      const m = misfit(model, needs!, gaps?.get(model.id));
      if (m) {
        // The model that got furthest says most: more of the needed
        // capabilities (image input is missing, not tool calling, which
        // other models have), or a size once it has them all.
        if (firstMisfit === undefined || saysMore(m, firstMisfit)) {
          firstMisfit = m;
        }
        return;
      }
    }
    const entry = cooldowns.size === 0 ? undefined : cooldowns.get(model.id);
    if (entry !== undefined && entry.until > now) (cooling ??= []).push(model);
    else if (model === first) lead = model;
    else if (simple) capable.push(model);
    else if (!knownCapable(model, needs!)) unknown.push(model);
    else if (needs!.prefersReasoning && supportsReasoning(model)) {
      preferred.push(model);
    } else capable.push(model);
  };

  if (first) consider(first);
  for (const model of pool) {
    if (simple && capable.length + (lead ? 1 : 0) >= maxAttempts) break;
    if (model !== first) consider(model);
  }
  const ordered = lead ? [lead] : [];
  for (const group of [preferred, capable, unknown]) {
    for (const model of group) {
      if (ordered.length >= maxAttempts) return { candidates: ordered };
      ordered.push(model);
    }
  }
  if (cooling) {
    // Sort on expiry times looked up once, not twice per comparison.
    const byExpiry = (cooling as FreeModel[]).map((model) => ({
      model,
      until: cooldowns.get(model.id)!.until,
    }));
    byExpiry.sort((a, b) => a.until - b.until);
    for (const { model } of byExpiry) {
      if (ordered.length >= maxAttempts) break;
      ordered.push(model);
    }
  }
  return ordered.length === 0 && firstMisfit
    ? { candidates: [], misfit: firstMisfit }
    : { candidates: ordered };
}
