/**
 * A check both agent fronts make on their translation before it is routed.
 * Pure.
 *
 * @module
 */
import type { ChatCompletionRequest } from "../types.ts";

/**
 * Whether a translated request holds no message but system ones: every
 * block or item the client sent was of a type freerouter does not
 * translate. Sent on, it would cost an attempt that no model can answer.
 */
export function leavesNoMessage(chat: ChatCompletionRequest): boolean {
  return chat.messages.every((m) => m.role === "system");
}
