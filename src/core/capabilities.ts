/**
 * What a request needs from a model (tools, structured output, image input,
 * context size …) and whether a model is known to have it. Pure.
 *
 * @module
 */
import type { ChatCompletionRequest, FreeModel } from "../types.ts";

/** A capability a request can require. */
export type Capability =
  | "tools"
  /**
   * A forced tool choice (`tool_choice` `required` or a named function),
   * which some tool-calling endpoints refuse. The catalog's `tool_choice`
   * parameter says yes; its absence says nothing (only a model that refused
   * one is known to lack it).
   */
  | "tool_choice"
  | "structured_outputs"
  | "response_format"
  | "image_input"
  | "audio_input"
  | "file_input"
  | "video_input"
  /**
   * Continuing an assistant prefill (a stream's resumption). No catalog says
   * it: only a model that rejected one is known to lack it.
   */
  | "prefill";

/** What one request needs. */
export interface RequestNeeds {
  /** Capabilities the model must have. */
  required: readonly Capability[];
  /** Whether reasoning was asked for (a preference, not a requirement). */
  prefersReasoning: boolean;
  /** Estimated prompt tokens plus the completion budget. */
  contextTokens: number;
  /** The completion budget asked for (`max_completion_tokens` or `max_tokens`), if any. */
  maxTokens: number | undefined;
  /**
   * The request carries file parts (PDFs). Any model takes them: one without
   * native file input gets them parsed by OpenRouter's free engine
   * (see `request_body.ts`).
   */
  files?: true;
}

/** How a model relates to a need: it has it, lacks it, or the catalog does not say. */
export type Support = "yes" | "no" | "unknown";

/**
 * Characters per token for the prompt estimate: a cheap, deliberately
 * generous guess for ASCII text (English prose runs nearer 4.5). Other
 * characters weigh more (see {@link weightedLength}).
 */
export const CHARS_PER_TOKEN = 4;

/** Any character outside ASCII. */
const NON_ASCII = /[\u0080-\uffff]/;

/**
 * A string's length for the estimate, in ASCII characters: a character of
 * two UTF-8 bytes (accented Latin, Cyrillic, Greek, Arabic, Hebrew) counts
 * 2, one of three or more (CJK, emoji halves) counts 4, a token each, as
 * tokenizers split them. ASCII-only strings (most) cost one regex scan.
 */
export function weightedLength(text: string): number {
  if (!NON_ASCII.test(text)) return text.length;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    n += unit < 0x80 ? 1 : unit < 0x800 ? 2 : 4;
  }
  return n;
}

const INPUT_PARTS: Record<string, Capability> = {
  image_url: "image_input",
  input_image: "image_input",
  input_audio: "audio_input",
  file: "file_input",
  input_file: "file_input",
  video_url: "video_input",
};

const INPUT_MODALITY: Partial<Record<Capability, string>> = {
  image_input: "image",
  audio_input: "audio",
  file_input: "file",
  video_input: "video",
};

function countChars(value: unknown, parts: Set<Capability>): number {
  if (typeof value === "string") return weightedLength(value);
  if (Array.isArray(value)) {
    let n = 0;
    for (const item of value) n += countChars(item, parts);
    return n;
  }
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    const type = record.type;
    if (typeof type === "string" && INPUT_PARTS[type]) {
      parts.add(INPUT_PARTS[type]!);
      // Binary parts (base64 images, audio) are not text tokens: count a flat cost.
      return 1_000;
    }
    let n = 0;
    for (const key in record) n += countChars(record[key], parts);
    return n;
  }
  return 0;
}

function positive(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value > 0
    ? value
    : undefined;
}

/**
 * Reads a request's needs. `tools` or `tool_choice` need "tools", and a
 * forced `tool_choice` (`required` or a named function) "tool_choice" too;
 * `response_format` of type `json_schema` needs "structured_outputs", of type
 * `json_object` "response_format"; `image_url`, `input_audio` and
 * `video_url` content parts need those inputs (`file` parts need none: see
 * {@link RequestNeeds.files}); `reasoning` (unless excluded, disabled or
 * of effort `none`) or `include_reasoning` is a
 * preference. Prompt tokens are estimated as characters / 4 over messages and
 * tool definitions, characters outside ASCII weighing more
 * ({@link weightedLength}).
 */
export function requestNeeds(request: ChatCompletionRequest): RequestNeeds {
  let needs = needsOf.get(request);
  if (needs === undefined) needsOf.set(request, needs = readNeeds(request));
  return needs;
}

/**
 * Each request's needs, read once: the router and a front (the Messages
 * stream's input tokens) both ask, and reading walks the whole request.
 */
const needsOf = new WeakMap<ChatCompletionRequest, RequestNeeds>();

