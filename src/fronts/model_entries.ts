/**
 * The entries of `GET /v1/models` and `GET /v1/models/{id}` in each front's
 * shape: OpenAI's model object (with the pool's extra fields), or
 * Anthropic's `ModelInfo` when the request carries `anthropic-version`.
 *
 * @module
 */
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
  /** The list body around the entries. */
  list(data: Entry[]): unknown;
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
  list: (data) => ({
    data,
    has_more: false,
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
