/**
 * A check both agent fronts make on their translation before it is routed.
 * Pure.
 *
 * @module
 */
import type { ChatCompletionRequest } from "../types.ts";

/** A request refused before any attempt: the field at fault and why. */
export interface NothingToSend {
  ok: false;
  param: string;
  message: string;
}

/**
 * The rejection of a translated request that holds no message but system
 * ones (every block or item the client sent was of a type freerouter does
 * not translate), naming `param` and `what` it holds in the front's words; `undefined` when
 * there is a message to send. Sent on, it would cost an attempt that no
 * model can answer.
 */
export function nothingToSend(
  chat: ChatCompletionRequest,
  param: string,
  what: string,
  examples: string,
): NothingToSend | undefined {
  if (chat.messages.some((m) => m.role !== "system")) return undefined;
  return {
    ok: false,
    param,
    message:
      `${param}: every ${what} is of a type freerouter does not translate (${examples}), which leaves no message to send`,
  };
}
