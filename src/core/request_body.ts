/**
 * The request body each attempt sends: the client's request serialised once,
 * each attempt splicing in its model (and a clamped budget). Pure.
 *
 * @module
 */
import type { ChatCompletionRequest } from "../types.ts";

/**
 * Serialises a request once; each attempt only splices its model (and, when
 * the budget is clamped, its `max_tokens`) in front. The client's fields are
 * kept as they are, `model` replaced. OpenRouter's own fallback fields
 * (`models`, `route`) are dropped: they could route to a paid model, and
 * freerouter does the fallback itself.
 */
export function bodyForModels(
  request: ChatCompletionRequest,
): (model: string, maxTokens?: number) => string {
  const { model: _model, models: _models, route: _route, ...rest } = request;
  const tail = JSON.stringify(rest).slice(1); // `…}` without the opening brace
  const separator = tail === "}" ? "" : ",";
  let unbudgeted: string | undefined; // the tail without the budget fields
  return (model, maxTokens) => {
    const head = `{"model":${JSON.stringify(model)}`;
    if (maxTokens === undefined) return `${head}${separator}${tail}`;
    if (unbudgeted === undefined) {
      const {
        max_tokens: _max,
        max_completion_tokens: _maxCompletion,
        ...unbudgetedRest
      } = rest;
      unbudgeted = JSON.stringify(unbudgetedRest).slice(1);
    }
    return `${head},"max_tokens":${maxTokens}${
      unbudgeted === "}" ? "" : ","
    }${unbudgeted}`;
  };
}
