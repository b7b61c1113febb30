/**
 * freerouter: OpenRouter's free models behind one OpenAI-compatible endpoint,
 * with automatic fallback on rate limits, errors and timeouts, and per-model
 * cooldowns. Use it in-process with {@link FreeRouterClient}, or mount the
 * whole proxy with {@link createHandler}.
 *
 * @example Route a chat completion across free models
 * ```ts ignore
 * import { FreeRouterClient } from "@freerouter/freerouter";
 *
 * await using fr = new FreeRouterClient(); // OPENROUTER_API_KEY from the environment or .env
 * const completion = await fr.chat([{ role: "user", content: "Say hi" }]);
 * console.log(completion.freerouter.model, completion.choices[0]?.message.content);
 * ```
 *
 * @module
 */
export {
  type ChatOptions,
  FreeRouterClient,
  type FreeRouterClientOptions,
  type RoutedCompletion,
  type RouteInfo,
} from "./client.ts";
export {
  createHandler,
  type FreeRouterHandler,
  type HandlerOptions,
} from "./http/handler.ts";
export type { QuotaSharingOptions } from "./http/sharing.ts";
export type { ClientKey } from "./core/client_keys.ts";
export { FreeRouterState } from "./state/public_state.ts";
export type { FreeRouterStateOptions } from "./state/state.ts";
export {
  type Attempt,
  FreeRouterError,
  type FreeRouterErrorCode,
  type FreeRouterErrorOptions,
  type OpenAIErrorBody,
  UpstreamHTTPError,
} from "./errors.ts";
export { buildFreePool } from "./core/free_pool.ts";
export type { Logger, RouterOptions } from "./options.ts";
export type { CooldownEntry } from "./core/cooldown.ts";
export type { KvAtomicLike, KvKeyPart, KvLike } from "./state/kv_store.ts";
export type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatMessage,
  ChatMessageInput,
  ChatRequestInput,
  FreeModel,
} from "./types.ts";
