/**
 * The request body each attempt sends: the client's request serialised once,
 * each attempt splicing in its model (and a clamped budget). Pure.
 *
 * @module
 */
import type { ChatCompletionRequest } from "../types.ts";
import { isRecord } from "./records.ts";

/**
 * Serialises a request once; each attempt only splices its model (and, when
 * the budget is clamped, its `max_tokens`) in front. The client's fields are
 * kept as they are, `model` replaced. OpenRouter's own fallback fields
 * (`models`, `route`) are dropped: they could route to a paid model, and
 * freerouter does the fallback itself. A reasoning budget
 * (`reasoning.max_tokens`) that a clamped `max_tokens` no longer exceeds is
 * lowered to half of it, so that the thinking leaves room for the answer.
 * `parseFiles` (a request with file parts, a model without native file
 * input) adds {@link PDF_PARSER_PLUGIN} to the plugins, unless the client
 * sent a file parser of its own.
 */
export function bodyForModels(
  request: ChatCompletionRequest,
): (model: string, maxTokens?: number, parseFiles?: boolean) => string {
  const { model: _model, models: _models, route: _route, ...rest } = request;
  /**
   * The body without `model`, as `…}` (no opening brace): made when an
   * attempt first sends the client's own budget (the fronts that clamp the
   * budget never do).
   */
  let tail: string | undefined;
  /** The request without the budget fields, and its tail. */
  let unbudgetedRest: Record<string, unknown> | undefined;
  let unbudgeted: string | undefined;
  const thinking = reasoningBudget(rest.reasoning);
  const parser = withParser(rest.plugins);
  /** The body writer with the parser among the plugins, made when first needed. */
  let parsing: ((model: string, maxTokens?: number) => string) | undefined;
  return (model, maxTokens, parseFiles = false) => {
    if (parseFiles && parser !== undefined) {
      parsing ??= bodyForModels({ ...request, plugins: parser });
      return parsing(model, maxTokens);
    }
    const head = `{"model":${JSON.stringify(model)}`;
    if (maxTokens === undefined) {
      tail ??= JSON.stringify(rest).slice(1);
      return `${head}${tail === "}" ? "" : ","}${tail}`;
    }
    if (unbudgetedRest === undefined) {
      const { max_tokens: _max, max_completion_tokens: _maxCompletion, ...r } =
        rest;
      unbudgetedRest = r;
    }
    if (thinking !== undefined && thinking >= maxTokens) {
      // Rare (a clamp below the thinking budget): serialised per attempt.
      return JSON.stringify({
        model,
        max_tokens: maxTokens,
        ...unbudgetedRest,
        reasoning: {
          ...rest.reasoning as Record<string, unknown>,
          max_tokens: Math.max(1, Math.floor(maxTokens / 2)),
        },
      });
    }
    unbudgeted ??= JSON.stringify(unbudgetedRest).slice(1);
    return `${head},"max_tokens":${maxTokens}${
      unbudgeted === "}" ? "" : ","
    }${unbudgeted}`;
  };
}

/**
 * OpenRouter's PDF parser with its free engine (`cloudflare-ai`), for a
 * model without native file input: without it, OpenRouter parses with
 * `mistral-ocr`, which is paid.
 */
export const PDF_PARSER_PLUGIN = {
  id: "file-parser",
  pdf: { engine: "cloudflare-ai" },
} as const;

/**
 * The client's `plugins` with {@link PDF_PARSER_PLUGIN} added, or
 * `undefined` when they already hold a file parser (the client's choice of
 * engine stands) or are not a list.
 */
function withParser(plugins: unknown): unknown[] | undefined {
  if (plugins === undefined || plugins === null) return [PDF_PARSER_PLUGIN];
  if (!Array.isArray(plugins)) return undefined;
  return plugins.some((p) => isRecord(p) && p.id === "file-parser")
    ? undefined
    : [...plugins, PDF_PARSER_PLUGIN];
}

/** The request's reasoning budget in tokens (`reasoning.max_tokens`), if any. */
function reasoningBudget(reasoning: unknown): number | undefined {
  const budget = isRecord(reasoning) ? reasoning.max_tokens : undefined;
  return typeof budget === "number" ? budget : undefined;
}