function readNeeds(request: ChatCompletionRequest): RequestNeeds {
  const required = new Set<Capability>();
  const hasTools = (Array.isArray(request.tools) && request.tools.length > 0) ||
    (request.tool_choice !== undefined && request.tool_choice !== "none");
  if (hasTools) required.add("tools");
  if (
    request.tool_choice === "required" ||
    (typeof request.tool_choice === "object" && request.tool_choice !== null)
  ) required.add("tool_choice");
  const format = (request.response_format as { type?: unknown } | undefined)
    ?.type;
  if (format === "json_schema") required.add("structured_outputs");
  else if (format === "json_object") required.add("response_format");
  const chars = countChars(request.messages, required) +
    countChars(request.tools, new Set());
  const files = required.delete("file_input");
  const maxTokens = positive(request.max_completion_tokens) ??
    positive(request.max_tokens);
  const reasoning = request.reasoning as {
    exclude?: unknown;
    enabled?: unknown;
    effort?: unknown;
  } | undefined;
  const prefersReasoning = request.include_reasoning === true ||
    (typeof reasoning === "object" && reasoning !== null &&
      reasoning.exclude !== true &&
      reasoning.enabled !== false &&
      reasoning.effort !== "none");
  return {
    required: [...required],
    prefersReasoning,
    contextTokens: Math.ceil(chars / CHARS_PER_TOKEN) + (maxTokens ?? 0),
    maxTokens,
    ...(files ? { files: true as const } : {}),
  };
}

/**
 * The needs with a prompt of at least `tokens` (the upstream counted more
 * than the estimate): the context needed grows by the difference.
 */
export function withPromptAtLeast(
  needs: RequestNeeds,
  tokens: number,
): RequestNeeds {
  const prompt = needs.contextTokens - (needs.maxTokens ?? 0);
  return tokens <= prompt
    ? needs
    : { ...needs, contextTokens: needs.contextTokens + tokens - prompt };
}

/** The smallest completion budget a model must leave room for when a request's budget is flexible. */
export const MIN_FLEXIBLE_BUDGET = 1_024;

/**
 * The needs of a request whose completion budget is a ceiling: a model fits
 * when its context holds the prompt plus a small budget (the request's, when
 * smaller than {@link MIN_FLEXIBLE_BUDGET}); its completion cap does not
 * matter. See {@link budgetFor} for what each model is then asked for.
 */
export function flexibleNeeds(needs: RequestNeeds): RequestNeeds {
  if (needs.maxTokens === undefined) return needs;
  const prompt = needs.contextTokens - needs.maxTokens;
  return {
    ...needs,
    maxTokens: undefined,
    contextTokens: prompt + Math.min(needs.maxTokens, MIN_FLEXIBLE_BUDGET),
  };
}

/**
 * The completion budget one model gets for a flexible request: the request's
 * budget, capped by the model's completion cap and by what its context leaves
 * after the estimated prompt (never below 1).
 */
export function budgetFor(
  model: FreeModel,
  needs: RequestNeeds,
): number | undefined {
  if (needs.maxTokens === undefined) return undefined;
  const prompt = needs.contextTokens - needs.maxTokens;
  return Math.max(
    1,
    Math.min(
      needs.maxTokens,
      model.max_completion_tokens ?? Infinity,
      model.context_length - prompt,
    ),
  );
}

/** Whether a model has a capability, according to its catalog entry. */
export function supports(model: FreeModel, capability: Capability): Support {
  if (capability === "prefill") return "unknown";
  const modality = INPUT_MODALITY[capability];
  if (modality !== undefined) {
    return model.input_modalities.includes(modality) ? "yes" : "no";
  }
  const params = model.supported_parameters;
  if (params === null) return "unknown";
  if (capability === "tool_choice") {
    return params.includes("tool_choice") ? "yes" : "unknown";
  }
  if (capability === "response_format") {
    return params.includes("response_format") ||
        params.includes("structured_outputs")
      ? "yes"
      : "no";
  }
  return params.includes(capability) ? "yes" : "no";
}

/** Whether a model supports reasoning, according to its catalog entry. */
export function supportsReasoning(model: FreeModel): boolean {
  const params = model.supported_parameters;
  return params !== null &&
    (params.includes("reasoning") || params.includes("include_reasoning"));
}

/**
 * Why a model cannot serve a request, or `undefined` when it may. A
 * `context` or `max_tokens` misfit names the capabilities the model has and
 * the request needs (`with`), so that its message does not read as if no
 * model at all allowed the size.
 */
export type Misfit =
  /** Lacks `capability`; has the other needs in `with`. */
  | { kind: "capability"; capability: Capability; with: readonly Capability[] }
  | {
    kind: "context";
    /** Estimated prompt plus completion budget. */
    needed: number;
    /** The completion budget counted in `needed` (0 when none was asked for). */
    completion: number;
    available: number;
    with: readonly Capability[];
  }
  | {
    kind: "max_tokens";
    needed: number;
    available: number;
    with: readonly Capability[];
  };

/**
 * How far a model got through {@link misfit}'s checks: the misfit that says
 * most about why the request fits no model. A model with more of the needed
 * capabilities got further; one with all of them (`with` holds them all)
 * got to the size checks.
 */
