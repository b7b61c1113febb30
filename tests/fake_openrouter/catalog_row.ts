/**
 * Catalog rows of the fake OpenRouter: their shape, a builder, and the filter
 * `GET /models` applies to them.
 *
 * OpenRouter's `GET /api/v1/models` lists `Model` objects; by default it
 * hides models without text output (`output_modalities` defaults to `text`,
 * `all` lists everything), and `supported_parameters` keeps the rows that
 * support the named parameters (https://openrouter.ai/docs/models).
 *
 * @module
 */
import { isRecord, stripFree } from "./common.ts";

/** Architecture block of a catalog row. */
export interface ModelArchitecture {
  modality: string | null;
  input_modalities?: string[];
  output_modalities?: string[];
  tokenizer: string;
  instruct_type: string | null;
}

/**
 * A catalog row in the shape of OpenRouter's `Model` object. Prices are
 * decimal strings (`"0"` means free).
 */
export interface ModelRow {
  id: string;
  canonical_slug: string;
  hugging_face_id?: string | null;
  name: string;
  created: number;
  description?: string;
  context_length: number;
  architecture: ModelArchitecture;
  pricing: Record<string, string | number>;
  top_provider: {
    context_length: number | null;
    max_completion_tokens: number | null;
    is_moderated: boolean;
  };
  per_request_limits:
    | { prompt_tokens: number; completion_tokens: number }
    | null;
  supported_parameters: string[];
  default_parameters: Record<string, unknown>;
  supported_voices: string[] | null;
  knowledge_cutoff?: string | null;
  expiration_date?: string | null;
  links: { details: string };
  [extra: string]: unknown;
}

/** Sampling parameters most rows support. */
export const P_BASE = [
  "frequency_penalty",
  "max_tokens",
  "presence_penalty",
  "repetition_penalty",
  "seed",
  "stop",
  "temperature",
  "top_k",
  "top_p",
];
/** Parameters of rows with tool calls and structured outputs. */
export const P_TOOLS = [
  "response_format",
  "structured_outputs",
  "tool_choice",
  "tools",
];
/** Parameters of reasoning rows. */
export const P_REASONING = ["include_reasoning", "reasoning"];

/** The union of parameter groups, sorted. */
export function params(...groups: string[][]): string[] {
  return [...new Set(groups.flat())].sort();
}

const TEXT_ARCH: ModelArchitecture = {
  modality: "text->text",
  input_modalities: ["text"],
  output_modalities: ["text"],
  tokenizer: "Other",
  instruct_type: null,
};

/** An architecture block from its tokenizer and modalities. */
export function arch(
  tokenizer: string,
  inputs: string[] = ["text"],
  outputs: string[] = ["text"],
  instructType: string | null = null,
): ModelArchitecture {
  return {
    modality: `${inputs.join("+")}->${outputs.join("+")}`,
    input_modalities: inputs,
    output_modalities: outputs,
    tokenizer,
    instruct_type: instructType,
  };
}

/**
 * A real `:free` classifier row of OpenRouter's catalog (2026-09): its output
 * modality is `"decisions"` (the schema's enum is not closed), context 0.
 */
export const RESPAN_CLASSIFIER_ROW: ModelRow = {
  id: "respan/span-01-lite:free",
  canonical_slug: "respan/span-01-lite-20260925",
  hugging_face_id: null,
  name: "Respan: Span-01 Lite (free)",
  created: 1790387542,
  description: "...",
  context_length: 0,
  architecture: {
    modality: "text->decisions",
    input_modalities: ["text"],
    output_modalities: ["decisions"],
    tokenizer: "Other",
    instruct_type: null,
  },
  pricing: { prompt: "0", completion: "0" },
  top_provider: {
    context_length: 0,
    max_completion_tokens: 0,
    is_moderated: false,
  },
  per_request_limits: null,
  supported_parameters: [],
  default_parameters: {},
  supported_voices: null,
  knowledge_cutoff: null,
  expiration_date: null,
  links: { details: "/api/v1/models/respan/span-01-lite-20260925/endpoints" },
};

