/**
 * The Anthropic Messages front: pure translation between Anthropic's Messages
 * API and chat completions.
 *
 * @module
 */
export {
  type MessagesRequest,
  nothingToSend,
  parseMessagesRequest,
  type ParseMessagesResult,
  toChatRequest,
  type ToChatResult,
} from "./request.ts";
export {
  fromChatCompletion,
  type FromCompletionContext,
  type StopInfo,
  stopReasonOf,
} from "./response.ts";
export { MessagesStream, type MessagesStreamOptions } from "./stream.ts";
export {
  type AnthropicErrorBody,
  anthropicErrorBody,
  type AnthropicErrorType,
  anthropicErrorType,
  streamErrorType,
} from "./errors.ts";
