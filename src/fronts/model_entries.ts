/**
 * The entries of `GET /v1/models` and `GET /v1/models/{id}` in each front's
 * shape: OpenAI's model object (with the pool's extra fields), or
 * Anthropic's `ModelInfo` when the request carries `anthropic-version`.
 *
 * @module
 */
import { z } from "zod";
import type { Model } from "openai/resources/models";
import type { ModelInfo } from "@anthropic-ai/sdk/resources/models";
import type { AliasInfo } from "../core/aliases.ts";
import type { FreeModel } from "../types.ts";

/** A pool model or an alias in OpenAI's shape (`GET /v1/models`, `GET /v1/models/{id}`). */
type OpenAIModel = Model & Record<string, unknown>;

/** A pool model or an alias in Anthropic's shape. */
type AnthropicModel = Pick<
  ModelInfo,
  "type" | "id" | "display_name" | "created_at"
>;

/** How a front shows a pool model and an alias, in its list and alone. */
export interface ModelShape<Entry> {
  model(m: FreeModel): Entry;
  alias(a: AliasInfo): Entry;
  /** The list body around the entries (`hasMore`: a later page follows). */
  list(data: Entry[], hasMore: boolean): unknown;
}

const OPENAI_SHAPE: ModelShape<OpenAIModel> = {
  model: (m) => ({
    id: m.id,
    object: "model",
    created: m.created,
    owned_by: m.owned_by,
    name: m.name,
    context_length: m.context_length,
    max_completion_tokens: m.max_completion_tokens,
    supported_parameters: m.supported_parameters,
    input_modalities: m.input_modalities,
    expiration_date: m.expiration_date,
    intelligence_index: m.intelligence_index ?? null,
    coding_index: m.coding_index ?? null,
    agentic_index: m.agentic_index ?? null,
  }),
  alias: (a) => ({
    id: a.name,
    object: "model",
    created: 0,
    owned_by: "freerouter",
    name: `freerouter: ${a.description}`,
  }),
  list: (data) => ({ object: "list", data }),
};

/** Anthropic's shape (what Claude Code's gateway model discovery reads). */
const ANTHROPIC_SHAPE: ModelShape<AnthropicModel> = {
  model: (m) => ({
    type: "model",
    id: m.id,
    display_name: m.name,
    created_at: new Date(m.created * 1000).toISOString(),
  }),
  alias: (a) => ({
    type: "model",
    id: a.name,
    display_name: `freerouter: ${a.description}`,
    created_at: new Date(0).toISOString(),
  }),
  list: (data, hasMore) => ({
    data,
    has_more: hasMore,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
  }),
};

/** The front a models request speaks: Anthropic's when it carries `anthropic-version`. */
export type ModelFront = "openai" | "anthropic";

/** Each front's shape, by the front a request speaks. */
export const MODEL_SHAPES: Record<ModelFront, ModelShape<{ id: string }>> = {
  openai: OPENAI_SHAPE,
  anthropic: ANTHROPIC_SHAPE,
};

/**
 * The query of Anthropic's paginated list, `GET /v1/models?limit=&after_id=`
 * (or `before_id=`), as Anthropic reads it: `limit` from 1 to 1,000, at most
 * one cursor. Other parameters (`beta=true`) are ignored.
 */
const pageQuery = z.object({
  limit: z.coerce.number({ error: "limit must be a whole number" }).int({
    error: "limit must be a whole number",
  }).min(1, { error: "limit must be at least 1" }).max(1000, {
    error: "limit must be at most 1000",
  }).optional(),
  after_id: z.string().optional(),
  before_id: z.string().optional(),
}).refine((q) => q.after_id === undefined || q.before_id === undefined, {
  error: "after_id and before_id cannot be used together",
});

/** One page of a list, and whether more entries lie beyond it. */
export interface ListPage<Entry> {
  data: Entry[];
  hasMore: boolean;
}

/**
 * The page of `entries` an Anthropic list query asks for, or the reason it is
 * invalid: `limit` entries after `after_id`, before `before_id`, or from the
 * start. Without `limit` the page holds every entry to the list's end (the
 * start, with `before_id`), so a client that reads one page sees the aliases,
 * which come last; Anthropic's own default is 20.
 */
export function anthropicPage<Entry extends { id: string }>(
  entries: readonly Entry[],
  query: URLSearchParams,
): ListPage<Entry> | string {
  const parsed = pageQuery.safeParse(Object.fromEntries(query));
  if (!parsed.success) return parsed.error.issues[0]?.message ?? "bad query";
  const { limit = entries.length, after_id, before_id } = parsed.data;
  const cursor = after_id ?? before_id;
  const at = cursor === undefined
    ? -1
    : entries.findIndex((e) => e.id === cursor);
  if (cursor !== undefined && at < 0) {
    return `${
      after_id === undefined ? "before_id" : "after_id"
    } '${cursor}' is not in the list (GET /v1/models lists it)`;
  }
  if (before_id !== undefined) {
    const start = Math.max(0, at - limit);
    return { data: entries.slice(start, at), hasMore: start > 0 };
  }
  const start = at + 1;
  const end = start + limit;
  return { data: entries.slice(start, end), hasMore: end < entries.length };
}