/**
 * Builds a valid catalog row from a partial. Defaults: a free text->text
 * model with context 131072, canonical slug = id without `:free`, basic
 * sampling parameters (no tools).
 */
export function catalogRow(
  partial: Partial<ModelRow> & { id: string },
): ModelRow {
  const { id, ...rest } = partial;
  const canonical = partial.canonical_slug ?? stripFree(id);
  const context = partial.context_length ?? 131072;
  const [author = id, slug = id] = stripFree(id).split("/");
  const name = partial.name ??
    `${author}: ${slug}${id.endsWith(":free") ? " (free)" : ""}`;
  return {
    id,
    canonical_slug: canonical,
    hugging_face_id: null,
    name,
    created: 1767225600,
    description: `${name}: a model row served by the fake OpenRouter.`,
    context_length: context,
    architecture: structuredClone(TEXT_ARCH),
    pricing: { prompt: "0", completion: "0" },
    top_provider: {
      context_length: context,
      max_completion_tokens: null,
      is_moderated: false,
    },
    per_request_limits: null,
    supported_parameters: params(P_BASE),
    default_parameters: {},
    supported_voices: null,
    knowledge_cutoff: null,
    expiration_date: null,
    links: { details: `/api/v1/models/${canonical}/endpoints` },
    ...rest,
  };
}

/** What tells one free row of the default catalog from another. */
export interface FreeSpec {
  id: string;
  name: string;
  canonical: string;
  created: number;
  context: number;
  arch: ModelArchitecture;
  params: string[];
  maxCompletion?: number | null;
  pricing?: Record<string, string>;
  expiration?: string;
}

/** The catalog row of a {@linkcode FreeSpec}. */
export function specRow(s: FreeSpec): ModelRow {
  return catalogRow({
    id: s.id,
    canonical_slug: s.canonical,
    name: s.name,
    created: s.created,
    description: `${s.name.replace(/ \(free\)$/, "")}.`,
    context_length: s.context,
    architecture: s.arch,
    pricing: s.pricing ?? { prompt: "0", completion: "0" },
    top_provider: {
      context_length: s.context,
      max_completion_tokens: s.maxCompletion ?? null,
      is_moderated: false,
    },
    supported_parameters: s.params,
    expiration_date: s.expiration ?? null,
  });
}

// ---------------------------------------------------------------------------
// Catalog filtering (GET /models)

function rowOutputs(row: unknown): string[] | undefined {
  if (!isRecord(row) || !isRecord(row.architecture)) return undefined;
  const a = row.architecture;
  if (Array.isArray(a.output_modalities)) {
    return a.output_modalities.filter((m): m is string =>
      typeof m === "string"
    );
  }
  if (typeof a.modality === "string" && a.modality.includes("->")) {
    return a.modality.slice(a.modality.indexOf("->") + 2).split("+");
  }
  return undefined;
}

/**
 * The rows `GET /models` serves for a query: only text outputs unless
 * `output_modalities` asks for others (or `all`), and only rows with every
 * parameter of `supported_parameters`.
 */
export function filterCatalog(
  rows: unknown[],
  query: URLSearchParams,
): unknown[] {
  const list = (name: string) =>
    (query.get(name) ?? "").split(",").map((s) => s.trim().toLowerCase())
      .filter((s) => s !== "");
  const wanted = query.has("output_modalities")
    ? list("output_modalities")
    : ["text"];
  const params = list("supported_parameters");
  return rows.filter((row) => {
    if (!wanted.includes("all")) {
      const outputs = rowOutputs(row);
      // Rows whose modalities cannot be read are served as-is (clients must cope).
      if (outputs !== undefined && !outputs.some((o) => wanted.includes(o))) {
        return false;
      }
    }
    if (params.length > 0) {
      if (!isRecord(row) || !Array.isArray(row.supported_parameters)) {
        return false;
      }
      const supported = row.supported_parameters;
      return params.every((p) => supported.includes(p));
    }
    return true;
  });
}
