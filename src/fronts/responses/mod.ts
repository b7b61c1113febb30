/**
 * The OpenAI Responses front (`POST /v1/responses`, used by Codex and the
 * OpenAI Agents SDK): pure translation to and from chat completions.
 *
 * @example A non-streaming round trip
 * ```ts
 * import { fromChatCompletion, parseResponsesRequest, toChatRequest } from "./mod.ts";
 * const parsed = parseResponsesRequest({ model: "auto", input: "Hello" });
 * if (parsed.ok) {
 *   const { request, tools } = toChatRequest(parsed.request);
 *   console.log(request.messages); // [{ role: "user", content: "Hello" }]
 *   const response = fromChatCompletion({
 *     id: "gen-1", object: "chat.completion", created: 1, model: "a:free",
 *     choices: [{ index: 0, message: { role: "assistant", content: "Hi" }, finish_reason: "stop" }],
 *   }, { id: "resp_1", request: parsed.request, tools });
 *   console.log(response.output_text); // "Hi"
 * }
 * ```
 *
 * @module
 */
export {
  nothingToSend,
  parseResponsesRequest,
  type ParseResponsesResult,
  type ResponsesRequest,
  toChatRequest,
  type ToChatResult,
  type ToolNames,
  type ToolTarget,
} from "./request.ts";
export {
  fromChatCompletion,
  type NewId,
  type ResponseContext,
} from "./response.ts";
export { ResponsesStream, type ResponsesStreamInit } from "./stream.ts";
export { responsesFailureCode } from "./errors.ts";