export function misfitDepth(m: Misfit): number {
  return m.kind === "capability"
    ? m.with.length
    : m.with.length + (m.kind === "context" ? 1 : 2);
}

/**
 * Whether misfit `m` says more than `than`: it got further (see
 * {@link misfitDepth}), or as far on the same size with more room, so that a
 * request too large for every model is measured against the largest.
 */
export function saysMore(m: Misfit, than: Misfit): boolean {
  const deeper = misfitDepth(m) - misfitDepth(than);
  if (deeper !== 0) return deeper > 0;
  return m.kind !== "capability" && than.kind === m.kind &&
    m.available > than.available;
}

/**
 * Whether a model can serve a request: every required capability is not
 * known to be missing (from the catalog or `gaps` learned from upstream 404s),
 * the estimated context fits, and the completion budget fits the provider's
 * cap. Returns the first misfit, or `undefined`.
 */
export function misfit(
  model: FreeModel,
  needs: RequestNeeds,
  gaps: ReadonlySet<string> | undefined,
): Misfit | undefined {
  const lacks = (c: Capability) =>
    gaps?.has(c) === true || supports(model, c) === "no";
  // Files need no capability, unless the model was seen to refuse them.
  const missing = needs.required.find(lacks) ??
    (needs.files && gaps?.has("file_input") ? "file_input" : undefined);
  if (missing !== undefined) {
    return {
      kind: "capability",
      capability: missing,
      with: needs.required.filter((c) => !lacks(c)),
    };
  }
  if (needs.contextTokens > model.context_length) {
    return {
      kind: "context",
      needed: needs.contextTokens,
      completion: needs.maxTokens ?? 0,
      available: model.context_length,
      with: needs.required,
    };
  }
  const cap = model.max_completion_tokens;
  if (needs.maxTokens !== undefined && cap !== null && needs.maxTokens > cap) {
    return {
      kind: "max_tokens",
      needed: needs.maxTokens,
      available: cap,
      with: needs.required,
    };
  }
  return undefined;
}

/** Whether every required capability is known to be present (not merely not missing). */
export function knownCapable(model: FreeModel, needs: RequestNeeds): boolean {
  for (const capability of needs.required) {
    if (supports(model, capability) !== "yes") return false;
  }
  return true;
}

const CAPABILITY_TEXT: Record<Capability, string> = {
  tools: "tool calling",
  tool_choice: "a forced tool choice (tool_choice required or a named tool)",
  structured_outputs: "structured outputs (response_format json_schema)",
  response_format: "JSON mode (response_format json_object)",
  image_input: "image input",
  audio_input: "audio input",
  file_input: "file input",
  video_input: "video input",
  prefill: "continuing an assistant prefill",
};

/**
 * A sentence saying why no free model can serve a request. A prompt larger
 * than every context reads as Anthropic's and OpenAI's own do ("prompt is too
 * long: N tokens > M maximum", "maximum context length"), which coding agents
 * recognise: Claude Code then compacts the conversation. A prompt that fits
 * with a completion budget that does not is told as OpenAI tells it (so many
 * tokens in the messages, so many in the completion).
 */
export function describeMisfit(m: Misfit): string {
  const needs = m.with.length === 0
    ? ""
    : ` with ${m.with.map((c) => CAPABILITY_TEXT[c]).join(" and ")}`;
  if (m.kind === "capability") {
    return `No free model${needs} supports ${CAPABILITY_TEXT[m.capability]}`;
  }
  if (m.kind === "max_tokens") {
    return `No free model${needs} allows ${m.needed} completion tokens`;
  }
  const prompt = m.needed - m.completion;
  // The prompt fits: the completion budget asked for is what does not.
  if (prompt <= m.available) {
    return `This request needs ${m.needed} tokens (${prompt} in the messages, ${m.completion} in the completion), more than the maximum context length of the largest free model${needs}: ${m.available} tokens. Lower max_tokens`;
  }
  return `prompt is too long: ${m.needed} tokens > ${m.available} maximum (the largest free model${needs} has a maximum context length of ${m.available} tokens; ${m.needed} is the estimated prompt plus max tokens)`;
}

/**
 * The capability named by OpenRouter's 404 "No endpoints found that support
 * …", or `undefined` for other messages.
 */
export function capabilityFromNotFound(
  message: string,
): Capability | undefined {
  const m = /No endpoints found that support (.*)/i.exec(message);
  if (!m) return undefined;
  const what = m[1]!.toLowerCase();
  if (what.includes("output")) return undefined; // output modalities: not a request input
  if (what.includes("tool_choice")) return "tool_choice";
  if (what.includes("tool")) return "tools";
  if (what.includes("image")) return "image_input";
  if (what.includes("audio")) return "audio_input";
  if (what.includes("video")) return "video_input";
  if (what.includes("file") || what.includes("pdf")) return "file_input";
  if (what.includes("structured") || what.includes("json_schema")) {
    return "structured_outputs";
  }
  if (what.includes("response_format") || what.includes("json")) {
    return "response_format";
  }
  return undefined;
}
